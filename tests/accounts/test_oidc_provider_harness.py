"""The test OpenID provider itself (tests/oidc.py): what the portal's sign-in tests rely on, shown
with a relying party written here in plain httpx, so none of the portal's code is involved."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest

from tests.oidc import DEFAULT_ACCOUNTS, OidcError, drive_login

CALLBACK = "/accounts/oidc/callback/"
LIVE_SERVER_CALLBACK = f"http://127.0.0.1:54321{CALLBACK}"


def authorization_request(
    provider, *, client_id: str = "portal", redirect_uri: str = LIVE_SERVER_CALLBACK, pkce_method: str | None = "S256"
) -> dict:
    """An authorization URL as a relying party builds it, with the secrets it keeps to check the
    answer: state, nonce and the PKCE code verifier."""
    request = {
        "redirect_uri": redirect_uri,
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        "verifier": secrets.token_urlsafe(48),
    }
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": "openid profile email",
        "state": request["state"],
        "nonce": request["nonce"],
    }
    if pkce_method == "S256":
        digest = hashlib.sha256(request["verifier"].encode()).digest()
        params["code_challenge"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    elif pkce_method == "plain":
        params["code_challenge"] = request["verifier"]
    if pkce_method:
        params["code_challenge_method"] = pkce_method
    request["url"] = f"{provider.metadata['authorization_endpoint']}?{urlencode(params)}"
    return request


def callback_params(callback_url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(callback_url).query).items()}


def exchange_code(
    provider, request: dict, code: str, *, client_id: str = "portal", auth: str = "client_secret_basic"
) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": request["redirect_uri"],
        "code_verifier": request["verifier"],
    }
    secret = provider.clients[client_id]["client_secret"]
    if auth == "client_secret_basic":
        return httpx.post(provider.metadata["token_endpoint"], data=form, auth=(client_id, secret))
    return httpx.post(
        provider.metadata["token_endpoint"], data={**form, "client_id": client_id, "client_secret": secret}
    )


def verified_id_token(provider, id_token: str, *, audience: str) -> dict:
    """The ID token's claims once its RS256 signature checks out against the provider's JWKS."""
    key_set = jwt.PyJWKSet.from_dict(httpx.get(provider.metadata["jwks_uri"]).json())
    signing_key = key_set[jwt.get_unverified_header(id_token)["kid"]]
    return jwt.decode(id_token, key=signing_key, algorithms=["RS256"], audience=audience, issuer=provider.issuer)


def sign_in(provider, login: str, **request_options) -> tuple[dict, dict[str, str]]:
    request = authorization_request(provider, **request_options)
    return request, callback_params(drive_login(request["url"], login))


def test_discovery_names_the_issuer_and_its_endpoints(oidc_provider):
    response = httpx.get(f"{oidc_provider.issuer}/.well-known/openid-configuration")

    assert response.status_code == 200
    metadata = response.json()
    assert metadata["issuer"] == oidc_provider.issuer
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        assert metadata[endpoint].startswith(f"{oidc_provider.issuer}/")
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert "RS256" in metadata["id_token_signing_alg_values_supported"]
    assert {"openid", "profile", "email"} <= set(metadata["scopes_supported"])
    assert {"client_secret_basic", "client_secret_post"} <= set(metadata["token_endpoint_auth_methods_supported"])


@pytest.mark.parametrize(
    "redirect_uri",
    [LIVE_SERVER_CALLBACK, f"http://localhost:40001{CALLBACK}", f"http://testserver{CALLBACK}"],
    ids=["live-server-ip", "live-server-localhost", "django-test-client"],
)
def test_code_flow_with_pkce_gives_a_signed_id_token(oidc_provider, redirect_uri):
    request, answer = sign_in(oidc_provider, "new-researcher", redirect_uri=redirect_uri)

    assert answer["state"] == request["state"]
    assert answer["iss"] == oidc_provider.issuer
    response = exchange_code(oidc_provider, request, answer["code"])
    assert response.status_code == 200, response.text
    tokens = response.json()
    claims = verified_id_token(oidc_provider, tokens["id_token"], audience="portal")
    person = DEFAULT_ACCOUNTS["new-researcher"]
    assert claims["sub"] == person["sub"]
    assert claims["sub"].endswith("@lifescience-ri.eu")
    assert claims["nonce"] == request["nonce"]
    assert claims["aud"] == "portal"
    assert claims["email"] == "new.researcher@uni.example"
    assert claims["email_verified"] is True
    assert claims["name"] == "Nora Newcomer"
    userinfo = httpx.get(
        oidc_provider.metadata["userinfo_endpoint"], headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert userinfo.json() == person


def test_client_secret_post_and_another_client_give_that_client_as_audience(oidc_provider):
    request, answer = sign_in(oidc_provider, "unverified", client_id="other-client")

    response = exchange_code(
        oidc_provider, request, answer["code"], client_id="other-client", auth="client_secret_post"
    )

    assert response.status_code == 200, response.text
    claims = verified_id_token(oidc_provider, response.json()["id_token"], audience="other-client")
    assert claims["aud"] == "other-client"
    assert claims["sub"] == DEFAULT_ACCOUNTS["unverified"]["sub"]
    assert claims["email"] == "taken@uni.example"
    assert claims["email_verified"] is False


def test_a_code_works_once(oidc_provider):
    request, answer = sign_in(oidc_provider, "linker")
    assert exchange_code(oidc_provider, request, answer["code"]).status_code == 200

    again = exchange_code(oidc_provider, request, answer["code"])

    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_a_wrong_code_verifier_is_refused(oidc_provider):
    request, answer = sign_in(oidc_provider, "linker")

    response = exchange_code(oidc_provider, {**request, "verifier": secrets.token_urlsafe(48)}, answer["code"])

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_wrong_client_secret_is_refused(oidc_provider):
    request, answer = sign_in(oidc_provider, "linker")
    form = {"grant_type": "authorization_code", "code": answer["code"], "redirect_uri": request["redirect_uri"]}

    response = httpx.post(oidc_provider.metadata["token_endpoint"], data=form, auth=("portal", "not-the-secret"))

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("pkce_method", "reason"),
    [(None, "requires PKCE"), ("plain", "code_challenge_method")],
    ids=["without-pkce", "plain-pkce"],
)
def test_authorization_without_s256_pkce_is_refused(oidc_provider, pkce_method, reason):
    request = authorization_request(oidc_provider, pkce_method=pkce_method)

    with pytest.raises(OidcError) as refused:
        drive_login(request["url"], "new-researcher")

    assert refused.value.error == "invalid_request"
    assert reason in refused.value.description


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:54321/accounts/elsewhere/",
        f"http://evil.example{CALLBACK}",
        f"https://127.0.0.1:54321{CALLBACK}",
        f"http://testserver:8000{CALLBACK}",
    ],
    ids=["other-path", "other-host", "https", "testserver-with-port"],
)
def test_unregistered_redirect_uris_are_refused(oidc_provider, redirect_uri):
    request = authorization_request(oidc_provider, redirect_uri=redirect_uri)

    with pytest.raises(OidcError) as refused:
        drive_login(request["url"], "new-researcher")

    assert refused.value.error == "invalid_redirect_uri"


def test_an_unknown_login_shows_the_form_again_with_an_error(oidc_provider):
    request = authorization_request(oidc_provider)
    with httpx.Client(follow_redirects=True) as browser:
        form_page = browser.get(request["url"])
        assert '<label for="login">Login</label>' in form_page.text
        assert ">Sign in</button>" in form_page.text
        action = form_page.url.join(f"{form_page.url.path}/login")

        again = browser.post(action, data={"login": "nobody"})

    assert again.status_code == 200
    assert "Unknown login: nobody" in again.text
    assert 'name="login"' in again.text
    with pytest.raises(OidcError) as refused:
        drive_login(authorization_request(oidc_provider)["url"], "nobody")
    assert refused.value.error == "login_refused"


def test_every_authorization_asks_who_signs_in(oidc_provider):
    """One browser (one cookie jar) signs two people in, one after the other: the provider asks
    each time instead of reusing the first person's session."""
    with httpx.Client(timeout=10) as browser:
        for login in ("spare-1", "spare-2", "spare-1"):
            request = authorization_request(oidc_provider)
            answer = callback_params(drive_login(request["url"], login, http=browser))
            tokens = exchange_code(oidc_provider, request, answer["code"]).json()
            claims = verified_id_token(oidc_provider, tokens["id_token"], audience="portal")
            assert claims["sub"] == DEFAULT_ACCOUNTS[login]["sub"]
