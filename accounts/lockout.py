"""What django-axes keys its sign-in lockout on (settings.AXES_USERNAME_CALLABLE)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from accounts.models import email_key


def lockout_username(request: HttpRequest | None, credentials: dict | None) -> str | None:
    """The address being tried, as the portal compares addresses (accounts.models.email_key).

    Axes counts failures per (username, client address) on the text it is given. Sign-in finds
    the account in any letter case, so the count must be kept on one form of the address too:
    otherwise failures for `ada@example.org` never lock `Ada@Example.org`, and each spelling gets
    its own five tries. None when no address was sent, as axes expects."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        raw = credentials.get(field)
    else:
        data = getattr(request, "data", None) or getattr(request, "POST", {})
        raw = data.get(field)
    if not isinstance(raw, str):
        return None
    return email_key(raw)
