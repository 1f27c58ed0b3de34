"""Configuration checks of sign-in, run by `manage.py check` and at every start."""

from __future__ import annotations

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security)
def sign_in_possible(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """With local passwords off, the identity provider is the only way in: it must be configured."""
    if settings.PASSWORD_LOGIN or (settings.OIDC_ISSUER and settings.OIDC_CLIENT_ID):
        return []
    return [
        checks.Error(
            "PASSWORD_LOGIN is off but no identity provider is configured, so nobody could sign in.",
            hint="Set OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET, or leave PASSWORD_LOGIN on.",
            id="accounts.E001",
        )
    ]
