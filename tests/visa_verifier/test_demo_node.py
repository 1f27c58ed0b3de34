"""The demo data node over HTTP: who gets a file, who is refused and why, the decision log, and the
portal's webhooks telling an offline node of a revocation."""

from __future__ import annotations

import json
import logging
import time

import httpx
import pytest

from tests.nodes import node_servers
from visa_verifier.demo_node import DemoNode
from visa_verifier.online import Introspector
from visa_verifier.verifier import Config, TrustedIssuer, Verifier
from visa_verifier.webhook import sign as sign_webhook

from .conftest import ACCESSION, OTHER_ACCESSION, OTHER_SUB, START, SUB, passport, visa

SECRET = "whsec_test-secret-of-the-demo-node"
README = b"synthetic readme\n"


@pytest.fixture
def files(tmp_path):
    root = tmp_path / "node-files"
    for accession in (ACCESSION, OTHER_ACCESSION):
        (root / accession).mkdir(parents=True)
        (root / accession / "README.txt").write_bytes(README)
        (root / accession / "variants.vcf").write_text("##fileformat=VCFv4.3\n")
    return root


@pytest.fixture
def run_node():
    """run_node(app) -> base URL of the app served over HTTP in a thread, stopped after the test."""
    yield from node_servers()


@pytest.fixture
def issuer(start_server, es_key):
    return start_server().serve(es_key)


@pytest.fixture
def node(issuer, files, run_node):
    """(base URL, app) of an offline node trusting `issuer`, whose clock reads START."""
    config = Config(issuers=(TrustedIssuer(issuer.issuer),))
    app = DemoNode(
        root=files, verifier=Verifier(config, clock=lambda: START), webhook_secret=SECRET, clock=lambda: START
    )
    return run_node(app), app


def get(base: str, path: str, token: str | None = None, method: str = "GET") -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, base + path, headers=headers, timeout=10)


def refusal(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


def push(base: str, change: dict, *, event_id: str = "1", secret: str = SECRET) -> httpx.Response:
    body = json.dumps(change).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Portal-Event": event_id,
        "X-Portal-Signature": sign_webhook(secret, body, int(time.time())),
    }
    return httpx.post(base + "/webhooks/portal", content=body, headers=headers, timeout=10)


def test_the_node_says_what_it_serves_and_how_it_checks(node, issuer):
    base, _app = node
    about = httpx.get(base + "/", timeout=10).json()
    assert about == {
        "node": "Demo data node",
        "mode": "offline",
        "trusted_issuers": [{"issuer": issuer.issuer, "jwks_url": issuer.jwks_url}],
        "datasets": [ACCESSION, OTHER_ACCESSION],
        "resources": {},
        "webhooks": True,
    }


def test_a_visa_for_the_dataset_gets_its_files(node, issuer, es_key):
    base, app = node
    token = visa(issuer.issuer, es_key, START)
    served = get(base, f"/datasets/{ACCESSION}/files/README.txt", token)
    assert served.status_code == 200
    assert served.content == README
    assert served.headers["Cache-Control"] == "no-store"
    listing = get(base, f"/datasets/{ACCESSION}/files", token).json()
    assert listing["dataset"] == ACCESSION
    assert [entry["name"] for entry in listing["files"]] == ["README.txt", "variants.vcf"]
    assert listing["until"] == "2027-01-15T09:00:00Z"  # START + the visa's hour
    head = get(base, f"/datasets/{ACCESSION}/files/README.txt", token, method="HEAD")
    assert (head.status_code, head.content, head.headers["Content-Length"]) == (200, b"", str(len(README)))
    decision = app.decisions[0]
    assert (decision.allowed, decision.code, decision.sub, decision.file) == (True, "granted", SUB, "README.txt")


def test_a_passport_opens_each_dataset_it_holds_a_visa_for(node, issuer, es_key):
    base, _app = node
    visas = [visa(issuer.issuer, es_key, START), visa(issuer.issuer, es_key, START, accession=OTHER_ACCESSION)]
    token = passport(issuer.issuer, es_key, START, visas)
    for accession in (ACCESSION, OTHER_ACCESSION):
        assert get(base, f"/datasets/{accession}/files/README.txt", token).status_code == 200


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (f"/datasets/{ACCESSION}/files/README.txt", (401, "no_token")),
        ("/datasets/GDS999999/files/README.txt", (404, "unknown_dataset")),
        (f"/datasets/{ACCESSION}/files/..", (404, "not_found")),
        (f"/datasets/{ACCESSION}/files/.hidden", (404, "not_found")),
        ("/datasets/../etc/files/passwd", (404, "not_found")),
        ("/elsewhere", (404, "not_found")),
    ],
)
def test_without_a_token_or_a_real_path_nothing_is_served(node, path, expected):
    base, _app = node
    response = get(base, path)
    assert refusal(response) == expected
    if expected[0] == 401:
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="demo-node"'


def test_refusals_name_their_reason_and_are_logged(node, issuer, es_key, attacker_key, caplog):
    base, app = node
    path = f"/datasets/{ACCESSION}/files/README.txt"
    caplog.set_level(logging.INFO, logger="visa_verifier.demo_node")
    cases = [
        ("Basic dXNlcjpwYXNz", (401, "no_token")),
        ("Bearer not-a-jwt", (401, "malformed")),
        # A good visa, but for another dataset than the one asked for.
        (f"Bearer {visa(issuer.issuer, es_key, START, accession=OTHER_ACCESSION)}", (403, "other_dataset")),
        (f"Bearer {visa(issuer.issuer, es_key, START - 7200)}", (401, "expired")),
        (f"Bearer {visa(issuer.issuer, attacker_key, START)}", (401, "unknown_kid")),
        (
            f"Bearer {visa(issuer.issuer, es_key, START, conditions=[{'type': 'AffiliationAndRole'}])}",
            (401, "conditions"),
        ),
    ]
    for authorization, expected in cases:
        response = httpx.get(base + path, headers={"Authorization": authorization}, timeout=10)
        assert refusal(response) == expected
    assert [decision.code for decision in app.decisions] == [
        "no_token",
        "malformed",
        "other_dataset",
        "expired",
        "unknown_kid",
        "conditions",
    ]
    lines = [record.getMessage() for record in caplog.records if record.name == "visa_verifier.demo_node"]
    assert lines[3].startswith(f"decision=deny status=401 code=expired mode=offline dataset={ACCESSION}")
    assert 'reason="the token has expired"' in lines[3]


def test_only_reading_is_allowed(node, issuer, es_key):
    base, _app = node
    token = visa(issuer.issuer, es_key, START)
    assert refusal(get(base, f"/datasets/{ACCESSION}/files/README.txt", token, method="DELETE")) == (
        405,
        "method_not_allowed",
    )
    assert refusal(get(base, "/webhooks/portal")) == (405, "method_not_allowed")


def test_a_file_that_is_not_there_is_told_only_to_a_visa_holder(node, issuer, es_key):
    base, _app = node
    assert refusal(get(base, f"/datasets/{ACCESSION}/files/missing.txt")) == (401, "no_token")
    token = visa(issuer.issuer, es_key, START)
    assert refusal(get(base, f"/datasets/{ACCESSION}/files/missing.txt", token)) == (404, "not_found")


def test_without_the_portal_s_keys_the_node_fails_closed(files, run_node, start_server, es_key):
    issuer = start_server()
    issuer.status = 503
    app = DemoNode(root=files, verifier=Verifier(Config(issuers=(TrustedIssuer(issuer.issuer),)), clock=lambda: START))
    base = run_node(app)
    response = get(base, f"/datasets/{ACCESSION}/files/README.txt", visa(issuer.issuer, es_key, START))
    assert refusal(response) == (503, "keys_unavailable")


def test_online_without_the_portal_the_node_fails_closed(files, run_node, issuer, es_key):
    config = Config(issuers=(TrustedIssuer(issuer.issuer),))
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens there
    app = DemoNode(
        root=files,
        verifier=Verifier(config, clock=lambda: START),
        introspector=Introspector(closed, "gapn_test"),
        clock=lambda: START,
    )
    base = run_node(app)
    response = get(base, f"/datasets/{ACCESSION}/files/README.txt", visa(issuer.issuer, es_key, START))
    assert refusal(response) == (503, "portal_unavailable")
    assert app.decisions[-1].mode == "online"


# --- webhooks --------------------------------------------------------------------------------------


def change(event: str, at: str = "2027-01-15T08:00:00.000000Z", **fields) -> dict:
    return {
        "permit_id": 42,
        "user": fields.pop("user", SUB),
        "dataset": ACCESSION,
        "event": event,
        "at": at,
        "expires_at": "2027-06-01T00:00:00.000000Z",
        **fields,
    }


def test_a_pushed_revocation_closes_the_door_offline(node, issuer, es_key):
    base, app = node
    token = visa(issuer.issuer, es_key, START)
    path = f"/datasets/{ACCESSION}/files/README.txt"
    assert get(base, path, token).status_code == 200
    assert push(base, change("issued"), event_id="7").status_code == 204
    assert get(base, path, token).status_code == 200

    assert push(base, change("revoked"), event_id="8").status_code == 204
    assert refusal(get(base, path, token)) == (403, "revoked")
    assert app.decisions[-1].reason == "the portal reported the permit ended at 2027-01-15T08:00:00Z"
    # Another person's visa for the same dataset is not touched.
    assert get(base, path, visa(issuer.issuer, es_key, START, sub=OTHER_SUB)).status_code == 200
    # A permit decided after the revocation (a new approval) opens the door again.
    renewed = visa(issuer.issuer, es_key, START, asserted=int(START) + 30)
    assert get(base, path, renewed).status_code == 200
    # The same event delivered twice (at least once delivery) is taken once.
    assert push(base, change("revoked"), event_id="8").status_code == 204
    assert len(app.revocations.seen) == 2


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda base: push(base, change("revoked"), secret="whsec_wrong"), (401, "bad_signature")),
        (
            lambda base: httpx.post(
                base + "/webhooks/portal", content=json.dumps(change("revoked")).encode(), timeout=10
            ),
            (401, "bad_signature"),
        ),
        (lambda base: push(base, {"event": "revoked"}), (400, "bad_request")),
        (
            lambda base: httpx.post(
                base + "/webhooks/portal",
                content=b"x" * 70_000,
                headers={"X-Portal-Signature": "t=1,v1=00"},
                timeout=10,
            ),
            (413, "too_large"),
        ),
    ],
)
def test_a_webhook_that_is_not_the_portal_s_changes_nothing(node, issuer, es_key, make, expected):
    base, app = node
    assert refusal(make(base)) == expected
    assert app.revocations.ended == {}
    assert get(base, f"/datasets/{ACCESSION}/files/README.txt", visa(issuer.issuer, es_key, START)).status_code == 200


def test_a_node_without_a_secret_takes_no_webhooks(files, run_node, issuer):
    app = DemoNode(root=files, verifier=Verifier(Config(issuers=(TrustedIssuer(issuer.issuer),))))
    base = run_node(app)
    assert refusal(push(base, change("revoked"))) == (404, "not_found")


# --- with the portal -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_portal_pushes_a_revocation_to_an_offline_node(live_server, settings, files, run_node, applicant_permit):
    """The portal's own webhook delivery (outbox, signed POST) reaches the demo node, which then
    refuses the revoked permit's visa without asking the portal."""
    from datasets.demo_files import write_demo_files
    from datasets.services import node_webhook_set
    from requests.services.permits import permit_revoke
    from requests.visas import mint_passport, mint_visas
    from tests.factories import NodeFactory

    settings.PORTAL_BASE_URL = live_server.url
    permit = applicant_permit
    hosting = NodeFactory(slug="fi-node", name="Finnish node")
    permit.dataset.nodes.add(hosting)
    root = files.parent / "portal-files"
    write_demo_files(hosting, root)
    app = DemoNode(root=root, verifier=Verifier(Config(issuers=(TrustedIssuer(live_server.url),))))
    base = run_node(app)
    app.webhook_secret = node_webhook_set(node=hosting, url=f"{base}/webhooks/portal")

    token = mint_passport(permit.grantee, mint_visas([permit]))
    path = f"/datasets/{permit.dataset.accession}/files/README.txt"
    assert get(base, path, token).status_code == 200

    permit_revoke(permit=permit, actor=None, reason="Consent withdrawn.")
    refused = get(base, path, token)
    assert refusal(refused) == (403, "revoked")
    assert app.decisions[-1].sub == str(permit.grantee.sub)


def test_a_replayed_request_with_a_forged_event_id_cannot_hide_a_later_revocation(node, issuer, es_key):
    """X-Portal-Event is not under the MAC: duplicates are recognised by the signed body only."""
    base, _app = node
    issued = json.dumps(change("issued")).encode()
    captured = sign_webhook(SECRET, issued, int(time.time()))
    for forged_id in ("101", "102", "103"):
        replay = httpx.post(
            base + "/webhooks/portal",
            content=issued,
            headers={"X-Portal-Event": forged_id, "X-Portal-Signature": captured},
            timeout=10,
        )
        assert replay.status_code == 204
    assert push(base, change("revoked"), event_id="103").status_code == 204
    token = visa(issuer.issuer, es_key, START)
    assert refusal(get(base, f"/datasets/{ACCESSION}/files/README.txt", token)) == (403, "revoked")


def test_a_refused_event_is_taken_when_it_comes_again_in_good_shape(node, issuer, es_key):
    base, app = node
    assert refusal(push(base, change("revoked", at="yesterday"), event_id="9")) == (400, "bad_request")
    assert refusal(push(base, change("revoked", at=None), event_id="9")) == (400, "bad_request")
    assert app.revocations.seen == set()
    assert push(base, change("revoked"), event_id="9").status_code == 204
    token = visa(issuer.issuer, es_key, START)
    assert refusal(get(base, f"/datasets/{ACCESSION}/files/README.txt", token)) == (403, "revoked")


def test_a_node_with_a_resource_mapping_serves_the_mapped_dataset(issuer, files, run_node, es_key):
    config = Config(issuers=(TrustedIssuer(issuer.issuer),), resources={"EGAD00001000001": ACCESSION})
    app = DemoNode(root=files, verifier=Verifier(config, clock=lambda: START), clock=lambda: START)
    base = run_node(app)
    token = visa(issuer.issuer, es_key, START, value="EGAD00001000001")

    assert get(base, f"/datasets/{ACCESSION}/files/README.txt", token).content == README
    assert refusal(get(base, f"/datasets/{OTHER_ACCESSION}/files/README.txt", token)) == (403, "other_dataset")
    unknown = visa(issuer.issuer, es_key, START, value="EGAD00001000009")
    assert refusal(get(base, f"/datasets/{ACCESSION}/files/README.txt", unknown)) == (403, "foreign_dataset")
    assert httpx.get(base + "/", timeout=10).json()["resources"] == {"EGAD00001000001": ACCESSION}


def test_the_files_path_has_one_shape(node, issuer, es_key):
    base, _app = node
    token = visa(issuer.issuer, es_key, START)
    assert refusal(get(base, f"/datasets/{ACCESSION}/filesREADME.txt", token)) == (404, "not_found")
    assert get(base, f"/datasets/{ACCESSION}/files/", token).json()["dataset"] == ACCESSION
