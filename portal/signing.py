"""Visa signing keys: generation, rotation, encryption at rest, and the JWKS.

Private keys are generated here and never leave the server: they are stored encrypted with
AES-256-GCM under a key from SIGNING_KEY_SECRET (or, when that is unset, derived from
SECRET_KEY with HKDF), and decrypted only in memory to sign. A rotation adds a new current key;
the old one stays in the JWKS until every visa it signed has expired, so no valid visa breaks."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import threading
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from portal.exceptions import PortalError
from portal.models import SigningKey


class SecretsUnreadable(PortalError):
    """What the portal sealed cannot be opened with this server's secret: SIGNING_KEY_SECRET, or
    SECRET_KEY when that is unset, is not the one it was sealed with. Nothing can be signed until
    the old secret is back (503, and `manage.py migrate`/`check --database default` refuse)."""

    code = "secrets_unreadable"
    status = 503

    def __init__(self):
        super().__init__(
            "The portal cannot read its visa signing keys: SIGNING_KEY_SECRET (or SECRET_KEY, when "
            "SIGNING_KEY_SECRET is unset) differs from the one they were stored with. Restore the old "
            "value, or set SIGNING_KEY_SECRET to it."
        )


_cache_lock = threading.Lock()
_private_cache: dict[str, object] = {}


def _encryption_key() -> bytes:
    secret = settings.SIGNING_KEY_SECRET
    if secret:
        return hashlib.sha256(secret.encode()).digest()
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"portal-signing-keys", info=b"aes-gcm")
    return hkdf.derive(settings.SECRET_KEY.encode())


def _encrypt(pem: bytes, kid: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(_encryption_key()).encrypt(nonce, pem, kid.encode())


def _decrypt(blob: bytes, kid: str) -> bytes:
    blob = bytes(blob)
    try:
        return AESGCM(_encryption_key()).decrypt(blob[:12], blob[12:], kid.encode())
    except InvalidTag:
        raise SecretsUnreadable() from None


def seal(plaintext: bytes, context: str) -> bytes:
    """Encrypt a secret for storage, as the private keys are (AES-256-GCM under
    SIGNING_KEY_SECRET). `context` names what the secret belongs to (e.g. the row) and is bound to
    the ciphertext, so a sealed value copied to another row does not open there."""
    if not context:
        raise ValueError("seal needs a context naming what the secret belongs to.")
    return _encrypt(plaintext, context)


def unseal(blob: bytes, context: str) -> bytes:
    """Decrypt what seal() stored under the same context; raises SecretsUnreadable for another
    context, another SIGNING_KEY_SECRET or an altered blob."""
    return _decrypt(blob, context)


def _generate(alg: str):
    if alg == SigningKey.Algorithm.ES256:
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=3072)


def _public_jwk(private, alg: str, kid: str) -> dict:
    algorithm = ECAlgorithm(ECAlgorithm.SHA256) if alg == "ES256" else RSAAlgorithm(RSAAlgorithm.SHA256)
    jwk = json.loads(algorithm.to_jwk(private.public_key()))
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


def _kid(private) -> str:
    der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:16]).rstrip(b"=").decode()


def forget_cached_keys() -> None:
    """Drop the in-memory key copies (a rotation in this process does it itself)."""
    with _cache_lock:
        _key_cache.clear()
        _private_cache.clear()


def rotate_signing_key(*, alg: str | None = None, actor=None) -> SigningKey:
    """Add a new current signing key (by default of the algorithm VISA_SIGNING_ALG); the previous
    one retires but stays published."""
    from portal import audit

    alg = alg or settings.VISA_SIGNING_ALG
    if alg not in SigningKey.Algorithm.values:
        raise ValueError(f"unsupported algorithm {alg!r}")
    private = _generate(alg)
    kid = _kid(private)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with transaction.atomic():
        now = timezone.now()
        SigningKey.objects.select_for_update().filter(retired_at__isnull=True).update(retired_at=now)
        key = SigningKey.objects.create(
            kid=kid,
            alg=alg,
            public_jwk=_public_jwk(private, alg, kid),
            private_key_encrypted=_encrypt(pem, kid),
            created_at=now,
        )
        audit.record(action="signing_key.rotated", target=key, actor=actor, data={"kid": kid, "alg": alg})
    transaction.on_commit(forget_cached_keys)
    return key


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    alg: str
    private_key: object


def current_key() -> ActiveKey:
    """The key that signs now; one is created (of VISA_SIGNING_ALG) the first time a visa is needed."""
    key = SigningKey.objects.filter(retired_at__isnull=True).order_by("-created_at").first()
    if key is None:
        key = rotate_signing_key()
    with _cache_lock:
        private = _private_cache.get(key.kid)
        if private is None:
            private = serialization.load_pem_private_key(_decrypt(key.private_key_encrypted, key.kid), None)
            _private_cache[key.kid] = private
    return ActiveKey(kid=key.kid, alg=key.alg, private_key=private)


def published_keys(now: dt.datetime | None = None):
    """Keys in the JWKS: the current one and those retired less than a visa lifetime (plus the
    allowed clock skew) ago, since visas they signed may still be valid."""
    now = now or timezone.now()
    grace = dt.timedelta(seconds=settings.VISA_LIFETIME_SECONDS + settings.VISA_CLOCK_SKEW_SECONDS)
    from django.db.models import Q

    return SigningKey.objects.filter(Q(retired_at__isnull=True) | Q(retired_at__gt=now - grace)).order_by("-created_at")


def jwks(now: dt.datetime | None = None) -> dict:
    return {"keys": [key.public_jwk for key in published_keys(now)]}


# Public keys by kid, kept in memory for a short while: verifying a visa then needs no query.
# Whether a key is still published is decided from the cached row's retired_at at every use,
# and the cache lives far shorter than a visa's lifetime, so a rotation is never missed.
_KEY_CACHE_SECONDS = 60
_key_cache: dict[str, tuple[SigningKey, float]] = {}


def _still_published(key: SigningKey, now: dt.datetime) -> bool:
    grace = dt.timedelta(seconds=settings.VISA_LIFETIME_SECONDS + settings.VISA_CLOCK_SKEW_SECONDS)
    return key.retired_at is None or key.retired_at > now - grace


def verification_key(kid: str, now: dt.datetime | None = None) -> SigningKey | None:
    """The published key with this kid, or None."""
    import time

    now = now or timezone.now()
    cached = _key_cache.get(kid)
    if cached is not None and time.monotonic() - cached[1] < _KEY_CACHE_SECONDS:
        return cached[0] if _still_published(cached[0], now) else None
    key = SigningKey.objects.filter(kid=kid).first()
    if key is None:
        return None
    with _cache_lock:
        _key_cache[kid] = (key, time.monotonic())
    return key if _still_published(key, now) else None
