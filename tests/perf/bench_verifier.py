"""Offline throughput of the reference verifier on one core: `python -m tests.perf.bench_verifier`.

Times `Verifier.verify_visa` on a visa in the portal's exact shape, with the issuer's key set
already cached (fetched once through httpx.MockTransport, outside the timed loop), next to plain
PyJWT decoding the same token with the same public key and algorithm. The verifier does more
(typ, kid and jku, issuer, integer times, the visa claim), so the ratio says what that costs.
Goal: a ratio of at least 0.8, for ES256 and for RS256 (3072-bit). Also times `grant_for` on a
passport of 10 visas. Rounds alternate between the two so that drift of the machine hits both.
Needs no Django. Not a pytest module on purpose: timings in a shared test run are noise.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from visa_verifier.verifier import JWKS_PATH, PASSPORT_TYP, VISA_TYP, Config, TrustedIssuer, Verifier

GOAL = 0.8
ROUNDS = 7
BATCH = 2_000
PASSPORT_VISAS = 10
PASSPORT_BATCH = 200
ISSUER = "https://portal.example"


def _keys() -> dict[str, tuple[str, object]]:
    """alg -> (kid, private key), as the portal makes them (portal/signing.py)."""
    return {
        "ES256": ("bench-es256", ec.generate_private_key(ec.SECP256R1())),
        "RS256": ("bench-rs256", rsa.generate_private_key(public_exponent=65537, key_size=3072)),
    }


def _jwks(keys: dict[str, tuple[str, object]]) -> dict:
    published = []
    for alg, (kid, private) in keys.items():
        algorithm = ECAlgorithm if alg == "ES256" else RSAAlgorithm
        jwk = algorithm.to_jwk(private.public_key(), as_dict=True)
        published.append({**jwk, "kid": kid, "alg": alg, "use": "sig"})
    return {"keys": published}


def _sign(claims: dict, alg: str, kid: str, private, typ: str = VISA_TYP) -> str:
    headers = {"typ": typ, "kid": kid, "jku": ISSUER + JWKS_PATH}
    return jwt.encode(claims, private, algorithm=alg, headers=headers)


def _visa(alg: str, kid: str, private, now: int, accession: str = "GDS000123") -> str:
    claims = {
        "iss": ISSUER,
        "sub": "3f5a8f4e-2b1c-4d7e-9a60-1c2b3d4e5f60",
        "iat": now,
        "exp": now + 3600,
        "jti": f"permit-4242-{uuid.uuid4().hex}",
        "ga4gh_visa_v1": {
            "type": "ControlledAccessGrants",
            "value": f"{ISSUER}/datasets/{accession}/",
            "source": f"{ISSUER}/committees/cancer-dac/",
            "by": "dac",
            "asserted": now - 86_400,
        },
    }
    return _sign(claims, alg, kid, private)


def _passport(alg: str, kid: str, private, now: int, visas: list[str]) -> str:
    claims = {
        "iss": ISSUER,
        "sub": "3f5a8f4e-2b1c-4d7e-9a60-1c2b3d4e5f60",
        "iat": now,
        "exp": now + 3600,
        "jti": uuid.uuid4().hex,
        "ga4gh_passport_v1": visas,
    }
    return _sign(claims, alg, kid, private, typ=PASSPORT_TYP)


def _verifier(jwks: dict) -> Verifier:
    body = json.dumps(jwks).encode()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    return Verifier(Config(issuers=(TrustedIssuer(ISSUER),)), http=httpx.Client(transport=transport))


def _rate(call: Callable[[], object], batch: int) -> float:
    start = time.perf_counter()
    for _ in range(batch):
        call()
    return batch / (time.perf_counter() - start)


def _medians(first: Callable[[], object], second: Callable[[], object], batch: int) -> tuple[float, float]:
    firsts, seconds = [], []
    for _ in range(ROUNDS):
        firsts.append(_rate(first, batch))
        seconds.append(_rate(second, batch))
    return statistics.median(firsts), statistics.median(seconds)


def main() -> int:
    keys = _keys()
    verifier = _verifier(_jwks(keys))
    now = int(time.time())
    rows, met = [], True
    for alg, (kid, private) in keys.items():
        token = _visa(alg, kid, private, now)
        public = private.public_key()
        # Both must succeed on the token before they are timed; this also caches the key set.
        assert verifier.verify_visa(token).dataset == "GDS000123"
        assert jwt.decode(token, public, algorithms=[alg])["iss"] == ISSUER
        ours, plain = _medians(
            lambda token=token: verifier.verify_visa(token),
            lambda token=token, public=public, alg=alg: jwt.decode(token, public, algorithms=[alg]),
            BATCH,
        )
        ratio = ours / plain
        met = met and ratio >= GOAL
        rows.append((alg, ours, plain, ratio))

    kid, private = keys["ES256"]
    accessions = [f"GDS{n:06d}" for n in range(1, PASSPORT_VISAS + 1)]
    passport = _passport("ES256", kid, private, now, [_visa("ES256", kid, private, now, acc) for acc in accessions])
    assert verifier.grant_for(passport, accessions[-1]).dataset == accessions[-1]
    passports = statistics.median(
        _rate(lambda: verifier.grant_for(passport, accessions[-1]), PASSPORT_BATCH) for _ in range(ROUNDS)
    )
    assert verifier.fetches == 1, "a key set was fetched inside the timed loop"

    print(f"visa verification offline, keys cached: median of {ROUNDS} rounds of {BATCH:,} (one core)")
    print(f"{'alg':<7}{'verifier/s':>12}{'PyJWT/s':>10}{'ratio':>8}  goal >= {GOAL}")
    for alg, ours, plain, ratio in rows:
        print(f"{alg:<7}{ours:>12,.0f}{plain:>10,.0f}{ratio:>8.2f}  {'met' if ratio >= GOAL else 'NOT MET'}")
    print(
        f"passport of {PASSPORT_VISAS} ES256 visas, grant_for: {passports:,.0f} passports/s = "
        f"{passports * PASSPORT_VISAS:,.0f} visas/s (plus the passport's own signature)"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
