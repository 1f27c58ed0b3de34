"""Offline verification of the portal's GA4GH visas and passports.

A node configures the issuers it trusts (the portal's URL and where its key set lives). A token
is accepted only when:

- it is no larger than the configured cap (checked before anything is decoded);
- its header names `typ` vnd.ga4gh.visa+jwt (or passport+jwt for a passport), an algorithm the node
  allows (ES256, RS256) and a `kid` found in a trusted issuer's key set, and any `jku` in it is that
  issuer's configured key-set URL or its public default (a `jku` is never fetched: keys come only from
  configuration, so a node may fetch them from an internal address while visas name the public one);
- the algorithm is the one of the key (never taken from the token alone) and the signature holds;
- `iss` is the issuer whose key signed it; `iat`, `exp` and the visa's `asserted` are integers that
  fit the clock within the configured skew;
- `ga4gh_visa_v1` says `type: ControlledAccessGrants`, `by: dac`, carries no `conditions` (a node that
  cannot evaluate conditions must refuse the visa), and its `value` names one dataset: a dataset URL
  of that issuer (`<issuer>/datasets/<accession>`, with or without a trailing slash) or a resource id
  the node has mapped to an accession (`Config.resources`, e.g. an archive accession).

Key sets are fetched with httpx and cached; an unknown `kid` triggers one refresh per issuer at most
once per `refresh_interval` seconds, so a flood of forged tokens cannot hammer the portal.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import httpx
import jwt
from jwt.algorithms import get_default_algorithms

logger = logging.getLogger("visa_verifier")

VISA_TYP = "vnd.ga4gh.visa+jwt"
PASSPORT_TYP = "vnd.ga4gh.passport+jwt"
SUPPORTED_ALGORITHMS = ("ES256", "RS256")
JWKS_PATH = "/.well-known/jwks.json"
_ACCESSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_MIN_RSA_BITS = 2048
_DEFAULT_ALGORITHM = {"EC": "ES256", "RSA": "RS256"}  # for a JWK without `alg`


class Rejected(Exception):
    """The token does not grant anything. `code` is stable (for logs and metrics), `reason` is for
    people."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class KeySetUnavailable(Exception):
    """The issuer's key set could not be fetched or read."""


@dataclass(frozen=True)
class TrustedIssuer:
    """An issuer whose visas this node honours: `iss` exactly as in its tokens, and the one URL its
    keys are fetched from (by default `<issuer>/.well-known/jwks.json`)."""

    issuer: str
    jwks_url: str = ""

    def __post_init__(self):
        issuer = self.issuer.rstrip("/")
        if not issuer.startswith(("https://", "http://")):
            raise ValueError(f"issuer must be an http(s) URL: {self.issuer!r}")
        object.__setattr__(self, "issuer", issuer)
        jwks_url = self.jwks_url or issuer + JWKS_PATH
        if not jwks_url.startswith(("https://", "http://")):
            raise ValueError(f"JWKS URL must be an http(s) URL: {self.jwks_url!r}")
        object.__setattr__(self, "jwks_url", jwks_url)

    @property
    def allowed_jku(self) -> tuple[str, ...]:
        """The `jku` values a token of this issuer may carry (never fetched)."""
        return (self.jwks_url, self.issuer + JWKS_PATH)

    @property
    def insecure(self) -> bool:
        """Keys fetched over plain HTTP from a host other than this machine can be replaced in transit."""
        return any(plain_http_elsewhere(url) for url in (self.issuer, self.jwks_url))

    @property
    def dataset_prefix(self) -> str:
        return f"{self.issuer}/datasets/"

    @classmethod
    def parse(cls, text: str) -> TrustedIssuer:
        """`ISSUER` or `ISSUER=JWKS_URL` (the form of the command line and VISA_TRUSTED_ISSUERS)."""
        issuer, _, jwks_url = text.strip().partition("=")
        return cls(issuer=issuer.strip(), jwks_url=jwks_url.strip())


@dataclass(frozen=True)
class Config:
    issuers: tuple[TrustedIssuer, ...]
    algorithms: tuple[str, ...] = SUPPORTED_ALGORITHMS
    clock_skew: int = 60
    max_token_bytes: int = 16_384
    max_passport_bytes: int = 1_048_576
    max_visas_per_passport: int = 1000
    max_jwks_bytes: int = 262_144
    # Cached keys are used this long before the key set is fetched again.
    jwks_max_age: float = 300.0
    # An unknown kid refreshes an issuer's key set at most this often.
    # A key the portal has just rotated in is therefore honoured within this many seconds.
    refresh_interval: float = 10.0
    http_timeout: float = 5.0
    # Resource ids a visa's `value` may carry instead of a dataset URL, each mapped to the accession
    # it names (e.g. {"EGAD00001000001": "GDS000123"}); the same for every trusted issuer.
    resources: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        if not self.issuers:
            raise ValueError("trust at least one issuer")
        unknown = set(self.algorithms) - set(SUPPORTED_ALGORITHMS)
        if unknown or not self.algorithms:
            raise ValueError(f"algorithms must be a non-empty subset of {SUPPORTED_ALGORITHMS}, not {unknown}")
        if self.clock_skew < 0 or self.clock_skew > 300:
            raise ValueError("clock_skew must be between 0 and 300 seconds")
        object.__setattr__(self, "issuers", tuple(self.issuers))
        for resource, accession in dict(self.resources).items():
            if not isinstance(resource, str) or not resource or resource != resource.strip():
                raise ValueError(f"a resource id must be non-empty text without surrounding blanks: {resource!r}")
            if not isinstance(accession, str) or not _ACCESSION.fullmatch(accession):
                raise ValueError(f"resource {resource!r} must map to an accession, not {accession!r}")
        object.__setattr__(self, "resources", dict(self.resources))


@dataclass(frozen=True)
class Grant:
    """What a valid visa says: `sub` may use `dataset` (an accession) until `expires_at` (unix seconds,
    the visa's `exp`). `dataset_url` is the issuer's URL of that dataset (without a trailing slash),
    `value` the visa's value as it came (that URL, or a mapped resource id). `source` is the committee
    that decided, `asserted` when it did."""

    issuer: str
    sub: str
    dataset: str
    dataset_url: str
    expires_at: int
    issued_at: int
    asserted: int
    source: str
    jti: str
    kid: str
    token: str = field(repr=False, compare=False)
    value: str = ""

    def as_dict(self) -> dict:
        return {
            "issuer": self.issuer,
            "sub": self.sub,
            "dataset": self.dataset,
            "dataset_url": self.dataset_url,
            "value": self.value,
            "expires_at": self.expires_at,
            "issued_at": self.issued_at,
            "asserted": self.asserted,
            "source": self.source,
            "jti": self.jti,
            "kid": self.kid,
        }


@dataclass
class _Key:
    kid: str
    alg: str
    key: object  # a cryptography public key object, ready for PyJWT


@dataclass
class _KeySet:
    keys: dict[str, _Key] = field(default_factory=dict)
    fetched_at: float | None = None  # last successful fetch
    tried_at: float | None = None  # last attempt, successful or not
    lock: threading.Lock = field(default_factory=threading.Lock)


class Verifier:
    """Thread-safe; make one per process and share it."""

    def __init__(
        self,
        config: Config,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.config = config
        self._clock = clock
        self._http = http or httpx.Client(timeout=config.http_timeout, follow_redirects=False)
        self._issuers = {trusted.issuer: trusted for trusted in config.issuers}
        self._sets = {trusted.issuer: _KeySet() for trusted in config.issuers}
        self._algorithms = {name: get_default_algorithms()[name] for name in config.algorithms}
        for trusted in config.issuers:
            if trusted.insecure:
                logger.warning(
                    "the keys of %s are fetched over plain HTTP from another host: whoever can change that "
                    "traffic can forge visas; use https",
                    trusted.issuer,
                )
        self._fetches = 0

    def close(self) -> None:
        """Close the HTTP connections kept for key-set fetches."""
        self._http.close()

    @property
    def fetches(self) -> int:
        """How many times a key set was requested (tests and metrics)."""
        return self._fetches

    # --- public answers ---------------------------------------------------------------------

    def verify_visa(self, token: str | bytes, *, now: float | None = None) -> Grant:
        """The grant a visa carries, or Rejected saying why not."""
        now = self._clock() if now is None else now
        token = _as_text(token, self.config.max_token_bytes, "visa")
        header = _segment_json(token, 0, "header")
        if header.get("typ") != VISA_TYP:
            raise Rejected("wrong_typ", f"header typ must be {VISA_TYP}")
        claims, key, trusted = self._verify_signed(token, header, now)
        visa = claims.get("ga4gh_visa_v1")
        if not isinstance(visa, dict):
            raise Rejected("not_a_visa", "no ga4gh_visa_v1 claim")
        if visa.get("type") != "ControlledAccessGrants":
            raise Rejected("wrong_visa_type", "visa type must be ControlledAccessGrants")
        if visa.get("by") != "dac":
            raise Rejected("wrong_visa_by", "visa must be asserted by a DAC (by: dac)")
        if "conditions" in visa and visa["conditions"] not in (None, [], ""):
            raise Rejected("conditions", "visas with conditions are not honoured by this node")
        asserted = visa.get("asserted")
        if not _is_int(asserted):
            raise Rejected("bad_asserted", "asserted must be an integer time")
        if asserted > now + self.config.clock_skew or asserted > claims["iat"] + self.config.clock_skew:
            raise Rejected("asserted_in_future", "the decision is dated after the visa or now")
        value = visa.get("value")
        accession = self._accession_of(value, trusted)
        source = visa.get("source")
        return Grant(
            issuer=trusted.issuer,
            sub=claims["sub"],
            dataset=accession,
            dataset_url=trusted.dataset_prefix + accession,
            value=value,
            expires_at=claims["exp"],
            issued_at=claims["iat"],
            asserted=asserted,
            source=source if isinstance(source, str) else "",
            jti=claims["jti"],
            kid=key.kid,
            token=token,
        )

    def _accession_of(self, value, trusted: TrustedIssuer) -> str:
        """The accession a visa's value names: a configured resource id, or a dataset URL of the issuer
        with or without one trailing slash (the portal wrote the slash before resource ids existed)."""
        if not isinstance(value, str) or not value:
            raise Rejected("foreign_dataset", "visa value is not a dataset")
        if value in self.config.resources:
            return self.config.resources[value]
        if not value.startswith(trusted.dataset_prefix):
            raise Rejected("foreign_dataset", "visa value is neither a dataset of its issuer nor a known resource")
        accession = value[len(trusted.dataset_prefix) :].removesuffix("/")
        if not _ACCESSION.fullmatch(accession):
            raise Rejected("foreign_dataset", "visa value does not name one dataset")
        return accession

    def verify_passport(self, token: str | bytes, *, now: float | None = None) -> tuple[list[Grant], list[Rejected]]:
        """A passport's valid grants and the reasons its other visas were refused. The passport
        itself must be signed by a trusted issuer; a visa for another person is refused."""
        now = self._clock() if now is None else now
        token = _as_text(token, self.config.max_passport_bytes, "passport")
        header = _segment_json(token, 0, "header")
        if header.get("typ") != PASSPORT_TYP:
            raise Rejected("wrong_typ", f"header typ must be {PASSPORT_TYP}")
        claims, _key, _trusted = self._verify_signed(token, header, now)
        visas = claims.get("ga4gh_passport_v1")
        if not isinstance(visas, list) or not all(isinstance(visa, str) for visa in visas):
            raise Rejected("not_a_passport", "ga4gh_passport_v1 must be a list of visa JWTs")
        if len(visas) > self.config.max_visas_per_passport:
            raise Rejected("too_large", f"more than {self.config.max_visas_per_passport} visas")
        grants, refused = [], []
        for visa in visas:
            try:
                grant = self.verify_visa(visa, now=now)
            except Rejected as rejected:
                refused.append(rejected)
                continue
            if grant.sub != claims["sub"]:
                refused.append(Rejected("other_subject", "a visa of another person inside the passport"))
                continue
            grants.append(grant)
        return grants, refused

    def grant_for(self, token: str | bytes, dataset: str, *, now: float | None = None) -> Grant:
        """The grant for `dataset` (an accession, the dataset's URL or a configured resource id) carried
        by a visa or a passport; Rejected when there is none, with the most telling reason."""
        now = self._clock() if now is None else now
        mapped = self.config.resources.get(dataset)
        wanted = mapped or dataset.rstrip("/").rsplit("/", 1)[-1]
        text = _as_text(token, self.config.max_passport_bytes, "token")
        if _segment_json(text, 0, "header").get("typ") == PASSPORT_TYP:
            grants, refused = self.verify_passport(text, now=now)
        else:
            grants, refused = [self.verify_visa(text, now=now)], []
        # A URL names one issuer's dataset: another issuer's dataset of the same accession is not it.
        url = dataset.rstrip("/") if "://" in dataset and mapped is None else None
        matching = [grant for grant in grants if grant.dataset == wanted and (url is None or grant.dataset_url == url)]
        if matching:
            return max(matching, key=lambda grant: grant.expires_at)
        if refused and not grants:
            raise refused[0]
        raise Rejected("other_dataset", f"no visa for {wanted}")

    # --- signature and registered claims ----------------------------------------------------

    def _verify_signed(self, token: str, header: dict, now: float) -> tuple[dict, _Key, TrustedIssuer]:
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise Rejected("alg_not_allowed", f"algorithm {alg!r} is not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Rejected("no_kid", "header has no kid")
        # The key cache ages by the verifier's own clock, whatever time the caller asks about.
        trusted, key = self._find_key(token, kid, header, self._clock())
        if "jku" in header and header["jku"] not in trusted.allowed_jku:
            raise Rejected("jku_not_trusted", "jku is not the key-set URL configured for this issuer")
        if key.alg != alg:
            raise Rejected("alg_mismatch", "the header's algorithm is not the key's")
        skew = self.config.clock_skew
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[key.alg],
                options={
                    "require": ["iss", "sub", "iat", "exp", "jti"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_aud": False,
                    "verify_iss": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise Rejected("bad_signature", "the signature does not verify") from None
        except jwt.MissingRequiredClaimError as error:
            raise Rejected("missing_claim", f"missing claim {error.claim}") from None
        except jwt.PyJWTError as error:
            raise Rejected("malformed", f"not a valid JWS ({error.__class__.__name__})") from None
        if claims["iss"] != trusted.issuer:
            raise Rejected("issuer_mismatch", "signed by a key of another issuer")
        iat, exp = claims["iat"], claims["exp"]
        if not _is_int(iat) or not _is_int(exp):
            raise Rejected("bad_time", "iat and exp must be integers")
        if not all(isinstance(claims[name], str) and claims[name] for name in ("sub", "jti")):
            raise Rejected("bad_claim", "sub and jti must be non-empty strings")
        if now >= exp + skew:
            raise Rejected("expired", "the token has expired")
        if iat > now + skew:
            raise Rejected("issued_in_future", "the token is dated in the future")
        if exp <= iat:
            raise Rejected("bad_time", "exp is not after iat")
        nbf = claims.get("nbf")
        if nbf is not None and (not _is_int(nbf) or nbf > now + skew):
            raise Rejected("not_yet_valid", "the token is not valid yet (nbf)")
        return claims, key, trusted

    # --- key sets ----------------------------------------------------------------------------

    def _find_key(self, token: str, kid: str, header: dict, now: float) -> tuple[TrustedIssuer, _Key]:
        found = self._cached_key(token, kid, now)
        if found is not None:
            return found
        # Unknown kid: refresh the key set of the issuer the token names (unverified, only to choose
        # which configured URL to ask), at most once per refresh_interval.
        issuer = _segment_json(token, 1, "payload").get("iss")
        trusted = self._issuers.get(issuer.rstrip("/")) if isinstance(issuer, str) else None
        if trusted is None:
            raise Rejected("untrusted_issuer", "the issuer is not trusted by this node")
        if "jku" in header and header["jku"] not in trusted.allowed_jku:
            raise Rejected("jku_not_trusted", "jku is not the key-set URL configured for this issuer")
        self._refresh(trusted, now, forced=True)
        keyset = self._sets[trusted.issuer]
        key = keyset.keys.get(kid)
        if key is None and keyset.fetched_at is None:
            raise KeySetUnavailable(f"the key set of {trusted.issuer} could not be fetched")
        if key is None:
            raise Rejected("unknown_kid", "no key with this kid in the issuer's key set")
        return trusted, key

    def _cached_key(self, token: str, kid: str, now: float) -> tuple[TrustedIssuer, _Key] | None:
        found = []
        for issuer, keyset in self._sets.items():
            if keyset.fetched_at is None or now - keyset.fetched_at >= self.config.jwks_max_age:
                self._refresh(self._issuers[issuer], now, forced=False)
            key = keyset.keys.get(kid)
            if key is not None:
                found.append((self._issuers[issuer], key))
        if len(found) > 1:
            # Two trusted issuers publish the same kid: use the key set of the issuer the token names,
            # so that one issuer's keys cannot shadow another's (iss is checked after the signature).
            named = _segment_json(token, 1, "payload").get("iss")
            found = [pair for pair in found if pair[0].issuer == named] or found[:1]
        return found[0] if found else None

    def _refresh(self, trusted: TrustedIssuer, now: float, *, forced: bool) -> None:
        keyset = self._sets[trusted.issuer]
        with keyset.lock:
            if keyset.tried_at is not None and now - keyset.tried_at < self.config.refresh_interval:
                return  # fetched (or tried) a moment ago, by this or another thread
            if not forced and keyset.fetched_at is not None and now - keyset.fetched_at < self.config.jwks_max_age:
                return
            keyset.tried_at = now
            try:
                keys = self._fetch(trusted)
            except KeySetUnavailable as error:
                # Keep serving with the keys we have; a node must not stop because the portal blinked.
                logger.warning(
                    "key set of %s unavailable, keeping %d cached keys: %s", trusted.issuer, len(keyset.keys), error
                )
                return
            keyset.keys = keys
            keyset.fetched_at = now

    def _fetch(self, trusted: TrustedIssuer) -> dict[str, _Key]:
        self._fetches += 1
        try:
            with self._http.stream("GET", trusted.jwks_url, headers={"Accept": "application/json"}) as response:
                if response.status_code != 200:
                    raise KeySetUnavailable(f"{trusted.jwks_url} answered {response.status_code}")
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self.config.max_jwks_bytes:
                        raise KeySetUnavailable(f"{trusted.jwks_url} is larger than {self.config.max_jwks_bytes} bytes")
        except httpx.HTTPError as error:
            raise KeySetUnavailable(f"{trusted.jwks_url}: {error.__class__.__name__}") from None
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            raise KeySetUnavailable(f"{trusted.jwks_url} is not JSON") from None
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise KeySetUnavailable(f"{trusted.jwks_url} has no keys list")
        return dict(self._usable_keys(document["keys"], trusted))

    def _usable_keys(self, jwks: Iterable, trusted: TrustedIssuer):
        for jwk in jwks:
            if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str) or not jwk["kid"]:
                continue
            if jwk.get("use", "sig") != "sig" or "d" in jwk:
                continue  # an encryption key, or a private key that should never have been published
            kty = jwk.get("kty")
            alg = jwk.get("alg") or (_DEFAULT_ALGORITHM.get(kty) if isinstance(kty, str) else None)
            if not isinstance(alg, str) or alg not in self._algorithms:
                continue
            try:
                key = jwt.PyJWK(jwk, algorithm=alg).key
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as error:
                logger.warning("skipping key %s of %s: %s", jwk.get("kid"), trusted.issuer, error)
                continue
            if alg == "RS256" and key.key_size < _MIN_RSA_BITS:
                continue
            if alg == "ES256" and getattr(getattr(key, "curve", None), "name", "") != "secp256r1":
                continue
            yield jwk["kid"], _Key(kid=jwk["kid"], alg=alg, key=key)


def _as_text(token: str | bytes, limit: int, what: str) -> str:
    if isinstance(token, bytes):
        if len(token) > limit:
            raise Rejected("too_large", f"the {what} is larger than {limit} bytes")
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError:
            raise Rejected("malformed", f"the {what} is not a compact JWS") from None
    if not isinstance(token, str):
        raise Rejected("malformed", f"the {what} is not a compact JWS")
    token = token.strip()
    if len(token) > limit:
        raise Rejected("too_large", f"the {what} is larger than {limit} bytes")
    if not token or token.count(".") != 2:
        raise Rejected("malformed", f"the {what} is not a compact JWS")
    return token


def _segment_json(token: str, index: int, what: str) -> dict:
    segment = token.split(".", 2)[index]
    try:
        data = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error, RecursionError):  # deep nesting exhausts the C decoder's stack
        raise Rejected("malformed", f"the {what} is not base64url JSON") from None
    if not isinstance(data, dict):
        raise Rejected("malformed", f"the {what} is not a JSON object")
    return data


def plain_http_elsewhere(url: str) -> bool:
    """Whether `url` is plain HTTP to a host other than this machine (readable and changeable in transit)."""
    return url.startswith("http://") and httpx.URL(url).host not in ("127.0.0.1", "localhost", "::1")


def iso_time(seconds: float | None) -> str | None:
    """Unix seconds as ISO 8601 UTC with a Z, as the portal writes times."""
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).isoformat().replace("+00:00", "Z")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
