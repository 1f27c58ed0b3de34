"""Collaborators are invited when the applicant says so (the Invite button, or submitting), never
while they type: autosave and "Save draft" keep the typed addresses with the draft and e-mail
nobody. An invitation is matched to an account whatever the case of the address."""

import pytest
from django.urls import reverse

from portal.models import AuditEvent, OutboxMessage
from requests import services
from requests.models import Application
from tests.requests.test_pages import form_data

pytestmark = pytest.mark.django_db

BOB = "bob@uni.example"
CAROL = "carol@uni.example"
COLLEAGUE = "other.applicant@example.org"  # the `other_applicant` persona's address


def invitations() -> list[str]:
    """The addresses invitation e-mails were written for, in order."""
    emails = OutboxMessage.objects.filter(
        kind=OutboxMessage.Kind.EMAIL, payload__template="requests/collaborator_invited"
    ).order_by("id")
    return [address for message in emails for address in message.payload["to"]]


def invited(app: Application) -> list[str]:
    return sorted(app.collaborators.values_list("email", flat=True))


def edit(client, app, **changes):
    return client.post(reverse("requests:edit", args=[app.pk]), form_data(app, **changes))


def page_text(client, app) -> str:
    return client.get(reverse("requests:edit", args=[app.pk])).content.decode()


@pytest.fixture
def new_draft(applicant, dataset):
    return services.application_create(applicant=applicant, datasets=[dataset])


def test_autosave_keeps_the_typed_addresses_and_invites_nobody(client_for, new_draft):
    client = client_for("applicant")
    response = client.post(
        reverse("requests:autosave", args=[new_draft.pk]), form_data(new_draft, collaborators=f"{BOB}\nbob@uni.exa")
    )
    assert response.status_code == 200
    assert invitations() == []
    assert invited(new_draft) == []
    assert not AuditEvent.objects.filter(action="application.collaborator_invited").exists()
    # The draft still holds every typed line, half-typed ones included.
    page = page_text(client, new_draft)
    assert f"{BOB}\nbob@uni.exa</textarea>" in page
    assert "Not invited yet" in page


def test_save_draft_keeps_the_typed_addresses_and_invites_nobody(client_for, new_draft):
    client = client_for("applicant")
    response = edit(client, new_draft, collaborators=f"{BOB}\n{CAROL}", save="1")
    assert response.status_code == 302
    assert invitations() == []
    assert invited(new_draft) == []
    page = page_text(client, new_draft)
    assert f"{BOB}\n{CAROL}</textarea>" in page
    assert "Draft saved." in page


def test_the_invite_button_invites_the_typed_addresses_once(client_for, new_draft):
    client = client_for("applicant")
    response = edit(client, new_draft, collaborators=f"Bob@Uni.example\n{CAROL}", invite="1")
    assert response.status_code == 302
    assert response["Location"] == reverse("requests:edit", args=[new_draft.pk])
    assert sorted(invitations()) == [BOB, CAROL]
    assert invited(new_draft) == [BOB, CAROL]
    page = page_text(client, new_draft)
    assert f"Invitations sent to {BOB}, {CAROL}." in page
    # Pressed again (or twice): nobody gets a second e-mail.
    again = edit(client, new_draft, collaborators=f"{BOB}\n{CAROL}", invite="1")
    assert again.status_code == 302
    assert sorted(invitations()) == [BOB, CAROL]
    assert "Everyone in the list has been invited already." in page_text(client, new_draft)


def test_an_entry_that_is_no_address_stops_the_invitations(client_for, new_draft):
    response = edit(client_for("applicant"), new_draft, collaborators=f"{BOB}\nnot-an-address", invite="1")
    assert response.status_code == 400
    assert "Not e-mail addresses: not-an-address." in response.content.decode()
    assert invitations() == []
    assert invited(new_draft) == []


def test_submitting_invites_whoever_is_not_invited_yet(
    client_for, applicant_draft, other_applicant, django_capture_on_commit_callbacks
):
    client = client_for("applicant")
    edit(client, applicant_draft, collaborators=COLLEAGUE, save="1")
    assert invitations() == []
    # The submission is refused (the colleague has not accepted the agreements yet), but the
    # applicant asked to submit: the invitation goes out, so that the colleague can accept.
    refused = edit(client, applicant_draft, collaborators=COLLEAGUE, submit="1")
    assert refused.status_code == 400
    assert f"{COLLEAGUE} has not accepted the data access agreement" in refused.content.decode()
    assert invitations() == [COLLEAGUE]
    colleague = client_for("other_applicant")
    assert (
        colleague.post(reverse("requests:agreements", args=[applicant_draft.pk]), {"accept": "yes"}).status_code == 302
    )
    submitted = edit(client, applicant_draft, collaborators=COLLEAGUE, submit="1")
    assert submitted.status_code == 302
    applicant_draft.refresh_from_db()
    assert applicant_draft.status == "submitted"
    assert invitations() == [COLLEAGUE]


def test_an_invitation_is_matched_to_the_account_whatever_the_case(client_for, new_draft, other_applicant):
    client = client_for("applicant")
    edit(client, new_draft, collaborators="Other.Applicant@Example.org", invite="1")
    colleague = client_for("other_applicant")
    assert colleague.get(reverse("requests:agreements", args=[new_draft.pk])).status_code == 200
    assert colleague.post(reverse("requests:agreements", args=[new_draft.pk]), {"accept": "yes"}).status_code == 302
    assert new_draft.collaborators.get().user == other_applicant
    # The same person typed in another case is the same invitation: no new e-mail, the link kept.
    edit(client, new_draft, collaborators="OTHER.applicant@example.ORG", invite="1")
    assert invitations() == [COLLEAGUE]
    assert new_draft.collaborators.get().user == other_applicant


def test_an_invitation_stored_in_another_case_is_not_sent_again(client_for, new_draft, applicant):
    # An invitation written before addresses were kept in lower case.
    new_draft.collaborators.create(email="Bob@Uni.example")
    response = edit(client_for("applicant"), new_draft, collaborators=BOB, invite="1")
    assert response.status_code == 302
    assert invitations() == []
    assert list(new_draft.collaborators.values_list("email", flat=True)) == ["Bob@Uni.example"]


def test_a_removed_address_keeps_its_invitation_until_the_applicant_says_so(client_for, new_draft):
    client = client_for("applicant")
    edit(client, new_draft, collaborators=f"{BOB}\n{CAROL}", invite="1")
    edit(client, new_draft, collaborators=CAROL, save="1")
    assert invited(new_draft) == [BOB, CAROL]
    assert "invitation ends when you press" in page_text(client, new_draft)
    edit(client, new_draft, collaborators=CAROL, invite="1")
    assert invited(new_draft) == [CAROL]
    assert sorted(invitations()) == [BOB, CAROL]
