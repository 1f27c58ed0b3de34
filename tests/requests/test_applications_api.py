import pytest
from django.urls import reverse

from requests.models import Application
from tests.requests.conftest import next_year, pdf_upload

pytestmark = pytest.mark.django_db

PURPOSE = {"primary": "disease", "diseases": ["MONDO:0007254"], "genetic_study": True, "country": "FI"}


def create(client, accessions, **extra):
    body = {
        "title": "API application",
        "lay_summary": "Lay.",
        "abstract": "Abstract.",
        "purpose": PURPOSE,
        "datasets": accessions,
        "requested_months": 12,
        **extra,
    }
    return client.post(reverse("api:applications"), body, content_type="application/json")


def test_the_whole_flow_through_the_api(client_for, applicant, dataset, other_dataset, settings_private_media):
    client = client_for("applicant")
    response = create(client, [dataset.accession, other_dataset.accession])
    assert response.status_code == 201
    app_id = response.json()["id"]
    assert response.json()["match"][other_dataset.accession]["decision"] == "deny"

    upload = client.post(
        reverse("api:application_documents", args=[app_id]),
        {"kind": "ethics_approval", "expires_on": next_year().isoformat(), "file": pdf_upload()},
    )
    assert upload.status_code == 201
    assert client.post(reverse("api:application_agreements", args=[app_id])).status_code == 200

    refused = client.post(reverse("api:application_submit", args=[app_id]), {}, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json()["code"] == "application_incomplete"
    assert f"justification_{other_dataset.accession}" in refused.json()["extra"]["fields"]

    body = {"justifications": {other_dataset.accession: "Comorbidity."}}
    submitted = client.post(reverse("api:application_submit", args=[app_id]), body, content_type="application/json")
    assert submitted.status_code == 200
    data = submitted.json()
    assert data["status"] == "submitted"
    assert sorted(r["dac"] for r in data["reviews"]) == sorted([dataset.dac.slug, other_dataset.dac.slug])
    assert all(r["status"] == "pending" for r in data["reviews"])
    assert data["versions"][0]["number"] == 1

    again = client.post(reverse("api:application_submit", args=[app_id]), body, content_type="application/json")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"title": 3}, "title"),
        ({"requested_months": 0}, "requested_months"),
        ({"requested_months": "12"}, "requested_months"),
        ({"collaborators": ["not-an-email"]}, "collaborators"),
        ({"purpose": "cancer"}, "purpose"),
        ({"datasets": ["GDS999999"]}, "datasets"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_creates_nothing(client_for, applicant, dataset, extra, field):
    extra = {"datasets": [dataset.accession], **extra}
    response = client_for("applicant").post(
        reverse("api:applications"),
        {"title": "T", "lay_summary": "L", "abstract": "A", "purpose": PURPOSE, "requested_months": 12, **extra},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert field in response.json()["extra"]["fields"]
    assert not Application.objects.exists()


def test_a_text_file_named_pdf_is_refused_by_the_api(client_for, applicant, dataset, settings_private_media):
    client = client_for("applicant")
    app_id = create(client, [dataset.accession]).json()["id"]
    response = client.post(
        reverse("api:application_documents", args=[app_id]),
        {
            "kind": "ethics_approval",
            "expires_on": next_year().isoformat(),
            "file": pdf_upload("approval.pdf", b"hello, I am text"),
        },
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_document"


def test_others_get_404_and_collaborators_may_read_but_not_change(client_for, applicant, dataset):
    client = client_for("applicant")
    app_id = create(client, [dataset.accession], collaborators=["other.applicant@example.org"]).json()["id"]
    stranger = client_for("dac_member")
    assert stranger.get(reverse("api:application", args=[app_id])).status_code == 404
    assert (
        stranger.patch(
            reverse("api:application", args=[app_id]), {"title": "x"}, content_type="application/json"
        ).status_code
        == 404
    )
    assert stranger.post(reverse("api:application_submit", args=[app_id])).status_code == 404
    collaborator = client_for("other_applicant")
    assert collaborator.get(reverse("api:application", args=[app_id])).status_code == 200
    assert (
        collaborator.patch(
            reverse("api:application", args=[app_id]), {"title": "x"}, content_type="application/json"
        ).status_code
        == 403
    )


def test_patch_updates_a_draft(client_for, applicant, dataset):
    client = client_for("applicant")
    app_id = create(client, [dataset.accession]).json()["id"]
    response = client.patch(
        reverse("api:application", args=[app_id]),
        {"title": "New title", "requested_months": 6},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert (response.json()["title"], response.json()["requested_months"]) == ("New title", 6)
