"""A shared application (datasets of two committees, one review each): every reviewing committee
reads the shared project (title, summaries, purpose, collaborators, documents), but only its own
part of the review: its datasets, the matcher's answers, the applicant's justifications, its
messages, decisions and reasons. The applicant and collaborators read every part that is theirs
(never votes). The rule is requests.permissions.read_scope, read by the application API, the
application page and the review page."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from datasets import services as dataset_services
from requests import services
from requests.models import Review
from tests.conftest import NODES, PEOPLE
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_dac_chair(other_dac):
    user = UserFactory(email="other.chair@example.org", name="Olga Otherchair")
    dataset_services.dac_membership_set(dac=other_dac, user=user, role="chair")
    return user


@pytest.fixture
def shared(submitted, dataset, other_dataset, dac_chair, dac_member, other_dac_chair, other_dac_member):
    """`submitted` (the cancer DAC's `dataset` and the metabolic DAC's `other_dataset`, justified)
    after each committee wrote to the applicant and decided: the cancer DAC approves, the
    metabolic DAC rejects with a reason."""
    cancer = Review.objects.get(application=submitted, dac=dataset.dac)
    metabolic = Review.objects.get(application=submitted, dac=other_dataset.dac)
    services.review_note_add(review=cancer, actor=dac_chair, kind="to_applicant", text="CANCER-MESSAGE")
    services.review_note_add(review=metabolic, actor=other_dac_chair, kind="to_applicant", text="METABOLIC-MESSAGE")
    for voter in (dac_chair, dac_member):
        services.review_vote(review=cancer, actor=voter, choice="approve", comment="CANCER-VOTE")
    for voter in (other_dac_chair, other_dac_member):
        services.review_vote(review=metabolic, actor=voter, choice="reject", comment="METABOLIC-VOTE")
    services.review_decide(
        review=cancer,
        actor=dac_chair,
        decisions=[services.DecisionInput(dataset=dataset.accession, outcome="approve", months=12)],
    )
    services.review_decide(
        review=metabolic,
        actor=other_dac_chair,
        decisions=[
            services.DecisionInput(dataset=other_dataset.accession, outcome="reject", reason="METABOLIC-REASON")
        ],
    )
    return submitted


def cancer_part(dataset, *, page: bool = True) -> list[str]:
    return [dataset.accession, *([dataset.title] if page else []), "CANCER-MESSAGE"]


def metabolic_part(other_dataset, *, page: bool = True) -> list[str]:
    # The justification, the matcher's reason naming the dataset's disease, the message, the reason
    # (the API names datasets by accession only).
    return [
        other_dataset.accession,
        *([other_dataset.title] if page else []),
        "Comorbidity analysis.",
        "type 2 diabetes mellitus",
        "METABOLIC-MESSAGE",
        "METABOLIC-REASON",
    ]


SHARED_PROJECT = ["Germline variants in breast cancer", "A case-control analysis of germline variants."]
NEVER = ["CANCER-VOTE", "METABOLIC-VOTE"]

# What each persona reads of the shared application: both parts, one committee's, or a refusal.
BOTH, CANCER, METABOLIC = "both", "cancer", "metabolic"
READS = {
    "applicant": BOTH,
    "dac_member": CANCER,
    "dac_chair": CANCER,
    "dac_secretary": CANCER,
    "other_dac_member": METABOLIC,
}
# Everyone else: not visible (404); not signed in: 401 from the API, the sign-in page for a page.
REFUSED_API = {**dict.fromkeys(PEOPLE, 404), "anonymous": 401, **dict.fromkeys(NODES, 401)}
REFUSED_PAGE = {**dict.fromkeys(PEOPLE, 404), "anonymous": 302, **dict.fromkeys(NODES, 302)}


def api_text(response) -> str:
    return json.dumps(response.json())


def page_text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def assert_reads(body: str, reads: str, dataset, other_dataset, *, page: bool) -> None:
    cancer, metabolic = cancer_part(dataset, page=page), metabolic_part(other_dataset, page=page)
    shown, hidden = {BOTH: (cancer + metabolic, []), CANCER: (cancer, metabolic), METABOLIC: (metabolic, cancer)}[reads]
    for text in [*shown, *SHARED_PROJECT]:
        assert text in body, f"{reads} should read {text!r}"
    for text in [*hidden, *NEVER]:
        assert text not in body, f"{reads} must not read {text!r}"


EVERYONE = [*PEOPLE, *NODES]


@pytest.mark.parametrize("persona", EVERYONE)
def test_each_persona_reads_only_its_part_of_a_shared_application_through_the_api(
    client_for, shared, dataset, other_dataset, persona
):
    response = client_for(persona).get(reverse("api:application", args=[shared.pk]))
    if persona not in READS:
        assert response.status_code == REFUSED_API[persona]
        assert shared.title not in response.content.decode()
        return
    assert response.status_code == 200
    assert_reads(api_text(response), READS[persona], dataset, other_dataset, page=False)


@pytest.mark.parametrize("persona", EVERYONE)
def test_each_persona_reads_only_its_part_of_a_shared_application_on_the_page(
    client_for, shared, dataset, other_dataset, persona
):
    response = client_for(persona).get(reverse("requests:detail", args=[shared.pk]))
    if persona not in READS:
        assert response.status_code == REFUSED_PAGE[persona]
        assert shared.title not in response.content.decode()
        return
    assert response.status_code == 200
    assert_reads(page_text(response), READS[persona], dataset, other_dataset, page=True)


def test_the_api_lists_only_the_readers_committees_reviews_matches_and_permits(client_for, shared, dataset):
    body = client_for("dac_member").get(reverse("api:application", args=[shared.pk])).json()
    assert body["datasets"] == [dataset.accession]
    assert [r["dac"] for r in body["reviews"]] == [dataset.dac.slug]
    assert list(body["match"]) == [dataset.accession]
    assert [p["dataset"] for p in body["permits"]] == [dataset.accession]
    assert [g["datasets"][0]["dataset"] for g in body["grantees"]] == [dataset.accession]
    # The shared project stays whole: documents and collaborators are every committee's to read.
    assert len(body["documents"]) == 1


def test_a_collaborator_reads_both_parts(client_for, shared, dataset, other_dataset):
    colleague = UserFactory(email="colleague@example.org", name="Cleo Colleague")
    shared.collaborators.create(email=colleague.email, user=colleague)
    client = client_for("anonymous")
    client.force_login(colleague)
    api = client.get(reverse("api:application", args=[shared.pk]))
    assert_reads(api_text(api), BOTH, dataset, other_dataset, page=False)
    page = client.get(reverse("requests:detail", args=[shared.pk]))
    assert_reads(page_text(page), BOTH, dataset, other_dataset, page=True)


def test_a_member_of_both_committees_reads_both_parts(
    client_for, shared, dac_member, other_dac, dataset, other_dataset
):
    dataset_services.dac_membership_set(dac=other_dac, user=dac_member, role="member")
    body = api_text(client_for("dac_member").get(reverse("api:application", args=[shared.pk])))
    assert_reads(body, BOTH, dataset, other_dataset, page=False)


# --- The review page: one committee's page --------------------------------------------------------------


def test_the_review_page_shows_nothing_of_the_other_committees_datasets(client_for, submitted, dataset, other_dataset):
    review = Review.objects.get(application=submitted, dac=dataset.dac)
    page = page_text(client_for("dac_member").get(reverse("requests:review", args=[review.pk])))
    assert dataset.accession in page
    for text in metabolic_part(other_dataset):
        assert text not in page, text
    assert "other committees" in page  # the member knows the application is shared, not what else it asks


def test_the_changes_of_a_resubmission_show_only_the_committees_own_justifications(
    client_for, submitted, applicant, dataset, other_dataset, other_dac_chair
):
    metabolic = Review.objects.get(application=submitted, dac=other_dataset.dac)
    services.review_return(review=metabolic, actor=other_dac_chair, message="Explain the diabetes link.")
    services.application_update(
        application=submitted,
        actor=applicant,
        changes=services.DraftChanges(
            abstract="A case-control analysis, now with controls.",
            justifications={other_dataset.accession: "Comorbidity analysis with metformin users."},
        ),
    )
    services.application_submit(application=submitted, actor=applicant)

    cancer = Review.objects.get(application=submitted, dac=dataset.dac)
    for client in (client_for("dac_member"),):
        page = page_text(client.get(reverse("requests:review", args=[cancer.pk])))
        assert "now with controls" in page  # a change of the shared project
        assert "metformin" not in page
        assert "Comorbidity" not in page
        assert "Explain the diabetes link." not in page
    body = api_text(client_for("dac_member").get(reverse("api:application", args=[submitted.pk])))
    assert "metformin" not in body
