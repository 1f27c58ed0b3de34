"""The committee's pages: the inbox, the review page and its actions, what the applicant sees of
the review, and the committee's policy page."""

from __future__ import annotations

import datetime as dt
import html
import re
import threading

import pytest
from dateutil.relativedelta import relativedelta
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from datasets.models import DataAccessCommittee
from portal.exceptions import Conflict, InvalidInput, NotAllowed
from portal.models import AuditEvent
from portal.workflow import arranging_states
from requests import services
from requests.models import (
    Application,
    ApplicationDataset,
    DatasetDecision,
    Permit,
    Review,
    Vote,
)
from requests.selectors import reviews as review_selectors
from tests.conftest import PEOPLE
from tests.factories import DatasetFactory, UserFactory, complete_application

pytestmark = pytest.mark.django_db

# A DS dataset on breast cancer whose consent limits the time of use (TS, 6 months) and asks for
# not-for-profit use (NPU): a proposal with conditions and a cap below the committee's.
TS_PROFILE = {
    "permission": "DUO:0000007",
    "diseases": ["MONDO:0007254"],
    "modifiers": [{"term": "DUO:0000025", "months": 6}, {"term": "DUO:0000045"}],
}


@pytest.fixture
def committee(dac, dac_chair, dac_member, dac_secretary):
    """`dac` with its chair, member and secretary: two voters, so the default quorum of two."""
    return dac


@pytest.fixture
def gru_dataset(committee):
    return DatasetFactory(dac=committee, title="Finnish Population Genomes")


@pytest.fixture
def ts_dataset(committee):
    return DatasetFactory(dac=committee, title="Tampere Tumour Exomes", data_use=TS_PROFILE)


def submit(applicant, datasets, **overrides) -> Application:
    app = complete_application(applicant, datasets, **overrides)
    return services.application_submit(application=app, actor=applicant)


@pytest.fixture
def review(applicant, gru_dataset, ts_dataset) -> Review:
    """A pending review by `dac` of two datasets, neither needing an ethics approval."""
    return submit(applicant, [gru_dataset, ts_dataset], requested_months=24).reviews.get()


@pytest.fixture
def other_review(other_applicant, other_dac, other_dac_member) -> Review:
    dataset = DatasetFactory(dac=other_dac, title="Metabolic Cohort")
    purpose = {"primary": "disease", "diseases": ["MONDO:0005148"], "country": "FI"}
    return submit(other_applicant, [dataset], purpose=purpose, title="Diabetes and the liver").reviews.get()


def url(name: str, review: Review) -> str:
    return reverse(name, args=[review.pk])


def quorum_met(review: Review, *members) -> None:
    for member in members:
        services.review_vote(review=review, actor=member, choice="approve")


def decision_body(review: Review, **per_dataset) -> dict[str, str]:
    """Form data approving every dataset for 6 months, with `per_dataset` overrides such as
    outcome_GDS000001="reject"."""
    body = {}
    for accession in review.items.values_list("dataset__accession", flat=True):
        body[f"outcome_{accession}"] = "approve"
        body[f"months_{accession}"] = "6"
    body.update(per_dataset)
    return body


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- Who may use each page ------------------------------------------------------------------------

SEES = {"dac_member", "dac_chair", "dac_secretary"}


def table(allowed: dict[str, int], *, others: int = 404) -> dict[str, int]:
    return {p: 302 if p == "anonymous" else allowed.get(p, others) for p in PEOPLE}


# (url name, method, expected status per persona) with an empty body for the POSTs. The review is
# `dac`'s, so other_dac_member and staff do not see it (404); a role that sees it but may not act
# answers 403; an empty body from someone who may act is invalid (400).
PAGE_TABLE = [
    ("requests:inbox", "GET", table(dict.fromkeys(SEES, 200), others=403)),
    ("requests:review", "GET", table(dict.fromkeys(SEES, 200))),
    ("requests:review_vote", "POST", table({"dac_member": 400, "dac_chair": 400, "dac_secretary": 403})),
    ("requests:review_note", "POST", table(dict.fromkeys(SEES, 400))),
    ("requests:review_return", "POST", table({"dac_member": 403, "dac_chair": 400, "dac_secretary": 403})),
    # The quorum is not met: the chair gets the refusal as a message on the review page.
    ("requests:review_decide", "POST", table({"dac_member": 403, "dac_chair": 302, "dac_secretary": 403})),
    ("datasets:dac_policy", "GET", table({"dac_chair": 200, "dac_secretary": 200}, others=403)),
    ("datasets:dac_policy", "POST", table({"dac_chair": 400, "dac_secretary": 400}, others=403)),
]
# other_dac_member sits on a committee, so the inbox is theirs (200, with other_dac's reviews).
PAGE_TABLE[0][2]["other_dac_member"] = 200


@pytest.mark.parametrize(
    ("name", "method", "persona"),
    [pytest.param(n, m, p, id=f"{n}-{m}-{p}") for n, m, expected in PAGE_TABLE for p in expected],
)
def test_each_persona_gets_what_the_table_says(request, client_for, review, other_dac_member, name, method, persona):
    expected = next(e for n, m, e in PAGE_TABLE if (n, m) == (name, method))
    if name == "datasets:dac_policy":
        target = reverse(name, args=[review.dac.slug])
    elif name == "requests:inbox":
        target = reverse(name)
    else:
        target = url(name, review)
    client = client_for(persona)
    response = client.get(target) if method == "GET" else client.post(target, {})
    assert response.status_code == expected[persona]
    if persona == "anonymous":
        assert response["Location"].startswith(reverse("accounts:login"))


# --- Visibility ----------------------------------------------------------------------------------


def test_a_member_cannot_see_or_act_on_another_committees_review(client_for, review, other_review):
    client = client_for("dac_member")
    assert client.get(url("requests:review", other_review)).status_code == 404
    for name, body in [
        ("requests:review_vote", {"choice": "approve"}),
        ("requests:review_note", {"kind": "discussion", "text": "Looks fine."}),
        ("requests:review_return", {"message": "Please add more."}),
        ("requests:review_decide", decision_body(other_review)),
    ]:
        assert client.post(url(name, other_review), body).status_code == 404, name
    assert not other_review.votes.exists()
    assert not other_review.notes.exists()
    inbox = text(client.get(reverse("requests:inbox")))
    assert "Diabetes and the liver" not in inbox
    assert "Germline variants in breast cancer" in inbox


def test_committee_work_is_in_the_navigation_only_for_committee_members(client_for, review):
    inbox = reverse("requests:inbox")
    for persona in ("dac_member", "dac_chair", "dac_secretary"):
        assert f'href="{inbox}"' in client_for(persona).get(reverse("requests:list")).content.decode(), persona
    for persona in ("applicant", "staff", "anonymous"):
        assert f'href="{inbox}"' not in client_for(persona).get(reverse("datasets:catalogue")).content.decode()


# --- The review page -----------------------------------------------------------------------------


def test_the_review_page_shows_the_application_in_full(client_for, applicant, review, ts_dataset, gru_dataset):
    other = submit(applicant, [DatasetFactory(dac=review.dac, title="Older Cohort")], title="An earlier study")
    page = text(client_for("dac_member").get(url("requests:review", review)))
    assert "Research on breast cancer" in page  # the purpose in words
    assert "genetic study" in page
    assert ts_dataset.accession in page
    assert gru_dataset.accession in page
    assert "use for at most 6 months" in page  # the matcher's reasons and proposed conditions
    assert "Aino Applicant" in page
    assert "agreements accepted" in page
    assert other.title in page  # the applicant's other applications
    assert "No votes yet." in page


def test_documents_are_linked_from_the_review_page(client_for, applicant_submission, dac_member):
    review = applicant_submission.reviews.get()
    document = applicant_submission.documents.get()
    page = client_for("dac_member").get(url("requests:review", review)).content.decode()
    link = reverse("requests:document", args=[applicant_submission.pk, document.pk])
    assert f'href="{link}"' in page
    assert client_for("dac_member").get(link).status_code == 200


def test_the_applicants_permits_are_listed_for_the_committee(client_for, applicant, review, dac_chair, dac_member):
    quorum_met(review, dac_chair, dac_member)
    client = client_for("dac_chair")
    client.post(url("requests:review_decide", review), decision_body(review))
    later = submit(applicant, [DatasetFactory(dac=review.dac, title="Newer Cohort")], title="A follow-up")
    page = text(client.get(url("requests:review", later.reviews.get())))
    for accession in review.items.values_list("dataset__accession", flat=True):
        assert re.search(rf'{accession}</span> · <span class="status status-active">Active</span> · until', page), (
            accession
        )


# --- Votes, discussion, messages ---------------------------------------------------------------


def test_votes_discussion_and_messages_appear_on_the_review_page(
    client_for, review, applicant, django_capture_on_commit_callbacks
):
    member, chair = client_for("dac_member"), client_for("dac_chair")
    response = member.post(url("requests:review_vote", review), {"choice": "reject", "comment": "The aims are vague."})
    assert response.status_code == 302
    chair.post(url("requests:review_note", review), {"kind": "discussion", "text": "Shall we ask for a plan?"})
    with django_capture_on_commit_callbacks(execute=True):
        chair.post(url("requests:review_note", review), {"kind": "to_applicant", "text": "Please send your plan."})
    page = text(member.get(url("requests:review", review)))
    assert "Your vote is saved." in page
    assert 'Mika Member</strong>: <span class="badge vote-reject">Reject</span>' in page
    assert "The aims are vague." in page
    assert "Shall we ask for a plan?" in page
    assert "Please send your plan." in page
    assert "1 of 2 votes needed" in page
    assert [m.to for m in mail.outbox] == [[applicant.email]]
    assert Application.objects.get(pk=review.application_id).status == "under_review"


def test_a_member_changes_the_vote_until_the_decision(client_for, review, dac_member):
    client = client_for("dac_member")
    client.post(url("requests:review_vote", review), {"choice": "reject"})
    client.post(url("requests:review_vote", review), {"choice": "approve", "comment": "Convinced."})
    vote = Vote.objects.get(review=review, member=dac_member)
    assert (vote.choice, vote.comment) == ("approve", "Convinced.")


def test_a_vote_without_a_choice_is_shown_next_to_the_choice(client_for, review):
    response = client_for("dac_member").post(url("requests:review_vote", review), {"comment": "Hmm."})
    assert response.status_code == 400
    assert "Choose approve, reject or abstain." in text(response)
    assert 'id="id_choice_error"' in response.content.decode()
    assert "Hmm." in text(response)  # what was typed is kept
    assert not review.votes.exists()


def test_a_secretary_cannot_vote(client_for, review):
    page = text(client_for("dac_secretary").get(url("requests:review", review)))
    assert "does not vote" in page
    assert 'name="choice"' not in page
    response = client_for("dac_secretary").post(url("requests:review_vote", review), {"choice": "approve"})
    assert response.status_code == 403
    assert not review.votes.exists()


def test_a_secretary_writes_in_the_discussion(client_for, review):
    response = client_for("dac_secretary").post(
        url("requests:review_note", review), {"kind": "discussion", "text": "Agenda of the next meeting."}
    )
    assert response.status_code == 302
    assert review.notes.get().text == "Agenda of the next meeting."


def test_a_note_of_an_unknown_kind_is_refused(client_for, review):
    response = client_for("dac_member").post(url("requests:review_note", review), {"kind": "public", "text": "x"})
    assert response.status_code == 400
    assert not review.notes.exists()


def test_an_empty_message_is_shown_next_to_its_field(client_for, review):
    response = client_for("dac_chair").post(url("requests:review_note", review), {"kind": "to_applicant", "text": ""})
    assert response.status_code == 400
    assert 'id="id_to_applicant_text_error"' in response.content.decode()
    assert "Write something first." in text(response)


def test_a_member_with_a_declared_conflict_cannot_vote_and_is_out_of_the_quorum(client_for, review, dac_chair):
    member = client_for("dac_member")
    response = member.post(url("requests:review_vote", review), {"conflict_of_interest": "on"})
    assert response.status_code == 302
    page = text(member.get(url("requests:review", review)))
    assert "you are out of the vote and the quorum" in page
    assert 'name="choice"' not in page
    refused = member.post(url("requests:review_vote", review), {"choice": "approve"}, follow=True)
    assert "You declared a conflict of interest on this review and cannot vote on it." in text(refused)
    assert review.votes.get().conflict_of_interest is True
    # Of the two voters only the chair is left, so the chair's vote alone makes the quorum.
    assert review_selectors.quorum_of(review) == (0, 1)
    client_for("dac_chair").post(url("requests:review_vote", review), {"choice": "approve"})
    chair_page = text(client_for("dac_chair").get(url("requests:review", review)))
    assert "1 of 1 vote needed for the quorum: the quorum is met" in chair_page
    assert "Record the decision" in chair_page


# --- Return ------------------------------------------------------------------------------------


def test_returning_sends_the_application_back_with_the_message(
    client_for, review, applicant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("dac_chair").post(
            url("requests:review_return", review), {"message": "Describe how the data will be stored."}
        )
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == "returned"
    assert Application.objects.get(pk=review.application_id).status == "returned"
    assert [m.to for m in mail.outbox] == [[applicant.email]]
    mine = text(client_for("applicant").get(reverse("requests:detail", args=[review.application_id])))
    assert "Describe how the data will be stored." in mine
    assert "Edit and resubmit" in mine


def test_returning_without_a_message_is_shown_next_to_the_field(client_for, review):
    response = client_for("dac_chair").post(url("requests:review_return", review), {"message": "  "})
    assert response.status_code == 400
    assert 'id="id_message_error"' in response.content.decode()
    assert "Tell the applicant what to change." in text(response)
    review.refresh_from_db()
    assert review.status == "pending"


def test_a_member_cannot_return_or_decide(client_for, review, dac_chair, dac_member):
    quorum_met(review, dac_chair, dac_member)
    member = client_for("dac_member")
    assert member.post(url("requests:review_return", review), {"message": "No."}).status_code == 403
    assert member.post(url("requests:review_decide", review), decision_body(review)).status_code == 403
    assert "Record the decision" not in text(member.get(url("requests:review", review)))
    review.refresh_from_db()
    assert review.status == "pending"


# --- Decide ------------------------------------------------------------------------------------


def test_deciding_before_the_quorum_is_met_is_refused_with_a_message(client_for, review, dac_member):
    quorum_met(review, dac_member)
    chair = client_for("dac_chair")
    page = text(chair.get(url("requests:review", review)))
    assert "You can decide once the quorum is met: 1 of 2 votes so far." in page
    response = chair.post(url("requests:review_decide", review), decision_body(review), follow=True)
    assert "The quorum is not met: 1 of 2 votes." in text(response)
    assert not DatasetDecision.objects.exists()


def test_the_decision_form_proposes_the_length_and_the_matchers_conditions(
    client_for, review, ts_dataset, gru_dataset, dac_chair, dac_member
):
    quorum_met(review, dac_chair, dac_member)
    page = client_for("dac_chair").get(url("requests:review", review)).content.decode()
    # The applicant asked for 24 months; the committee's default is 12; TS caps one dataset at 6.
    assert f'id="months_{gru_dataset.accession}" value="12"' in page
    assert f'id="months_{ts_dataset.accession}" value="6"' in page
    assert f"Permit length for {ts_dataset.accession} (months, at most 6)" in page
    conditions = re.search(rf'<textarea name="conditions_{ts_dataset.accession}"[^>]*>([^<]*)</textarea>', page)
    assert "use for at most 6 months" in conditions[1]


def test_months_above_the_cap_are_shown_next_to_the_field(client_for, review, ts_dataset, dac_chair, dac_member):
    quorum_met(review, dac_chair, dac_member)
    body = decision_body(review, **{f"months_{ts_dataset.accession}": "12"})
    response = client_for("dac_chair").post(url("requests:review_decide", review), body)
    assert response.status_code == 400
    error = re.search(rf'id="months_{ts_dataset.accession}_error"><p>([^<]*)</p>', response.content.decode())
    assert error[1] == "Must be a whole number of months from 1 to 6"
    assert f'id="months_{ts_dataset.accession}" value="12"' in response.content.decode()  # kept as typed
    assert not DatasetDecision.objects.exists()


def test_a_length_that_is_not_a_number_is_shown_next_to_the_field(
    client_for, review, gru_dataset, dac_chair, dac_member
):
    quorum_met(review, dac_chair, dac_member)
    body = decision_body(review, **{f"months_{gru_dataset.accession}": "a year"})
    response = client_for("dac_chair").post(url("requests:review_decide", review), body)
    assert response.status_code == 400
    assert f'id="months_{gru_dataset.accession}_error"' in response.content.decode()
    assert 'value="a year"' in response.content.decode()


def test_rejecting_without_a_reason_is_shown_next_to_the_field(client_for, review, gru_dataset, dac_chair, dac_member):
    quorum_met(review, dac_chair, dac_member)
    body = decision_body(review, **{f"outcome_{gru_dataset.accession}": "reject"})
    response = client_for("dac_chair").post(url("requests:review_decide", review), body)
    assert response.status_code == 400
    error = re.search(rf'id="reason_{gru_dataset.accession}_error"><p>([^<]*)</p>', response.content.decode())
    assert error[1] == "Give the applicant the reason for the rejection"
    assert not DatasetDecision.objects.exists()


def test_a_dataset_without_an_outcome_is_shown_next_to_its_choice(
    client_for, review, gru_dataset, dac_chair, dac_member
):
    quorum_met(review, dac_chair, dac_member)
    body = decision_body(review)
    del body[f"outcome_{gru_dataset.accession}"]
    response = client_for("dac_chair").post(url("requests:review_decide", review), body)
    assert response.status_code == 400
    assert f'id="outcome_{gru_dataset.accession}_error"' in response.content.decode()


def test_approving_and_rejecting_issues_permits_with_the_length_and_the_edited_conditions(
    client_for, review, applicant, ts_dataset, gru_dataset, dac_chair, dac_member
):
    quorum_met(review, dac_chair, dac_member)
    page = client_for("dac_chair").get(url("requests:review", review)).content.decode()
    proposed = html.unescape(
        re.search(rf'<textarea name="conditions_{ts_dataset.accession}"[^>]*>([^<]*)</textarea>', page)[1]
    )
    body = {
        f"outcome_{ts_dataset.accession}": "approve",
        f"months_{ts_dataset.accession}": "4",
        f"conditions_{ts_dataset.accession}": proposed.strip() + "\nReport publications to the committee.",
        f"outcome_{gru_dataset.accession}": "reject",
        f"reason_{gru_dataset.accession}": "The population data is not needed for this question.",
    }
    response = client_for("dac_chair").post(url("requests:review_decide", review), body)
    assert response.status_code == 302
    permit = Permit.objects.get()
    assert (permit.grantee, permit.dataset) == (applicant, ts_dataset)
    assert permit.expires_at == permit.starts_at + relativedelta(months=4)
    texts = [c["text"] for c in permit.conditions]
    assert texts[-1] == "Report publications to the committee."
    assert permit.conditions[-1]["code"] == "DAC"
    # A line kept as the matcher wrote it keeps the matcher's code, not the committee's.
    assert all(c["code"] != "DAC" for c in permit.conditions[:-1])
    rejected = DatasetDecision.objects.get(dataset=gru_dataset)
    assert (rejected.outcome, rejected.reason) == ("reject", "The population data is not needed for this question.")
    assert Application.objects.get(pk=review.application_id).status == "decided"


def test_a_vote_after_the_decision_is_refused_with_a_clear_message(client_for, review, dac_chair, dac_member):
    quorum_met(review, dac_chair, dac_member)
    client_for("dac_chair").post(url("requests:review_decide", review), decision_body(review))
    response = client_for("dac_member").post(url("requests:review_vote", review), {"choice": "reject"}, follow=True)
    assert response.status_code == 200
    assert "The review is decided; votes and decisions are closed." in text(response)
    assert Vote.objects.get(review=review, member=dac_member).choice == "approve"
    assert 'name="choice"' not in text(response)


def test_deciding_twice_gives_one_decision(client_for, review, dac_chair, dac_member):
    quorum_met(review, dac_chair, dac_member)
    chair = client_for("dac_chair")
    chair.post(url("requests:review_decide", review), decision_body(review))
    again = chair.post(url("requests:review_decide", review), decision_body(review), follow=True)
    assert "The review is decided" in text(again)
    assert DatasetDecision.objects.count() == 2
    assert Permit.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_chairs_deciding_at_once_give_one_decision_and_one_set_of_permits(
    applicant, gru_dataset, ts_dataset, dac, dac_chair, dac_member
):
    second_chair = UserFactory(email="vice.chair@example.org", name="Vera Vice")
    from datasets import services as catalogue

    catalogue.dac_membership_set(dac=dac, user=second_chair, role="chair")
    review = submit(applicant, [gru_dataset, ts_dataset]).reviews.get()
    quorum_met(review, dac_chair, dac_member)
    decisions = [
        services.DecisionInput(dataset=d.accession, outcome="approve", months=6) for d in (gru_dataset, ts_dataset)
    ]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(chair) -> None:
        try:
            barrier.wait()
            services.review_decide(review=review, actor=chair, decisions=decisions)
            outcomes.append("decided")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(chair,)) for chair in (dac_chair, second_chair)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "decided"]
    assert DatasetDecision.objects.filter(review=review).count() == 2
    assert Permit.objects.filter(application_id=review.application_id).count() == 2


# --- What the applicant sees -------------------------------------------------------------------------


def test_the_applicant_sees_messages_and_decisions_but_never_votes_or_the_discussion(
    client_for, review, gru_dataset, ts_dataset, dac_chair, dac_member
):
    member, chair = client_for("dac_member"), client_for("dac_chair")
    member.post(url("requests:review_vote", review), {"choice": "reject", "comment": "SECRET-VOTE-COMMENT"})
    chair.post(url("requests:review_vote", review), {"choice": "approve", "comment": "CHAIR-COMMENT"})
    chair.post(url("requests:review_note", review), {"kind": "discussion", "text": "SECRET-DISCUSSION"})
    chair.post(url("requests:review_note", review), {"kind": "to_applicant", "text": "We are reviewing it now."})
    body = decision_body(
        review,
        **{f"outcome_{gru_dataset.accession}": "reject", f"reason_{gru_dataset.accession}": "Not needed."},
    )
    assert chair.post(url("requests:review_decide", review), body).status_code == 302

    applicant = client_for("applicant")
    assert applicant.get(url("requests:review", review)).status_code == 404
    page = text(applicant.get(reverse("requests:detail", args=[review.application_id])))
    for secret in ("SECRET-VOTE-COMMENT", "CHAIR-COMMENT", "SECRET-DISCUSSION", "Mika Member", "Reject</span>"):
        assert secret not in page, secret
    assert "We are reviewing it now." in page
    assert f"{gru_dataset.accession}</span>: <strong>Rejected</strong>" in page
    assert "Reason: Not needed." in page
    assert f"{ts_dataset.accession}</span>: <strong>Approved</strong> for 6 months" in page
    permit = Permit.objects.get(dataset=ts_dataset)
    assert f'datetime="{permit.expires_at.isoformat()}"' in page
    assert "use for at most 6 months" in page  # the permit's conditions


# --- Inbox -------------------------------------------------------------------------------------


def make_reviews(count: int, *, dac, dataset, applicant, voter=None) -> list[Review]:
    """`count` pending reviews of `dataset`, written in bulk: the submission service is exercised
    elsewhere, and 500 submissions through it would take minutes. Every third waits 40 days and
    the matcher's decisions rotate through approve, review and deny."""
    now = timezone.now()
    apps = Application.objects.bulk_create(
        Application(applicant=applicant, status="submitted", title=f"Study {i}", submitted_at=now, version=1)
        for i in range(count)
    )
    reviews = Review.objects.bulk_create(
        Review(application=a, dac=dac, opened_at=now - dt.timedelta(days=40 if i % 3 == 0 else 1))
        for i, a in enumerate(apps)
    )
    decisions = ("approve", "review", "deny")
    ApplicationDataset.objects.bulk_create(
        ApplicationDataset(application=a, dataset=dataset, review=r, match={"decision": decisions[i % 3]})
        for i, (a, r) in enumerate(zip(apps, reviews, strict=True))
    )
    if voter is not None:
        Vote.objects.bulk_create(Vote(review=r, member=voter, choice="approve") for r in reviews[::2])
    return reviews


def inbox_titles(response) -> list[str]:
    return re.findall(r'<a href="/requests/reviews/\d+/">([^<]+)</a>', response.content.decode())


def test_the_inbox_lists_pending_reviews_oldest_first_with_votes_and_age(
    client_for, committee, gru_dataset, applicant, dac_member
):
    make_reviews(4, dac=committee, dataset=gru_dataset, applicant=applicant, voter=dac_member)
    response = client_for("dac_member").get(reverse("requests:inbox"))
    assert inbox_titles(response) == ["Study 0", "Study 3", "Study 1", "Study 2"]
    page = text(response)
    assert "40 days" in page
    assert "1 of 2" in page
    assert "0 of 2" in page
    assert "you voted" in page
    newest = client_for("dac_member").get(reverse("requests:inbox"), {"sort": "newest"})
    assert inbox_titles(newest) == ["Study 2", "Study 1", "Study 3", "Study 0"]


def test_the_inbox_counts_each_status_and_filters(client_for, committee, gru_dataset, ts_dataset, applicant):
    reviews = make_reviews(6, dac=committee, dataset=gru_dataset, applicant=applicant)
    with arranging_states():
        Review.objects.filter(pk__in=[reviews[1].pk, reviews[2].pk]).update(status="decided")
        Review.objects.filter(pk=reviews[4].pk).update(status="returned")
    ApplicationDataset.objects.create(application=reviews[5].application, dataset=ts_dataset, review=reviews[5])
    client = client_for("dac_chair")
    page = text(client.get(reverse("requests:inbox")))
    for label, count in (
        ("Pending", 3),
        ("Returned to the applicant", 1),
        ("Decided", 2),
        ("Withdrawn", 0),
        ("All", 6),
    ):
        assert f'{label} <span class="count">{count}</span>' in page, label

    def titles(**query) -> list[str]:
        return inbox_titles(client.get(reverse("requests:inbox"), query))

    assert titles() == ["Study 0", "Study 3", "Study 5"]
    assert titles(status="decided") == ["Study 1", "Study 2"]
    assert titles(status="all", waiting="30") == ["Study 0", "Study 3"]
    assert titles(status="all", matcher="deny") == ["Study 2", "Study 5"]
    assert titles(dataset=ts_dataset.accession) == ["Study 5"]
    assert client.get(reverse("requests:inbox"), {"status": "lost"}).status_code == 400


def test_the_inbox_shows_each_committees_reviews_to_its_members_only(
    client_for, committee, gru_dataset, applicant, other_review
):
    make_reviews(2, dac=committee, dataset=gru_dataset, applicant=applicant)
    assert inbox_titles(client_for("other_dac_member").get(reverse("requests:inbox"))) == ["Diabetes and the liver"]
    assert inbox_titles(client_for("dac_secretary").get(reverse("requests:inbox"))) == ["Study 0", "Study 1"]


def test_the_inbox_filters_by_committee_for_members_of_several(
    client_for, committee, gru_dataset, applicant, other_review
):
    from datasets import services as catalogue

    make_reviews(1, dac=committee, dataset=gru_dataset, applicant=applicant)
    both = UserFactory(email="both@example.org")
    catalogue.dac_membership_set(dac=committee, user=both, role="member")
    catalogue.dac_membership_set(dac=other_review.dac, user=both, role="member")
    client = Client()
    client.force_login(both)
    assert len(inbox_titles(client.get(reverse("requests:inbox")))) == 2
    only = client.get(reverse("requests:inbox"), {"dac": other_review.dac.slug})
    assert inbox_titles(only) == ["Diabetes and the liver"]


def inbox_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("requests:inbox"), {"status": "all"})
    assert response.status_code == 200
    return len(queries.captured_queries)


def test_the_inbox_query_count_does_not_grow_with_the_number_of_reviews(
    client_for, committee, gru_dataset, applicant, dac_member, dac_chair
):
    client = client_for("dac_chair")
    make_reviews(5, dac=committee, dataset=gru_dataset, applicant=applicant, voter=dac_member)
    few = inbox_queries(client)
    others = UserFactory(email="prolific@example.org")
    make_reviews(495, dac=committee, dataset=gru_dataset, applicant=others, voter=dac_chair)
    many = inbox_queries(client)
    assert Review.objects.count() == 500
    assert few == many, (few, many)
    print(f"inbox queries: {few} for 5 reviews, {many} for 500")


# --- Committee policy --------------------------------------------------------------------------------


def policy(client, dac: DataAccessCommittee, **changes):
    body = {"quorum": "3", "default_permit_months": "6", "max_permit_months": "24", "auto_approve": "on"}
    body.update(changes)
    return client.post(
        reverse("datasets:dac_policy", args=[dac.slug]), {k: v for k, v in body.items() if v is not None}
    )


def test_the_secretary_changes_the_policy_and_it_is_audited(client_for, committee, dac_secretary):
    response = policy(client_for("dac_secretary"), committee)
    assert response.status_code == 302
    committee.refresh_from_db()
    assert (committee.quorum, committee.default_permit_months, committee.max_permit_months) == (3, 6, 24)
    assert committee.auto_approve is True
    event = AuditEvent.objects.get(action="dac.policy_changed")
    assert event.actor == dac_secretary
    assert event.data["before"] == {
        "quorum": 2,
        "default_permit_months": 12,
        "max_permit_months": 36,
        "auto_approve": False,
    }
    assert event.data["after"] == {
        "quorum": 3,
        "default_permit_months": 6,
        "max_permit_months": 24,
        "auto_approve": True,
    }
    page = text(client_for("dac_secretary").get(reverse("datasets:dac_detail", args=[committee.slug])))
    assert "3 votes" in page


def test_the_policy_link_is_shown_only_to_those_who_may_edit(client_for, committee):
    link = reverse("datasets:dac_policy", args=[committee.slug])
    for persona, shown in (("dac_chair", True), ("dac_secretary", True), ("dac_member", False), ("staff", False)):
        page = client_for(persona).get(reverse("datasets:dac_detail", args=[committee.slug])).content.decode()
        assert (link in page) is shown, persona


def test_a_default_longer_than_the_maximum_is_shown_next_to_the_default(client_for, committee):
    response = policy(client_for("dac_chair"), committee, default_permit_months="30", max_permit_months="24")
    assert response.status_code == 400
    error = re.search(r'id="id_default_permit_months_error"><p>([^<]*)</p>', response.content.decode())
    assert error[1] == "The default cannot be longer than the longest permit (24 months)."
    assert 'value="30"' in response.content.decode()
    committee.refresh_from_db()
    assert committee.default_permit_months == 12


def test_a_quorum_below_one_is_shown_next_to_the_quorum(client_for, committee):
    response = policy(client_for("dac_chair"), committee, quorum="0")
    assert response.status_code == 400
    assert 'id="id_quorum_error"' in response.content.decode()
    committee.refresh_from_db()
    assert committee.quorum == 2


def test_a_member_may_not_change_the_policy(client_for, committee):
    assert policy(client_for("dac_member"), committee).status_code == 403
    committee.refresh_from_db()
    assert committee.quorum == 2


def test_the_policy_service_checks_the_rules_and_the_role(committee, dac_member, dac_chair):
    from datasets.services import dac_policy_update

    rules = {"quorum": 2, "default_permit_months": 12, "max_permit_months": 36, "auto_approve": False}
    with pytest.raises(NotAllowed):
        dac_policy_update(dac=committee, actor=dac_member, **{**rules, "quorum": 1})
    with pytest.raises(InvalidInput) as invalid:
        dac_policy_update(dac=committee, actor=dac_chair, **{**rules, "quorum": 0, "default_permit_months": 40})
    assert set(invalid.value.extra["fields"]) == {"quorum"}
    with pytest.raises(InvalidInput) as invalid:
        dac_policy_update(dac=committee, actor=dac_chair, **{**rules, "default_permit_months": 40})
    assert set(invalid.value.extra["fields"]) == {"default_permit_months"}
    dac_policy_update(dac=committee, actor=dac_chair, **rules)  # nothing changes: nothing audited
    assert not AuditEvent.objects.filter(action="dac.policy_changed").exists()
