"""API authentication (README.md, "The API"): `Authorization: Token <key>` for the people's API, where a person's
scripts act as that person. Data nodes' keys (`Api-Key`) are checked by datasets.authentication
with the same header parsing."""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from accounts import services
from accounts.models import PersonalToken, User, api_key_hash

KEYWORD = "Token"
# One message for every failure, so a caller cannot tell a revoked key from one that never existed.
FAILED = "Invalid, expired or revoked token."


class PersonalTokenAuthentication(BaseAuthentication):
    """Authenticates a usable personal token of an active user. Without a `Token` header it
    returns None, so the session (or another scheme) can still authenticate the request."""

    def authenticate(self, request: Request) -> tuple[User, PersonalToken] | None:
        key = key_from_header(request, KEYWORD, FAILED)
        if key is None:
            return None
        # Looked up by hash, never compared as text: the stored value is not the key, and an
        # indexed equality on a SHA-256 tells an attacker nothing about the key they guessed.
        token = (
            PersonalToken.objects.usable(key_hash=api_key_hash(key), user__is_active=True)
            .select_related("user")
            .first()
        )
        if token is None:
            raise AuthenticationFailed(FAILED)
        services.personal_token_mark_used(token=token)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # A WWW-Authenticate value makes DRF answer 401 rather than 403 to a missing login.
        return KEYWORD


def key_from_header(request: Request, keyword: str, failed: str) -> str | None:
    """The key of an `Authorization: <keyword> <key>` header, None without one; raises
    AuthenticationFailed(failed) for a malformed one."""
    parts = get_authorization_header(request).split()
    if not parts or parts[0].lower() != keyword.lower().encode():
        return None
    if len(parts) != 2:
        raise AuthenticationFailed(failed)
    try:
        return parts[1].decode("ascii")
    except UnicodeDecodeError:
        raise AuthenticationFailed(failed) from None
