"""The people's API for permits: /api/v1/me/permits, /api/v1/me/passport and
/api/v1/permits/{id}/revoke, with a personal token and with the session."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.services import personal_token_create
from requests import services
from requests.models import Permit, PermitEvent, PermitStatus
from requests.visas import PASSPORT_TYP, VISA_TYP
from tests.conftest import PEOPLE, PERMIT_CONDITION

pytestmark = pytest.mark.django_db

REASON = "The ethics approval was withdrawn by the board."


def token_client(user) -> Client:
    """A client that authenticates only with a fresh personal token of `user` (no session)."""
    _token, key = personal_token_create(user=user, name="script")
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


def revoke(client: Client, permit: Permit, body) -> object:
    return client.post(reverse("api:permit_revoke", args=[permit.pk]), body, content_type="application/json")


# --- My permits -----------------------------------------------------------------------------------


def test_my_permits_with_a_personal_token(applicant, applicant_permit):
    response = token_client(applicant).get(reverse("api:my_permits"))
    assert response.status_code == 200
    (row,) = response.json()["permits"]
    assert set(row) == {"id", "dataset", "dac", "status", "starts_at", "expires_at", "conditions", "revoked_reason"}
    assert row["id"] == applicant_permit.pk
    assert row["dataset"] == applicant_permit.dataset.accession
    assert row["dac"] == applicant_permit.dataset.dac.slug
    assert row["status"] == "active"
    assert [c["text"] for c in row["conditions"]] == [PERMIT_CONDITION]
    assert row["revoked_reason"] is None


def test_expiry_is_read_from_the_clock(applicant, applicant_permit, settings):
    settings.PERSONAL_TOKEN_MAX_DAYS = 3650  # the token must outlive the 12-month permit
    client = token_client(applicant)
    with time_machine.travel(applicant_permit.expires_at + dt.timedelta(seconds=1)):
        (row,) = client.get(reverse("api:my_permits")).json()["permits"]
    assert row["status"] == "expired"


def test_a_revoked_permit_carries_its_reason(applicant, applicant_permit, dac_chair):
    services.permit_revoke(permit=applicant_permit, actor=dac_chair, reason=REASON)
    (row,) = token_client(applicant).get(reverse("api:my_permits")).json()["permits"]
    assert (row["status"], row["revoked_reason"]) == ("revoked", REASON)


def test_only_the_callers_own_permits_are_listed(client_for, applicant_permit):
    for persona in ("other_applicant", "dac_chair"):
        assert client_for(persona).get(reverse("api:my_permits")).json() == {"permits": []}


# --- My passport ----------------------------------------------------------------------------------


def test_the_passport_holds_a_fresh_visa_per_live_permit(applicant, applicant_permit):
    response = token_client(applicant).get(reverse("api:my_passport"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["visas"] == 1
    assert jwt.get_unverified_header(body["passport"])["typ"] == PASSPORT_TYP
    claims = jwt.decode(body["passport"], options={"verify_signature": False})
    (visa,) = claims["ga4gh_passport_v1"]
    assert jwt.get_unverified_header(visa)["typ"] == VISA_TYP
    visa_claims = jwt.decode(visa, options={"verify_signature": False})
    assert visa_claims["ga4gh_visa_v1"]["value"].endswith(f"/datasets/{applicant_permit.dataset.accession}")


def test_a_revoked_permit_leaves_the_passport(applicant, applicant_permit):
    services.permit_revoke(permit=applicant_permit, actor=None, reason=REASON)
    body = token_client(applicant).get(reverse("api:my_passport")).json()
    assert body["visas"] == 0
    assert jwt.decode(body["passport"], options={"verify_signature": False})["ga4gh_passport_v1"] == []


# --- Revocation -----------------------------------------------------------------------------------


def test_the_chair_revokes_with_a_personal_token(dac_chair, applicant_permit):
    response = revoke(token_client(dac_chair), applicant_permit, {"reason": f"  {REASON} "})
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"], body["revoked_reason"]) == (applicant_permit.pk, "revoked", REASON)
    applicant_permit.refresh_from_db()
    assert (applicant_permit.status, applicant_permit.revoked_by) == (PermitStatus.REVOKED, dac_chair)
    assert applicant_permit.events.filter(kind=PermitEvent.Kind.REVOKED).count() == 1


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "  "}])
def test_a_reason_is_required(client_for, applicant_permit, body):
    response = revoke(client_for("dac_chair"), applicant_permit, body)
    assert response.status_code == 400
    assert response.json()["extra"]["fields"] == {"reason": "required"}


@pytest.mark.parametrize("body", [{"reason": 7}, ["reason"]])
def test_a_malformed_body_is_400_naming_the_field(client_for, applicant_permit, body):
    response = revoke(client_for("dac_chair"), applicant_permit, body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["extra"]["fields"]) <= {"reason", "body"}


def test_revoking_twice_is_409(client_for, applicant_permit):
    client = client_for("dac_chair")
    assert revoke(client, applicant_permit, {"reason": REASON}).status_code == 200
    response = revoke(client, applicant_permit, {"reason": "Again."})
    assert response.status_code == 409
    assert response.json()["code"] == "not_active"


@pytest.mark.parametrize("persona", ["applicant", "dac_member", "dac_secretary"])
def test_the_grantee_and_the_committees_other_roles_are_refused(client_for, applicant_permit, persona):
    response = revoke(client_for(persona), applicant_permit, {"reason": REASON})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    applicant_permit.refresh_from_db()
    assert applicant_permit.status == PermitStatus.ACTIVE


@pytest.mark.parametrize("persona", ["other_applicant", "other_dac_member", "staff"])
def test_people_who_may_not_see_the_permit_get_404(client_for, applicant_permit, persona):
    response = revoke(client_for(persona), applicant_permit, {"reason": REASON})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_without_credentials_or_with_a_bad_token_it_is_401(applicant_permit):
    bad = Client(HTTP_AUTHORIZATION="Token not-a-key")
    for client in (Client(), bad):
        assert client.get(reverse("api:my_permits")).status_code == 401
        assert client.get(reverse("api:my_passport")).status_code == 401
        assert revoke(client, applicant_permit, {"reason": REASON}).status_code == 401


def test_the_schema_documents_the_three_endpoints(client_for):
    schema = client_for("anonymous").get(reverse("api:schema")).content.decode()
    for operation in ("permits_revoke", "me_permits_list", "me_passport_retrieve"):
        assert operation in schema


# --- Who may use each endpoint --------------------------------------------------------------------

SIGNED_IN = dict.fromkeys((p for p in PEOPLE if p != "anonymous"), 200)
# An empty JSON body: the chair gets as far as validation (400); the grantee and the committee's
# other roles see the permit but may not revoke it (403); everyone else finds none (404).
REVOKE_EMPTY = {
    **dict.fromkeys(PEOPLE, 404),
    "anonymous": 401,
    "dac_chair": 400,
    "applicant": 403,
    "dac_member": 403,
    "dac_secretary": 403,
}
ENDPOINTS = {
    "my_permits": {"anonymous": 401, **SIGNED_IN},
    "my_passport": {"anonymous": 401, **SIGNED_IN},
    "permit_revoke": REVOKE_EMPTY,
}


@pytest.mark.parametrize(
    ("endpoint", "persona"), [(name, persona) for name, expected in ENDPOINTS.items() for persona in expected]
)
def test_each_persona_gets_what_the_table_says(client_for, applicant_permit, endpoint, persona):
    client = client_for(persona)
    if endpoint == "permit_revoke":
        response = revoke(client, applicant_permit, {})
    else:
        response = client.get(reverse(f"api:{endpoint}"))
    assert response.status_code == ENDPOINTS[endpoint][persona]
