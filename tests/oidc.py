"""A real OpenID Connect provider for the tests: node-oidc-provider, run on 127.0.0.1 by
tests/oidc_provider/server.mjs, and a way to sign a test person in at it without a browser.

The session fixture `oidc_provider` (tests/conftest.py) starts one `OidcProvider` with the clients
and accounts below; its `issuer` is the portal's OIDC issuer for a test. The provider is the real
thing: discovery at `{issuer}/.well-known/openid-configuration`, authorization code flow with
PKCE required (S256 only), codes that work once (a second use is `invalid_grant`), RS256 ID
tokens that carry the profile and e-mail claims, userinfo, client_secret_basic or
client_secret_post at the token endpoint (either works for every client).

Only its pages are ours: every authorization request shows a login form (a "Login" field and a
"Sign in" button) that takes a login of `DEFAULT_ACCOUNTS` (an unknown one gets the form again,
with an error), then consent is given at once and the browser goes back to the client.

Clients (`DEFAULT_CLIENTS`):

- `portal`, secret `portal-secret`: the portal itself.
- `other-client`, secret `other-secret`: another relying party, for an ID token whose `aud` is not
  the portal.

Both accept the redirect URIs `http://testserver/accounts/oidc/callback/` (the Django test
client) and `http://127.0.0.1:<any port>/accounts/oidc/callback/` or
`http://localhost:<any port>/accounts/oidc/callback/` (a live server); nothing else.

Accounts (`DEFAULT_ACCOUNTS`, keyed by the login typed in the form; `sub` is what tokens carry,
shaped like an LS Login subject `<hex>@lifescience-ri.eu`):

- `new-researcher`: Nora Newcomer, new.researcher@uni.example, verified; someone the portal has
  never seen.
- `unverified`: Una Unverified, taken@uni.example, NOT verified (email_verified false).
- `verified-taken`: Vera Verified, taken-verified@uni.example, verified.
- `linker`: Linus Linker, linker@uni.example, verified.
- `spare-1`: Sara Spare, spare.one@uni.example, verified.
- `spare-2`: Simo Second, spare.two@uni.example, verified.

`drive_login(authorize_url, login)` walks the provider's pages with httpx for an authorization
URL the portal produced and returns the URL the provider sends the browser back to (the
client's redirect URI with code, state and iss), without following it.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import socket
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
PROVIDER_DIR = ROOT / "tests" / "oidc_provider"
ARTIFACTS = ROOT / "test-artifacts"
START_TIMEOUT_SECONDS = 20.0
# oidc-provider 9 calls URL.parse and crypto.hash, which Node.js has since 20.18.
MINIMUM_NODE = (20, 18)

CALLBACK_PATH = "/accounts/oidc/callback/"
# The loopback ones match with any port (server.mjs): a live server's port is new every run.
TEST_REDIRECT_URIS = [
    f"http://127.0.0.1{CALLBACK_PATH}",
    f"http://localhost{CALLBACK_PATH}",
    f"http://testserver{CALLBACK_PATH}",
]

DEFAULT_CLIENTS = {
    "portal": {"client_id": "portal", "client_secret": "portal-secret", "redirect_uris": TEST_REDIRECT_URIS},
    "other-client": {"client_id": "other-client", "client_secret": "other-secret", "redirect_uris": TEST_REDIRECT_URIS},
}


def _account(subject_hex: str, email: str, name: str, *, verified: bool = True) -> dict:
    given_name, family_name = name.split(" ", 1)
    return {
        "sub": f"{subject_hex}@lifescience-ri.eu",
        "email": email,
        "email_verified": verified,
        "name": name,
        "given_name": given_name,
        "family_name": family_name,
    }


DEFAULT_ACCOUNTS = {
    "new-researcher": _account(
        "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0", "new.researcher@uni.example", "Nora Newcomer"
    ),
    "unverified": _account(
        "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c", "taken@uni.example", "Una Unverified", verified=False
    ),
    "verified-taken": _account(
        "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f", "taken-verified@uni.example", "Vera Verified"
    ),
    "linker": _account("9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b", "linker@uni.example", "Linus Linker"),
    "spare-1": _account("1111aaaa2222bbbb3333cccc4444dddd5555eeee", "spare.one@uni.example", "Sara Spare"),
    "spare-2": _account("6666ffff7777aaaa8888bbbb9999cccc0000dddd", "spare.two@uni.example", "Simo Second"),
}


class NodeUnavailable(RuntimeError):
    """Node.js or npm is missing or too old, so the provider cannot run."""


class OidcError(RuntimeError):
    """The provider answered with an OAuth error instead of signing the person in."""

    def __init__(self, error: str, description: str = ""):
        super().__init__(f"the OpenID provider answered {error}: {description}" if description else error)
        self.error = error
        self.description = description


def _node_version(node: str) -> tuple[int, int]:
    output = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    major, minor = re.match(r"v(\d+)\.(\d+)", output).groups()
    return int(major), int(minor)


def _pinned_version() -> str:
    return json.loads((PROVIDER_DIR / "package.json").read_text())["dependencies"]["oidc-provider"]


def _installed() -> bool:
    manifest = PROVIDER_DIR / "node_modules" / "oidc-provider" / "package.json"
    return manifest.exists() and json.loads(manifest.read_text())["version"] == _pinned_version()


def ensure_installed() -> None:
    """Checks Node.js, and runs `npm ci` in tests/oidc_provider when the pinned oidc-provider is
    not installed there. Raises NodeUnavailable without a usable node (or npm, when needed)."""
    wanted = "Node.js {}.{} or newer".format(*MINIMUM_NODE)
    node = shutil.which("node")
    if node is None:
        raise NodeUnavailable(f"Node.js is not installed: the OpenID provider tests need {wanted}")
    found = _node_version(node)
    if found < MINIMUM_NODE:
        raise NodeUnavailable("oidc-provider 9 needs {}; {} is {}.{}".format(wanted, node, *found))
    if _installed():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise NodeUnavailable(f"npm is not installed: it installs the OpenID provider into {PROVIDER_DIR}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Parallel pytest processes would run `npm ci` into the same folder at once; one does it.
    with (ARTIFACTS / "oidc-provider-npm.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed():
            return
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR, capture_output=True, text=True, timeout=300
        )
        if result.returncode != 0:
            raise RuntimeError(f"`npm ci` in {PROVIDER_DIR} failed:\n{result.stdout}\n{result.stderr}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OidcProvider:
    """node-oidc-provider running as a child process, configured once at start.

    After start(): `issuer` and `port`, `metadata` (the discovery document) and `log_path` (its
    output, under test-artifacts/). `clients` maps client_id to its registration, `accounts`
    maps a login to its claims. Call ensure_installed() before start()."""

    def __init__(self, *, clients: dict | None = None, accounts: dict | None = None, ttl: dict | None = None):
        self.clients = dict(DEFAULT_CLIENTS if clients is None else clients)
        self.accounts = dict(DEFAULT_ACCOUNTS if accounts is None else accounts)
        # Lifetimes in seconds by oidc-provider's names (IdToken, AuthorizationCode, ...).
        self.ttl = dict(ttl or {})
        self.port: int | None = None
        self.issuer: str | None = None
        self.metadata: dict = {}
        self.log_path: Path | None = None
        self._process: subprocess.Popen | None = None

    def start(self) -> OidcProvider:
        self.port = _free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        config = {
            "port": self.port,
            "issuer": self.issuer,
            "clients": list(self.clients.values()),
            "accounts": self.accounts,
            "ttl": self.ttl,
        }
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.log_path = ARTIFACTS / f"oidc-provider-{self.port}.log"
        with self.log_path.open("w") as log:
            self._process = subprocess.Popen(
                ["node", "server.mjs"],
                cwd=PROVIDER_DIR,
                env={**os.environ, "OIDC_TEST_CONFIG": json.dumps(config)},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"the OpenID provider exited with {self._process.returncode}:\n{self.log_path.read_text()}"
                )
            if f"READY {self.issuer}" in self.log_path.read_text():
                response = httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=5)
                if response.status_code == 200:
                    self.metadata = response.json()
                    return
            time.sleep(0.05)
        raise RuntimeError(
            f"the OpenID provider was not ready within {START_TIMEOUT_SECONDS:.0f} s:\n{self.log_path.read_text()}"
        )

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


class _ProviderPage(HTMLParser):
    """The forms of one of the provider's pages, and the text of its error elements."""

    ERROR_IDS = frozenset({"error", "error_description", "login-error"})

    def __init__(self, html: str):
        super().__init__()
        self.forms: list[dict] = []
        self.texts: dict[str, str] = {}
        self._capturing: tuple[str, str] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attributes.get("action") or "", "fields": {}})
        elif tag == "input" and self.forms and attributes.get("name"):
            self.forms[-1]["fields"][attributes["name"]] = attributes.get("value") or ""
        if attributes.get("id") in self.ERROR_IDS:
            self._capturing = (tag, attributes["id"])
            self.texts[attributes["id"]] = ""

    def handle_endtag(self, tag):
        if self._capturing and self._capturing[0] == tag:
            self._capturing = None

    def handle_data(self, data):
        if self._capturing:
            self.texts[self._capturing[1]] += data


def _origin(url: str | httpx.URL) -> tuple[str, str]:
    parts = urlsplit(str(url))
    return parts.scheme, parts.netloc


def drive_login(authorize_url: str, login: str, *, http: httpx.Client | None = None) -> str:
    """Signs `login` (a key of the provider's accounts) in for an authorization URL and returns
    the URL the provider redirects back to (the client's redirect URI with code, state and iss),
    unfollowed. Raises OidcError when the provider refuses: an error page, an error sent back to
    the client, or a login it does not know. `http` keeps the provider's cookies between calls
    (redirects are walked here whatever its follow_redirects says)."""
    provider_origin = _origin(authorize_url)
    client = http or httpx.Client(timeout=10)
    try:
        response = client.get(authorize_url, follow_redirects=False)
        # Login form, consent, resume and (when a shared client switches person) the provider's
        # own sign-out confirmation: a handful of steps, never more.
        for _ in range(12):
            if response.is_redirect:
                location = str(response.url.join(response.headers["location"]))
                if _origin(location) != provider_origin:
                    answer = parse_qs(urlsplit(location).query)
                    if "error" in answer:
                        raise OidcError(answer["error"][0], answer.get("error_description", [""])[0])
                    return location
                response = client.get(location, follow_redirects=False)
                continue
            page = _ProviderPage(response.text)
            if "error" in page.texts:
                raise OidcError(page.texts["error"].strip(), page.texts.get("error_description", "").strip())
            if "login-error" in page.texts:
                raise OidcError("login_refused", page.texts["login-error"].strip())
            if len(page.forms) != 1 or _origin(response.url.join(page.forms[0]["action"])) != provider_origin:
                raise OidcError(
                    "unexpected_page", f"HTTP {response.status_code} at {response.url}: {response.text[:500]}"
                )
            form = page.forms[0]
            if "login" in form["fields"]:
                form["fields"]["login"] = login
            response = client.post(response.url.join(form["action"]), data=form["fields"], follow_redirects=False)
        raise OidcError("too_many_steps", f"no redirect back to the client from {authorize_url}")
    finally:
        if http is None:
            client.close()
