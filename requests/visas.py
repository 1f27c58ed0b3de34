"""Permits leave the portal as GA4GH Passport v1.2 visas (docs/node-contract.md, "Visas"):
JWS signed with the current key, `typ: vnd.ga4gh.visa+jwt`, `kid`, `jku`; claims iss, sub,
iat, exp, jti and `ga4gh_visa_v1` {type: ControlledAccessGrants, value: the dataset's resource id or URL, source:
DAC URL, by: dac, asserted}. No `conditions`: DUO obligations ride on the permit and are shown
by introspection. `exp` = min(permit expiry, now + visa lifetime)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import jwt
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts.models import FEDERATED_FIELD_MAX
from accounts.selectors import named_by, prime_visa_subjects, visa_subject
from portal import signing
from requests.models import Permit

VISA_TYP = "vnd.ga4gh.visa+jwt"
PASSPORT_TYP = "vnd.ga4gh.passport+jwt"
ALLOWED_ALGORITHMS = ("ES256", "RS256")


def issuer() -> str:
    return settings.PORTAL_BASE_URL


def jwks_url() -> str:
    return f"{settings.PORTAL_BASE_URL}/.well-known/jwks.json"


def dataset_url(accession: str) -> str:
    return f"{settings.PORTAL_BASE_URL}/datasets/{accession}/"


def _dataset_named(value: str) -> Q:
    """The permit's dataset as a visa's value names it: by resource id, or by its URL here with or
    without the trailing slash (visas minted before resource ids carry the slash and live an hour)."""
    named = Q(dataset__resource_id=value)
    prefix = f"{settings.PORTAL_BASE_URL}/datasets/"
    if value.startswith(prefix):
        named |= Q(dataset__accession=value.removeprefix(prefix).removesuffix("/"))
    return named


def dac_url(slug: str) -> str:
    return f"{settings.PORTAL_BASE_URL}/committees/{slug}/"


def _sign(claims: dict, typ: str, key: signing.ActiveKey | None = None) -> str:
    key = key or signing.current_key()
    headers = {"typ": typ, "kid": key.kid, "jku": jwks_url()}
    return jwt.encode(claims, key.private_key, algorithm=key.alg, headers=headers)


def visa_claims(permit: Permit, now: dt.datetime) -> dict:
    lifetime = dt.timedelta(seconds=settings.VISA_LIFETIME_SECONDS)
    expires = min(permit.expires_at, now + lifetime)
    return {
        "iss": issuer(),
        "sub": visa_subject(permit.grantee),
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        # The jti names the permit, so a visa binds to exactly the permit it was minted from.
        "jti": f"permit-{permit.pk}-{uuid.uuid4().hex}",
        "ga4gh_visa_v1": {
            "type": "ControlledAccessGrants",
            "value": permit.dataset.resource,
            "source": dac_url(permit.dataset.dac.slug),
            "by": "dac",
            "asserted": int(permit.decision.decided_at.timestamp()),
        },
    }


def mint_visa(permit: Permit, now: dt.datetime | None = None) -> str:
    """A fresh visa for a live permit (callers pass only live permits)."""
    return _sign(visa_claims(permit, now or timezone.now()), VISA_TYP)


def mint_visas(permits: Iterable[Permit], now: dt.datetime | None = None) -> list[str]:
    """A fresh visa for each live permit, all signed with the key current at the start: reading the
    key once keeps a list of visas to a constant number of queries (one per visa otherwise)."""
    now = now or timezone.now()
    permits = list(permits)
    prime_visa_subjects(permit.grantee for permit in permits)  # one query for all the subs
    key = signing.current_key() if permits else None
    return [_sign(visa_claims(permit, now), VISA_TYP, key) for permit in permits]


def mint_passport(user, visas: list[str], now: dt.datetime | None = None) -> str:
    """A passport holding the given visas; it lives no longer than a visa."""
    now = now or timezone.now()
    claims = {
        "iss": issuer(),
        "sub": visa_subject(user),
        "iat": int(now.timestamp()),
        "exp": int((now + dt.timedelta(seconds=settings.VISA_LIFETIME_SECONDS)).timestamp()),
        "jti": uuid.uuid4().hex,
        "ga4gh_passport_v1": visas,
    }
    return _sign(claims, PASSPORT_TYP)


class VisaInvalid(ValueError):
    """The token is not a visa this portal signed and that is valid now; `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class VerifiedVisa:
    claims: dict
    sub: str
    value: str
    asserted: int


MAX_TOKEN_BYTES = 16_384
_PERMIT_JTI = re.compile(r"^permit-(\d{1,18})-[0-9a-f]{32}$")


def verify_visa(token: str, now: dt.datetime | None = None) -> VerifiedVisa:
    """Check a visa against the portal's own published keys: the algorithm is taken from our
    key (never from the token), `typ`, issuer, expiry, issue time (with the allowed skew) and
    the visa claim's shape. Raises VisaInvalid; says nothing about the permit behind it."""
    now = now or timezone.now()
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_BYTES:
        raise VisaInvalid("malformed")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise VisaInvalid("malformed") from None
    if header.get("typ") != VISA_TYP:
        raise VisaInvalid("not a visa (typ)")
    key = signing.verification_key(str(header.get("kid", "")), now)
    if key is None:
        raise VisaInvalid("unknown kid")
    if header.get("alg") != key.alg:
        raise VisaInvalid("algorithm does not match the key")
    public = jwt.PyJWK(key.public_jwk).key
    skew = settings.VISA_CLOCK_SKEW_SECONDS
    try:
        claims = jwt.decode(
            token,
            public,
            algorithms=[key.alg],
            issuer=issuer(),
            leeway=skew,
            options={"require": ["iss", "sub", "iat", "exp", "jti", "ga4gh_visa_v1"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise VisaInvalid("expired") from None
    except jwt.PyJWTError as error:
        raise VisaInvalid(f"invalid: {error.__class__.__name__}") from None
    if claims["iat"] > now.timestamp() + skew:
        raise VisaInvalid("issued in the future")
    return _visa_of(claims)


def _visa_of(claims: dict) -> VerifiedVisa:
    visa = claims.get("ga4gh_visa_v1")
    if not isinstance(visa, dict) or visa.get("type") != "ControlledAccessGrants" or visa.get("by") != "dac":
        raise VisaInvalid("not a ControlledAccessGrants visa by a DAC")
    if visa.get("conditions"):
        raise VisaInvalid("conditions are not supported")
    value = visa.get("value")
    if not isinstance(value, str) or not value or len(value) > 255 or not isinstance(visa.get("asserted"), int):
        raise VisaInvalid("not a dataset of this portal")
    # The portal's id (a UUID) or a federated id (accounts.selectors.visa_subject).
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub or len(sub) > FEDERATED_FIELD_MAX:
        raise VisaInvalid("sub is not a researcher id of this portal")
    return VerifiedVisa(
        claims=claims,
        sub=str(claims["sub"]),
        value=value,
        asserted=visa["asserted"],
    )


def permit_for(visa: VerifiedVisa, now: dt.datetime | None = None, scope: Q | None = None) -> Permit | None:
    """The live permit the visa was minted from: the permit named by its jti, for the same
    person, dataset and decision time, so a visa of a revoked or replaced permit never revives.
    `scope` narrows it further in the same query (e.g. to a node's datasets)."""
    match = _PERMIT_JTI.match(str(visa.claims.get("jti", "")))
    person = named_by(visa.sub, "grantee")  # either of the person's ids, as minted then
    if match is None or person is None:
        return None
    permit = (
        Permit.objects.live(now or timezone.now())
        .filter(scope or Q(), person, _dataset_named(visa.value), pk=int(match.group(1)))
        .select_related("dataset__dac", "decision", "grantee")
        .first()
    )
    if permit is None or int(permit.decision.decided_at.timestamp()) != visa.asserted:
        return None
    return permit
