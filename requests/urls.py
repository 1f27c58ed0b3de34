from django.urls import path

from requests import permit_views, review_views, views

app_name = "requests"

urlpatterns = [
    path("basket/", views.basket_view, name="basket"),
    path("basket/add/", views.basket_add, name="basket_add"),
    path("basket/remove/", views.basket_remove, name="basket_remove"),
    path("", views.application_list, name="list"),
    path("new/", views.application_new, name="new"),
    path("<int:pk>/", views.application_detail, name="detail"),
    path("<int:pk>/edit/", views.application_edit, name="edit"),
    path("<int:pk>/autosave/", views.application_autosave, name="autosave"),
    path("<int:pk>/consent-check/", views.application_consent_check, name="consent_check"),
    path("<int:pk>/agreements/", views.application_agreements, name="agreements"),
    path("<int:pk>/withdraw/", views.application_withdraw, name="withdraw"),
    path("<int:pk>/documents/<int:document_pk>/", views.document_download, name="document"),
    path("permits/", permit_views.my_permits, name="permits"),
    path("permits/passport/", permit_views.passport_download, name="passport"),
    path("permits/<int:pk>/revoke/", permit_views.permit_revoke, name="permit_revoke"),
    path("reviews/", review_views.inbox, name="inbox"),
    path("reviews/<int:pk>/", review_views.review_detail, name="review"),
    path("reviews/<int:pk>/vote/", review_views.review_vote, name="review_vote"),
    path("reviews/<int:pk>/notes/", review_views.review_note, name="review_note"),
    path("reviews/<int:pk>/return/", review_views.review_return, name="review_return"),
    path("reviews/<int:pk>/conflict/", review_views.review_conflict, name="review_conflict"),
    path("reviews/<int:pk>/decide/confirm/", review_views.review_decide_confirm, name="review_decide_confirm"),
    path("reviews/<int:pk>/decide/", review_views.review_decide, name="review_decide"),
]
