"""Irreversible actions ask first, on a page that works without JavaScript: withdrawing an
application, declaring a conflict of interest, deciding a review and revoking a permit each lead
to a page that says what will happen, with the real form there. The action itself gives one
result however often it is posted (a double click)."""

import re

import pytest
from django.urls import reverse

from portal.models import AuditEvent
from requests.models import DatasetDecision, Permit, Vote

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def forms_posting_to(page: str, url: str) -> int:
    return len(re.findall(rf'<form method="post" action="{re.escape(url)}"', page))


def decision_body(review, **changes) -> dict[str, str]:
    body = {}
    for accession in review.items.values_list("dataset__accession", flat=True):
        body[f"outcome_{accession}"] = "approve"
        body[f"months_{accession}"] = "6"
        body[f"conditions_{accession}"] = "Acknowledge the cohort."
    body.update(changes)
    return body


@pytest.fixture
def quorum(applicant_review, dac_chair, dac_member):
    from requests import services

    for voter in (dac_chair, dac_member):
        services.review_vote(review=applicant_review, actor=voter, choice="approve")
    return applicant_review


# --- Withdrawing an application -----------------------------------------------------------------------


def test_the_application_page_leads_to_a_confirmation_before_withdrawing(client_for, applicant_submission):
    client = client_for("applicant")
    withdraw = reverse("requests:withdraw", args=[applicant_submission.pk])
    page = client.get(reverse("requests:detail", args=[applicant_submission.pk])).content.decode()
    assert forms_posting_to(page, withdraw) == 0
    assert f'href="{withdraw}"' in page
    confirmation = client.get(withdraw)
    assert confirmation.status_code == 200
    words = text(confirmation)
    assert "Withdraw “Germline variants in breast cancer”?" in words
    assert "Cancer DAC stops its review" in words
    assert "This cannot be undone" in words
    assert forms_posting_to(confirmation.content.decode(), withdraw) == 1
    applicant_submission.refresh_from_db()
    assert applicant_submission.status == "submitted"


def test_withdrawing_twice_gives_one_withdrawal(client_for, applicant_submission):
    client = client_for("applicant")
    withdraw = reverse("requests:withdraw", args=[applicant_submission.pk])
    assert client.post(withdraw, {}).status_code == 302
    again = client.post(withdraw, {}, follow=True)
    assert "withdrawn" in text(again)
    applicant_submission.refresh_from_db()
    assert applicant_submission.status == "withdrawn"
    assert AuditEvent.objects.filter(action="application.withdrawn").count() == 1


def test_a_decided_application_offers_no_withdrawal(client_for, applicant_permit):
    withdraw = reverse("requests:withdraw", args=[applicant_permit.application_id])
    page = client_for("applicant").get(withdraw)
    assert "can no longer be withdrawn" in text(page)
    assert forms_posting_to(page.content.decode(), withdraw) == 0


# --- Declaring a conflict of interest ----------------------------------------------------------------


def test_the_review_page_leads_to_a_confirmation_before_declaring_a_conflict(client_for, applicant_review):
    client = client_for("dac_member")
    conflict = reverse("requests:review_conflict", args=[applicant_review.pk])
    page = client.get(reverse("requests:review", args=[applicant_review.pk])).content.decode()
    assert f'href="{conflict}"' in page
    assert 'name="conflict_of_interest"' not in page
    confirmation = client.get(conflict)
    assert confirmation.status_code == 200
    words = text(confirmation)
    assert "you are out of the vote and the quorum" in words
    assert "cannot vote on this review afterwards" in words
    assert forms_posting_to(confirmation.content.decode(), conflict) == 1
    assert not Vote.objects.exists()


def test_declaring_a_conflict_twice_gives_one_declaration(client_for, applicant_review, dac_member):
    client = client_for("dac_member")
    conflict = reverse("requests:review_conflict", args=[applicant_review.pk])
    assert client.post(conflict, {}).status_code == 302
    again = client.post(conflict, {}, follow=True)
    assert "You declared a conflict of interest" in text(again)
    vote = Vote.objects.get()
    assert (vote.member, vote.conflict_of_interest) == (dac_member, True)


def test_a_secretary_has_no_vote_to_declare_a_conflict_on(client_for, applicant_review):
    conflict = reverse("requests:review_conflict", args=[applicant_review.pk])
    assert client_for("dac_secretary").get(conflict).status_code == 403


# --- Deciding a review -----------------------------------------------------------------------------


def test_the_decision_is_summarised_before_it_is_recorded(client_for, quorum, dataset):
    client = client_for("dac_chair")
    confirm = reverse("requests:review_decide_confirm", args=[quorum.pk])
    decide = reverse("requests:review_decide", args=[quorum.pk])
    page = client.get(reverse("requests:review", args=[quorum.pk])).content.decode()
    assert forms_posting_to(page, confirm) == 1
    assert forms_posting_to(page, decide) == 0
    summary = client.post(confirm, decision_body(quorum))
    assert summary.status_code == 200
    words = text(summary)
    assert f"{dataset.accession}: approve for 6 months" in words
    assert "Acknowledge the cohort." in words
    assert "A decision cannot be changed" in words
    html = summary.content.decode()
    assert forms_posting_to(html, decide) == 1
    assert f'<input type="hidden" name="months_{dataset.accession}" value="6">' in html
    assert not DatasetDecision.objects.exists()


def test_going_back_from_the_summary_keeps_what_was_typed(client_for, quorum, dataset):
    body = decision_body(
        quorum, **{f"outcome_{dataset.accession}": "reject", f"reason_{dataset.accession}": "Too broad."}
    )
    page = client_for("dac_chair").post(
        reverse("requests:review_decide_confirm", args=[quorum.pk]), {**body, "change": "1"}
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="reject" checked' in html
    assert ">Too broad.</textarea>" in html
    assert not DatasetDecision.objects.exists()


def test_recording_the_decision_twice_gives_one_decision(client_for, quorum):
    client = client_for("dac_chair")
    decide = reverse("requests:review_decide", args=[quorum.pk])
    assert client.post(decide, decision_body(quorum)).status_code == 302
    again = client.post(decide, decision_body(quorum), follow=True)
    assert "The review is decided" in text(again)
    assert DatasetDecision.objects.count() == 1
    assert Permit.objects.count() == 1


def test_only_the_chair_reaches_the_summary(client_for, quorum):
    confirm = reverse("requests:review_decide_confirm", args=[quorum.pk])
    assert client_for("dac_member").post(confirm, decision_body(quorum)).status_code == 403
    assert client_for("other_dac_member").post(confirm, decision_body(quorum)).status_code == 404


# --- Revoking a permit ------------------------------------------------------------------------------


def test_revoking_a_permit_goes_through_a_page_that_says_what_happens(client_for, applicant_permit):
    client = client_for("dac_chair")
    revoke = reverse("requests:permit_revoke", args=[applicant_permit.pk])
    review = applicant_permit.application.reviews.get()
    page = client.get(reverse("requests:review", args=[review.pk])).content.decode()
    assert f'href="{revoke}"' in page
    assert forms_posting_to(page, revoke) == 0
    confirmation = text(client.get(revoke))
    assert "This cannot be undone" in confirmation
    assert "Aino Applicant" in confirmation


def test_revoking_twice_gives_one_revocation(client_for, applicant_permit):
    client = client_for("dac_chair")
    revoke = reverse("requests:permit_revoke", args=[applicant_permit.pk])
    assert client.post(revoke, {"reason": "Consent withdrawn."}).status_code == 302
    again = client.post(revoke, {"reason": "Consent withdrawn."})
    assert again.status_code == 409
    assert AuditEvent.objects.filter(action="permit.revoked").count() == 1
