"""Sign-in with an OpenID provider, against a real one: node-oidc-provider on 127.0.0.1
(tests/oidc.py). The Django test client plays the browser at the portal; httpx plays it at the
provider (drive_login). Every refusal ends on a page that says what happened, signs nobody in and
writes nothing."""

from __future__ import annotations

import base64
import json
import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from django.urls import reverse
from django.utils import timezone

from accounts import oidc
from accounts.models import FederatedIdentity, User
from tests.factories import UserFactory
from tests.oidc import drive_login

pytestmark = pytest.mark.django_db

CALLBACK = "http://testserver/accounts/oidc/callback/"


@pytest.fixture(autouse=True)
def portal_oidc(settings, oidc_provider):
    settings.OIDC_ISSUER = oidc_provider.issuer
    settings.OIDC_CLIENT_ID = "portal"
    settings.OIDC_CLIENT_SECRET = "portal-secret"
    oidc.forget_provider()
    yield oidc_provider
    oidc.forget_provider()


def subject_of(provider, login: str) -> str:
    return provider.accounts[login]["sub"]


def start(client, next_url: str | None = None) -> str:
    """The portal's answer to "sign in with the provider": the provider's authorization URL."""
    query = f"?{urlencode({'next': next_url})}" if next_url is not None else ""
    response = client.get(reverse("accounts:oidc_login") + query)
    assert response.status_code == 302, response.content
    return response["Location"]


def come_back(client, back_url: str):
    """Follow the provider's redirect back into the portal (the callback)."""
    parts = urlsplit(back_url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK
    return client.get(parts.path, parse_qs(parts.query))


def sign_in(client, login: str, next_url: str | None = None):
    return come_back(client, drive_login(start(client, next_url), login))


def signed_in_as(client) -> User | None:
    pk = client.session.get("_auth_user_id")
    return User.objects.get(pk=pk) if pk else None


def refused_with(response, code: str, status: int = 400) -> None:
    assert response.status_code == status, response.content.decode()[:2000]
    assert f'data-failure="{code}"' in response.content.decode()


# --- The flow ---------------------------------------------------------------------------------------


def test_the_authorization_request_carries_pkce_state_and_nonce(client, portal_oidc):
    address = start(client)
    query = parse_qs(urlsplit(address).query)

    assert address.startswith(portal_oidc.issuer)
    assert query["response_type"] == ["code"]
    assert query["client_id"] == ["portal"]
    assert query["redirect_uri"] == [CALLBACK]
    assert query["scope"] == ["openid profile email"]
    assert query["code_challenge_method"] == ["S256"]
    (state,) = query["state"]
    flow = client.session["oidc_flows"][state]
    assert query["nonce"] == [flow["nonce"]]
    assert query["code_challenge"] == [create_s256_code_challenge(flow["code_verifier"])]
    assert len(state) >= 43


def test_a_new_researcher_gets_an_account_from_the_provider_and_completes_the_profile(client, portal_oidc):
    response = sign_in(client, "new-researcher", next_url="/datasets/")

    person = signed_in_as(client)
    assert person is not None
    assert (person.email, person.name, person.email_verified) == ("new.researcher@uni.example", "Nora Newcomer", True)
    assert not person.has_usable_password()
    identity = FederatedIdentity.objects.get(user=person)
    assert (identity.issuer, identity.subject) == (portal_oidc.issuer, subject_of(portal_oidc, "new-researcher"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:profile_complete") + "?next=%2Fdatasets%2F"
    assert "oidc_flows" not in client.session or not client.session["oidc_flows"]


def test_the_next_sign_in_is_the_same_person_and_goes_where_next_says(client, portal_oidc, institution):
    sign_in(client, "spare-1")
    first = signed_in_as(client)
    User.objects.filter(pk=first.pk).update(institution=institution, country="FI")
    client.logout()

    response = sign_in(client, "spare-1", next_url="/requests/")

    assert signed_in_as(client) == first
    assert response["Location"] == "/requests/"
    assert User.objects.filter(email="spare.one@uni.example").count() == 1


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_next_is_kept_only_on_this_site(client, next_url):
    address = start(client, next_url)
    (state,) = parse_qs(urlsplit(address).query)["state"]
    assert client.session["oidc_flows"][state]["next_url"] == ""


def test_two_tabs_can_sign_in_at_once(client):
    first, second = start(client), start(client)

    come_back(client, drive_login(second, "spare-2"))
    response = come_back(client, drive_login(first, "spare-2"))

    assert response.status_code == 302
    assert signed_in_as(client).email == "spare.two@uni.example"


# --- Refusals -----------------------------------------------------------------------------------------


def test_a_wrong_state_is_refused(client):
    back = drive_login(start(client), "spare-1")
    parts = urlsplit(back)
    query = parse_qs(parts.query)
    query["state"] = ["forged-state"]

    response = client.get(parts.path, query)

    refused_with(response, "state_mismatch")
    assert signed_in_as(client) is None
    assert not User.objects.exists()


def test_a_return_in_another_browser_is_refused(client):
    """A forged login: the attacker's own code, handed to the victim's browser."""
    from django.test import Client

    back = drive_login(start(client), "spare-1")
    victim = Client()

    refused_with(come_back(victim, back), "state_mismatch")
    assert signed_in_as(victim) is None


def test_a_replayed_return_is_refused(client):
    back = drive_login(start(client), "spare-1")
    assert come_back(client, back).status_code == 302
    client.logout()

    refused_with(come_back(client, back), "state_mismatch")
    assert signed_in_as(client) is None


def test_a_replayed_code_is_refused_by_the_provider(client):
    back = drive_login(start(client), "spare-1")
    come_back(client, back)
    client.logout()
    # A new sign-in begins (a fresh state in the session), and the old code is sent with it.
    (fresh_state,) = parse_qs(urlsplit(start(client)).query)["state"]
    parts = urlsplit(back)
    query = parse_qs(parts.query)
    query["state"] = [fresh_state]

    response = client.get(parts.path, query)

    refused_with(response, "code_rejected")
    assert signed_in_as(client) is None


def _id_token_for(provider, client_id: str, secret: str, nonce: str, login: str) -> str:
    """An ID token the provider issues to another client, for the same person and nonce."""
    verifier = "v" * 64
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid email",
            "state": "s" * 20,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    metadata = httpx.get(f"{provider.issuer}/.well-known/openid-configuration").json()
    back = drive_login(f"{metadata['authorization_endpoint']}?{query}", login)
    (code,) = parse_qs(urlsplit(back).query)["code"]
    tokens = httpx.post(
        metadata["token_endpoint"],
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": verifier},
        auth=(client_id, secret),
    )
    tokens.raise_for_status()
    return tokens.json()["id_token"]


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _with_id_token(monkeypatch, change):
    """The real code exchange, with the ID token changed by `change(id_token, flow)` on its way."""
    real = oidc._exchange

    def exchange(found, flow, code):
        tokens = real(found, flow, code)
        return {**tokens, "id_token": change(tokens["id_token"], flow)}

    monkeypatch.setattr(oidc, "_exchange", exchange)


def test_an_id_token_for_another_client_is_refused(client, monkeypatch, portal_oidc, caplog):
    _with_id_token(
        monkeypatch,
        lambda _token, flow: _id_token_for(portal_oidc, "other-client", "other-secret", flow.nonce, "spare-1"),
    )
    with caplog.at_level(logging.WARNING, logger="accounts.oidc_views"):
        response = sign_in(client, "spare-1")

    refused_with(response, "id_token_invalid")
    assert "aud" in caplog.text
    assert signed_in_as(client) is None
    assert not User.objects.exists()


def test_an_expired_id_token_is_refused(client, monkeypatch, time_machine, caplog):
    def later(token, _flow):
        # The token is read after the clock moved past its expiry (the provider gives an hour).
        time_machine.move_to(timezone.now() + timedelta(hours=3))
        return token

    _with_id_token(monkeypatch, later)
    with caplog.at_level(logging.WARNING, logger="accounts.oidc_views"):
        response = sign_in(client, "spare-1")

    refused_with(response, "id_token_invalid")
    assert "expired" in caplog.text
    assert signed_in_as(client) is None


def test_an_unsigned_id_token_is_refused(client, monkeypatch):
    def unsigned(token, _flow):
        _header, payload, _signature = token.split(".")
        return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."

    _with_id_token(monkeypatch, unsigned)

    refused_with(sign_in(client, "spare-1"), "id_token_invalid")
    assert signed_in_as(client) is None


def test_an_id_token_with_a_changed_subject_is_refused(client, monkeypatch, applicant, portal_oidc):
    """Someone between the portal and the provider cannot swap in another person's subject."""
    FederatedIdentity.objects.create(user=applicant, issuer=portal_oidc.issuer, subject="victim@lifescience-ri.eu")

    def forged(token, _flow):
        header, payload, signature = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return f"{header}.{_b64({**claims, 'sub': 'victim@lifescience-ri.eu'})}.{signature}"

    _with_id_token(monkeypatch, forged)

    refused_with(sign_in(client, "spare-1"), "id_token_invalid")
    assert signed_in_as(client) is None


def test_an_id_token_with_another_nonce_is_refused(client, monkeypatch, portal_oidc):
    _with_id_token(
        monkeypatch,
        lambda _token, _flow: _id_token_for(portal_oidc, "portal", "portal-secret", "other-nonce", "spare-1"),
    )
    refused_with(sign_in(client, "spare-1"), "id_token_invalid")


@pytest.mark.parametrize("login", ["unverified", "verified-taken"])
def test_an_e_mail_matching_a_local_account_does_not_sign_in_to_it(client, login, portal_oidc):
    owner = UserFactory(email=portal_oidc.accounts[login]["email"].upper())

    response = sign_in(client, login)

    refused_with(response, "email_taken", status=409)
    assert "Sign in to it with your password, then link" in response.content.decode()
    assert signed_in_as(client) is None
    assert not FederatedIdentity.objects.exists()
    assert list(User.objects.values_list("pk", flat=True)) == [owner.pk]


def test_an_unverified_address_makes_an_unverified_account(client):
    sign_in(client, "unverified")
    person = signed_in_as(client)
    assert person.email == "taken@uni.example"
    assert not person.email_verified


def test_a_cancelled_sign_in_says_so(client):
    (state,) = parse_qs(urlsplit(start(client)).query)["state"]
    response = client.get(reverse("accounts:oidc_callback"), {"state": state, "error": "access_denied"})

    refused_with(response, "provider_error")
    assert "cancelled" in response.content.decode()


def test_an_answer_naming_another_issuer_is_refused(client):
    back = drive_login(start(client), "spare-1")
    parts = urlsplit(back)
    query = {**parse_qs(parts.query), "iss": ["https://evil.example/"]}

    refused_with(client.get(parts.path, query), "issuer_mismatch")
    assert signed_in_as(client) is None


def test_a_provider_that_is_down_gives_a_clear_503(client, settings):
    settings.OIDC_ISSUER = "http://127.0.0.1:9"  # the discard port: nothing listens
    oidc.forget_provider()

    response = client.get(reverse("accounts:oidc_login"))

    refused_with(response, "provider_unavailable", status=503)
    assert "cannot be reached" in response.content.decode()


def test_a_wrong_client_secret_is_the_operators_problem_not_the_persons(client, settings):
    settings.OIDC_CLIENT_SECRET = "not-the-secret"
    refused_with(sign_in(client, "spare-1"), "provider_unavailable", status=503)


# --- Linking ------------------------------------------------------------------------------------------


def link(client, login: str):
    response = client.post(reverse("accounts:oidc_link"))
    assert response.status_code == 302
    return come_back(client, drive_login(response["Location"], login))


def test_a_signed_in_person_links_their_identity_and_then_signs_in_with_it(client, applicant, portal_oidc):
    client.force_login(applicant)

    response = link(client, "linker")

    assert response["Location"] == reverse("accounts:profile")
    identity = FederatedIdentity.objects.get(user=applicant)
    assert identity.subject == subject_of(portal_oidc, "linker")
    client.logout()
    sign_in(client, "linker")
    assert signed_in_as(client) == applicant
    # The provider's e-mail (linker@uni.example) made no second account.
    assert User.objects.count() == 1


def test_an_identity_linked_to_someone_else_cannot_be_linked_again(client, applicant, other_applicant):
    client.force_login(other_applicant)
    link(client, "linker")
    client.force_login(applicant)

    refused_with(link(client, "linker"), "identity_taken", status=409)
    assert not FederatedIdentity.objects.filter(user=applicant).exists()


def test_a_link_finished_by_another_session_links_nobody(client, applicant):
    client.force_login(applicant)
    address = client.post(reverse("accounts:oidc_link"))["Location"]
    back = drive_login(address, "linker")
    flows = client.session["oidc_flows"]
    client.logout()
    session = client.session
    session["oidc_flows"] = flows  # even with the flow carried over to the signed-out session
    session.save()

    refused_with(come_back(client, back), "link_session_changed", status=403)
    assert not FederatedIdentity.objects.exists()


def test_linking_needs_a_signed_in_person_and_a_post(client, applicant):
    assert client.post(reverse("accounts:oidc_link"))["Location"].startswith(reverse("accounts:login"))
    client.force_login(applicant)
    assert client.get(reverse("accounts:oidc_link")).status_code == 405
