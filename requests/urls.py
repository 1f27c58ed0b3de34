from django.urls import path

from requests import views

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
    path("<int:pk>/agreements/", views.application_agreements, name="agreements"),
    path("<int:pk>/withdraw/", views.application_withdraw, name="withdraw"),
    path("<int:pk>/documents/<int:document_pk>/", views.document_download, name="document"),
]
