from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import oidc_views, views
from accounts.views import passwords_on
from portal.input_guard import forms_refuse_nul

app_name = "accounts"

urlpatterns = [
    path("register/", views.register, name="register"),
    path("register/check-your-inbox/", passwords_on(views.registered), name="registered"),
    path("verify/<str:uidb64>/<str:token>/", views.verify_email, name="verify_email"),
    path("verify/resend/", views.resend_verification, name="resend_verification"),
    path("login/", forms_refuse_nul(views.LoginView.as_view()), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Sign-in with the identity provider; the callback is the redirect URI registered there.
    path("oidc/login/", oidc_views.oidc_login, name="oidc_login"),
    path("oidc/callback/", oidc_views.oidc_callback, name="oidc_callback"),
    path("oidc/link/", oidc_views.oidc_link, name="oidc_link"),
    path("identities/<int:pk>/unlink/", oidc_views.identity_unlink, name="identity_unlink"),
    path("profile/", views.profile, name="profile"),
    path("profile/complete/", views.profile_complete, name="profile_complete"),
    path("profile/tokens/", views.token_create, name="token_create"),
    path("profile/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("password/set/", views.password_set, name="password_set"),
    path(
        "password/change/", forms_refuse_nul(passwords_on(views.PasswordChangeView.as_view())), name="password_change"
    ),
    path(
        "password/change/done/",
        passwords_on(auth_views.PasswordChangeDoneView.as_view(template_name="accounts/password_change_done.html")),
        name="password_change_done",
    ),
    path("password/reset/", forms_refuse_nul(passwords_on(views.PasswordResetView.as_view())), name="password_reset"),
    path(
        "password/reset/sent/",
        passwords_on(auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html")),
        name="password_reset_done",
    ),
    path(
        "password/reset/<str:uidb64>/<str:token>/",
        passwords_on(views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        passwords_on(
            auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html")
        ),
        name="password_reset_complete",
    ),
]
