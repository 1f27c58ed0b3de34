"""The whole journey, people in a real browser and the data node over HTTP: a researcher applies, the
committee approves, the researcher downloads the passport, the demo node serves the file; after the
chair revokes, the online node refuses at once and the offline node once the visa has expired."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from django.conf import settings
from playwright.sync_api import expect

from datasets.demo_files import write_demo_files
from datasets.services import node_key_create
from requests.models import Application, Permit
from tests.browser.test_application_journey import apply_for
from tests.browser.test_catalogue_journey import sign_in
from tests.browser.test_review_journey import committee_approves, sign_out
from tests.factories import DatasetFactory, NodeFactory
from tests.nodes import ShiftedClock, node_servers
from visa_verifier.demo_node import DemoNode
from visa_verifier.online import Introspector
from visa_verifier.verifier import Config, TrustedIssuer, Verifier

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Inherited variants in Finnish genomes"


@pytest.fixture
def serve():
    """serve(app) -> the base URL of a demo node running in a thread; stopped after the test."""
    yield from node_servers()


def fetch(base: str, path: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(base + path, headers=headers, timeout=10)


def test_apply_approve_download_serve_revoke_refuse(
    page, live_server, serve, applicant, dac, dac_chair, dac_member, tmp_path
):
    node = NodeFactory(slug="fi-node", name="Finnish node")
    genomes = DatasetFactory(dac=dac, title="Finnish Population Genomes", nodes=[node])
    unrequested = DatasetFactory(dac=dac, title="Helsinki Biobank Exomes", nodes=[node])
    root = tmp_path / "node-files"
    assert write_demo_files(node, root) == sorted([genomes.accession, unrequested.accession])

    # Two nodes trusting this portal: one offline (public keys only), one that also asks the portal.
    clock = ShiftedClock()
    trust = Config(issuers=(TrustedIssuer(live_server.url),))
    offline = DemoNode(root=root, verifier=Verifier(trust, clock=clock), clock=clock)
    _row, node_key = node_key_create(node=node, name="online demo node", days=1)
    online = DemoNode(root=root, verifier=Verifier(trust), introspector=Introspector(live_server.url, node_key))
    offline_url, online_url = serve(offline), serve(online)
    vcf = f"/datasets/{genomes.accession}/files/variants.vcf"
    assert fetch(offline_url, vcf).status_code == 401

    # The researcher applies in the browser.
    sign_in(page, applicant.email)
    apply_for(page, genomes, TITLE, "A case-control analysis of germline variants.")

    # The committee approves: the member votes, the chair votes and decides.
    committee_approves(page, TITLE, genomes, dac_member, dac_chair)
    review_url = page.url
    sign_out(page)

    # The researcher downloads the passport from the permits page.
    sign_in(page, applicant.email)
    page.get_by_role("link", name="My permits").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download passport").click()
    passport = Path(download.value.path()).read_text().strip()
    assert passport.count(".") == 2

    # Both nodes serve the file to the passport, and only for the dataset it grants.
    for base in (offline_url, online_url):
        response = fetch(base, vcf, passport)
        assert response.status_code == 200, response.text
        assert response.text.startswith("##fileformat=VCFv4.3")
        listing = fetch(base, f"/datasets/{genomes.accession}/files", passport).json()
        assert {entry["name"] for entry in listing["files"]} == {"README.txt", "variants.vcf", "manifest.json"}
        refused = fetch(base, f"/datasets/{unrequested.accession}/files/variants.vcf", passport)
        assert (refused.status_code, refused.json()["code"]) == (403, "other_dataset")
    granted = offline.decisions[-3]
    assert granted.allowed
    assert granted.reason.startswith(f"visa grants {genomes.accession} until ")
    assert granted.sub == str(applicant.sub)
    sign_out(page)

    # The chair revokes in the browser.
    sign_in(page, dac_chair.email)
    page.goto(review_url)
    page.get_by_role("link", name="Revoke").first.click()
    # The link leads to a page that says what revoking does; the form is there.
    expect(page.get_by_text("This cannot be undone")).to_be_visible()
    page.get_by_label("Reason for the revocation").fill("The ethics approval was withdrawn.")
    page.get_by_role("button", name="Revoke the permit").click()
    expect(page.get_by_text("is revoked.")).to_be_visible()
    assert Permit.objects.get(application=Application.objects.get(title=TITLE)).status == "revoked"

    # Online: refused at once. Offline: the visa still holds until it expires, then refused.
    refused = fetch(online_url, vcf, passport)
    assert (refused.status_code, refused.json()["code"]) == (403, "inactive")
    assert online.decisions[-1].reason == "the portal says the permit is not live (revoked or expired)"
    assert fetch(offline_url, vcf, passport).status_code == 200
    clock.offset = settings.VISA_LIFETIME_SECONDS + trust.clock_skew
    expired = fetch(offline_url, vcf, passport)
    assert (expired.status_code, expired.json()["code"]) == (401, "expired")
    assert offline.decisions[-1].log_line().startswith("decision=deny status=401 code=expired mode=offline")

    # A passport downloaded now holds no visa for the dataset.
    page.goto("/requests/permits/")
    expect(page.get_by_text("You have no live permit now")).to_be_visible()
