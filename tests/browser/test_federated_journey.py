"""The federation's whole chain, in Chromium against a real OpenID provider (node-oidc-provider on
127.0.0.1): a researcher new to the portal signs in with the provider, completes the profile and
applies; the committee approves; then a broker, as LS Login pulls a visa issuer, asks the
REMS-compatible /api/permissions/{federated id} with its x-rems-api-key and checks every visa's
RS256 signature against /api/jwk, with `sub` the provider's subject."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import jwt
import pytest
from playwright.sync_api import expect

from accounts import oidc
from accounts.models import FederatedIdentity, User
from datasets.services import node_key_create
from requests.models import Permit
from tests.browser.test_application_journey import apply_for
from tests.browser.test_review_journey import committee_approves
from tests.factories import DatasetFactory, NodeFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Polygenic risk of breast cancer in Finland"


@pytest.fixture
def provider(settings, oidc_provider):
    settings.OIDC_ISSUER = oidc_provider.issuer
    settings.OIDC_CLIENT_ID = "portal"
    settings.OIDC_CLIENT_SECRET = "portal-secret"
    settings.OIDC_PROVIDER_NAME = "Life Science Login"
    settings.VISA_SIGNING_ALG = "RS256"
    oidc.forget_provider()
    yield oidc_provider
    oidc.forget_provider()


def test_a_new_researcher_signs_in_with_the_provider_applies_and_the_broker_pulls_the_visa(
    page, live_server, provider, institution, dac, dac_chair, dac_member
):
    node = NodeFactory(slug="fi-node", name="Finnish node")
    genomes = DatasetFactory(dac=dac, title="Finnish Population Genomes", nodes=[node])
    broker = NodeFactory(slug="ls-login", name="LS Login broker", is_broker=True)
    _row, broker_key = node_key_create(node=broker, name="LS Login visa pull", days=1)
    subject = provider.accounts["new-researcher"]["sub"]

    # Sign in with the provider: its own login page, then back to the portal.
    page.goto(f"/datasets/{genomes.accession}/")
    page.get_by_role("banner").get_by_role("link", name="Sign in").click()
    page.get_by_role("link", name="Sign in with Life Science Login").click()
    assert page.url.startswith(provider.issuer)
    page.get_by_label("Login").fill("new-researcher")
    page.get_by_role("button", name="Sign in").click()

    # A first sign-in: the account exists, the profile asks for the institution and country.
    expect(page.get_by_role("heading", name="Complete your profile")).to_be_visible()
    expect(page.get_by_label("Full name")).to_have_value("Nora Newcomer")
    page.get_by_label("Institution").select_option(label=str(institution))
    page.get_by_label("Country where you process data").select_option("FI")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_text("Your profile is complete")).to_be_visible()
    researcher = User.objects.get(email="new.researcher@uni.example")
    assert FederatedIdentity.objects.get(user=researcher).subject == subject
    assert not researcher.has_usable_password()

    # The profile shows the linked identity, the one permits carry, and it cannot be unlinked.
    page.goto("/accounts/profile/")
    identities = page.locator("#linked-identities")
    expect(identities).to_contain_text(subject)
    expect(identities).to_contain_text("the id your permits carry")
    expect(identities.get_by_role("button", name="Unlink")).to_have_count(0)

    # The researcher applies in the browser.
    apply_for(page, genomes, TITLE, "Polygenic scores for breast cancer in Finnish genomes.")

    # The committee approves.
    committee_approves(page, TITLE, genomes, dac_member, dac_chair)
    permit = Permit.objects.get(grantee=researcher)

    # The broker pulls the researcher's visas by the provider's subject, as it pulls them from REMS.
    with httpx.Client(base_url=live_server.url, timeout=10) as broker_client:
        pulled = broker_client.get(
            f"/api/permissions/{quote(subject, safe='')}", headers={"x-rems-api-key": broker_key}
        )
        keys = broker_client.get("/api/jwk")
    assert pulled.status_code == 200, pulled.text
    assert keys.status_code == 200
    (visa,) = pulled.json()["ga4gh_passport_v1"]
    header = jwt.get_unverified_header(visa)
    assert header["alg"] == "RS256"
    key = jwt.PyJWKSet.from_dict(keys.json())[header["kid"]]
    claims = jwt.decode(visa, key=key, algorithms=["RS256"], options={"verify_aud": False})
    assert claims["sub"] == subject
    assert claims["iss"] == live_server.url
    assert claims["ga4gh_visa_v1"]["type"] == "ControlledAccessGrants"
    assert claims["ga4gh_visa_v1"]["value"] == genomes.resource
    assert claims["ga4gh_visa_v1"]["asserted"] == int(permit.decision.decided_at.timestamp())
