"""The researcher's pages: basket to draft, the form that never loses a word, the application page."""

import pytest
from django.urls import reverse

from requests import services
from requests.models import Application
from requests.selectors import applications as app_selectors
from tests.factories import UserFactory
from tests.requests.conftest import next_year, pdf_upload

pytestmark = pytest.mark.django_db


def form_data(app, **changes):
    data = {
        "title": "Germline variants in breast cancer",
        "lay_summary": "Inherited risk of breast cancer.",
        "abstract": "Case-control analysis.",
        "requested_months": "12",
        "collaborators": "",
        "purpose-primary": "disease",
        "purpose-diseases": "MONDO:0007254",
        "purpose-genetic_study": "on",
        "purpose-country": "FI",
        "purpose-project": "",
        "purpose-free_text": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_starting_from_the_basket_creates_a_draft_and_empties_the_basket(client_for, applicant, dataset, other_dataset):
    client = client_for("applicant")
    for d in (dataset, other_dataset):
        client.post(reverse("requests:basket_add"), {"accession": d.accession})
    response = client.post(reverse("requests:new"))
    app = Application.objects.get(applicant=applicant)
    assert response["Location"] == reverse("requests:edit", args=[app.pk])
    assert set(app.requested.values_list("dataset__accession", flat=True)) == {
        dataset.accession,
        other_dataset.accession,
    }
    assert client.session["basket"] == []


def test_saving_a_draft_keeps_everything_typed_even_when_incomplete(client_for, applicant, dataset):
    app = services.application_create(applicant=applicant, datasets=[dataset])
    client = client_for("applicant")
    response = client.post(
        reverse("requests:edit", args=[app.pk]),
        form_data(app, title="Half a title", abstract="", requested_months="lots", save="1"),
    )
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.title == "Half a title"
    assert app.purpose["diseases"] == ["MONDO:0007254"]
    assert app.requested_months is None


def test_a_refused_submission_shows_each_error_next_to_its_field_and_loses_nothing(
    client_for, applicant, dataset, other_dataset, settings_private_media
):
    app = services.application_create(applicant=applicant, datasets=[dataset, other_dataset])
    client = client_for("applicant")
    response = client.post(
        reverse("requests:edit", args=[app.pk]),
        form_data(app, abstract="", **{"purpose-diseases": "MONDO:9999999"}, submit="1"),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_abstract_error"' in html
    assert 'id="id_purpose-diseases_error"' in html
    assert "Unknown MONDO ids: MONDO:9999999" in html
    assert 'id="id_ethics_file_error"' in html
    assert 'value="Germline variants in breast cancer"' in html
    assert "Inherited risk of breast cancer." in html
    app.refresh_from_db()
    assert app.status == "draft"
    assert app.title == "Germline variants in breast cancer"  # saved although the submission was refused


def test_a_bad_upload_is_shown_next_to_the_file_field_and_the_draft_is_still_saved(
    client_for, applicant, dataset, settings_private_media
):
    app = services.application_create(applicant=applicant, datasets=[dataset])
    data = form_data(app, save="1", ethics_expires_on=next_year().isoformat())
    data["ethics_file"] = pdf_upload("notes.pdf", b"just some notes")
    response = client_for("applicant").post(reverse("requests:edit", args=[app.pk]), data)
    assert response.status_code == 400
    assert "not a PDF" in response.content.decode()
    app.refresh_from_db()
    assert app.title == "Germline variants in breast cancer"
    assert app.documents.count() == 0


def test_the_full_form_submits_and_the_page_shows_two_pending_reviews(
    client_for, applicant, dataset, other_dataset, settings_private_media
):
    app = services.application_create(applicant=applicant, datasets=[dataset, other_dataset])
    services.application_agreements_accept(application=app, actor=applicant)
    client = client_for("applicant")
    data = form_data(
        app,
        submit="1",
        ethics_expires_on=next_year().isoformat(),
        **{f"justification_{other_dataset.accession}": "Comorbidity analysis."},
    )
    data["ethics_file"] = pdf_upload()
    response = client.post(reverse("requests:edit", args=[app.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    page = client.get(reverse("requests:detail", args=[app.pk])).content.decode()
    assert page.count("Pending") == 2
    assert "Submitted" in page


def test_autosave_stores_the_draft_as_typed(client_for, applicant, dataset):
    app = services.application_create(applicant=applicant, datasets=[dataset])
    response = client_for("applicant").post(
        reverse("requests:autosave", args=[app.pk]), form_data(app, title="Typed so far", requested_months="1x")
    )
    assert response.status_code == 200
    assert "saved_at" in response.json()
    app.refresh_from_db()
    assert app.title == "Typed so far"


def test_autosave_of_someone_elses_draft_is_404_and_changes_nothing(client_for, applicant, dataset):
    app = services.application_create(applicant=applicant, datasets=[dataset])
    response = client_for("other_applicant").post(reverse("requests:autosave", args=[app.pk]), {"title": "hijack"})
    assert response.status_code == 404
    app.refresh_from_db()
    assert app.title == ""


def test_someone_elses_draft_is_404_everywhere(client_for, applicant, dataset):
    app = services.application_create(applicant=applicant, datasets=[dataset])
    client = client_for("other_applicant")
    for name in ("requests:detail", "requests:edit", "requests:agreements"):
        assert client.get(reverse(name, args=[app.pk])).status_code == 404, name
    assert client.post(reverse("requests:edit", args=[app.pk]), form_data(app, submit="1")).status_code == 404
    assert client.post(reverse("requests:withdraw", args=[app.pk])).status_code == 404


def test_the_uploaded_document_is_read_only_by_the_applicant_and_the_reviewing_committee(
    client_for, submitted, dataset, other_applicant
):
    document = submitted.documents.get()
    url = reverse("requests:document", args=[submitted.pk, document.pk])
    assert client_for("applicant").get(url).status_code == 200
    assert client_for("dac_member").get(url).status_code == 200  # the cancer DAC reviews it
    assert client_for("other_applicant").get(url).status_code == 404
    uninvolved = UserFactory()
    from datasets import services as dataset_services
    from tests.factories import DacFactory

    dataset_services.dac_membership_set(dac=DacFactory(slug="uninvolved"), user=uninvolved, role="chair")
    client = client_for("anonymous")
    client.force_login(uninvolved)
    assert client.get(url).status_code == 404
    response = client_for("applicant").get(url)
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]


def test_a_committee_sees_submitted_applications_but_not_drafts(client_for, draft, submitted):
    assert client_for("dac_member").get(reverse("requests:detail", args=[submitted.pk])).status_code == 200
    other_draft = services.application_create(applicant=submitted.applicant, datasets=list(submitted.datasets.all()))
    assert client_for("dac_member").get(reverse("requests:detail", args=[other_draft.pk])).status_code == 404


def test_my_applications_lists_status_at_a_glance(client_for, submitted):
    html = client_for("applicant").get(reverse("requests:list")).content.decode()
    assert submitted.title in html
    assert "Submitted" in html


def test_a_collaborator_accepts_the_agreements_from_the_invitation(
    client_for, applicant, dataset, settings_private_media
):
    app = services.application_create(applicant=applicant, datasets=[dataset])
    services.application_update(
        application=app, actor=applicant, changes=services.DraftChanges(collaborators=["other.applicant@example.org"])
    )
    client = client_for("other_applicant")
    assert client.get(reverse("requests:agreements", args=[app.pk])).status_code == 200
    response = client.post(reverse("requests:agreements", args=[app.pk]), {"accept": "yes"})
    assert response.status_code == 302
    assert "other.applicant@example.org" not in app_selectors.missing_agreements(app)


def test_withdrawing_from_the_page(client_for, submitted):
    response = client_for("applicant").post(reverse("requests:withdraw", args=[submitted.pk]))
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == "withdrawn"
