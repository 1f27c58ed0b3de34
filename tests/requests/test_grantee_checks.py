"""Every grantee against the dataset's consent (requests.selectors.grantees): a collaborator whose
own facts (the kind of organisation, the institution, the country) do not fit a dataset's DUO
modifiers gets no permit on it, the others still get theirs; the committee sees it before it
decides, the decision's audit event records it, and the applicant reads who and why. Submission
is not blocked: the applicant is warned next to the collaborators."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import Institution
from portal.audit_actions import AuditAction
from portal.models import AuditEvent
from requests import services
from requests.models import Permit
from requests.selectors.grantees import grantee_checks, grantee_warnings
from tests.factories import DatasetFactory, InstitutionFactory, UserFactory, complete_application
from tests.requests.conftest import next_year, pdf_upload

pytestmark = pytest.mark.django_db

NPU = "DUO:0000045"
GS = "DUO:0000022"
IS = "DUO:0000028"
HELSINKI_ROR = "https://ror.org/040af2s02"


@pytest.fixture
def venture(db) -> Institution:
    return InstitutionFactory(
        name="Genomics Ventures Oy",
        country="FI",
        ror_id="https://ror.org/05venture",
        organisation_type=Institution.OrganisationType.FOR_PROFIT,
    )


@pytest.fixture
def colleague(venture):
    """A collaborator employed by a for-profit company."""
    return UserFactory(email="bea.bolt@example.org", name="Bea Bolt", institution=venture, country="FI")


@pytest.fixture
def peer(institution):
    """A collaborator at the applicant's own (not-for-profit) university."""
    return UserFactory(email="pekka.peer@example.org", name="Pekka Peer", institution=institution, country="FI")


def submitted_with(applicant, datasets, collaborators, **overrides):
    app = complete_application(applicant, datasets, collaborators=[c.email for c in collaborators], **overrides)
    for person in collaborators:
        services.application_agreements_accept(application=app, actor=person)
    services.application_document_add(application=app, upload=pdf_upload(), expires_on=next_year(), actor=applicant)
    return services.application_submit(application=app, actor=applicant)


def approve_all(app, chair, voters, months=12):
    review = app.reviews.get()
    for voter in voters:
        services.review_vote(review=review, actor=voter, choice="approve")
    decisions = [
        services.DecisionInput(dataset=i.dataset.accession, outcome="approve", months=months)
        for i in review.items.select_related("dataset")
    ]
    return services.review_decide(review=review, actor=chair, decisions=decisions)


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- The permit ------------------------------------------------------------------------------------


def test_a_for_profit_collaborator_gets_no_permit_on_a_not_for_profit_dataset_and_the_others_do(
    applicant, colleague, peer, dataset, dac_chair, dac_member
):
    app = submitted_with(applicant, [dataset], [colleague, peer])
    approve_all(app, dac_chair, [dac_chair, dac_member])

    holders = set(Permit.objects.filter(dataset=dataset).values_list("grantee__email", flat=True))
    assert holders == {applicant.email, peer.email}


def test_the_withheld_permit_is_recorded_with_the_reason_in_the_decisions_audit_event(
    applicant, colleague, dataset, dac_chair, dac_member
):
    app = submitted_with(applicant, [dataset], [colleague])
    review = approve_all(app, dac_chair, [dac_chair, dac_member])

    event = AuditEvent.objects.get(action=AuditAction.REVIEW_DECIDED, target_id=str(review.pk))
    (decision,) = event.data["decisions"]
    (withheld,) = decision["withheld"]
    assert withheld["person"] == str(colleague.sub)
    assert withheld["email"] == colleague.email
    assert [r["term"] for r in withheld["reasons"]] == [NPU]
    assert "Bea Bolt's organisation is for-profit" in withheld["reasons"][0]["message"]


def test_a_dataset_without_a_personal_restriction_gives_every_grantee_a_permit(
    applicant, colleague, dac, dac_chair, dac_member
):
    open_dataset = DatasetFactory(dac=dac, title="Open Cohort")
    app = submitted_with(applicant, [open_dataset], [colleague], purpose={"primary": "hmb"})
    approve_all(app, dac_chair, [dac_chair, dac_member])

    assert Permit.objects.filter(dataset=open_dataset).count() == 2


def test_a_collaborator_outside_the_datasets_countries_or_institutions_gets_no_permit(
    applicant, peer, dac, dac_chair, dac_member
):
    abroad = UserFactory(
        email="sven@example.org",
        name="Sven Svensson",
        country="SE",
        institution=InstitutionFactory(name="Lund Genomics", country="SE", ror_id="https://ror.org/0lund0001"),
    )
    finland_only = DatasetFactory(
        dac=dac,
        title="Finland Only",
        data_use={"permission": "DUO:0000042", "modifiers": [{"term": GS, "countries": ["FI"]}]},
    )
    helsinki_only = DatasetFactory(
        dac=dac,
        title="Helsinki Only",
        data_use={"permission": "DUO:0000042", "modifiers": [{"term": IS, "institutions": [HELSINKI_ROR]}]},
    )
    app = submitted_with(
        applicant, [finland_only, helsinki_only], [abroad, peer], purpose={"primary": "hmb", "country": "FI"}
    )
    approve_all(app, dac_chair, [dac_chair, dac_member])

    for dataset in (finland_only, helsinki_only):
        holders = set(Permit.objects.filter(dataset=dataset).values_list("grantee__email", flat=True))
        assert holders == {applicant.email, peer.email}, dataset.title


def test_a_collaborator_whose_organisation_is_not_known_gets_no_permit_on_a_not_for_profit_dataset(
    applicant, dataset, dac_chair, dac_member
):
    unknown = UserFactory(email="una@example.org", name="Una Known")  # no institution on the profile
    app = submitted_with(applicant, [dataset], [unknown])
    checks = {c.email: c for c in grantee_checks(app, dataset)}
    assert not checks[unknown.email].qualifies
    assert "is not known" in checks[unknown.email].reasons[0].message

    approve_all(app, dac_chair, [dac_chair, dac_member])
    assert set(Permit.objects.values_list("grantee__email", flat=True)) == {applicant.email}


def test_grantee_checks_name_each_person_with_their_institution(applicant, colleague, peer, dataset):
    app = submitted_with(applicant, [dataset], [colleague, peer])

    checks = {c.email: c for c in grantee_checks(app, dataset)}
    assert [checks[e].qualifies for e in (applicant.email, colleague.email, peer.email)] == [True, False, True]
    bea = checks[colleague.email]
    assert (bea.role, bea.institution_name, bea.institution_kind, bea.country) == (
        "collaborator",
        "Genomics Ventures Oy",
        "For-profit",
        "FI",
    )
    assert [r.term for r in bea.reasons] == [NPU]


# --- Submission: a warning, not a refusal -------------------------------------------------------------


def test_a_for_profit_collaborator_does_not_stop_submission_but_the_applicant_is_warned(
    client_for, applicant, colleague, dataset
):
    app = submitted_with(applicant, [dataset], [colleague])
    assert app.status == "submitted"

    warnings = grantee_warnings(app)
    assert set(warnings) == {"collaborators"}
    assert "Bea Bolt" in warnings["collaborators"]
    assert dataset.accession in warnings["collaborators"]
    assert "for-profit" in warnings["collaborators"]

    body = client_for("applicant").get(reverse("api:application", args=[app.pk])).json()
    assert body["warnings"] == warnings
    (bea,) = [g for g in body["grantees"] if g["email"] == colleague.email]
    assert bea["institution"] == {"name": "Genomics Ventures Oy", "kind": "for_profit", "country": "FI"}
    (result,) = bea["datasets"]
    assert (result["dataset"], result["qualifies"]) == (dataset.accession, False)


# --- What the chair and the applicant see ----------------------------------------------------------------


def test_the_chair_sees_each_collaborators_institution_and_result_before_deciding(
    client_for, applicant, colleague, dataset, dac_chair
):
    app = submitted_with(applicant, [dataset], [colleague])
    page = text(client_for("dac_chair").get(reverse("requests:review", args=[app.reviews.get().pk])))

    assert "Genomics Ventures Oy" in page
    assert "For-profit" in page
    assert "Finland" in page
    assert f"Bea Bolt will not receive a permit for {dataset.accession}" in page
    assert "Bea Bolt&#x27;s organisation is for-profit" in page


def test_the_applicant_reads_which_collaborator_got_no_permit_and_why(
    client_for, applicant, colleague, dataset, dac_chair, dac_member
):
    app = submitted_with(applicant, [dataset], [colleague])
    approve_all(app, dac_chair, [dac_chair, dac_member])

    page = text(client_for("applicant").get(reverse("requests:detail", args=[app.pk])))
    assert f"No permit for Bea Bolt on {dataset.accession}" in page
    assert "Bea Bolt&#x27;s organisation is for-profit" in page


def test_the_edit_page_warns_next_to_the_collaborators_field(client_for, applicant, colleague, dataset):
    app = complete_application(applicant, [dataset], collaborators=[colleague.email])
    services.application_agreements_accept(application=app, actor=colleague)

    page = text(client_for("applicant").get(reverse("requests:edit", args=[app.pk])))
    assert 'id="collaborators_warning"' in page
    assert f"Bea Bolt will not receive a permit for {dataset.accession}." in page
