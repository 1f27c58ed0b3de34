"""OpenID Connect sign-in, the portal's side (the relying party): discovery, the authorization
request with PKCE, state and nonce, the code exchange, and the checks of the ID token.

The protocol's checks come from Authlib (the provider metadata of OpenID Connect Discovery, the ID
token's claims per OpenID Connect Core 3.1.3.7: issuer, audience, authorised party, expiry, issue
time, nonce, access-token hash) and joserfc (the signature, against the provider's published keys,
with an allow-list of algorithms: never `none`, never a shared-secret HMAC). The HTTP calls are
httpx's, with a timeout. What this module does not know: sessions, accounts and pages
(accounts.oidc_views keeps the flow in the session; accounts.services makes or finds the person).

Configured by settings: OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_SCOPES,
OIDC_TIMEOUT_SECONDS, OIDC_CLOCK_SKEW_SECONDS; the redirect URI is PORTAL_BASE_URL followed by
/accounts/oidc/callback/."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata
from django.conf import settings
from django.urls import reverse
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidClaimError, JoseError, MissingClaimError
from joserfc.jwk import KeySet

logger = logging.getLogger(__name__)

# Signature algorithms accepted on an ID token, whatever the provider advertises: asymmetric only.
ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
# How long discovery and the provider's keys are kept before they are read again; an ID token
# signed by a key not in the kept set makes one early re-read, at most once per KEYS_REFETCH_SECONDS.
METADATA_SECONDS = 3600
KEYS_REFETCH_SECONDS = 60
# Client authentication at the token endpoint (names from OpenID Connect Discovery; not secrets).
SECRET_BASIC = "client_secret_basic"  # noqa: S105
SECRET_POST = "client_secret_post"  # noqa: S105
# How long a started sign-in may take at the provider before its state is refused.
FLOW_SECONDS = 600


class OidcFailure(Exception):
    """A sign-in that cannot complete. `code` is stable (tests, logs); `message` is for the person;
    `status` is the HTTP status of the page that says so."""

    def __init__(self, code: str, message: str, *, status: int = 400, detail: str = ""):
        super().__init__(f"{code}: {detail or message}")
        self.code, self.message, self.status, self.detail = code, message, status, detail


def unavailable(detail: str) -> OidcFailure:
    return OidcFailure(
        "provider_unavailable",
        f"{provider_name()} cannot be reached at the moment. Please try again in a few minutes.",
        status=503,
        detail=detail,
    )


def provider_name() -> str:
    return settings.OIDC_PROVIDER_NAME


def configured() -> bool:
    """Sign-in with the provider is offered: an issuer and this portal's client id are set."""
    return bool(settings.OIDC_ISSUER and settings.OIDC_CLIENT_ID)


def redirect_uri() -> str:
    """The address the provider sends the person back to: register exactly this one."""
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse("accounts:oidc_callback")


# --- The provider: discovery and keys ------------------------------------------------------------


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]
    token_auth_method: str


@dataclass
class _Kept:
    value: Any
    read_at: float


_lock = threading.Lock()
_metadata: dict[str, _Kept] = {}
_keys: dict[str, _Kept] = {}


def forget_provider() -> None:
    """Drop the kept discovery document and keys (tests; a provider that changed its keys)."""
    with _lock:
        _metadata.clear()
        _keys.clear()


def _get_json(url: str, **kwargs) -> dict:
    try:
        response = httpx.get(url, timeout=settings.OIDC_TIMEOUT_SECONDS, follow_redirects=False, **kwargs)
    except httpx.HTTPError as error:
        raise unavailable(f"GET {url}: {error!r}") from error
    if response.status_code != 200:
        raise unavailable(f"GET {url}: HTTP {response.status_code}")
    try:
        document = response.json()
    except ValueError as error:
        raise unavailable(f"GET {url}: not JSON") from error
    if not isinstance(document, dict):
        raise unavailable(f"GET {url}: not a JSON object")
    return document


def _token_auth_method(metadata: dict) -> str:
    # OpenID Connect Discovery: absent means client_secret_basic. A provider offering neither of
    # the two secret methods is taken at its word: basic is tried and the provider decides.
    supported = metadata.get("token_endpoint_auth_methods_supported") or [SECRET_BASIC]
    if SECRET_BASIC in supported:
        return SECRET_BASIC
    return SECRET_POST if SECRET_POST in supported else SECRET_BASIC


def provider() -> Provider:
    """The configured provider, from its discovery document (kept METADATA_SECONDS)."""
    issuer = settings.OIDC_ISSUER
    with _lock:
        kept = _metadata.get(issuer)
        if kept is not None and time.monotonic() - kept.read_at < METADATA_SECONDS:
            return kept.value
    document = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
    metadata = OpenIDProviderMetadata(document)
    try:
        metadata.validate()
    except ValueError as error:
        raise unavailable(f"discovery document: {error}") from error
    # OpenID Connect Discovery 4.3: the issuer in the document is exactly the one asked for.
    if metadata["issuer"] != issuer:
        raise unavailable(f"discovery names issuer {metadata['issuer']!r}, configured {issuer!r}")
    algorithms = tuple(a for a in metadata["id_token_signing_alg_values_supported"] if a in ID_TOKEN_ALGORITHMS)
    if not algorithms:
        raise unavailable("the provider signs ID tokens with no algorithm the portal accepts")
    found = Provider(
        issuer=issuer,
        authorization_endpoint=metadata["authorization_endpoint"],
        token_endpoint=metadata["token_endpoint"],
        userinfo_endpoint=metadata.get("userinfo_endpoint") or "",
        jwks_uri=metadata["jwks_uri"],
        algorithms=algorithms,
        token_auth_method=_token_auth_method(metadata),
    )
    with _lock:
        _metadata[issuer] = _Kept(found, time.monotonic())
    return found


def _key_set(jwks_uri: str, *, refresh: bool = False) -> KeySet:
    with _lock:
        kept = _keys.get(jwks_uri)
        if kept is not None:
            age = time.monotonic() - kept.read_at
            if age < METADATA_SECONDS and (not refresh or age < KEYS_REFETCH_SECONDS):
                return kept.value
    document = _get_json(jwks_uri)
    # Keys for encryption, or of a type this library does not read, are left out, not fatal.
    usable = []
    for key in document.get("keys") or []:
        if isinstance(key, dict) and key.get("use", "sig") == "sig":
            try:
                KeySet.import_key_set({"keys": [key]})
            except (JoseError, ValueError, TypeError, KeyError):
                continue
            usable.append(key)
    if not usable:
        raise unavailable(f"{jwks_uri}: no signing key")
    keys = KeySet.import_key_set({"keys": usable})
    with _lock:
        _keys[jwks_uri] = _Kept(keys, time.monotonic())
    return keys


# --- One sign-in ------------------------------------------------------------------------------------


@dataclass
class Flow:
    """What the portal remembers between sending the person to the provider and their return:
    kept in their session under `state`, used once."""

    state: str
    nonce: str
    code_verifier: str
    next_url: str = ""
    link_user_id: int | None = None
    started_at: float = field(default_factory=time.time)

    def expired(self, now: float | None = None) -> bool:
        return (now or time.time()) - self.started_at > FLOW_SECONDS

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Flow:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


def flow_start(*, next_url: str = "", link_user_id: int | None = None) -> tuple[Flow, str]:
    """A new sign-in and the provider's address to send the person to."""
    found = provider()
    # 64 random bytes make an 86-character verifier, inside RFC 7636's 43 to 128.
    flow = Flow(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),
        next_url=next_url,
        link_user_id=link_user_id,
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.OIDC_CLIENT_ID,
            "redirect_uri": redirect_uri(),
            "scope": " ".join(settings.OIDC_SCOPES),
            "state": flow.state,
            "nonce": flow.nonce,
            "code_challenge": create_s256_code_challenge(flow.code_verifier),
            "code_challenge_method": "S256",
        }
    )
    separator = "&" if "?" in found.authorization_endpoint else "?"
    return flow, f"{found.authorization_endpoint}{separator}{query}"


@dataclass(frozen=True)
class Person:
    """Who the provider says signed in: its `sub`, and what it shared about them."""

    issuer: str
    subject: str
    email: str
    email_verified: bool
    name: str


def _client_auth(found: Provider, form: dict) -> dict:
    client_id, secret = settings.OIDC_CLIENT_ID, settings.OIDC_CLIENT_SECRET
    if found.token_auth_method == SECRET_POST:
        form.update(client_id=client_id, client_secret=secret)
        return {}
    # RFC 6749 2.3.1: the id and secret are form-encoded before they go into the Basic header.
    return {"auth": (quote(client_id, safe=""), quote(secret, safe=""))}


def _exchange(found: Provider, flow: Flow, code: str) -> dict:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri(),
        "code_verifier": flow.code_verifier,
    }
    auth = _client_auth(found, form)
    try:
        response = httpx.post(
            found.token_endpoint,
            data=form,
            headers={"Accept": "application/json"},
            timeout=settings.OIDC_TIMEOUT_SECONDS,
            **auth,
        )
    except httpx.HTTPError as error:
        raise unavailable(f"token endpoint: {error!r}") from error
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and isinstance(body, dict):
        return body
    error = body.get("error", "") if isinstance(body, dict) else ""
    if response.status_code in (400, 401) and error:
        if error == "invalid_client":
            # The portal's own registration is wrong: the operators must fix it, not the person.
            logger.error("OIDC token endpoint refused the portal's client credentials: %s", body)
            raise unavailable("the provider refused this portal's client id or secret")
        raise OidcFailure(
            "code_rejected",
            f"{provider_name()} did not confirm this sign-in (the link was used already or has expired). "
            "Please sign in again.",
            detail=f"{error}: {body.get('error_description', '')}",
        )
    raise unavailable(f"token endpoint: HTTP {response.status_code}")


def id_token_claims(id_token: str, *, nonce: str, access_token: str | None = None, now: int | None = None) -> dict:
    """The claims of an ID token this flow asked for, once every check of OpenID Connect Core
    3.1.3.7 has passed; raises OidcFailure (code `id_token_invalid`) otherwise."""
    found = provider()

    def refused(detail: str) -> OidcFailure:
        return OidcFailure(
            "id_token_invalid",
            f"The answer from {provider_name()} could not be verified, so you are not signed in. "
            "Please sign in again; if it happens again, tell the portal's operators.",
            detail=detail,
        )

    if not isinstance(id_token, str) or id_token.count(".") != 2:
        raise refused("not a signed JWT")
    token = None
    for refresh in (False, True):
        keys = _key_set(found.jwks_uri, refresh=refresh)
        try:
            token = jwt.decode(id_token, keys, algorithms=list(found.algorithms))
            break
        except (JoseError, ValueError) as error:
            # Perhaps a key the kept set lacks (the provider rotated): read the keys once more.
            if refresh:
                raise refused(f"signature: {error!r}") from error
    claims = CodeIDToken(
        token.claims,
        token.header,
        options={
            "iss": {"essential": True, "value": found.issuer},
            "aud": {"essential": True, "value": settings.OIDC_CLIENT_ID},
            "sub": {"essential": True},
        },
        params={"nonce": nonce, "client_id": settings.OIDC_CLIENT_ID, "access_token": access_token},
    )
    try:
        claims.validate(now=now, leeway=settings.OIDC_CLOCK_SKEW_SECONDS)
    except ExpiredTokenError as error:
        raise refused("expired") from error
    except (InvalidClaimError, MissingClaimError) as error:
        raise refused(f"claim: {error.description or error.error}") from error
    except JoseError as error:
        raise refused(f"claims: {error.error}") from error
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise refused("sub is not a string")
    return dict(claims)


def _userinfo(found: Provider, access_token: str, subject: str) -> dict:
    if not found.userinfo_endpoint or not access_token:
        return {}
    info = _get_json(found.userinfo_endpoint, headers={"Authorization": f"Bearer {access_token}"})
    # OpenID Connect Core 5.3.2: a userinfo answer about someone else must not be used.
    if info.get("sub") != subject:
        raise OidcFailure(
            "id_token_invalid",
            f"The answer from {provider_name()} could not be verified, so you are not signed in.",
            detail="userinfo sub differs from the ID token's",
        )
    return info


def _name(claims: dict) -> str:
    name = claims.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    parts = [claims.get("given_name"), claims.get("family_name")]
    return " ".join(part.strip() for part in parts if isinstance(part, str) and part.strip())


def flow_finish(flow: Flow, *, code: str) -> Person:
    """Exchange the code the person came back with and check what the provider says; raises
    OidcFailure when anything does not hold."""
    found = provider()
    tokens = _exchange(found, flow, code)
    access_token = tokens.get("access_token") if isinstance(tokens.get("access_token"), str) else None
    claims = id_token_claims(tokens.get("id_token"), nonce=flow.nonce, access_token=access_token)
    # The ID token's claims were signed; the userinfo answer came from the provider over its own
    # connection. Userinfo fills in what the ID token left out, never the subject.
    merged = {**_userinfo(found, access_token or "", claims["sub"]), **claims}
    email = merged.get("email") if isinstance(merged.get("email"), str) else ""
    return Person(
        issuer=found.issuer,
        subject=claims["sub"],
        email=email.strip(),
        email_verified=merged.get("email_verified") is True,
        name=_name(merged),
    )
