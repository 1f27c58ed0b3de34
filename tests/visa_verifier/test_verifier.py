"""The reference verifier (visa_verifier.verifier) on its own, without the portal or a database:
visas in the portal's exact shape signed with keys made here, key sets served over real HTTP by
servers on 127.0.0.1. Genuine visas grant their dataset; every forgery of the permits issue is
refused with a stable code, and so are a `jku` elsewhere, another issuer's key set, a stale or
oversized token; key rotation keeps old visas valid until they expire; a flood of unknown kids
cannot hammer the portal."""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.visa_verifier.conftest import (
    ACCESSION,
    OTHER_ACCESSION,
    OTHER_SUB,
    START,
    SUB,
    JwksServer,
    b64,
    b64_json,
    compact,
    jwks_url_of,
    make_key,
    passport,
    passport_claims,
    sign,
    visa,
    visa_claims,
)
from visa_verifier import verifier as verifier_module
from visa_verifier.config import build_config
from visa_verifier.verifier import (
    PASSPORT_TYP,
    VISA_TYP,
    Config,
    Grant,
    KeySetUnavailable,
    Rejected,
    TrustedIssuer,
    Verifier,
)

SKEW = 60  # Config's default


@pytest.fixture
def make_verifier(clock):
    """make_verifier(server_or_issuer, ..., **config) -> a Verifier trusting them, on `clock`."""

    def make(*trusted, **config) -> Verifier:
        issuers = tuple(TrustedIssuer(item.issuer) if isinstance(item, JwksServer) else item for item in trusted)
        return Verifier(Config(issuers=issuers, **config), clock=clock)

    return make


@pytest.fixture
def verifier(make_verifier, portal) -> Verifier:
    return make_verifier(portal)


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(Rejected) as caught:
        call(*args, **kwargs)
    return caught.value.code


def header_of(issuer: str, key, **changes) -> dict:
    header = {"alg": key.alg, "typ": VISA_TYP, "kid": key.kid, "jku": jwks_url_of(issuer)}
    header.update(changes)
    return header


# --- genuine visas --------------------------------------------------------------------------------


def test_a_genuine_visa_grants_its_dataset_to_its_subject_until_its_expiry(verifier, portal, es_key):
    claims = visa_claims(portal.issuer, START)
    grant = verifier.verify_visa(sign(claims, es_key))

    assert isinstance(grant, Grant)
    assert (grant.dataset, grant.sub, grant.expires_at) == (ACCESSION, SUB, int(START) + 3600)
    assert grant.dataset_url == grant.value == f"{portal.issuer}/datasets/{ACCESSION}"
    assert grant.issuer == portal.issuer
    assert (grant.issued_at, grant.asserted) == (int(START), int(START) - 86_400)
    assert (grant.source, grant.jti, grant.kid) == (
        f"{portal.issuer}/committees/cancer-dac/",
        claims["jti"],
        es_key.kid,
    )
    assert set(grant.as_dict()) == {
        "issuer",
        "sub",
        "dataset",
        "dataset_url",
        "value",
        "expires_at",
        "issued_at",
        "asserted",
        "source",
        "jti",
        "kid",
    }
    assert portal.gets == 1
    assert portal.paths == ["/.well-known/jwks.json"]


def test_an_rs256_visa_of_a_3072_bit_key_grants(make_verifier, start_server, rs_key):
    server = start_server().serve(rs_key)
    grant = make_verifier(server).verify_visa(visa(server.issuer, rs_key, START))
    assert (grant.dataset, grant.kid) == (ACCESSION, rs_key.kid)


def test_a_key_published_without_alg_takes_the_algorithm_of_its_type(make_verifier, start_server, es_key):
    server = start_server().serve(es_key.jwk(alg=None))
    assert make_verifier(server).verify_visa(visa(server.issuer, es_key, START)).dataset == ACCESSION


def test_a_visa_given_as_bytes_or_with_surrounding_whitespace_grants(verifier, portal, es_key):
    token = visa(portal.issuer, es_key, START)
    assert verifier.verify_visa(token.encode()).dataset == ACCESSION
    assert verifier.verify_visa(f"  {token}\n").dataset == ACCESSION
    assert verifier.grant_for(token.encode(), ACCESSION).sub == SUB


def test_grant_for_takes_an_accession_or_the_dataset_url(verifier, portal, es_key):
    token = visa(portal.issuer, es_key, START)
    url = f"{portal.issuer}/datasets/{ACCESSION}/"
    for wanted in (ACCESSION, url, url.rstrip("/")):
        grant = verifier.grant_for(token, wanted)
        assert (grant.dataset, grant.sub, grant.expires_at) == (ACCESSION, SUB, int(START) + 3600)


def test_grant_for_another_dataset_is_refused(verifier, portal, es_key):
    token = visa(portal.issuer, es_key, START)
    assert code_of(verifier.grant_for, token, OTHER_ACCESSION) == "other_dataset"
    assert code_of(verifier.grant_for, token, f"{portal.issuer}/datasets/{OTHER_ACCESSION}/") == "other_dataset"


def test_grant_for_a_url_of_another_issuer_is_refused_even_with_the_same_accession(verifier, portal, es_key):
    token = visa(portal.issuer, es_key, START)
    assert code_of(verifier.grant_for, token, f"https://other-portal.example/datasets/{ACCESSION}/") == "other_dataset"


# --- algorithms -----------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", ""])
def test_an_unsigned_visa_is_refused(verifier, portal, es_key, alg):
    token = compact(header_of(portal.issuer, es_key, alg=alg), visa_claims(portal.issuer, START), None)
    assert code_of(verifier.verify_visa, token) == "alg_not_allowed"


def test_a_visa_without_alg_is_refused(verifier, portal, es_key):
    header = header_of(portal.issuer, es_key)
    del header["alg"]
    assert code_of(verifier.verify_visa, compact(header, visa_claims(portal.issuer, START), None)) == "alg_not_allowed"


@pytest.mark.parametrize("key_name", ["es_key", "rs_key"])
def test_an_hs256_visa_keyed_with_the_public_key_is_refused(request, start_server, make_verifier, key_name):
    key = request.getfixturevalue(key_name)
    server = start_server().serve(key)
    verifier = make_verifier(server)
    pem = key.public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = header_of(server.issuer, key, alg="HS256")
    signing_input = f"{b64_json(header)}.{b64_json(visa_claims(server.issuer, START))}"
    forged = f"{signing_input}.{b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())}"
    assert code_of(verifier.verify_visa, forged) == "alg_not_allowed"


def test_an_rs256_header_on_an_es256_kid_is_refused(start_server, make_verifier, es_key, rs_key):
    server = start_server().serve(es_key, rs_key)
    verifier = make_verifier(server)
    claims = visa_claims(server.issuer, START)
    # Signed with the RSA key, naming the EC key: the algorithm is the key's, not the token's.
    forged = compact(header_of(server.issuer, es_key, alg="RS256"), claims, rs_key)
    assert code_of(verifier.verify_visa, forged) == "alg_mismatch"
    forged = compact(header_of(server.issuer, rs_key, alg="ES256"), claims, es_key)
    assert code_of(verifier.verify_visa, forged) == "alg_mismatch"


@pytest.mark.parametrize("alg", ["PS256", "ES384", "ES512", "RS512", "HS256", "EdDSA", "es256", ["ES256"], 256])
def test_an_algorithm_the_node_does_not_allow_is_refused(verifier, portal, es_key, alg):
    token = compact(header_of(portal.issuer, es_key, alg=alg), visa_claims(portal.issuer, START), es_key, alg="ES256")
    assert code_of(verifier.verify_visa, token) == "alg_not_allowed"


def test_a_node_allowing_only_es256_refuses_rs256_visas_and_ignores_rsa_keys(
    start_server, make_verifier, es_key, rs_key
):
    server = start_server().serve(es_key, rs_key)
    verifier = make_verifier(server, algorithms=("ES256",))
    assert code_of(verifier.verify_visa, visa(server.issuer, rs_key, START)) == "alg_not_allowed"
    assert verifier.verify_visa(visa(server.issuer, es_key, START)).dataset == ACCESSION


# --- kid, signature, typ --------------------------------------------------------------------------


@pytest.mark.parametrize("kid", [None, "", 7, ["portal-es256-1"]])
def test_a_visa_without_a_usable_kid_is_refused(verifier, portal, es_key, kid):
    header = header_of(portal.issuer, es_key, kid=kid)
    if kid is None:
        del header["kid"]
    assert code_of(verifier.verify_visa, compact(header, visa_claims(portal.issuer, START), es_key)) == "no_kid"


def test_an_unknown_kid_refreshes_the_key_set_once_then_is_refused(verifier, portal, es_key, attacker_key, clock):
    verifier.verify_visa(visa(portal.issuer, es_key, START))
    clock.advance(11)  # past refresh_interval
    forged = sign(visa_claims(portal.issuer, clock.now), attacker_key)
    assert code_of(verifier.verify_visa, forged) == "unknown_kid"
    assert portal.gets == 2
    assert verifier.fetches == 2


def test_a_flood_of_unknown_kids_fetches_the_key_set_at_most_once_per_refresh_interval(
    make_verifier, portal, es_key, attacker_key, clock
):
    verifier = make_verifier(portal, refresh_interval=10)
    verifier.verify_visa(visa(portal.issuer, es_key, START))
    assert portal.gets == 1

    def flood() -> None:
        claims = visa_claims(portal.issuer, clock.now)
        for n in range(100):
            assert code_of(verifier.verify_visa, sign(claims, attacker_key, kid=f"forged-{n}")) == "unknown_kid"

    clock.advance(3)
    flood()
    assert portal.gets == 1  # refreshed a moment ago
    clock.advance(8)
    flood()
    assert portal.gets == 2  # one refresh for the hundred
    clock.advance(9)
    flood()
    assert portal.gets == 2
    clock.advance(1)
    flood()
    assert portal.gets == 3


def test_a_tampered_payload_is_refused(verifier, portal, es_key):
    header, _payload, signature = visa(portal.issuer, es_key, START).split(".")
    for changed in (
        visa_claims(portal.issuer, START, accession=OTHER_ACCESSION),
        visa_claims(portal.issuer, START, sub=OTHER_SUB),
        visa_claims(portal.issuer, START, lifetime=365 * 86_400),
    ):
        assert code_of(verifier.verify_visa, f"{header}.{b64_json(changed)}.{signature}") == "bad_signature"


def test_a_tampered_or_borrowed_signature_is_refused(verifier, portal, es_key):
    token = visa(portal.issuer, es_key, START)
    header, payload, signature = token.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    borrowed = visa(portal.issuer, es_key, START, accession=OTHER_ACCESSION).split(".")[2]
    for forged in (f"{header}.{payload}.{flipped}", f"{header}.{payload}.{borrowed}", f"{header}.{payload}."):
        assert code_of(verifier.verify_visa, forged) == "bad_signature"
    # Cut short: not canonical base64url any more, or a signature of the wrong length.
    assert code_of(verifier.verify_visa, token[:-7]) in {"malformed", "bad_signature"}


@pytest.mark.parametrize("typ", [None, "JWT", "vnd.ga4gh.visa", "VND.GA4GH.VISA+JWT", PASSPORT_TYP, 1])
def test_a_visa_whose_typ_is_not_the_visa_typ_is_refused(verifier, portal, es_key, typ):
    token = sign(visa_claims(portal.issuer, START), es_key, typ=typ)
    assert code_of(verifier.verify_visa, token) == "wrong_typ"
    assert portal.gets == 0  # refused before any key is looked for


def test_a_visa_given_as_a_passport_is_refused(verifier, portal, es_key):
    assert code_of(verifier.verify_passport, visa(portal.issuer, es_key, START)) == "wrong_typ"


# --- time -----------------------------------------------------------------------------------------


def test_an_expired_visa_is_refused(verifier, portal, es_key):
    token = visa(portal.issuer, es_key, START - 7200)
    assert code_of(verifier.verify_visa, token) == "expired"
    assert code_of(verifier.grant_for, token, ACCESSION) == "expired"


def test_expiry_allows_the_clock_skew_and_not_a_second_more(verifier, portal, es_key):
    token = visa(portal.issuer, es_key, START)
    exp = int(START) + 3600
    assert verifier.verify_visa(token, now=exp + SKEW - 1).expires_at == exp
    assert code_of(verifier.verify_visa, token, now=exp + SKEW) == "expired"


def test_the_clock_skew_is_the_configured_one(make_verifier, portal, es_key):
    verifier = make_verifier(portal, clock_skew=0)
    token = visa(portal.issuer, es_key, START)
    assert verifier.verify_visa(token, now=START + 3599).dataset == ACCESSION
    assert code_of(verifier.verify_visa, token, now=START + 3600) == "expired"
    assert code_of(verifier.verify_visa, visa(portal.issuer, es_key, START + 1), now=START) == "issued_in_future"


def test_issue_time_in_the_future_is_allowed_up_to_the_clock_skew(verifier, portal, es_key):
    assert verifier.verify_visa(visa(portal.issuer, es_key, START + SKEW), now=START).issued_at == START + SKEW
    token = visa(portal.issuer, es_key, START + SKEW + 1)
    assert code_of(verifier.verify_visa, token, now=START) == "issued_in_future"


def test_the_verifier_clock_is_used_when_no_time_is_given(verifier, portal, es_key, clock):
    token = visa(portal.issuer, es_key, START)
    clock.advance(3600 + SKEW - 1)
    assert verifier.verify_visa(token).dataset == ACCESSION
    clock.advance(1)
    assert code_of(verifier.verify_visa, token) == "expired"


def test_a_decision_dated_in_the_future_is_refused(verifier, portal, es_key):
    token = visa(portal.issuer, es_key, START, asserted=int(START) + SKEW + 1)
    assert code_of(verifier.verify_visa, token) == "asserted_in_future"


def test_a_decision_dated_after_the_visa_beyond_the_skew_is_refused(verifier, portal, es_key):
    iat = int(START) - 600
    late = visa(portal.issuer, es_key, iat, asserted=iat + SKEW + 1)  # still in the past for the node
    assert code_of(verifier.verify_visa, late) == "asserted_in_future"
    assert verifier.verify_visa(visa(portal.issuer, es_key, iat, asserted=iat + SKEW)).asserted == iat + SKEW


@pytest.mark.parametrize(
    ("claim", "value", "code"),
    [
        ("iat", START + 0.5, "bad_time"),
        ("iat", str(int(START)), "bad_time"),
        ("iat", True, "bad_time"),
        ("exp", START + 3600.5, "bad_time"),
        ("exp", str(int(START) + 3600), "bad_time"),
        ("exp", True, "bad_time"),
        ("asserted", START - 0.5, "bad_asserted"),
        ("asserted", str(int(START)), "bad_asserted"),
        ("asserted", False, "bad_asserted"),
        ("asserted", None, "bad_asserted"),
    ],
)
def test_times_that_are_not_integers_are_refused(verifier, portal, es_key, claim, value, code):
    claims = visa_claims(portal.issuer, START)
    if claim == "asserted":
        claims["ga4gh_visa_v1"]["asserted"] = value
    else:
        claims[claim] = value
    assert code_of(verifier.verify_visa, sign(claims, es_key)) == code


@pytest.mark.parametrize("delta", [0, -1, -SKEW + 1])
def test_an_expiry_not_after_the_issue_time_is_refused(verifier, portal, es_key, delta):
    claims = visa_claims(portal.issuer, START)
    claims["exp"] = claims["iat"] + delta
    assert code_of(verifier.verify_visa, sign(claims, es_key)) == "bad_time"


def test_not_before_in_the_future_beyond_the_skew_is_refused(verifier, portal, es_key):
    claims = visa_claims(portal.issuer, START)
    claims["nbf"] = int(START) + SKEW
    assert verifier.verify_visa(sign(claims, es_key)).dataset == ACCESSION
    claims["nbf"] = int(START) + SKEW + 1
    assert code_of(verifier.verify_visa, sign(claims, es_key)) == "not_yet_valid"
    claims["nbf"] = "soon"
    assert code_of(verifier.verify_visa, sign(claims, es_key)) == "not_yet_valid"


# --- registered claims and the visa claim ---------------------------------------------------------


@pytest.mark.parametrize("claim", ["iss", "sub", "iat", "exp", "jti"])
def test_a_visa_missing_a_registered_claim_is_refused(verifier, portal, es_key, claim):
    claims = visa_claims(portal.issuer, START)
    del claims[claim]
    assert code_of(verifier.verify_visa, sign(claims, es_key, jku=portal.jwks_url)) == "missing_claim"


@pytest.mark.parametrize(("claim", "value"), [("sub", ""), ("jti", ""), ("sub", 42), ("jti", ["x"])])
def test_an_empty_or_non_text_subject_or_token_id_is_refused(verifier, portal, es_key, claim, value):
    claims = visa_claims(portal.issuer, START)
    claims[claim] = value
    # Empty: the verifier's own check. Not text: PyJWT's claim validation answers first.
    expected = "bad_claim" if value == "" else "malformed"
    assert code_of(verifier.verify_visa, sign(claims, es_key)) == expected


@pytest.mark.parametrize("value", [None, "a visa", ["ControlledAccessGrants"]])
def test_a_token_without_a_visa_object_is_refused(verifier, portal, es_key, value):
    claims = visa_claims(portal.issuer, START)
    claims["ga4gh_visa_v1"] = value
    if value is None:
        del claims["ga4gh_visa_v1"]
    assert code_of(verifier.verify_visa, sign(claims, es_key)) == "not_a_visa"


@pytest.mark.parametrize(
    "visa_type", ["AffiliationAndRole", "AcceptedTermsAndPolicies", "controlledaccessgrants", None]
)
def test_a_visa_of_another_type_is_refused(verifier, portal, es_key, visa_type):
    token = visa(portal.issuer, es_key, START, type=visa_type)
    assert code_of(verifier.verify_visa, token) == "wrong_visa_type"


@pytest.mark.parametrize("by", ["self", "so", "system", "peer", "DAC", None])
def test_a_visa_not_asserted_by_a_dac_is_refused(verifier, portal, es_key, by):
    assert code_of(verifier.verify_visa, visa(portal.issuer, es_key, START, by=by)) == "wrong_visa_by"


@pytest.mark.parametrize(
    "conditions",
    [
        [[{"type": "AffiliationAndRole", "value": "faculty@uni.example", "by": "so"}]],
        {"any": "thing"},
        "string",
        0,
    ],
)
def test_a_visa_with_conditions_is_refused(verifier, portal, es_key, conditions):
    assert code_of(verifier.verify_visa, visa(portal.issuer, es_key, START, conditions=conditions)) == "conditions"


def test_a_visa_with_an_empty_conditions_list_grants(verifier, portal, es_key):
    assert verifier.verify_visa(visa(portal.issuer, es_key, START, conditions=[])).dataset == ACCESSION


@pytest.mark.parametrize(
    "value",
    [
        "https://other-portal.example/datasets/GDS000001/",
        "{issuer}/committees/cancer-dac/",
        "{issuer}/datasets/",
        "{issuer}/datasets/../admin/",
        "{issuer}/datasets/GDS000001/../../admin/",
        "{issuer}/datasets/%2e%2e/admin/",
        "{issuer}/datasets/GDS000001/files/variants.vcf",
        "{issuer}/datasets/GDS000001?admin=1",
        "{issuer}/datasets/GDS000001\n",
        "{issuer}.evil.example/datasets/GDS000001/",
        "{issuer_without_scheme}/datasets/GDS000001/",
        "GDS000001",
        ["{issuer}/datasets/GDS000001/"],
        None,
    ],
)
def test_a_visa_whose_value_is_not_one_dataset_of_its_issuer_is_refused(verifier, portal, es_key, value):
    def fill(text: str) -> str:
        return text.format(issuer=portal.issuer, issuer_without_scheme=portal.issuer.split("://", 1)[1])

    value = [fill(value[0])] if isinstance(value, list) else fill(value) if isinstance(value, str) else value
    token = visa(portal.issuer, es_key, START, value=value)
    assert code_of(verifier.verify_visa, token) == "foreign_dataset"


# --- the value: a dataset URL or a mapped resource id ---------------------------------------------

RESOURCE = "EGAD00001000001"


def test_a_dataset_url_with_or_without_its_trailing_slash_grants_the_accession(verifier, portal, es_key):
    url = f"{portal.issuer}/datasets/{ACCESSION}"
    for value in (url, url + "/"):  # the slash: visas the portal issued before resource ids
        grant = verifier.verify_visa(visa(portal.issuer, es_key, START, value=value))
        assert (grant.dataset, grant.dataset_url, grant.value) == (ACCESSION, url, value)
        assert verifier.grant_for(grant.token, url + "/").jti == grant.jti
    assert code_of(verifier.verify_visa, visa(portal.issuer, es_key, START, value=url + "//")) == "foreign_dataset"


def test_a_resource_id_mapped_by_the_node_grants_its_accession(make_verifier, portal, es_key):
    verifier = make_verifier(portal, resources={RESOURCE: ACCESSION})
    token = visa(portal.issuer, es_key, START, value=RESOURCE)

    grant = verifier.verify_visa(token)
    assert (grant.dataset, grant.value) == (ACCESSION, RESOURCE)
    assert grant.dataset_url == f"{portal.issuer}/datasets/{ACCESSION}"
    for wanted in (ACCESSION, RESOURCE, f"{portal.issuer}/datasets/{ACCESSION}/"):
        assert verifier.grant_for(token, wanted).jti == grant.jti
    assert code_of(verifier.grant_for, token, OTHER_ACCESSION) == "other_dataset"
    # The portal's URL form still works next to the mapping.
    assert verifier.verify_visa(visa(portal.issuer, es_key, START)).dataset == ACCESSION


@pytest.mark.parametrize("value", ["EGAD00001000002", "egad00001000001", " EGAD00001000001", "", "GDS000001"])
def test_a_value_that_is_no_mapped_resource_nor_a_dataset_url_is_refused(make_verifier, portal, es_key, value):
    verifier = make_verifier(portal, resources={RESOURCE: ACCESSION})
    assert code_of(verifier.verify_visa, visa(portal.issuer, es_key, START, value=value)) == "foreign_dataset"


# --- jku and issuers ------------------------------------------------------------------------------


def test_a_jku_elsewhere_is_never_fetched_and_the_visa_is_refused(verifier, portal, start_server, attacker_key):
    attacker = start_server().serve(attacker_key)
    forged = sign(visa_claims(portal.issuer, START), attacker_key, jku=attacker.jwks_url)
    assert code_of(verifier.verify_visa, forged) == "jku_not_trusted"
    assert code_of(verifier.grant_for, forged, ACCESSION) == "jku_not_trusted"
    assert attacker.gets == 0
    assert portal.gets == 1  # the trusted set, once, and nothing else


def test_a_jku_elsewhere_with_a_trusted_kid_is_refused(verifier, portal, start_server, es_key):
    attacker = start_server()
    for jku in (attacker.jwks_url, portal.jwks_url + "?", portal.issuer + "/jwks.json", portal.jwks_url.upper(), 1):
        forged = sign(visa_claims(portal.issuer, START), es_key, jku=jku)
        assert code_of(verifier.verify_visa, forged) == "jku_not_trusted"
    assert attacker.gets == 0


def test_a_visa_without_jku_is_checked_against_the_configured_key_set(verifier, portal, es_key, attacker_key):
    assert verifier.verify_visa(sign(visa_claims(portal.issuer, START), es_key, jku=None)).dataset == ACCESSION
    forged = sign(visa_claims(portal.issuer, START), attacker_key, jku=None)
    assert code_of(verifier.verify_visa, forged) == "unknown_kid"


def test_the_key_set_comes_from_the_configured_url_whatever_the_issuer_url(start_server, es_key, clock):
    keys = start_server().serve(es_key)
    issuer = "https://portal.example"
    verifier = Verifier(Config(issuers=(TrustedIssuer(issuer, keys.jwks_url),)), clock=clock)
    token = sign(visa_claims(issuer, START), es_key, jku=keys.jwks_url)
    assert verifier.verify_visa(token).dataset_url == f"{issuer}/datasets/{ACCESSION}"
    # The portal's usual jku (<issuer>/.well-known/jwks.json) names the public address of the same
    # key set: accepted, and still never fetched (the keys come from the configured URL).
    assert verifier.verify_visa(sign(visa_claims(issuer, START), es_key)).issuer == issuer
    assert code_of(verifier.verify_visa, sign(visa_claims(issuer, START), es_key, jku="https://evil.example/jwks")) == (
        "jku_not_trusted"
    )
    assert keys.gets == 1


def test_a_key_of_another_trusted_issuer_cannot_sign_for_this_issuer(
    start_server, make_verifier, es_key, other_issuer_key
):
    portal_a = start_server().serve(es_key)
    portal_b = start_server().serve(other_issuer_key)
    verifier = make_verifier(portal_a, portal_b)
    claims = visa_claims(portal_a.issuer, START)
    assert code_of(verifier.verify_visa, sign(claims, other_issuer_key, jku=portal_b.jwks_url)) == "issuer_mismatch"
    assert code_of(verifier.verify_visa, sign(claims, other_issuer_key, jku=None)) == "issuer_mismatch"
    assert code_of(verifier.verify_visa, sign(claims, other_issuer_key)) == "jku_not_trusted"  # the portal's jku
    # Each issuer's own visas grant, with the issuer they name.
    assert verifier.verify_visa(visa(portal_a.issuer, es_key, START)).issuer == portal_a.issuer
    assert verifier.verify_visa(visa(portal_b.issuer, other_issuer_key, START)).issuer == portal_b.issuer


def test_a_visa_of_an_untrusted_issuer_is_refused_without_fetching_its_keys(
    make_verifier, portal, start_server, es_key, attacker_key, clock
):
    elsewhere = start_server().serve(attacker_key)
    verifier = make_verifier(portal)
    forged = visa(elsewhere.issuer, attacker_key, START)
    assert code_of(verifier.verify_visa, forged) == "untrusted_issuer"
    assert elsewhere.gets == 0
    assert portal.gets <= 1  # a cold verifier loads the trusted set; nothing is fetched for the stranger

    verifier.verify_visa(visa(portal.issuer, es_key, START))
    gets = portal.gets
    clock.advance(30)
    for n in range(20):
        forged = sign(visa_claims(f"https://stranger-{n}.example", clock.now), attacker_key, kid=f"k{n}")
        assert code_of(verifier.verify_visa, forged) == "untrusted_issuer"
    assert (portal.gets, elsewhere.gets) == (gets, 0)


def test_a_visa_whose_issuer_has_a_trailing_slash_is_not_the_issuer(verifier, portal, es_key):
    claims = visa_claims(portal.issuer, START)
    claims["iss"] = portal.issuer + "/"
    assert code_of(verifier.verify_visa, sign(claims, es_key, jku=portal.jwks_url)) == "issuer_mismatch"


# --- rotation -------------------------------------------------------------------------------------


def test_a_rotated_key_is_honoured_and_old_visas_verify_until_the_old_key_is_dropped(
    make_verifier, portal, es_key, es_key_2, clock
):
    verifier = make_verifier(portal, refresh_interval=10, jwks_max_age=300)
    old = visa(portal.issuer, es_key, START, lifetime=7200)
    assert verifier.verify_visa(old).kid == es_key.kid

    portal.serve(es_key_2, es_key)  # the portal rotates: new current key, the old one retiring
    new = visa(portal.issuer, es_key_2, clock.advance(1))
    assert code_of(verifier.verify_visa, new) == "unknown_kid"  # refreshed less than refresh_interval ago
    clock.advance(10)
    assert verifier.verify_visa(new).kid == es_key_2.kid
    assert verifier.verify_visa(old).kid == es_key.kid
    assert portal.gets == 2

    portal.serve(es_key_2)  # every visa of the old key has expired at the portal's reckoning
    clock.advance(200)
    assert verifier.verify_visa(old).kid == es_key.kid  # the cached set is still fresh
    clock.advance(100)  # the cache is now older than jwks_max_age
    assert code_of(verifier.verify_visa, old) == "unknown_kid"
    assert verifier.verify_visa(new).kid == es_key_2.kid
    assert portal.gets == 3


def test_a_rotation_from_es256_to_rs256_keeps_both_visas_valid(make_verifier, portal, es_key, rs_key, clock):
    verifier = make_verifier(portal)
    old = visa(portal.issuer, es_key, START)
    verifier.verify_visa(old)
    portal.serve(rs_key, es_key)
    clock.advance(11)
    new = visa(portal.issuer, rs_key, clock.now)
    assert (verifier.verify_visa(new).kid, verifier.verify_visa(old).kid) == (rs_key.kid, es_key.kid)


# --- sizes and garbage ----------------------------------------------------------------------------


def test_an_oversized_visa_is_refused_before_anything_is_decoded(verifier, monkeypatch):
    def decoded(*args):
        raise AssertionError("an oversized token was decoded")

    monkeypatch.setattr(verifier_module, "_segment_json", decoded)
    huge = "e" * 10_000_000 + ".e30." + "s" * 100
    began = time.perf_counter()
    assert code_of(verifier.verify_visa, huge) == "too_large"
    assert code_of(verifier.verify_visa, huge.encode()) == "too_large"
    assert code_of(verifier.verify_passport, huge) == "too_large"
    assert code_of(verifier.grant_for, huge, ACCESSION) == "too_large"
    assert time.perf_counter() - began < 1.0


def test_a_signed_visa_over_the_size_cap_is_refused(make_verifier, portal, es_key):
    token = visa(portal.issuer, es_key, START)
    assert make_verifier(portal, max_token_bytes=len(token)).verify_visa(token).dataset == ACCESSION
    assert code_of(make_verifier(portal, max_token_bytes=len(token) - 1).verify_visa, token) == "too_large"
    claims = visa_claims(portal.issuer, START)
    claims["padding"] = "x" * 20_000
    assert code_of(make_verifier(portal).verify_visa, sign(claims, es_key)) == "too_large"


def test_an_oversized_passport_is_refused(make_verifier, portal, es_key):
    token = passport(portal.issuer, es_key, START, [visa(portal.issuer, es_key, START) for _ in range(3)])
    verifier = make_verifier(portal, max_passport_bytes=len(token) - 1)
    assert code_of(verifier.verify_passport, token) == "too_large"
    assert code_of(verifier.grant_for, token, ACCESSION) == "too_large"
    assert code_of(make_verifier(portal).verify_passport, "a" * 2_000_000 + ".b.c") == "too_large"
    assert portal.gets == 0


def test_a_visa_over_the_size_cap_inside_a_passport_is_refused(make_verifier, portal, es_key):
    inner = visa(portal.issuer, es_key, START)
    verifier = make_verifier(portal, max_token_bytes=len(inner) - 1)
    grants, refused = verifier.verify_passport(passport(portal.issuer, es_key, START, [inner]))
    assert (grants, [rejected.code for rejected in refused]) == ([], ["too_large"])


def _deep(depth: int) -> str:
    return b64(b"[" * depth + b"]" * depth)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "   ",
        "abc",
        "a.b",
        "a.b.c.d",
        "...",
        "!!!.e30.sig",
        "e.e30.sig",
        b64(b"[1, 2]") + ".e30.sig",
        b64(b"null") + ".e30.sig",
        b64(b'"vnd.ga4gh.visa+jwt"') + ".e30.sig",
        b64(b"\xff\xfe{") + ".e30.sig",
        _deep(5_000) + ".e30.sig",
        "é.é.é",
        "\x00.\x00.\x00",
        b"\xff.\xfe.\xfd",
        None,
        12345,
        ["a", "b", "c"],
    ],
    ids=lambda token: repr(token)[:24],
)
def test_garbage_is_refused_as_malformed(verifier, portal, token):
    assert code_of(verifier.verify_visa, token) == "malformed"
    assert code_of(verifier.verify_passport, token) == "malformed"
    assert portal.gets == 0


def test_a_deeply_nested_passport_header_is_refused_as_malformed(verifier):
    token = _deep(200_000) + ".e30.sig"
    assert code_of(verifier.verify_passport, token) == "malformed"
    assert code_of(verifier.grant_for, token, ACCESSION) == "malformed"


def test_a_visa_header_with_a_garbage_payload_is_refused_as_malformed(verifier, portal, es_key):
    unknown = b64_json(header_of(portal.issuer, es_key, kid="not-a-kid-of-the-portal"))
    known = b64_json(header_of(portal.issuer, es_key))
    for payload in ("!!!", b64(b"[1]"), _deep(4_000), b64(b"{nope")):
        assert code_of(verifier.verify_visa, f"{unknown}.{payload}.c2ln") == "malformed"
    for payload in ("!!!", b64(b"[1]"), b64(b"{nope")):
        forged = compact(header_of(portal.issuer, es_key), payload, es_key)
        assert code_of(verifier.verify_visa, forged) == "malformed"
    assert code_of(verifier.verify_visa, f"{known}.{b64_json(visa_claims(portal.issuer, START))}.!!!") in {
        "malformed",
        "bad_signature",
    }


# --- key sets -------------------------------------------------------------------------------------


def _ignored_entry(kind: str):
    """(the JWKS entry, the key that signs the test token, the token's kid)."""
    if kind == "encryption key":
        key = make_key("ES256", kid="enc-key")
        return key.jwk(use="enc"), key, key.kid
    if kind == "private key":
        key = make_key("ES256", kid="leaked-private")
        return key.private_jwk(), key, key.kid
    if kind == "RSA under 2048 bits":
        key = make_key("RS256", kid="weak-rsa-1024", bits=1024)
        return key.jwk(), key, key.kid
    if kind == "P-384 labelled ES256":
        key = make_key("ES256", kid="p384-as-es256", curve=ec.SECP384R1())
        return key.jwk(), key, key.kid
    if kind == "no kid":
        key = make_key("ES256", kid="kid-not-published")
        return key.jwk(kid=None), key, key.kid
    if kind == "RSA key labelled ES256":
        key = make_key("RS256", kid="rsa-as-es256", bits=2048)
        return key.jwk(alg="ES256"), make_key("ES256"), key.kid
    if kind == "algorithm not allowed":
        key = make_key("ES256", kid="es384-labelled")
        return key.jwk(alg="ES384"), key, key.kid
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "encryption key",
        "private key",
        "RSA under 2048 bits",
        "P-384 labelled ES256",
        "no kid",
        "RSA key labelled ES256",
        "algorithm not allowed",
    ],
)
def test_unusable_keys_of_the_key_set_are_ignored(make_verifier, start_server, es_key, kind):
    entry, signer, kid = _ignored_entry(kind)
    server = start_server().serve(es_key, entry)
    verifier = make_verifier(server)
    forged = compact(header_of(server.issuer, signer, kid=kid), visa_claims(server.issuer, START), signer)
    assert code_of(verifier.verify_visa, forged) == "unknown_kid"
    assert verifier.verify_visa(visa(server.issuer, es_key, START)).dataset == ACCESSION


def test_malformed_entries_of_the_key_set_are_skipped_without_harm(make_verifier, start_server, es_key):
    garbage = [
        "a string",
        42,
        None,
        {"kid": "only-a-kid"},
        {"kid": "alg-list", "kty": "EC", "alg": ["ES256"], "crv": "P-256", "x": "AA", "y": "AA"},
        {"kid": "kty-list", "kty": ["EC"], "crv": "P-256", "x": "AA", "y": "AA"},
        {"kid": "x-number", "kty": "EC", "alg": "ES256", "crv": "P-256", "x": 123, "y": "AA"},
        {
            "kid": "not-on-curve",
            "kty": "EC",
            "alg": "ES256",
            "crv": "P-256",
            "x": b64(b"\1" * 32),
            "y": b64(b"\2" * 32),
        },
        {"kid": "rsa-junk", "kty": "RSA", "alg": "RS256", "n": "!!", "e": {"no": 1}},
        {"kid": ["list"], "kty": "EC", "alg": "ES256"},
        es_key.jwk(kid=7),
    ]
    server = start_server().serve(*garbage, es_key)
    verifier = make_verifier(server)
    assert verifier.verify_visa(visa(server.issuer, es_key, START)).dataset == ACCESSION
    token = compact(header_of(server.issuer, es_key, kid="alg-list"), visa_claims(server.issuer, START), es_key)
    assert code_of(verifier.verify_visa, token) == "unknown_kid"


def test_a_key_set_that_cannot_be_fetched_at_first_use_makes_the_verifier_unavailable(make_verifier, portal, es_key):
    verifier = make_verifier(portal)
    token = visa(portal.issuer, es_key, START)
    portal.stop()
    with pytest.raises(KeySetUnavailable):
        verifier.verify_visa(token)
    with pytest.raises(KeySetUnavailable):
        verifier.grant_for(token, ACCESSION)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, None),
        (404, None),
        (200, b"<html>maintenance</html>"),
        (200, b'{"keys": "none"}'),
        (200, b"[]"),
        (200, b"[" * 50_000 + b"]" * 50_000),
        (200, b'{"keys": [], "padding": "' + b"x" * 300_000 + b'"}'),
    ],
    ids=["500", "404", "html", "keys-not-a-list", "array", "deep-nesting", "over-the-size-cap"],
)
def test_a_key_set_that_cannot_be_read_makes_the_verifier_unavailable(make_verifier, portal, es_key, status, body):
    portal.status, portal.body = status, body
    with pytest.raises(KeySetUnavailable):
        make_verifier(portal).verify_visa(visa(portal.issuer, es_key, START))


def test_the_key_set_size_cap_is_the_configured_one(make_verifier, portal, es_key):
    token = visa(portal.issuer, es_key, START)
    size = len(portal.document())
    assert make_verifier(portal, max_jwks_bytes=size).verify_visa(token).dataset == ACCESSION
    with pytest.raises(KeySetUnavailable):
        make_verifier(portal, max_jwks_bytes=size - 1).verify_visa(token)


def test_a_key_set_that_redirects_is_not_followed(make_verifier, portal, start_server, es_key):
    elsewhere = start_server().serve(es_key)
    portal.redirect = elsewhere.jwks_url
    with pytest.raises(KeySetUnavailable):
        make_verifier(portal).verify_visa(visa(portal.issuer, es_key, START))
    assert (portal.gets, elsewhere.gets) == (1, 0)


def test_an_unavailable_key_set_is_retried_after_the_refresh_interval(make_verifier, portal, es_key, clock):
    verifier = make_verifier(portal, refresh_interval=10)
    token = visa(portal.issuer, es_key, START)
    portal.status = 503
    with pytest.raises(KeySetUnavailable):
        verifier.verify_visa(token)
    portal.status = 200
    clock.advance(5)
    with pytest.raises(KeySetUnavailable):
        verifier.verify_visa(token)
    assert portal.gets == 1
    clock.advance(5)
    assert verifier.verify_visa(token).dataset == ACCESSION
    assert portal.gets == 2


def test_cached_keys_keep_working_when_the_key_set_goes_down(make_verifier, portal, es_key, clock):
    verifier = make_verifier(portal, jwks_max_age=300)
    verifier.verify_visa(visa(portal.issuer, es_key, START))
    portal.stop()
    for seconds in (301, 600, 3600):
        clock.advance(seconds)
        assert verifier.verify_visa(visa(portal.issuer, es_key, clock.now)).dataset == ACCESSION


def test_concurrent_first_verifications_fetch_the_key_set_once(make_verifier, portal, es_key):
    verifier = make_verifier(portal)
    token = visa(portal.issuer, es_key, START)
    results: list = []

    def verify() -> None:
        try:
            results.append(verifier.verify_visa(token).dataset)
        except Exception as error:  # the assertion below shows it
            results.append(error)

    threads = [threading.Thread(target=verify) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == [ACCESSION] * 16
    assert portal.gets == 1


# --- passports ------------------------------------------------------------------------------------


def test_grant_for_picks_the_visa_of_the_dataset_from_a_passport(verifier, portal, es_key):
    visas = [
        visa(portal.issuer, es_key, START, accession=ACCESSION, lifetime=1800),
        visa(portal.issuer, es_key, START, accession=OTHER_ACCESSION, lifetime=2400),
    ]
    token = passport(portal.issuer, es_key, START, visas)
    assert verifier.grant_for(token, ACCESSION).expires_at == int(START) + 1800
    granted = verifier.grant_for(token, f"{portal.issuer}/datasets/{OTHER_ACCESSION}/")
    assert (granted.dataset, granted.expires_at, granted.token) == (OTHER_ACCESSION, int(START) + 2400, visas[1])
    assert code_of(verifier.grant_for, token, "GDS000003") == "other_dataset"
    grants, refused = verifier.verify_passport(token)
    assert ([grant.dataset for grant in grants], refused) == ([ACCESSION, OTHER_ACCESSION], [])


def test_grant_for_takes_the_longest_lived_visa_of_the_dataset(verifier, portal, es_key):
    visas = [visa(portal.issuer, es_key, START, lifetime=seconds) for seconds in (600, 3000, 1200)]
    assert verifier.grant_for(passport(portal.issuer, es_key, START, visas), ACCESSION).expires_at == START + 3000


def test_a_visa_of_another_person_in_a_passport_is_refused(verifier, portal, es_key):
    mine = visa(portal.issuer, es_key, START, accession=ACCESSION)
    theirs = visa(portal.issuer, es_key, START, accession=OTHER_ACCESSION, sub=OTHER_SUB)
    grants, refused = verifier.verify_passport(passport(portal.issuer, es_key, START, [mine, theirs]))
    assert [grant.dataset for grant in grants] == [ACCESSION]
    assert [rejected.code for rejected in refused] == ["other_subject"]
    only_theirs = passport(portal.issuer, es_key, START, [theirs])
    assert code_of(verifier.grant_for, only_theirs, OTHER_ACCESSION) == "other_subject"
    # With a valid visa of another dataset beside it, the answer is that this dataset is not granted.
    both = passport(portal.issuer, es_key, START, [mine, theirs])
    assert code_of(verifier.grant_for, both, OTHER_ACCESSION) == "other_dataset"


def test_refused_visas_in_a_passport_are_reported_and_the_good_ones_kept(verifier, portal, es_key, attacker_key):
    good = visa(portal.issuer, es_key, START)
    expired = visa(portal.issuer, es_key, START - 7200, accession=OTHER_ACCESSION)
    forged = visa(portal.issuer, attacker_key, START, accession="GDS000003")
    nested = passport(portal.issuer, es_key, START, [good])
    grants, refused = verifier.verify_passport(passport(portal.issuer, es_key, START, [good, expired, forged, nested]))
    assert [grant.dataset for grant in grants] == [ACCESSION]
    assert [rejected.code for rejected in refused] == ["expired", "unknown_kid", "wrong_typ"]
    token = passport(portal.issuer, es_key, START, [expired, forged])
    assert code_of(verifier.grant_for, token, OTHER_ACCESSION) == "expired"


def test_a_passport_signed_by_an_untrusted_key_is_refused_whatever_it_holds(
    verifier, portal, start_server, es_key, attacker_key
):
    genuine = [visa(portal.issuer, es_key, START)]
    assert (
        code_of(verifier.grant_for, passport(portal.issuer, attacker_key, START, genuine), ACCESSION) == "unknown_kid"
    )
    attacker = start_server().serve(attacker_key)
    forged = passport(portal.issuer, attacker_key, START, genuine, jku=attacker.jwks_url)
    assert code_of(verifier.verify_passport, forged) == "jku_not_trusted"
    forged = passport(attacker.issuer, attacker_key, START, genuine)
    assert code_of(verifier.verify_passport, forged) == "untrusted_issuer"
    assert attacker.gets == 0


def test_a_passport_with_a_tampered_visa_list_is_refused(verifier, portal, es_key):
    token = passport(portal.issuer, es_key, START, [visa(portal.issuer, es_key, START)])
    header, _payload, signature = token.split(".")
    swapped = passport_claims(portal.issuer, START, [visa(portal.issuer, es_key, START, accession=OTHER_ACCESSION)])
    assert code_of(verifier.verify_passport, f"{header}.{b64_json(swapped)}.{signature}") == "bad_signature"


def test_an_expired_passport_is_refused(verifier, portal, es_key):
    token = passport(portal.issuer, es_key, START - 7200, [visa(portal.issuer, es_key, START)])
    assert code_of(verifier.grant_for, token, ACCESSION) == "expired"


def test_a_passport_with_too_many_visas_is_refused(make_verifier, portal, es_key):
    token = passport(portal.issuer, es_key, START, [visa(portal.issuer, es_key, START)] * 4)
    assert code_of(make_verifier(portal, max_visas_per_passport=3).verify_passport, token) == "too_large"
    grants, _refused = make_verifier(portal, max_visas_per_passport=4).verify_passport(token)
    assert len(grants) == 4


@pytest.mark.parametrize("visas", [None, "a.b.c", [1, 2], [None], {"visa": "a.b.c"}])
def test_a_passport_without_a_list_of_visas_is_refused(verifier, portal, es_key, visas):
    claims = passport_claims(portal.issuer, START, [])
    claims["ga4gh_passport_v1"] = visas
    if visas is None:
        del claims["ga4gh_passport_v1"]
    assert code_of(verifier.verify_passport, sign(claims, es_key, typ=PASSPORT_TYP)) == "not_a_passport"


def test_an_empty_passport_grants_nothing(verifier, portal, es_key):
    token = passport(portal.issuer, es_key, START, [])
    assert verifier.verify_passport(token) == ([], [])
    assert code_of(verifier.grant_for, token, ACCESSION) == "other_dataset"


# --- configuration --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"issuers": ()},
        {"algorithms": ("HS256",)},
        {"algorithms": ("ES256", "PS256")},
        {"algorithms": ()},
        {"algorithms": "ES256"},
        {"clock_skew": -1},
        {"clock_skew": 301},
        {"resources": {"EGAD00001000001": "../admin"}},
        {"resources": {"EGAD00001000001": ""}},
        {"resources": {"": "GDS000001"}},
        {"resources": {" EGAD00001000001": "GDS000001"}},
    ],
)
def test_a_config_that_makes_no_sense_is_refused(fields):
    config = {"issuers": (TrustedIssuer("https://portal.example"),), **fields}
    with pytest.raises(ValueError):  # noqa: PT011 - the message is for people
        Config(**config)


def test_a_config_accepts_the_edges_of_its_ranges():
    issuers = [TrustedIssuer("https://portal.example")]
    assert Config(issuers=issuers, clock_skew=0).issuers == tuple(issuers)
    assert Config(issuers=issuers, clock_skew=300, algorithms=("RS256",)).algorithms == ("RS256",)


@pytest.mark.parametrize(
    ("issuer", "jwks_url"),
    [
        ("portal.example", ""),
        ("ftp://portal.example", ""),
        ("", ""),
        ("file:///etc/passwd", ""),
        ("https://portal.example", "file:///etc/jwks.json"),
        ("https://portal.example", "/jwks.json"),
    ],
)
def test_a_trusted_issuer_must_be_http_urls(issuer, jwks_url):
    with pytest.raises(ValueError, match="must be an http"):
        TrustedIssuer(issuer, jwks_url)


@pytest.mark.parametrize(
    ("text", "issuer", "jwks_url"),
    [
        ("https://portal.example", "https://portal.example", "https://portal.example/.well-known/jwks.json"),
        ("https://portal.example/", "https://portal.example", "https://portal.example/.well-known/jwks.json"),
        ("  http://127.0.0.1:8000  ", "http://127.0.0.1:8000", "http://127.0.0.1:8000/.well-known/jwks.json"),
        ("https://portal.example=https://keys.example/jwks", "https://portal.example", "https://keys.example/jwks"),
        (" https://portal.example/ = https://keys.example/j ", "https://portal.example", "https://keys.example/j"),
    ],
)
def test_a_trusted_issuer_is_parsed_from_issuer_or_issuer_equals_jwks_url(text, issuer, jwks_url):
    trusted = TrustedIssuer.parse(text)
    assert (trusted.issuer, trusted.jwks_url) == (issuer, jwks_url)
    assert trusted.dataset_prefix == f"{issuer}/datasets/"


def test_the_config_is_built_from_the_environment():
    env = {
        "VISA_TRUSTED_ISSUERS": "https://a.example, https://b.example=https://keys.b.example/jwks.json\nhttps://c.example/",
        "VISA_CLOCK_SKEW": "30",
        "VISA_ALGORITHMS": "ES256",
    }
    config = build_config(env=env)
    assert [(trusted.issuer, trusted.jwks_url) for trusted in config.issuers] == [
        ("https://a.example", "https://a.example/.well-known/jwks.json"),
        ("https://b.example", "https://keys.b.example/jwks.json"),
        ("https://c.example", "https://c.example/.well-known/jwks.json"),
    ]
    assert (config.clock_skew, config.algorithms) == (30, ("ES256",))


def test_arguments_win_over_the_environment():
    env = {"VISA_TRUSTED_ISSUERS": "https://a.example", "VISA_CLOCK_SKEW": "30", "VISA_ALGORITHMS": "ES256"}
    config = build_config(["https://z.example"], skew=5, algorithms=["RS256"], env=env)
    assert ([trusted.issuer for trusted in config.issuers], config.clock_skew, config.algorithms) == (
        ["https://z.example"],
        5,
        ("RS256",),
    )


def test_the_config_defaults_to_both_algorithms_and_a_minute_of_skew():
    config = build_config(env={"VISA_TRUSTED_ISSUERS": "https://a.example"})
    assert (config.clock_skew, config.algorithms, config.resources) == (60, ("ES256", "RS256"), {})


def test_resource_mappings_come_from_arguments_or_the_environment():
    env = {
        "VISA_TRUSTED_ISSUERS": "https://a.example",
        "VISA_RESOURCES": "EGAD1=GDS000001, EGAD2=GDS000002\nEGAD3=GDS000003",
    }
    assert build_config(env=env).resources == {"EGAD1": "GDS000001", "EGAD2": "GDS000002", "EGAD3": "GDS000003"}
    assert build_config(resources=["https://x.example/?id=EGAD3=GDS000003"], env=env).resources == {
        "https://x.example/?id=EGAD3": "GDS000003"
    }


@pytest.mark.parametrize("entry", ["EGAD1", "=GDS000001", "EGAD1=", "EGAD1=GDS/1"])
def test_a_resource_mapping_that_is_not_resource_equals_accession_is_refused(entry):
    with pytest.raises(ValueError):  # noqa: PT011 - the message is for people
        build_config(["https://a.example"], resources=[entry], env={})


def test_a_resource_mapped_to_two_accessions_is_refused():
    with pytest.raises(ValueError, match="two accessions"):
        build_config(["https://a.example"], resources=["EGAD1=GDS000001", "EGAD1=GDS000002"], env={})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no trusted issuer"),
        ({"VISA_TRUSTED_ISSUERS": " , "}, "no trusted issuer"),
        ({"VISA_TRUSTED_ISSUERS": "https://a.example", "VISA_CLOCK_SKEW": "1m"}, "whole number"),
        ({"VISA_TRUSTED_ISSUERS": "https://a.example", "VISA_CLOCK_SKEW": "3600"}, "clock_skew"),
        ({"VISA_TRUSTED_ISSUERS": "https://a.example", "VISA_ALGORITHMS": "HS256"}, "algorithms"),
        ({"VISA_TRUSTED_ISSUERS": "portal.example"}, "http"),
    ],
)
def test_a_bad_environment_is_refused_with_a_message(env, message):
    with pytest.raises(ValueError, match=message):
        build_config(env=env)


def test_two_issuers_publishing_the_same_kid_do_not_shadow_each_other(start_server, make_verifier):
    shared_a, shared_b = make_key("ES256", kid="k1"), make_key("ES256", kid="k1")
    portal_a = start_server().serve(shared_a)
    portal_b = start_server().serve(shared_b)
    verifier = make_verifier(portal_b, portal_a)  # B first: a lookup by kid alone would pick B's key
    assert verifier.verify_visa(visa(portal_a.issuer, shared_a, START)).issuer == portal_a.issuer
    assert verifier.verify_visa(visa(portal_b.issuer, shared_b, START)).issuer == portal_b.issuer
    # Still no crossing: A's key cannot sign for B.
    assert code_of(verifier.verify_visa, visa(portal_b.issuer, shared_a, START)) == "bad_signature"


def test_keys_over_plain_http_from_another_host_are_warned_about(caplog):
    caplog.set_level(logging.WARNING, logger="visa_verifier")
    Verifier(Config(issuers=(TrustedIssuer("http://127.0.0.1:8000"), TrustedIssuer("https://portal.example"))))
    assert caplog.records == []
    Verifier(Config(issuers=(TrustedIssuer("http://portal.example"),)))
    assert "plain HTTP" in caplog.records[0].getMessage()
