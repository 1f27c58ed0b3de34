"""The admin is no back door: workflow rows are shown but never added, changed or deleted there,
and the one write it offers (revoking permits) goes through the service and its audit event."""

from __future__ import annotations

import pytest
from django.contrib.admin import helpers
from django.contrib.messages import get_messages
from django.urls import reverse

from portal.models import AuditEvent
from requests.models import (
    AgreementAcceptance,
    Application,
    ApplicationDataset,
    ApplicationVersion,
    Collaborator,
    DatasetDecision,
    Document,
    Permit,
    PermitEvent,
    Review,
    ReviewNote,
    Vote,
)

WORKFLOW_MODELS = [
    Application,
    ApplicationDataset,
    Collaborator,
    AgreementAcceptance,
    Document,
    ApplicationVersion,
    Review,
    Vote,
    ReviewNote,
    DatasetDecision,
    Permit,
    PermitEvent,
]
MODEL_NAMES = [model.__name__ for model in WORKFLOW_MODELS]
PERMIT_CHANGELIST = "admin:requests_permit_changelist"


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def workflow(applicant_permit, applicant_review, dac_chair):
    """At least one row of every workflow model: an approved application with its permit, plus a
    collaborator and a committee note."""
    Collaborator.objects.create(application=applicant_permit.application, email="colleague@example.org")
    ReviewNote.objects.create(review=applicant_review, kind=ReviewNote.Kind.DISCUSSION, author=dac_chair, text="Fine.")
    return applicant_permit


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def row_of(model) -> dict:
    return model.objects.order_by("pk").values()[0]


def revoke(client, permits, **confirmation):
    data = {"action": "revoke_selected", helpers.ACTION_CHECKBOX_NAME: [p.pk for p in permits], **confirmation}
    return client.post(reverse(PERMIT_CHANGELIST), data)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# Each test walks every model against one shared set of rows (building them is the slow part);
# the assertions compare whole tables, so a failure names every model that answered wrongly.


@pytest.mark.django_db
def test_staff_see_the_list_and_each_row_of_every_workflow_model(workflow, staff_client):
    answers = {
        model.__name__: (
            staff_client.get(admin_url(model, "changelist")).status_code,
            staff_client.get(admin_url(model, "change", row_of(model)["id"])).status_code,
        )
        for model in WORKFLOW_MODELS
    }
    assert answers == dict.fromkeys(MODEL_NAMES, (200, 200))


@pytest.mark.django_db
def test_staff_can_neither_add_nor_change_nor_delete_workflow_rows(workflow, staff_client):
    rows = {model.__name__: row_of(model) for model in WORKFLOW_MODELS}
    answers = {}
    for model in WORKFLOW_MODELS:
        pk = rows[model.__name__]["id"]
        answers[model.__name__] = (
            staff_client.get(admin_url(model, "add")).status_code,
            staff_client.post(admin_url(model, "add"), {}).status_code,
            # Whatever the form would carry, the change page refuses to save it.
            staff_client.post(admin_url(model, "change", pk), {"status": "withdrawn"}).status_code,
            staff_client.get(admin_url(model, "delete", pk)).status_code,
            staff_client.post(admin_url(model, "delete", pk), {"post": "yes"}).status_code,
        )
    assert answers == dict.fromkeys(MODEL_NAMES, (403, 403, 403, 403, 403))
    assert {model.__name__: row_of(model) for model in WORKFLOW_MODELS} == rows


@pytest.mark.django_db
def test_bulk_delete_is_neither_offered_nor_run(workflow, staff_client):
    offered, survivors = {}, {}
    for model in WORKFLOW_MODELS:
        url, pk = admin_url(model, "changelist"), row_of(model)["id"]
        form = staff_client.get(url).context["action_form"]
        offered[model.__name__] = "delete_selected" in dict(form.fields["action"].choices) if form else False
        staff_client.post(url, {"action": "delete_selected", helpers.ACTION_CHECKBOX_NAME: [pk], "post": "yes"})
        survivors[model.__name__] = model.objects.filter(pk=pk).exists()
    assert offered == dict.fromkeys(MODEL_NAMES, False)
    assert survivors == dict.fromkeys(MODEL_NAMES, True)


@pytest.mark.django_db
def test_revoking_first_asks_for_confirmation_and_a_reason(workflow, staff_client):
    response = revoke(staff_client, [workflow])
    assert response.status_code == 200
    assert b'name="reason"' in response.content
    workflow.refresh_from_db()
    assert workflow.status == "active"


@pytest.mark.django_db
def test_confirmed_revocation_goes_through_the_service_and_is_audited(workflow, staff_client, staff):
    response = revoke(staff_client, [workflow], confirm="yes", reason="The ethics approval was withdrawn.")
    assert response.status_code == 302
    assert messages_of(response) == ["1 permit revoked."]
    workflow.refresh_from_db()
    assert workflow.status == "revoked"
    # The operator is recorded as the one who revoked, not named in the grantee's reason.
    assert (workflow.revoked_reason, workflow.revoked_by) == ("The ethics approval was withdrawn.", staff)
    assert PermitEvent.objects.filter(permit=workflow, kind=PermitEvent.Kind.REVOKED).exists()
    event = AuditEvent.objects.get(action="permit.revoked", target_id=str(workflow.pk))
    assert event.data["reason"] == workflow.revoked_reason
    assert (event.actor, event.data["as_operator"]) == (staff, True)


@pytest.mark.django_db
def test_without_a_reason_nothing_is_revoked(workflow, staff_client):
    response = revoke(staff_client, [workflow], confirm="yes", reason="  ")
    assert response.status_code == 200
    assert b"Give the reason for the revocation." in response.content
    workflow.refresh_from_db()
    assert workflow.status == "active"
    assert not AuditEvent.objects.filter(action="permit.revoked").exists()


@pytest.mark.django_db
def test_a_permit_no_longer_active_is_reported_with_the_services_message(workflow, staff_client):
    revoke(staff_client, [workflow], confirm="yes", reason="First time.")
    response = revoke(staff_client, [workflow], confirm="yes", reason="Second time.")
    assert response.status_code == 302
    message = messages_of(response)[-1]
    assert message.startswith("Not revoked:")
    assert "already" in message
    assert AuditEvent.objects.filter(action="permit.revoked", target_id=str(workflow.pk)).count() == 1
