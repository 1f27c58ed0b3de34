"""Writes about accounts: registration, e-mail verification, profile changes."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import Institution, User
from accounts.tasks import send_account_exists_email, send_verification_email


def user_register(*, email: str, name: str, password: str) -> User | None:
    """Create an unverified account and mail its verification link after commit.

    When the address already has an account, nothing is created and its owner is told by
    e-mail instead; the caller shows the same answer either way, so the form cannot be used
    to find out who has an account. Returns the new user, or None for a known address."""
    email = User.objects.normalize_email(email).lower()
    with transaction.atomic():
        existing = User.objects.filter(email__iexact=email).first()
        if existing is not None:
            transaction.on_commit(lambda: send_account_exists_email.delay(existing.pk))
            return None
        user = User.objects.create_user(email=email, password=password, name=name.strip())
        transaction.on_commit(lambda: send_verification_email.delay(user.pk))
    return user


def user_verify_email(*, user: User) -> User:
    """Mark the address verified; verifying twice keeps the first time."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.email_verified_at is None:
            locked.email_verified_at = timezone.now()
            locked.save(update_fields=["email_verified_at"])
    return locked


def verification_resend(*, email: str) -> None:
    """Mail a fresh link when the address belongs to an unverified account; silent otherwise."""
    user = User.objects.filter(email__iexact=email.strip(), email_verified_at__isnull=True, is_active=True).first()
    if user is not None:
        transaction.on_commit(lambda: send_verification_email.delay(user.pk))


def profile_update(*, user: User, name: str, institution: Institution | None, country: str, orcid: str) -> User:
    """Save the researcher's own profile fields."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.name, locked.institution, locked.country, locked.orcid = name.strip(), institution, country, orcid
        locked.save(update_fields=["name", "institution", "country", "orcid"])
    return locked
