"""Visas as a verifier sees them (docs/node-contract.md, "Visas"): forged, tampered, stale and
foreign visas are refused by verify_visa and answer {"active": false} at introspection; a real visa
verifies with plain PyJWT against the published JWKS, carries exactly the designed claims, is
signed with RS256 unless VISA_SIGNING_ALG says ES256, names its dataset by the resource id (else the
dataset's URL), and survives a key rotation."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from io import StringIO

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from datasets import services as dataset_services
from portal import signing
from portal.exceptions import InvalidInput
from portal.models import AuditEvent
from requests import services, visas
from tests.factories import NodeFactory
from tests.requests.test_node_api import approve, as_node, introspect, node_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def node(dataset):
    hosting = NodeFactory(slug="fi-node", name="Finnish node")
    dataset.nodes.add(hosting)
    return hosting


@pytest.fixture
def key(node) -> str:
    return node_key(node)


@pytest.fixture
def permit(applicant_submission, dataset, dac_chair, dac_member):
    return approve(applicant_submission, [dataset], dac_chair, dac_member)[0]


@pytest.fixture
def visa(permit) -> str:
    return visas.mint_visa(permit)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64_json(value: dict) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def parts(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.split(".")
    pad = lambda text: text + "=" * (-len(text) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(payload))),
        signature,
    )


def hmac_token(header: dict, claims: dict, secret: bytes) -> str:
    """An HS256 JWS made by hand: PyJWT itself refuses to use a public key as an HMAC secret."""
    signing_input = f"{b64_json(header)}.{b64_json(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def jwks(client: Client | None = None) -> dict[str, dict]:
    """The served JWKS, by kid."""
    response = (client or Client()).get("/.well-known/jwks.json")
    assert response.status_code == 200
    return {jwk["kid"]: jwk for jwk in response.json()["keys"]}


def verify_with_pyjwt(token: str) -> dict:
    """What any GA4GH verifier does: the key named by `kid` from the JWKS, its `alg` only."""
    jwk = jwks()[jwt.get_unverified_header(token)["kid"]]
    return jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=[jwk["alg"]],
        issuer=settings.PORTAL_BASE_URL,
        options={"verify_aud": False},
    )


def refused(token: str, key: str) -> bool:
    """verify_visa raises VisaInvalid and introspection answers exactly {"active": false}."""
    with pytest.raises(visas.VisaInvalid):
        visas.verify_visa(token)
    return introspect(key, token) == {"active": False}


# --- forged and altered visas -------------------------------------------------------------------


def test_the_real_visa_is_accepted(visa, key):
    visas.verify_visa(visa)
    assert introspect(key, visa)["active"] is True


def test_alg_none_is_refused(visa, key):
    header, claims, _ = parts(visa)
    for alg in ("none", "None", "NONE"):
        unsigned = f"{b64_json({**header, 'alg': alg})}.{b64_json(claims)}."
        assert refused(unsigned, key)


def test_hs256_signed_with_the_public_key_is_refused(visa, key):
    header, claims, _ = parts(visa)
    jwk = jwks()[header["kid"]]
    pem = jwt.PyJWK(jwk).key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    secrets = [pem, pem.strip(), json.dumps(jwk).encode(), json.dumps(jwk, separators=(",", ":")).encode()]
    for secret in secrets:
        assert refused(hmac_token({**header, "alg": "HS256"}, claims, secret), key)


def test_a_visa_signed_with_a_key_of_an_unknown_kid_is_refused(visa, key):
    header, claims, _ = parts(visa)
    stranger = ec.generate_private_key(ec.SECP256R1())
    for kid in ("unknown", "", None):
        forged_header = {"typ": header["typ"], "jku": header["jku"], **({"kid": kid} if kid is not None else {})}
        assert refused(jwt.encode(claims, stranger, algorithm="ES256", headers=forged_header), key)


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_a_visa_signed_by_another_key_under_our_kid_is_refused(permit, key, settings, alg):
    settings.VISA_SIGNING_ALG = alg
    header, claims, _ = parts(visas.mint_visa(permit))
    assert header["alg"] == alg
    if alg == "RS256":
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        stranger = ec.generate_private_key(ec.SECP256R1())
    assert refused(jwt.encode(claims, stranger, algorithm=alg, headers=header), key)


@pytest.mark.parametrize(
    "change",
    [
        {"exp": 4102444800},
        {"sub": "00000000-0000-0000-0000-000000000000"},
        {"iss": "https://evil.example"},
        {"ga4gh_visa_v1": {"value": "http://testserver/datasets/GDS999999/"}},
        {"ga4gh_visa_v1": {"asserted": 0}},
    ],
)
def test_a_tampered_payload_with_the_original_signature_is_refused(visa, key, change):
    header, claims, signature = parts(visa)
    if "ga4gh_visa_v1" in change:
        change = {"ga4gh_visa_v1": {**claims["ga4gh_visa_v1"], **change["ga4gh_visa_v1"]}}
    tampered = f"{b64_json(header)}.{b64_json({**claims, **change})}.{signature}"
    assert refused(tampered, key)


def test_a_visa_with_conditions_is_refused_even_when_signed_by_us(permit, key):
    now = timezone.now()
    claims = visas.visa_claims(permit, now)
    claims["ga4gh_visa_v1"]["conditions"] = [[{"type": "AffiliationAndRole", "value": "x", "by": "so"}]]
    # Signed with the portal's own key, so only the claim check can refuse it.
    assert refused(visas._sign(claims, visas.VISA_TYP), key)


def test_a_passport_is_not_a_visa(permit, key):
    passport = visas.mint_passport(permit.grantee, [visas.mint_visa(permit)])
    assert refused(passport, key)


# --- time -------------------------------------------------------------------------------------------


def test_an_expired_visa_is_refused(visa, key, time_machine):
    expiry = dt.datetime.fromtimestamp(parts(visa)[1]["exp"], tz=dt.UTC)
    time_machine.move_to(expiry + dt.timedelta(seconds=settings.VISA_CLOCK_SKEW_SECONDS + 1))
    assert refused(visa, key)


def test_a_visa_issued_in_the_future_is_refused(permit, key):
    later = timezone.now() + dt.timedelta(seconds=settings.VISA_CLOCK_SKEW_SECONDS + 120)
    assert refused(visas.mint_visa(permit, now=later), key)


def test_visa_expiry_is_the_earlier_of_permit_expiry_and_the_visa_lifetime(permit, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    claims = parts(visas.mint_visa(permit))[1]
    assert claims["exp"] == claims["iat"] + settings.VISA_LIFETIME_SECONDS

    time_machine.move_to(permit.expires_at - dt.timedelta(minutes=10), tick=False)
    claims = parts(visas.mint_visa(permit))[1]
    assert claims["exp"] == int(permit.expires_at.timestamp())


# --- the permit behind a valid visa ---------------------------------------------------------------


def test_the_visa_of_a_revoked_permit_still_verifies_offline_but_is_inactive_online(visa, permit, dac_chair, key):
    services.permit_revoke(permit=permit, actor=dac_chair, reason="The ethics approval was withdrawn.")

    # Offline verifiers accept it until its exp (at most one visa lifetime); the portal does not.
    verified = visas.verify_visa(visa)
    assert visas.permit_for(verified) is None
    assert introspect(key, visa) == {"active": False}


def test_the_visa_of_a_dataset_another_node_hosts_is_inactive_for_this_node(visa, key):
    other = NodeFactory(slug="se-node", name="Swedish node")
    assert introspect(node_key(other), visa) == {"active": False}
    assert introspect(key, visa)["active"] is True


# --- API keys -------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["missing", "wrong", "expired", "revoked"])
def test_introspection_without_a_usable_key_is_401_with_the_error_shape(visa, node, staff, time_machine, case):
    time_machine.move_to(timezone.now(), tick=False)
    row, secret = dataset_services.node_key_create(node=node, name="verifier", days=1)
    if case == "expired":
        time_machine.shift(dt.timedelta(days=1, seconds=1))
    elif case == "revoked":
        dataset_services.node_key_revoke(key=row, actor=staff)
    sent = {"missing": None, "wrong": secret[:-2] + "xx"}.get(case, secret)

    response = as_node(sent).post(reverse("api:permit_introspect"), {"token": visa}, content_type="application/json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    body = response.json()
    assert set(body) == {"code", "message", "extra"}
    assert body["code"] == ("not_authenticated" if case == "missing" else "authentication_failed")
    assert "active" not in body


# --- what a verifier outside the portal sees ------------------------------------------------------


def test_the_visa_verifies_with_plain_pyjwt_against_the_served_jwks(visa, permit, applicant, dataset, dac):
    header = jwt.get_unverified_header(visa)
    claims = verify_with_pyjwt(visa)

    assert header == {
        "alg": "RS256",
        "typ": "vnd.ga4gh.visa+jwt",
        "kid": header["kid"],
        "jku": "http://testserver/.well-known/jwks.json",
    }
    assert set(claims) == {"iss", "sub", "iat", "exp", "jti", "ga4gh_visa_v1"}
    assert claims["iss"] == "http://testserver"
    assert claims["sub"] == str(applicant.sub)
    assert claims["ga4gh_visa_v1"] == {
        "type": "ControlledAccessGrants",
        "value": f"http://testserver/datasets/{dataset.accession}",
        "source": f"http://testserver/committees/{dac.slug}/",
        "by": "dac",
        "asserted": int(permit.decision.decided_at.timestamp()),
    }
    assert isinstance(claims["jti"], str)
    assert claims["jti"]


def test_every_served_key_is_public_and_says_its_use(visa):
    for jwk in jwks().values():
        assert {"kid", "alg", "use"} <= set(jwk)
        assert jwk["use"] == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk), "a private member is published"


def test_a_rotation_keeps_old_visas_verifiable_and_signs_new_ones_with_the_new_key(visa, permit, key):
    old_kid = jwt.get_unverified_header(visa)["kid"]
    call_command("rotate_signing_key", stdout=StringIO())
    new_visa = visas.mint_visa(permit)
    new_kid = jwt.get_unverified_header(new_visa)["kid"]

    assert new_kid != old_kid
    assert {old_kid, new_kid} <= set(jwks())
    for token in (visa, new_visa):
        verify_with_pyjwt(token)
        visas.verify_visa(token)
        assert introspect(key, token)["active"] is True


def test_a_retired_key_leaves_the_jwks_once_its_visas_are_expired(visa, permit, key, time_machine):
    old_kid = jwt.get_unverified_header(visa)["kid"]
    call_command("rotate_signing_key", stdout=StringIO())
    grace = settings.VISA_LIFETIME_SECONDS + settings.VISA_CLOCK_SKEW_SECONDS
    time_machine.move_to(timezone.now() + dt.timedelta(seconds=grace + 5))

    assert old_kid not in jwks()
    assert refused(visa, key)


def test_rs256_keys_sign_visas_that_verify_everywhere(permit, key):
    call_command("rotate_signing_key", "--alg", "RS256", stdout=StringIO())
    visa = visas.mint_visa(permit)

    assert jwt.get_unverified_header(visa)["alg"] == "RS256"
    assert jwks()[jwt.get_unverified_header(visa)["kid"]]["kty"] == "RSA"
    verify_with_pyjwt(visa)
    visas.verify_visa(visa)
    assert introspect(key, visa)["active"] is True


# --- the signing algorithm ------------------------------------------------------------------------


def test_the_first_key_is_rs256_by_default_and_published_with_at_least_2048_bits(visa):
    assert settings.VISA_SIGNING_ALG == "RS256"
    header = jwt.get_unverified_header(visa)
    jwk = jwks()[header["kid"]]

    assert (header["alg"], jwk["alg"], jwk["kty"]) == ("RS256", "RS256", "RSA")
    assert jwt.PyJWK(jwk).key.key_size >= 2048
    assert len(base64.urlsafe_b64decode(jwk["n"] + "==")) * 8 >= 2048


def test_visa_signing_alg_es256_makes_the_first_key_and_a_rotation_without_alg_es256(permit, key, settings):
    settings.VISA_SIGNING_ALG = "ES256"
    visa = visas.mint_visa(permit)
    assert jwt.get_unverified_header(visa)["alg"] == "ES256"
    assert jwks()[jwt.get_unverified_header(visa)["kid"]]["crv"] == "P-256"

    call_command("rotate_signing_key", stdout=StringIO())
    assert signing.current_key().alg == "ES256"
    settings.VISA_SIGNING_ALG = "RS256"
    call_command("rotate_signing_key", stdout=StringIO())
    rotated = visas.mint_visa(permit)
    assert jwt.get_unverified_header(rotated)["alg"] == "RS256"
    for token in (visa, rotated):  # from ES256 to RS256: both verify while they live
        verify_with_pyjwt(token)
        assert introspect(key, token)["active"] is True


def test_an_rs256_visa_re_signed_as_es256_or_hs256_is_refused(permit, key):
    call_command("rotate_signing_key", "--alg", "RS256", stdout=StringIO())
    header, claims, _ = parts(visas.mint_visa(permit))
    jwk = jwks()[header["kid"]]
    assert refused(hmac_token({**header, "alg": "HS256"}, claims, json.dumps(jwk).encode()), key)
    stranger = ec.generate_private_key(ec.SECP256R1())
    as_es256 = {**header, "alg": "ES256"}
    assert refused(jwt.encode(claims, stranger, algorithm="ES256", headers=as_es256), key)


# --- the value: the dataset's resource id, else its URL -----------------------------------------------


def test_the_value_is_the_dataset_url_without_the_trailing_slash(visa, dataset):
    assert parts(visa)[1]["ga4gh_visa_v1"]["value"] == f"http://testserver/datasets/{dataset.accession}"
    assert dataset.resource == f"http://testserver/datasets/{dataset.accession}"


def test_a_dataset_with_a_resource_id_is_named_by_it_and_introspects_as_its_accession(permit, dataset, key, staff):
    dataset_services.dataset_resource_id_set(dataset=dataset, resource_id=" EGAD00001000001 ", actor=staff)
    permit.refresh_from_db()
    visa = visas.mint_visa(permit)

    assert parts(visa)[1]["ga4gh_visa_v1"]["value"] == "EGAD00001000001"
    assert visas.permit_for(visas.verify_visa(visa)) == permit
    answer = introspect(key, visa)
    assert (answer["active"], answer["dataset"], answer["permit_id"]) == (True, dataset.accession, permit.pk)
    event = AuditEvent.objects.get(action="dataset.resource_id_changed")
    assert event.actor == staff
    assert (event.data["before"], event.data["after"]) == ({"resource_id": ""}, {"resource_id": "EGAD00001000001"})


def signed_with_value(permit, value: str) -> str:
    """A visa of `permit` signed by the portal's key, whose value is `value`."""
    claims = visas.visa_claims(permit, timezone.now())
    claims["ga4gh_visa_v1"]["value"] = value
    return visas._sign(claims, visas.VISA_TYP)


def test_visas_minted_before_resource_ids_still_introspect_while_they_live(permit, dataset, key):
    old_style = signed_with_value(permit, f"http://testserver/datasets/{dataset.accession}/")
    assert introspect(key, old_style)["active"] is True

    # ... and so does a URL-form visa once the dataset has a resource id (minted just before it was set).
    url_form = visas.mint_visa(permit)
    dataset_services.dataset_resource_id_set(dataset=dataset, resource_id="EGAD00001000001")
    for token in (old_style, url_form):
        assert introspect(key, token)["active"] is True


@pytest.mark.parametrize(
    "value",
    [
        "http://testserver/datasets/GDS999999",
        "http://testserver/datasets/{accession}//",
        "https://other-portal.example/datasets/{accession}",
        "{accession}",
        "EGAD00001000002",
        "",
    ],
)
def test_a_value_that_does_not_name_the_permits_dataset_is_inactive(permit, dataset, key, value):
    dataset_services.dataset_resource_id_set(dataset=dataset, resource_id="EGAD00001000001")
    assert introspect(key, signed_with_value(permit, value.format(accession=dataset.accession))) == {"active": False}


def test_a_resource_id_is_one_datasets_printable_and_not_a_portal_url(dataset, other_dataset):
    dataset_services.dataset_resource_id_set(dataset=dataset, resource_id="EGAD00001000001")
    for bad in ("EGAD00001000001", "EGAD 1", "x" * 256, f"http://testserver/datasets/{other_dataset.accession}"):
        with pytest.raises(InvalidInput) as error:
            dataset_services.dataset_resource_id_set(dataset=other_dataset, resource_id=bad)
        assert "resource_id" in error.value.extra["fields"]
    dataset_services.dataset_resource_id_set(dataset=dataset, resource_id="")
    dataset_services.dataset_resource_id_set(dataset=other_dataset, resource_id="EGAD00001000001")
    dataset.refresh_from_db()
    assert (dataset.resource_id, dataset.resource) == ("", f"http://testserver/datasets/{dataset.accession}")
