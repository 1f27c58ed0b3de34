"""API authentication (README.md, "The API"): `Authorization: Token <key>` for the people's API, where a person's
scripts act as that person. Data nodes' keys (`Api-Key`) are checked by datasets.authentication
with the same header parsing and the same throttling of failed attempts."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request

from accounts import services
from accounts.models import PersonalToken, User, api_key_hash
from portal.ratelimit import allow, client_ip

KEYWORD = "Token"
# One message for every failure, so a caller cannot tell a revoked key from one that never existed.
FAILED = "Invalid, expired or revoked token."
# The failures of personal tokens are counted apart from those of node keys (datasets), so that a
# script with a revoked token at a site does not stop a data node sharing its address.
TOKEN_FAILURES = "personal_token"  # noqa: S105 - a counter's name, not a secret


class PersonalTokenAuthentication(BaseAuthentication):
    """Authenticates a usable personal token of an active user. Without a `Token` header it
    returns None, so the session (or another scheme) can still authenticate the request."""

    # It may answer 429 (failures_counted below): read by the OpenAPI description's error answers.
    throttles_failures = True

    def authenticate(self, request: Request) -> tuple[User, PersonalToken] | None:
        if not scheme_sent(request, KEYWORD):
            return None
        with failures_counted(request, TOKEN_FAILURES):
            key = key_from_header(request, KEYWORD, FAILED)
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


def scheme_sent(request: Request, keyword: str) -> bool:
    """Whether the request has an `Authorization: <keyword> ...` header (any case)."""
    parts = get_authorization_header(request).split()
    return bool(parts) and parts[0].lower() == keyword.lower().encode()


def key_from_header(request: Request, keyword: str, failed: str) -> str | None:
    """The key of an `Authorization: <keyword> <key>` header, None without one; raises
    AuthenticationFailed(failed) for a malformed one."""
    if not scheme_sent(request, keyword):
        return None
    parts = get_authorization_header(request).split()
    if len(parts) != 2:
        raise AuthenticationFailed(failed)
    try:
        return parts[1].decode("ascii")
    except UnicodeDecodeError:
        raise AuthenticationFailed(failed) from None


# --- Throttling failed attempts -------------------------------------------------------------------
#
# Keys are 240 random bits, so guessing one is hopeless; what the throttle stops is a client
# trying many keys (leaked, revoked, or made up) from one address, and the lookups that costs.
# Only failures are counted, so a busy script with a good key is never slowed. Once an address has
# failed settings.API_KEY_FAILURE_LIMIT times within the window, every request from it with that
# kind of key answers 429 until the window has passed, a right key included, and no key is even
# looked up: were right keys let through, the 429s would still tell the caller which of its
# guesses was right, and it could go on guessing at full speed. The price is that a person's good
# script behind the same address as a failing one waits out the window too.


def _block_key(scope: str, address: str) -> str:
    return f"credential_block:{scope}:{address}"


def refuse_while_blocked(request: Request, scope: str) -> None:
    """Raise Throttled (429, `rate_limited`, with Retry-After) while the client's address is
    blocked for `scope`."""
    until = cache.get(_block_key(scope, client_ip(request)))
    wait = until - time.time() if until is not None else 0
    if wait > 0:
        raise Throttled(
            wait=math.ceil(wait),
            detail="Too many failed attempts with API keys from your address: wait, then try again.",
        )


def failure_counted(request: Request, scope: str) -> None:
    """Count one failed attempt of the client's address; the one that reaches the limit starts its
    block for a whole window."""
    address = client_ip(request)
    window = settings.API_KEY_FAILURE_WINDOW_MINUTES * 60
    # allow() counts this failure and says whether the window's count is still below the limit.
    if not allow(f"{scope}_failures", address, limit=settings.API_KEY_FAILURE_LIMIT - 1, window_seconds=window):
        cache.set(_block_key(scope, address), time.time() + window, timeout=window)


@contextmanager
def failures_counted(request: Request, scope: str) -> Iterator[None]:
    """Refuse a blocked address at once; count an AuthenticationFailed raised in the block."""
    refuse_while_blocked(request, scope)
    try:
        yield
    except AuthenticationFailed:
        failure_counted(request, scope)
        raise
