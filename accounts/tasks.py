"""E-mail about accounts, sent by the Celery worker after the change that asked for it commits."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import User
from accounts.tokens import email_verification_token
from portal.mail import send_templated_email


def verification_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = email_verification_token.make_token(user)
    path = reverse("accounts:verify_email", kwargs={"uidb64": uid, "token": token})
    return f"{settings.PORTAL_BASE_URL}{path}"


@shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=600, max_retries=8)
def send_verification_email(user_id: int) -> bool:
    """Mail the verification link; does nothing for a missing or already verified user, so a
    retried or duplicated task never mails a stale link. Returns whether a mail was sent."""
    user = User.objects.filter(pk=user_id, email_verified_at__isnull=True, is_active=True).first()
    if user is None:
        return False
    send_templated_email(
        template="accounts/verify",
        to=[user.email],
        context={"name": user.name, "link": verification_link(user)},
    )
    return True


@shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=600, max_retries=8)
def send_account_exists_email(user_id: int) -> bool:
    """Tell the owner of an address that someone tried to register it again."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    login = settings.PORTAL_BASE_URL + reverse("accounts:login")
    reset = settings.PORTAL_BASE_URL + reverse("accounts:password_reset")
    send_templated_email(
        template="accounts/account_exists",
        to=[user.email],
        context={"name": user.name, "login_url": login, "reset_url": reset},
    )
    return True
