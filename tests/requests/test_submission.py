"""Submission: every check, the split into one review per DAC, versions, and the bad inputs."""

import threading

import pytest
from django.core import mail
from django.db import connection

from portal.exceptions import Conflict, InvalidInput, NotAllowed
from portal.workflow import arranging_states
from requests import services
from requests.models import Application, ApplicationVersion, Review
from requests.selectors import applications as app_selectors
from tests.factories import UserFactory, complete_application, minimal_pdf
from tests.requests.conftest import next_year, pdf_upload

pytestmark = pytest.mark.django_db


def errors_of(app, actor, **kwargs) -> dict[str, str]:
    with pytest.raises(services.SubmissionInvalid) as caught:
        services.application_submit(application=app, actor=actor, **kwargs)
    return caught.value.errors


def test_submission_splits_into_one_review_per_committee(
    draft, applicant, dataset, other_dataset, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        app = services.application_submit(
            application=draft, actor=applicant, justifications={other_dataset.accession: "Comorbidity analysis."}
        )
    assert app.status == "submitted"
    assert app.version == 1
    reviews = {r.dac_id: r for r in Review.objects.filter(application=app)}
    assert set(reviews) == {dataset.dac_id, other_dataset.dac_id}
    assert all(r.status == "pending" for r in reviews.values())
    items = {i.dataset_id: i for i in app.requested.all()}
    assert items[dataset.pk].review == reviews[dataset.dac_id]
    assert items[other_dataset.pk].review == reviews[other_dataset.dac_id]
    assert items[dataset.pk].match["decision"] == "approve"
    assert items[other_dataset.pk].match["decision"] == "deny"
    version = ApplicationVersion.objects.get(application=app)
    assert version.snapshot["datasets"] == sorted([dataset.accession, other_dataset.accession])
    assert version.snapshot["justifications"] == {other_dataset.accession: "Comorbidity analysis."}
    assert [m.to for m in mail.outbox] == [[applicant.email]]
    assert "Application received" in mail.outbox[0].subject


def test_a_denied_dataset_needs_a_justification(draft, applicant, other_dataset):
    errors = errors_of(draft, applicant)
    assert list(errors) == [f"justification_{other_dataset.accession}"]
    assert Application.objects.get(pk=draft.pk).status == "draft"


def test_missing_fields_are_each_named(applicant, dataset):
    app = services.application_create(applicant=applicant, datasets=[dataset])
    errors = errors_of(app, applicant)
    for field in (
        "title",
        "lay_summary",
        "abstract",
        "requested_months",
        "purpose.primary",
        "ethics_document",
        "agreements",
    ):
        assert field in errors, field


def test_an_ethics_approval_is_required_for_an_irb_dataset(applicant, dataset, settings_private_media):
    app = complete_application(applicant, [dataset])
    assert errors_of(app, applicant) == {
        "ethics_document": "A dataset requires ethics approval (IRB): upload the approval as a PDF."
    }


def test_a_missing_agreement_stops_submission(applicant, other_dataset):
    app = services.application_create(applicant=applicant, datasets=[other_dataset])
    services.application_update(
        application=app,
        actor=applicant,
        changes=services.DraftChanges(
            title="T2D",
            lay_summary="x",
            abstract="y",
            requested_months=6,
            purpose={"primary": "disease", "diseases": ["MONDO:0005148"]},
        ),
    )
    errors = errors_of(app, applicant)
    assert errors == {"agreements": f"You have not accepted the data access agreement of {other_dataset.accession}."}


def test_a_collaborator_who_has_not_accepted_stops_submission(
    applicant, other_dataset, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        app = complete_application(
            applicant,
            [other_dataset],
            purpose={"primary": "disease", "diseases": ["MONDO:0005148"]},
            collaborators=["colleague@example.org"],
        )
    assert any(m.to == ["colleague@example.org"] for m in mail.outbox)
    errors = errors_of(app, applicant)
    expected = f"colleague@example.org has not accepted the data access agreement of {other_dataset.accession}."
    assert errors == {"collaborators": expected}
    colleague = UserFactory(email="colleague@example.org")
    services.application_agreements_accept(application=app, actor=colleague)
    assert services.application_submit(application=app, actor=applicant).status == "submitted"
    assert app.collaborators.get().user == colleague


def test_someone_else_cannot_submit_the_draft(draft, other_applicant):
    with pytest.raises(NotAllowed):
        services.application_submit(application=draft, actor=other_applicant)


def test_submitting_twice_is_a_conflict(submitted, applicant):
    with pytest.raises(Conflict, match="submitted"):
        services.application_submit(application=submitted, actor=applicant)
    assert ApplicationVersion.objects.filter(application=submitted).count() == 1


def test_a_returned_application_is_resubmitted_as_version_two_and_changes_are_listed(
    submitted, applicant, other_dataset
):
    with arranging_states():
        Application.objects.filter(pk=submitted.pk).update(status="returned")
        Review.objects.filter(application=submitted).update(status="returned")
    services.application_update(
        application=submitted,
        actor=applicant,
        changes=services.DraftChanges(title="A sharper title", requested_months=9),
    )
    app = services.application_submit(application=submitted, actor=applicant)
    assert app.version == 2
    versions = list(app.versions.order_by("number"))
    changes = {f: (a, b) for f, a, b in app_selectors.version_changes(versions[0].snapshot, versions[1].snapshot)}
    assert changes == {"title": ("Germline variants in breast cancer", "A sharper title"), "requested_months": (12, 9)}
    assert set(app.reviews.values_list("status", flat=True)) == {"pending"}


def test_withdraw_before_a_decision_ends_the_reviews(submitted, applicant):
    app = services.application_withdraw(application=submitted, actor=applicant)
    assert app.status == "withdrawn"
    assert set(app.reviews.values_list("status", flat=True)) == {"withdrawn"}
    with pytest.raises(Conflict):
        services.application_withdraw(application=app, actor=applicant)


def test_drafts_can_be_edited_but_submitted_applications_cannot(submitted, applicant):
    with pytest.raises(Conflict, match="can no longer be edited"):
        services.application_update(application=submitted, actor=applicant, changes=services.DraftChanges(title="x"))


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("ethics.pdf", b"This is plain text pretending to be a PDF.", "not a PDF"),
        ("ethics.pdf", b"", "empty"),
        ("ethics.pdf", minimal_pdf(b"0" * (20 * 1024 * 1024)), "the limit is 10 MB"),
        ("ethics.pdf", b"%PDF-1.4 but it never ends", "not a PDF"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(draft, applicant, settings_private_media, name, content, words):
    before = sorted((settings_private_media / "documents").iterdir())
    with pytest.raises(InvalidInput, match=words):
        services.application_document_add(
            application=draft, upload=pdf_upload(name, content), expires_on=next_year(), actor=applicant
        )
    assert sorted((settings_private_media / "documents").iterdir()) == before
    assert draft.documents.count() == 1


def test_an_expired_approval_date_is_refused(draft, applicant):
    import datetime as dt

    with pytest.raises(InvalidInput, match="must be in the future"):
        services.application_document_add(
            application=draft, upload=pdf_upload(), expires_on=dt.date(2020, 1, 1), actor=applicant
        )


def test_a_new_approval_replaces_the_old_one_and_both_are_kept(draft, applicant):
    services.application_document_add(
        application=draft, upload=pdf_upload("new.pdf"), expires_on=next_year(), actor=applicant
    )
    assert draft.documents.count() == 2
    assert app_selectors.current_ethics_document(draft).original_name == "new.pdf"


def test_documents_are_stored_outside_public_paths_under_random_names(draft, settings_private_media, settings):
    document = draft.documents.get()
    assert document.storage_name != "ethics.pdf"
    stored = settings_private_media / "documents" / document.storage_name
    assert stored.read_bytes() == minimal_pdf()
    assert not str(stored).startswith(str(settings.STATIC_ROOT))


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_submits_give_one_submission(
    applicant, dataset, other_dataset, settings_private_media, ontologies
):
    app = complete_application(applicant, [dataset, other_dataset])
    services.application_document_add(application=app, upload=pdf_upload(), expires_on=next_year(), actor=applicant)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit():
        try:
            barrier.wait()
            services.application_submit(
                application=app, actor=applicant, justifications={other_dataset.accession: "Comorbidity."}
            )
            outcomes.append("submitted")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "submitted"]
    assert ApplicationVersion.objects.filter(application=app).count() == 1
    assert Review.objects.filter(application=app).count() == 2
