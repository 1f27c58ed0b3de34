"""What the reference verifier's tests share: signing keys made with `cryptography`, visas and
passports in exactly the portal's shape (requests/visas.py), and key sets served by real HTTP
servers on 127.0.0.1 that a test can change, stop and count requests on."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm, get_default_algorithms

from visa_verifier.verifier import JWKS_PATH, PASSPORT_TYP, VISA_TYP

SUB = "3f5a8f4e-2b1c-4d7e-9a60-1c2b3d4e5f60"
OTHER_SUB = "9b8c7d6e-5f40-4a3b-8c2d-1e0f9a8b7c6d"
ACCESSION = "GDS000001"
OTHER_ACCESSION = "GDS000002"
START = 1_800_000_000.0  # the clock of the unit tests (2027-01-15), far from any real time


# --- keys -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """A signing key as the portal holds it: private half, `kid` and algorithm."""

    kid: str
    alg: str
    private: object

    @property
    def public(self):
        return self.private.public_key()

    def jwk(self, **changes) -> dict:
        """The public JWK as the portal publishes it (requests: signing._public_jwk); a change
        whose value is None removes the member."""
        algorithm = ECAlgorithm if isinstance(self.public, ec.EllipticCurvePublicKey) else RSAAlgorithm
        jwk = {**algorithm.to_jwk(self.public, as_dict=True), "kid": self.kid, "alg": self.alg, "use": "sig"}
        return _changed(jwk, changes)

    def private_jwk(self) -> dict:
        algorithm = ECAlgorithm if isinstance(self.public, ec.EllipticCurvePublicKey) else RSAAlgorithm
        return {**algorithm.to_jwk(self.private, as_dict=True), "kid": self.kid, "alg": self.alg, "use": "sig"}


def make_key(alg: str = "ES256", *, kid: str | None = None, bits: int = 3072, curve=None) -> Key:
    if alg.startswith("ES"):
        private = ec.generate_private_key(curve or ec.SECP256R1())
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return Key(kid=kid or f"{alg.lower()}-{uuid.uuid4().hex[:12]}", alg=alg, private=private)


@pytest.fixture(scope="session")
def es_key() -> Key:
    return make_key("ES256", kid="portal-es256-1")


@pytest.fixture(scope="session")
def es_key_2() -> Key:
    return make_key("ES256", kid="portal-es256-2")


@pytest.fixture(scope="session")
def rs_key() -> Key:
    return make_key("RS256", kid="portal-rs256-1", bits=3072)


@pytest.fixture(scope="session")
def other_issuer_key() -> Key:
    return make_key("ES256", kid="other-portal-es256")


@pytest.fixture(scope="session")
def attacker_key() -> Key:
    return make_key("ES256", kid="attacker-es256")


# --- tokens ---------------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64_json(value) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def _changed(mapping: dict, changes: dict) -> dict:
    result = dict(mapping)
    for name, value in changes.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def jwks_url_of(issuer: str) -> str:
    return issuer + JWKS_PATH


def visa_claims(
    issuer: str,
    now: float,
    *,
    accession: str = ACCESSION,
    sub: str = SUB,
    lifetime: int = 3600,
    **visa_changes,
) -> dict:
    """The claims the portal puts in a visa (requests.visas.visa_claims), decided a day before."""
    visa = {
        "type": "ControlledAccessGrants",
        "value": f"{issuer}/datasets/{accession}",
        "source": f"{issuer}/committees/cancer-dac/",
        "by": "dac",
        "asserted": int(now) - 86_400,
    }
    return {
        "iss": issuer,
        "sub": sub,
        "iat": int(now),
        "exp": int(now) + lifetime,
        "jti": f"permit-42-{uuid.uuid4().hex}",
        "ga4gh_visa_v1": _changed(visa, visa_changes),
    }


def passport_claims(issuer: str, now: float, visas: list[str], *, sub: str = SUB, lifetime: int = 3600) -> dict:
    return {
        "iss": issuer,
        "sub": sub,
        "iat": int(now),
        "exp": int(now) + lifetime,
        "jti": uuid.uuid4().hex,
        "ga4gh_passport_v1": visas,
    }


def compact(header: dict, claims, key: Key | None, *, alg: str | None = None) -> str:
    """A compact JWS made by hand, so that any header survives (PyJWT's encoder checks some):
    signed with `key` by `alg` (default: the header's), or with an empty signature without key."""
    payload = claims if isinstance(claims, str) else b64_json(claims)
    signing_input = f"{b64_json(header)}.{payload}"
    if key is None:
        return signing_input + "."
    algorithm = get_default_algorithms()[alg or header["alg"]]
    return f"{signing_input}.{b64(algorithm.sign(signing_input.encode(), key.private))}"


def sign(claims: dict, key: Key, *, typ: str | None = VISA_TYP, **header_changes) -> str:
    """Signed as the portal signs (requests.visas._sign): alg of the key, typ, kid, jku of `iss`.
    A header change whose value is None removes the member."""
    header = {"alg": key.alg, "typ": typ, "kid": key.kid, "jku": jwks_url_of(str(claims.get("iss")))}
    return compact(_changed(header, header_changes), claims, key, alg=key.alg)


def visa(issuer: str, key: Key, now: float, **claim_options) -> str:
    return sign(visa_claims(issuer, now, **claim_options), key)


def passport(issuer: str, key: Key, now: float, visas: list[str], *, sub: str = SUB, **header_changes) -> str:
    return sign(passport_claims(issuer, now, visas, sub=sub), key, typ=PASSPORT_TYP, **header_changes)


# --- key sets over HTTP ---------------------------------------------------------------------------


class JwksServer:
    """A real HTTP server on 127.0.0.1 serving a key set at /.well-known/jwks.json. The test sets
    `keys` (or a raw `body`, a `status`, a `redirect`) and reads `gets`, the requests received."""

    def __init__(self):
        self.keys: list[dict] = []
        self.body: bytes | None = None
        self.status = 200
        self.redirect: str | None = None
        self.gets = 0
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self.running = True

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def jwks_url(self) -> str:
        return jwks_url_of(self.issuer)

    def serve(self, *keys: Key | dict) -> JwksServer:
        self.keys = [key.jwk() if isinstance(key, Key) else key for key in keys]
        return self

    def document(self) -> bytes:
        return self.body if self.body is not None else json.dumps({"keys": self.keys}).encode()

    def stop(self) -> None:
        if self.running:
            self.running = False
            self._server.shutdown()
            self._server.server_close()

    def _received(self, path: str) -> None:
        with self._lock:
            self.gets += 1
            self.paths.append(path)


def _handler(owner: JwksServer):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            owner._received(self.path)
            if owner.redirect:
                self.send_response(302)
                self.send_header("Location", owner.redirect)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = owner.document() if self.path == JWKS_PATH else b'{"error": "not found"}'
            self.send_response(owner.status if self.path == JWKS_PATH else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # quiet test output
            return

    return Handler


@pytest.fixture
def start_server():
    """start_server() -> a new JwksServer (one per issuer); all are stopped after the test."""
    servers: list[JwksServer] = []

    def start() -> JwksServer:
        server = JwksServer()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def portal(start_server, es_key) -> JwksServer:
    """The trusted portal's key set, serving `es_key`."""
    return start_server().serve(es_key)


class Clock:
    """The verifier's clock: fixed until a test moves it."""

    def __init__(self, now: float = START):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()
