"""The reference verifier against the real portal: visas and passports minted by the portal's own
code verify with the key set the live portal publishes over HTTP, before and after key rotations
(RS256 by default, from ES256 to RS256); a dataset's resource id maps back to its accession at a
node configured with it; the online check answers active for a live permit and inactive once the chair
revokes it, while an offline node keeps honouring the visa until it expires."""

from __future__ import annotations

import datetime as dt
import socket
import time

import httpx
import jwt
import pytest
from django.utils import timezone

from datasets.services import dataset_resource_id_set, node_key_create
from portal import signing
from requests import visas
from requests.services.permits import permit_revoke
from tests.nodes import ShiftedClock
from visa_verifier.online import Introspector, PortalUnavailable
from visa_verifier.verifier import Config, Rejected, TrustedIssuer, Verifier

live_database = pytest.mark.django_db(transaction=True)


@pytest.fixture
def portal_url(live_server, settings) -> str:
    # The portal names itself by its live URL, so iss, jku and dataset URLs are the ones served.
    settings.PORTAL_BASE_URL = live_server.url
    return live_server.url


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
def http():
    """The HTTP client of the node, closed after the test: a kept-alive connection would hold a live
    server thread, and its database session, open past the end of the test run."""
    with httpx.Client(timeout=5.0, follow_redirects=False) as client:
        yield client


@pytest.fixture
def verifier(portal_url, clock, http) -> Verifier:
    return Verifier(Config(issuers=(TrustedIssuer(portal_url),)), clock=clock, http=http)


@live_database
def test_visas_and_passports_minted_by_the_portal_verify_with_its_published_keys(
    verifier, portal_url, applicant, applicant_permit
):
    before = int(time.time())
    token = visas.mint_visa(applicant_permit)
    accession = applicant_permit.dataset.accession

    grant = verifier.grant_for(token, accession)
    assert (grant.dataset, grant.sub) == (accession, str(applicant.sub))
    assert grant.issuer == portal_url
    assert grant.dataset_url == grant.value == f"{portal_url}/datasets/{accession}"
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert grant.source == f"{portal_url}/committees/{applicant_permit.dataset.dac.slug}/"
    assert grant.kid == signing.current_key().kid
    assert grant.asserted == int(applicant_permit.decision.decided_at.timestamp())
    assert before + 3600 <= grant.expires_at <= int(time.time()) + 3600  # the visa lifetime, an hour
    assert verifier.grant_for(token, grant.dataset_url).jti == grant.jti

    passport = visas.mint_passport(applicant, [token])
    assert verifier.grant_for(passport, accession).jti == grant.jti
    with pytest.raises(Rejected) as refused:
        verifier.grant_for(passport, "GDS999999")
    assert refused.value.code == "other_dataset"

    # A permit ending within the hour bounds its visas.
    applicant_permit.expires_at = timezone.now() + dt.timedelta(minutes=10)
    applicant_permit.save(update_fields=["expires_at"])
    grant = verifier.verify_visa(visas.mint_visa(applicant_permit))
    assert grant.expires_at == int(applicant_permit.expires_at.timestamp())
    assert verifier.fetches == 1


@live_database
def test_a_dataset_resource_id_maps_back_to_its_accession_at_a_node_that_knows_it(
    portal_url, clock, http, applicant_permit
):
    dataset = applicant_permit.dataset
    dataset_resource_id_set(dataset=dataset, resource_id="EGAD00001000001")
    applicant_permit.refresh_from_db()
    token = visas.mint_visa(applicant_permit)

    config = Config(issuers=(TrustedIssuer(portal_url),), resources={"EGAD00001000001": dataset.accession})
    grant = Verifier(config, clock=clock, http=http).grant_for(token, dataset.accession)
    assert (grant.dataset, grant.value) == (dataset.accession, "EGAD00001000001")
    with pytest.raises(Rejected) as refused:
        Verifier(Config(issuers=(TrustedIssuer(portal_url),)), clock=clock, http=http).verify_visa(token)
    assert refused.value.code == "foreign_dataset"


@live_database
def test_visas_of_every_published_key_verify_across_rotations_from_es256_to_rs256(
    verifier, clock, applicant_permit, settings
):
    settings.VISA_SIGNING_ALG = "ES256"  # a portal that signed with ES256 before RS256 was the default
    accession = applicant_permit.dataset.accession
    first = visas.mint_visa(applicant_permit)
    first_kid = verifier.grant_for(first, accession).kid

    signing.rotate_signing_key()
    signing.forget_cached_keys()
    second = visas.mint_visa(applicant_permit)
    second_kid = signing.current_key().kid
    assert second_kid != first_kid
    with pytest.raises(Rejected) as refused:
        verifier.grant_for(second, accession)
    assert refused.value.code == "unknown_kid"  # the key set was fetched less than refresh_interval ago

    clock.offset += verifier.config.refresh_interval
    assert verifier.grant_for(second, accession).kid == second_kid
    assert verifier.grant_for(first, accession).kid == first_kid

    settings.VISA_SIGNING_ALG = "RS256"
    rsa = signing.rotate_signing_key()
    assert rsa.alg == "RS256"
    signing.forget_cached_keys()
    third = visas.mint_visa(applicant_permit)
    clock.offset += verifier.config.refresh_interval
    assert verifier.grant_for(third, accession).kid == rsa.kid
    assert [verifier.grant_for(token, accession).kid for token in (first, second)] == [first_kid, second_kid]
    assert [key["alg"] for key in signing.jwks()["keys"]] == ["RS256", "ES256", "ES256"]
    assert verifier.fetches == 3


@live_database
def test_the_online_check_follows_the_permit_and_the_offline_check_the_visa(
    verifier, portal_url, http, node, other_node, applicant_permit, dac_chair
):
    _row, key = node_key_create(node=node, name="reference verifier", days=1)
    token = visas.mint_visa(applicant_permit)
    introspector = Introspector(portal_url, key, http=http)

    answer = introspector.introspect(token)
    assert answer["active"] is True
    assert (answer["dataset"], answer["sub"], answer["permit_id"]) == (
        applicant_permit.dataset.accession,
        str(applicant_permit.grantee.sub),
        applicant_permit.pk,
    )
    assert answer["exp"] == verifier.verify_visa(token).expires_at

    # A node that does not host the dataset learns nothing; a wrong key is refused outright.
    _row, other_key = node_key_create(node=other_node, name="reference verifier", days=1)
    assert Introspector(portal_url, other_key, http=http).introspect(token) == {"active": False}
    with pytest.raises(PortalUnavailable, match="401"):
        Introspector(portal_url, key[:-1] + ("A" if key[-1] != "A" else "B"), http=http).introspect(token)

    permit_revoke(permit=applicant_permit, actor=dac_chair, reason="The project ended early.")
    assert introspector.introspect(token) == {"active": False}
    # Offline, the visa holds until its exp: revocation reaches offline nodes within a visa lifetime.
    assert verifier.grant_for(token, applicant_permit.dataset.accession).dataset == applicant_permit.dataset.accession


def test_the_online_check_of_a_portal_that_does_not_answer_is_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(PortalUnavailable):
        Introspector(closed, "node-key").introspect("a.b.c")
    with pytest.raises(ValueError, match="API key"):
        Introspector(closed, "")
