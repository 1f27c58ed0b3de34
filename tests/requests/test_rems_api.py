"""The REMS-compatible path (requests/rems_api.py, docs/node-contract.md): who may read a person's
visas at /api/permissions/{user}, the person named by either id, the visas' `sub` (the federated
id once linked), REMS's 404 and `expired`, /api/jwk, and the id rules on the /api/v1/ node API."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import jwt
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from requests import visas
from requests.models import Permit
from requests.selectors.permits import live_permits
from tests.factories import DatasetFactory, NodeFactory
from tests.requests.test_node_api import GRU, check, grant_gru, introspect, node_key, passport_of

pytestmark = pytest.mark.django_db

ISSUER = "https://login.example.org/oidc/"
SUBJECT = "5f3c0d2e8a@lifescience-ri.eu"


@pytest.fixture(autouse=True)
def _issuer(settings):
    settings.OIDC_ISSUER = ISSUER


@pytest.fixture
def linked(applicant):
    """`applicant`'s identity at the configured issuer."""
    return account_services.federated_identity_link(user=applicant, issuer=ISSUER, subject=SUBJECT, actor=None)


@pytest.fixture
def broker(db):
    return NodeFactory(slug="ls-login", name="LS Login", is_broker=True)


def rems_url(user: str) -> str:
    # As a client builds it: the id URL-encoded (`@` as %40).
    return f"/api/permissions/{quote(str(user), safe='')}"


def rems_get(user: str, *, key: str | None = None, token: str | None = None, header: str = "rems", **query):
    headers = {}
    if key is not None and header == "rems":
        headers = {"HTTP_X_REMS_API_KEY": key, "HTTP_X_REMS_USER_ID": "someone-else"}
    elif key is not None:
        headers = {"HTTP_AUTHORIZATION": f"Api-Key {key}"}
    elif token is not None:
        headers = {"HTTP_AUTHORIZATION": f"Token {token}"}
    return Client(**headers).get(rems_url(user), query)


def token_of(user) -> str:
    return account_services.personal_token_create(user=user, name="script")[1]


def subs(passport: list[str]) -> list[str]:
    return [visas.verify_visa(v).sub for v in passport]


# --- who may read --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "status", "count"),
    [
        ("node", 200, 1),
        ("node_authorization", 200, 1),
        ("other_node", 200, 0),
        ("broker", 200, 1),
        ("applicant_token", 200, 1),
        ("other_applicant_token", 404, None),
        ("applicant_session", 401, None),
        ("anonymous", 401, None),
        ("wrong_rems_key", 401, None),
        ("wrong_api_key", 401, None),
        ("personal_token_as_rems_key", 401, None),
    ],
)
def test_who_may_read_a_persons_visas(
    caller, status, count, applicant_permit, applicant, other_applicant, node, other_node, broker, linked
):
    if caller == "applicant_session":
        client = Client()
        client.force_login(applicant)
        response = client.get(rems_url(SUBJECT))
    else:
        kwargs = {
            "node": {"key": node_key(node)},
            "node_authorization": {"key": node_key(node), "header": "authorization"},
            "other_node": {"key": node_key(other_node)},
            "broker": {"key": node_key(broker)},
            "applicant_token": {"token": token_of(applicant)},
            "other_applicant_token": {"token": token_of(other_applicant)},
            "anonymous": {},
            "wrong_rems_key": {"key": "gapn_" + "x" * 40},
            "wrong_api_key": {"key": "gapn_" + "x" * 40, "header": "authorization"},
            "personal_token_as_rems_key": {"key": token_of(applicant)},
        }[caller]
        response = rems_get(SUBJECT, **kwargs)

    assert response.status_code == status, response.content
    if count is not None:
        assert len(response.json()["ga4gh_passport_v1"]) == count
    else:
        assert set(response.json()) == {"code", "message", "extra"}
    if status == 401:
        assert response["WWW-Authenticate"] == "Api-Key"
    assert response["Cache-Control"] == "no-store"


def test_a_researcher_reads_their_own_visas_by_either_id_and_nobody_elses(applicant_permit, applicant, other_applicant):
    token = token_of(applicant)
    assert len(rems_get(str(applicant.sub), token=token).json()["ga4gh_passport_v1"]) == 1
    other = rems_get(str(other_applicant.sub), token=token)
    assert (other.status_code, other.json()["code"]) == (404, "not_found")


def test_a_node_sees_only_its_datasets_and_the_broker_all(
    applicant, dac, dac_chair, dac_member, node, other_node, broker, linked
):
    mine = DatasetFactory(dac=dac, title="Hosted here", data_use=GRU, nodes=[node])
    theirs = DatasetFactory(dac=dac, title="Hosted there", data_use=GRU, nodes=[other_node])
    grant_gru(applicant, [mine, theirs], dac_chair, dac_member)

    def datasets_seen(node_) -> list[str]:
        passport = rems_get(SUBJECT, key=node_key(node_)).json()["ga4gh_passport_v1"]
        return [visas.permit_for(visas.verify_visa(v)).dataset.accession for v in passport]

    assert datasets_seen(node) == [mine.accession]
    assert datasets_seen(other_node) == [theirs.accession]
    assert datasets_seen(broker) == sorted([mine.accession, theirs.accession])


# --- the person, by either id ----------------------------------------------------------------------


def test_an_unknown_user_is_404_on_the_rems_path_and_an_empty_list_on_v1(applicant_permit, node):
    key = node_key(node)
    for nobody in ("nobody@lifescience-ri.eu", "00000000-0000-0000-0000-000000000000"):
        response = rems_get(nobody, key=key)
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
        assert passport_of(key, nobody) == []


def test_a_person_is_found_by_the_federated_id_with_an_at_sign_or_the_portal_id(
    applicant_permit, applicant, node, linked
):
    key = node_key(node)
    by_subject = rems_get(SUBJECT, key=key).json()["ga4gh_passport_v1"]
    by_portal_id = rems_get(str(applicant.sub), key=key).json()["ga4gh_passport_v1"]
    raw_at = Client(HTTP_X_REMS_API_KEY=key).get(f"/api/permissions/{SUBJECT}").json()["ga4gh_passport_v1"]

    assert subs(by_subject) == subs(by_portal_id) == subs(raw_at) == [SUBJECT]
    assert reverse("rems:permissions", args=[SUBJECT]) == "/api/permissions/5f3c0d2e8a@lifescience-ri.eu"


def test_a_federated_id_with_a_slash_is_found(applicant_permit, applicant, node):
    subject = "https://idp.example.org/people/aino"
    account_services.federated_identity_link(user=applicant, issuer=ISSUER, subject=subject, actor=None)
    assert subs(rems_get(subject, key=node_key(node)).json()["ga4gh_passport_v1"]) == [subject]


def test_an_id_with_a_newline_reaches_the_views(applicant_permit, applicant, node):
    """Found by schemathesis: Django's `path` converter stops at a newline, so such an id matched
    no route at all (an undocumented 404 on the v1 path)."""
    subject = "line one\nline two@lifescience-ri.eu"
    key = node_key(node)
    assert rems_get(subject, key=key).json()["code"] == "not_found"  # REMS's unknown user
    v1 = Client(HTTP_AUTHORIZATION=f"Api-Key {key}").get(f"/api/v1/permissions/{quote(subject, safe='')}")
    assert v1.status_code == 200
    account_services.federated_identity_link(user=applicant, issuer=ISSUER, subject=subject, actor=None)
    assert subs(rems_get(subject, key=key).json()["ga4gh_passport_v1"]) == [subject]


def test_the_check_and_v1_permissions_find_a_person_by_either_id(applicant_permit, applicant, dataset, node, linked):
    key = node_key(node)
    for user in (SUBJECT, str(applicant.sub)):
        assert check(key, user, dataset.accession)["permit_id"] == applicant_permit.pk
        assert subs(passport_of(key, user)) == [SUBJECT]


def test_an_identity_at_another_issuer_names_nobody(applicant_permit, applicant, dataset, node, settings, linked):
    settings.OIDC_ISSUER = "https://another-idp.example.org"
    key = node_key(node)
    assert rems_get(SUBJECT, key=key).status_code == 404
    assert check(key, SUBJECT, dataset.accession)["allowed"] is False
    assert subs(passport_of(key, str(applicant.sub))) == [str(applicant.sub)]


# --- the visas' sub ----------------------------------------------------------------------------------


def test_visas_and_the_passport_carry_the_federated_id_once_linked(applicant_permit, applicant, node):
    key = node_key(node)
    token = token_of(applicant)
    assert subs(rems_get(str(applicant.sub), key=key).json()["ga4gh_passport_v1"]) == [str(applicant.sub)]

    account_services.federated_identity_link(user=applicant, issuer=ISSUER, subject=SUBJECT, actor=None)

    assert subs(rems_get(str(applicant.sub), key=key).json()["ga4gh_passport_v1"]) == [SUBJECT]
    passport = Client(HTTP_AUTHORIZATION=f"Token {token}").get(reverse("api:my_passport")).json()["passport"]
    claims = jwt.decode(passport, options={"verify_signature": False})
    assert claims["sub"] == SUBJECT
    assert subs(claims["ga4gh_passport_v1"]) == [SUBJECT]


def test_a_visa_under_the_federated_id_introspects_until_the_identity_is_unlinked(
    applicant_permit, applicant, node, linked
):
    key = node_key(node)
    (visa,) = rems_get(SUBJECT, key=key).json()["ga4gh_passport_v1"]
    answer = introspect(key, visa)
    assert (answer["active"], answer["sub"], answer["permit_id"]) == (True, SUBJECT, applicant_permit.pk)

    account_services.federated_identity_unlink(identity=linked, actor=applicant)

    assert introspect(key, visa) == {"active": False}
    (fresh,) = rems_get(str(applicant.sub), key=key).json()["ga4gh_passport_v1"]
    assert introspect(key, fresh)["sub"] == str(applicant.sub)


# --- expired, and the answer ---------------------------------------------------------------------------


def test_expired_true_answers_the_live_visas_and_other_values_are_400(
    applicant, dac, dac_chair, dac_member, node, linked, time_machine
):
    short, long = (DatasetFactory(dac=dac, title=t, data_use=GRU, nodes=[node]) for t in ("Short", "Long"))
    grant_gru(applicant, [short], dac_chair, dac_member, months=1)
    grant_gru(applicant, [long], dac_chair, dac_member, months=12)
    expiring = Permit.objects.get(dataset=short)
    time_machine.move_to(expiring.expires_at + dt.timedelta(days=1))
    key = node_key(node)

    for expired in ("false", "true", "TRUE"):
        response = rems_get(SUBJECT, key=key, expired=expired)
        passport = response.json()["ga4gh_passport_v1"]
        assert [visas.permit_for(visas.verify_visa(v)).dataset for v in passport] == [long]
    response = rems_get(SUBJECT, key=key, expired="yes")
    assert response.status_code == 400
    assert set(response.json()["extra"]["fields"]) == {"expired"}


def test_the_jwk_path_serves_the_jwks(db):
    response = Client().get("/api/jwk")
    assert response.status_code == 200
    assert response.json() == Client().get(reverse("jwks")).json()
    assert response.json()["keys"]
    assert response["Cache-Control"] == "public, max-age=300"
    assert response["Access-Control-Allow-Origin"] == "*"


# --- query counts ----------------------------------------------------------------------------------


def test_a_linked_persons_visas_take_a_constant_number_of_queries(
    applicant, other_applicant, dac, dac_chair, dac_member, node
):
    datasets = [DatasetFactory(dac=dac, title=f"Cohort {n}", data_use=GRU, nodes=[node]) for n in range(6)]
    grant_gru(applicant, datasets[:1], dac_chair, dac_member)
    grant_gru(other_applicant, datasets, dac_chair, dac_member)
    for person, subject in ((applicant, SUBJECT), (other_applicant, "olli@lifescience-ri.eu")):
        account_services.federated_identity_link(user=person, issuer=ISSUER, subject=subject, actor=None)
    key = node_key(node)
    rems_get(SUBJECT, key=key)  # creates the signing key and marks the key used

    with CaptureQueriesContext(connection) as one:
        assert len(rems_get(SUBJECT, key=key).json()["ga4gh_passport_v1"]) == 1
    with CaptureQueriesContext(connection) as six:
        passport = rems_get("olli@lifescience-ri.eu", key=key).json()["ga4gh_passport_v1"]
    assert len(six) == len(one)
    assert subs(passport) == ["olli@lifescience-ri.eu"] * 6


def test_minting_many_visas_of_a_linked_person_reads_the_subject_once(
    applicant, dac, dac_chair, dac_member, node, linked, django_assert_max_num_queries
):
    datasets = [DatasetFactory(dac=dac, title=f"Cohort {n}", data_use=GRU, nodes=[node]) for n in range(8)]
    grant_gru(applicant, datasets, dac_chair, dac_member)
    now = timezone.now()
    visas.mint_visas(live_permits(now, grantee=applicant)[:1], now)  # the signing key exists

    # The permits, the subjects, the current key: three, whatever the number of permits.
    with django_assert_max_num_queries(3):
        minted = visas.mint_visas(live_permits(now, grantee=applicant), now)
    assert subs(minted) == [SUBJECT] * 8


# --- the OpenAPI document ----------------------------------------------------------------------------


def test_the_openapi_document_describes_the_rems_paths(db):
    schema = Client().get(reverse("api:schema"), {"format": "json"}).json()

    permissions = schema["paths"]["/api/permissions/{user}"]["get"]
    assert {"remsApiKey": []} in permissions["security"]
    assert {"nodeApiKey": []} in permissions["security"]
    assert {"personalToken": []} in permissions["security"]
    assert {"200", "400", "401", "404"} <= set(permissions["responses"])
    assert "403" not in permissions["responses"]
    query = {p["name"]: p for p in permissions["parameters"]}
    assert query["expired"]["schema"]["enum"] == ["false", "true"]
    assert schema["components"]["securitySchemes"]["remsApiKey"] == {
        **schema["components"]["securitySchemes"]["remsApiKey"],
        "type": "apiKey",
        "in": "header",
        "name": "x-rems-api-key",
    }

    jwk = schema["paths"]["/api/jwk"]["get"]
    assert set(jwk["responses"]) == {"200"}
