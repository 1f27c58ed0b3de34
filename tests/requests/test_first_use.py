"""What a first-time user trips over: the consent check follows the purpose as it is typed, the
ethics upload says when it is needed, the applicant reads their purpose in words, a refused
method or a stale vote shows a page that explains, a decided review says who decided and when,
and a permit's state has the same words on every page (and the API answers an automatically
approved submission as decided)."""

import datetime as dt
import html
import re

import pytest
from django.urls import reverse

from requests import services
from requests.models import Review
from tests.conftest import grant_permits
from tests.factories import DacFactory, DatasetFactory, complete_application
from tests.requests.test_pages import form_data

pytestmark = pytest.mark.django_db

GRU = {"permission": "DUO:0000042", "modifiers": []}
BREAST_CANCER_IN_WORDS = "Research on breast cancer; genetic study; non-commercial; data processed in Finland."


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def words(response) -> str:
    """The page's text without its tags."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", response.content.decode())))


def purpose_fields(**changes) -> dict[str, str]:
    return {k: v for k, v in form_data(None, **changes).items() if k.startswith("purpose-")}


# --- (a) The consent check follows the purpose as it is typed ----------------------------------------


def test_the_consent_check_answers_for_the_purpose_as_typed_without_saving_it(
    client_for, applicant, dataset, other_dataset
):
    app = services.application_create(applicant=applicant, datasets=[dataset, other_dataset])
    url = reverse("requests:consent_check", args=[app.pk])
    response = client_for("applicant").post(url, purpose_fields())
    assert response.status_code == 200
    answer = response.json()
    assert answer["decisions"] == {dataset.accession: "approve", other_dataset.accession: "deny"}
    assert answer["purpose_text"] == BREAST_CANCER_IN_WORDS
    assert "1 dataset fits your purpose, 1 does not" in answer["summary"]
    # The same rows the page shows, with the justification the denied dataset now needs.
    assert 'class="match decision-deny"' in answer["html"]
    assert f'name="justification_{other_dataset.accession}"' in answer["html"]
    app.refresh_from_db()
    assert app.purpose == {}  # nothing is saved by a check


def test_the_consent_check_keeps_the_justification_being_typed(client_for, applicant, other_dataset):
    app = services.application_create(applicant=applicant, datasets=[other_dataset])
    body = {**purpose_fields(), f"justification_{other_dataset.accession}": "Comorbidity <analysis>."}
    answer = client_for("applicant").post(reverse("requests:consent_check", args=[app.pk]), body).json()
    assert "Comorbidity &lt;analysis&gt;.</textarea>" in answer["html"]


def test_an_incomplete_purpose_is_checked_once_it_can_be_read(client_for, applicant, dataset):
    app = services.application_create(applicant=applicant, datasets=[dataset])
    answer = (
        client_for("applicant")
        .post(reverse("requests:consent_check", args=[app.pk]), purpose_fields(**{"purpose-primary": ""}))
        .json()
    )
    assert answer["decisions"] == {}
    assert "Describe the research purpose" in answer["html"]


def test_only_the_applicant_checks_their_draft(client_for, applicant, dataset):
    app = services.application_create(applicant=applicant, datasets=[dataset])
    url = reverse("requests:consent_check", args=[app.pk])
    assert client_for("other_applicant").post(url, purpose_fields()).status_code == 404
    assert client_for("anonymous").post(url, purpose_fields()).status_code == 302


def test_the_edit_page_updates_the_consent_check_in_place(client_for, applicant, dataset):
    app = services.application_create(applicant=applicant, datasets=[dataset])
    page = client_for("applicant").get(reverse("requests:edit", args=[app.pk])).content.decode()
    assert f'data-consent-url="{reverse("requests:consent_check", args=[app.pk])}"' in page
    assert "portal/consent-check.js" in page
    assert re.search(r'id="consent-status"[^>]*aria-live="polite"', page)
    assert 'id="consent-results"' in page


# --- (b) The ethics upload is not "(optional)" when a dataset needs it ----------------------------


def test_the_ethics_upload_is_not_optional_when_a_dataset_requires_it(client_for, applicant, dataset):
    app = services.application_create(applicant=applicant, datasets=[dataset])  # `dataset` carries IRB
    page = client_for("applicant").get(reverse("requests:edit", args=[app.pk])).content.decode()
    assert '<label for="id_ethics_file">Ethics approval (PDF, at most 10 MB)</label>' in page
    assert '<label for="id_ethics_expires_on">The ethics approval is valid until</label>' in page


def test_with_an_approval_on_file_another_upload_is_optional(client_for, applicant_draft):
    page = client_for("applicant").get(reverse("requests:edit", args=[applicant_draft.pk])).content.decode()
    assert "Ethics approval on file: ethics.pdf" in page
    assert re.search(r'<label for="id_ethics_file">[^<]*<span class="optional">\(optional\)</span>', page)


# --- (c) The applicant reads their purpose in words ----------------------------------------------


def test_the_applicant_reads_their_purpose_in_words_on_the_application_page(client_for, applicant_submission):
    page = text(client_for("applicant").get(reverse("requests:detail", args=[applicant_submission.pk])))
    assert f'Research purpose</h3><p class="purpose-text">{BREAST_CANCER_IN_WORDS}</p>' in page


def test_a_purpose_not_described_yet_says_so(client_for, applicant, dataset):
    app = services.application_create(applicant=applicant, datasets=[dataset])
    page = text(client_for("applicant").get(reverse("requests:detail", args=[app.pk])))
    assert "Not described yet." in page


# --- (d) A refused method or a stale vote shows a page that explains -----------------------------


def test_opening_a_vote_address_shows_the_review_with_a_message(client_for, applicant_review):
    client = client_for("dac_member")
    for name in ("requests:review_vote", "requests:review_note", "requests:review_return", "requests:review_decide"):
        response = client.get(reverse(name, args=[applicant_review.pk]))
        assert response.status_code == 302, name
        assert response["Location"] == reverse("requests:review", args=[applicant_review.pk])
    page = text(client.get(reverse("requests:review", args=[applicant_review.pk])))
    assert "Nothing was sent: use the forms on this page." in page


def test_a_vote_address_of_a_review_one_cannot_see_stays_404(client_for, applicant_review):
    assert (
        client_for("other_dac_member").get(reverse("requests:review_vote", args=[applicant_review.pk])).status_code
        == 404
    )


def test_a_vote_on_a_decided_review_shows_the_review_page_with_a_message(
    client_for, applicant_review, applicant_submission, dac_chair, dac_member
):
    grant_permits(applicant_submission, dac_chair, [dac_chair, dac_member])
    response = client_for("dac_member").post(
        reverse("requests:review_vote", args=[applicant_review.pk]), {"choice": "reject"}, follow=True
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("requests:review", args=[applicant_review.pk])
    assert "The review is decided; votes and decisions are closed." in text(response)


def test_a_refused_method_gets_a_page_that_explains(client_for, applicant):
    response = client_for("applicant").get(reverse("requests:basket_add"))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    page = text(response)
    assert "<h1>This address does not open as a page</h1>" in page
    assert 'href="/"' in page


# --- (e) A decided review says who decided and when -----------------------------------------------


def test_a_decided_review_says_who_decided_and_when(
    client_for, applicant_review, applicant_submission, dac_chair, dac_member
):
    grant_permits(applicant_submission, dac_chair, [dac_chair, dac_member])
    applicant_review.refresh_from_db()
    page = words(client_for("dac_member").get(reverse("requests:review", args=[applicant_review.pk])))
    assert f"Decided by Chiara Chair on {applicant_review.decided_at:%-d %b %Y}" in page


def test_an_automatic_decision_says_so(client_for, applicant, ontologies):
    dac = DacFactory(slug="auto-dac", name="Reference DAC", auto_approve=True)
    from datasets import services as dataset_services
    from tests.factories import UserFactory

    secretary = UserFactory(name="Sanni Secretary")
    dataset_services.dac_membership_set(dac=dac, user=secretary, role="secretary")
    app = complete_application(applicant, [DatasetFactory(dac=dac, data_use=GRU)], purpose={"primary": "hmb"})
    services.application_submit(application=app, actor=applicant)
    review = Review.objects.get(application=app)
    client = client_for("anonymous")
    client.force_login(secretary)
    page = words(client.get(reverse("requests:review", args=[review.pk])))
    assert f"Decided automatically under the committee's policy on {review.decided_at:%-d %b %Y}" in page


# --- (f) One vocabulary for a permit's state; the API answers the state after auto-approval ------


def test_a_permit_has_the_same_status_words_on_every_page(
    client_for, applicant_permit, applicant, dataset, time_machine
):
    later = complete_application(applicant, [DatasetFactory(dac=dataset.dac, title="Newer Cohort")], title="Follow-up")
    later_review = services.application_submit(application=later, actor=applicant).reviews.get()
    pages = {
        "application": reverse("requests:detail", args=[applicant_permit.application_id]),
        "permits": reverse("requests:permits"),
    }
    committee_page = reverse("requests:review", args=[later_review.pk])

    def words(persona: str, url: str) -> str:
        return text(client_for(persona).get(url))

    for url in pages.values():
        assert '<span class="status status-active">Active</span>' in words("applicant", url), url
    assert '<span class="status status-active">Active</span>' in words("dac_chair", committee_page)
    assert ">live<" not in words("applicant", pages["application"])
    assert " · live · " not in words("dac_chair", committee_page)

    time_machine.move_to(applicant_permit.expires_at + dt.timedelta(days=1))
    for url in pages.values():
        assert '<span class="status status-expired">Expired</span>' in words("applicant", url), url
    assert '<span class="status status-expired">Expired</span>' in words("dac_chair", committee_page)


def test_an_automatically_approved_submission_answers_decided(client_for, applicant, ontologies):
    dac = DacFactory(slug="auto-dac", auto_approve=True)
    app = complete_application(applicant, [DatasetFactory(dac=dac, data_use=GRU)], purpose={"primary": "hmb"})
    response = client_for("applicant").post(
        reverse("api:application_submit", args=[app.pk]), {}, content_type="application/json"
    )
    assert response.status_code == 200
    answer = response.json()
    assert [r["status"] for r in answer["reviews"]] == ["decided"]
    assert answer["status"] == "decided"


def test_the_page_says_an_automatically_approved_submission_is_decided(client_for, applicant, ontologies):
    dac = DacFactory(slug="auto-dac", auto_approve=True)
    dataset = DatasetFactory(dac=dac, data_use=GRU)
    app = complete_application(applicant, [dataset], purpose={"primary": "hmb"})
    data = form_data(app, submit="1", **{"purpose-primary": "hmb", "purpose-diseases": "", "purpose-genetic_study": ""})
    response = client_for("applicant").post(reverse("requests:edit", args=[app.pk]), data, follow=True)
    assert "approved automatically under the committee's policy" in words(response)
