"""Pages of permits: "My permits", the passport download, and revocation by the chair."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from requests import services
from requests.models import Permit, PermitStatus, Review
from requests.selectors.permits import permit_state
from requests.visas import PASSPORT_TYP, VISA_TYP
from tests.conftest import PEOPLE, PERMIT_CONDITION, grant_permits
from tests.factories import DatasetFactory, complete_application

pytestmark = pytest.mark.django_db

REASON = "The ethics approval was withdrawn by the board."


def revoke_url(permit: Permit) -> str:
    return reverse("requests:permit_revoke", args=[permit.pk])


def unverified(token: str) -> tuple[dict, dict]:
    """Header and claims of a JWT; the signature is the visa module's tests' business."""
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


@pytest.fixture
def older_live_permit(applicant, dac, dac_chair, dac_member) -> Permit:
    """A permit on a second dataset of `dac`, issued a month ago and still live."""
    second = DatasetFactory(dac=dac, title="Helsinki Biobank Exomes")
    with time_machine.travel(timezone.now() - dt.timedelta(days=30)):
        app = complete_application(applicant, [second], purpose={"primary": "hmb"})
        services.application_submit(application=app, actor=applicant)
        (permit,) = grant_permits(app, dac_chair, [dac_chair, dac_member])
    return permit


# --- My permits -----------------------------------------------------------------------------------


def test_my_permits_shows_dataset_committee_dates_conditions_and_application(client_for, applicant_permit):
    response = client_for("applicant").get(reverse("requests:permits"))
    assert response.status_code == 200
    page = response.content.decode()
    dataset = applicant_permit.dataset
    assert reverse("datasets:detail", args=[dataset.accession]) in page
    assert dataset.dac.name in page
    assert 'class="status status-active">Active<' in page
    assert PERMIT_CONDITION in page
    assert reverse("requests:detail", args=[applicant_permit.application_id]) in page
    assert applicant_permit.expires_at.isoformat() in page


def test_live_permits_come_before_newer_ones_that_are_not_live(client_for, applicant_permit, older_live_permit):
    services.permit_revoke(permit=applicant_permit, actor=None, reason=REASON)
    page = client_for("applicant").get(reverse("requests:permits")).content.decode()
    assert page.index(older_live_permit.dataset.accession) < page.index(applicant_permit.dataset.accession)


def test_an_active_permit_past_its_expiry_is_shown_as_expired(client_for, applicant_permit):
    with time_machine.travel(applicant_permit.expires_at + dt.timedelta(minutes=1)):
        page = client_for("applicant").get(reverse("requests:permits")).content.decode()
    assert 'class="status status-expired">Expired<' in page
    assert "status-active" not in page


def test_the_grantee_reads_the_revocation_and_its_reason(client_for, applicant_permit, dac_chair):
    services.permit_revoke(permit=applicant_permit, actor=dac_chair, reason=REASON)
    page = client_for("applicant").get(reverse("requests:permits")).content.decode()
    assert 'class="status status-revoked">Revoked<' in page
    assert REASON in page


def test_someone_elses_permits_are_not_listed(client_for, applicant_permit):
    page = client_for("other_applicant").get(reverse("requests:permits")).content.decode()
    assert applicant_permit.dataset.accession not in page
    assert "No permits yet" in page


@pytest.mark.parametrize(
    ("status", "past_expiry", "state"),
    [
        (PermitStatus.ACTIVE, False, "active"),
        (PermitStatus.ACTIVE, True, "expired"),
        (PermitStatus.REVOKED, True, "revoked"),
        (PermitStatus.REPLACED, False, "replaced"),
    ],
)
def test_the_state_derives_expiry_from_the_clock(status, past_expiry, state):
    now = timezone.now()
    expires = now - dt.timedelta(seconds=1) if past_expiry else now + dt.timedelta(days=1)
    assert permit_state(Permit(status=status, expires_at=expires), now) == state


@pytest.mark.parametrize(
    ("seconds", "words"), [(3600, "1 hour"), (7200, "2 hours"), (5400, "90 minutes"), (90, "2 minutes")]
)
def test_the_page_says_how_long_a_visa_lasts(client_for, applicant_permit, settings, seconds, words):
    settings.VISA_LIFETIME_SECONDS = seconds
    page = client_for("applicant").get(reverse("requests:permits")).content.decode()
    assert f"Each visa lasts at most {words}," in page
    assert reverse("requests:passport") in page


def test_without_a_live_permit_no_download_is_offered(client_for, applicant_permit):
    services.permit_revoke(permit=applicant_permit, actor=None, reason=REASON)
    page = client_for("applicant").get(reverse("requests:permits")).content.decode()
    assert reverse("requests:passport") not in page
    assert "no live permit" in page


def test_signed_in_visitors_find_my_permits_in_the_navigation(client_for, applicant):
    mine = reverse("requests:permits")
    assert f'href="{mine}"' in client_for("applicant").get(reverse("requests:list")).content.decode()
    assert f'href="{mine}"' not in client_for("anonymous").get(reverse("datasets:catalogue")).content.decode()


# --- Passport -------------------------------------------------------------------------------------


def test_the_passport_is_a_jwt_file_with_one_fresh_visa_per_live_permit(
    client_for, settings, applicant, applicant_permit, older_live_permit
):
    response = client_for("applicant").get(reverse("requests:passport"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/jwt"
    assert response["Content-Disposition"] == 'attachment; filename="passport.jwt"'
    assert response["Cache-Control"] == "no-store"
    header, claims = unverified(response.content.decode())
    assert header["typ"] == PASSPORT_TYP
    assert claims["sub"] == str(applicant.sub)
    visas = [unverified(v) for v in claims["ga4gh_passport_v1"]]
    assert [h["typ"] for h, _ in visas] == [VISA_TYP, VISA_TYP]
    values = sorted(c["ga4gh_visa_v1"]["value"] for _, c in visas)
    expected = sorted(
        f"{settings.PORTAL_BASE_URL}/datasets/{p.dataset.accession}" for p in (applicant_permit, older_live_permit)
    )
    assert values == expected
    assert all(c["exp"] - c["iat"] <= settings.VISA_LIFETIME_SECONDS for _, c in visas)


def test_the_passport_leaves_out_revoked_and_expired_permits(client_for, applicant_permit, older_live_permit):
    services.permit_revoke(permit=older_live_permit, actor=None, reason=REASON)
    _, claims = unverified(client_for("applicant").get(reverse("requests:passport")).content.decode())
    assert len(claims["ga4gh_passport_v1"]) == 1
    with time_machine.travel(applicant_permit.expires_at + dt.timedelta(minutes=1)):
        _, claims = unverified(client_for("applicant").get(reverse("requests:passport")).content.decode())
    assert claims["ga4gh_passport_v1"] == []


# --- Revocation -----------------------------------------------------------------------------------


def test_the_chair_sees_the_permit_and_a_reason_field(client_for, applicant_permit, applicant):
    response = client_for("dac_chair").get(revoke_url(applicant_permit))
    assert response.status_code == 200
    page = response.content.decode()
    assert applicant.name in page
    assert applicant_permit.dataset.accession in page
    assert 'name="reason"' in page
    assert "required" in page


def test_the_chair_revokes_and_returns_to_the_review(client_for, applicant_permit, dac_chair):
    review = Review.objects.get(application=applicant_permit.application, dac=applicant_permit.dataset.dac)
    client = client_for("dac_chair")
    response = client.post(revoke_url(applicant_permit), {"reason": REASON})
    assert response.status_code == 302
    assert response["Location"] == reverse("requests:review", args=[review.pk])
    applicant_permit.refresh_from_db()
    assert (applicant_permit.status, applicant_permit.revoked_by, applicant_permit.revoked_reason) == (
        PermitStatus.REVOKED,
        dac_chair,
        REASON,
    )
    assert "is revoked" in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reason_is_required_and_said_next_to_the_field(client_for, applicant_permit, reason):
    response = client_for("dac_chair").post(revoke_url(applicant_permit), {"reason": reason})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_reason_error"' in page
    assert "Give the reason for the revocation." in page
    applicant_permit.refresh_from_db()
    assert applicant_permit.status == PermitStatus.ACTIVE


def test_revoking_twice_shows_the_conflict(client_for, applicant_permit):
    client = client_for("dac_chair")
    client.post(revoke_url(applicant_permit), {"reason": REASON})
    response = client.post(revoke_url(applicant_permit), {"reason": "Again."})
    assert response.status_code == 409
    page = response.content.decode()
    assert "The permit is revoked already." in page
    assert 'name="reason"' not in page
    applicant_permit.refresh_from_db()
    assert applicant_permit.revoked_reason == REASON


def test_a_permit_no_longer_active_offers_no_form(client_for, applicant_permit):
    services.permit_revoke(permit=applicant_permit, actor=None, reason=REASON)
    response = client_for("dac_chair").get(revoke_url(applicant_permit))
    assert response.status_code == 200
    page = response.content.decode()
    assert "nothing to revoke" in page
    assert REASON in page
    assert 'name="reason"' not in page


# The grantee sees the permit (on their permits page and in the API) but may not revoke it: 403
# here as in the API (the page once answered 404 while the API answered 403).
@pytest.mark.parametrize("persona", ["dac_member", "dac_secretary", "applicant"])
def test_other_roles_of_the_committee_are_refused(client_for, applicant_permit, persona):
    client = client_for(persona)
    assert client.get(revoke_url(applicant_permit)).status_code == 403
    assert client.post(revoke_url(applicant_permit), {"reason": REASON}).status_code == 403
    applicant_permit.refresh_from_db()
    assert applicant_permit.status == PermitStatus.ACTIVE


@pytest.mark.parametrize("persona", ["other_applicant", "other_dac_member", "staff"])
def test_everyone_else_finds_no_such_permit(client_for, applicant_permit, persona):
    client = client_for(persona)
    assert client.get(revoke_url(applicant_permit)).status_code == 404
    assert client.post(revoke_url(applicant_permit), {"reason": REASON}).status_code == 404


def test_an_unknown_permit_is_404_for_the_chair(client_for, applicant_permit):
    assert (
        client_for("dac_chair").get(reverse("requests:permit_revoke", args=[applicant_permit.pk + 1000])).status_code
        == 404
    )


# --- Who may use each page ------------------------------------------------------------------------

SIGNED_IN = dict.fromkeys((p for p in PEOPLE if p != "anonymous"), 200)
# The revocation page: the chair; the committee's other roles and the grantee (who see the
# permit) 403, as in the API; everyone else 404. An empty POST gets the chair as far as the
# form's error (400).
REVOKE_GET = {
    **dict.fromkeys(PEOPLE, 404),
    "anonymous": 302,
    "dac_chair": 200,
    "dac_member": 403,
    "dac_secretary": 403,
    "applicant": 403,
}
REVOKE_POST = {**REVOKE_GET, "dac_chair": 400}
PAGES = {
    "permits": ("GET", {"anonymous": 302, **SIGNED_IN}),
    "passport": ("GET", {"anonymous": 302, **SIGNED_IN}),
    "permit_revoke": ("GET", REVOKE_GET),
    "permit_revoke_post": ("POST", REVOKE_POST),
}


@pytest.mark.parametrize(
    ("page", "persona"), [(page, persona) for page, (_, expected) in PAGES.items() for persona in expected]
)
def test_each_persona_gets_what_the_table_says(client_for, applicant_permit, page, persona):
    method, expected = PAGES[page]
    name = page.removesuffix("_post")
    args = [applicant_permit.pk] if name == "permit_revoke" else []
    url = reverse(f"requests:{name}", args=args)
    client = client_for(persona)
    response = client.post(url, {}) if method == "POST" else client.get(url)
    assert response.status_code == expected[persona]
    if persona == "anonymous":
        assert response["Location"].startswith(reverse("accounts:login"))


def test_the_chair_finds_the_revoke_link_on_the_review_page(client_for, applicant_permit, applicant_review):
    revoke = reverse("requests:permit_revoke", args=[applicant_permit.pk])
    assert (
        revoke in client_for("dac_chair").get(reverse("requests:review", args=[applicant_review.pk])).content.decode()
    )
    assert (
        revoke
        not in client_for("dac_member").get(reverse("requests:review", args=[applicant_review.pk])).content.decode()
    )
