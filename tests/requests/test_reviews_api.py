"""The people's API for committee review: /api/v1/reviews and its actions (README.md, "The API")."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from requests import services
from requests.models import Application, Permit, Review
from requests.selectors import reviews as review_selectors
from tests.factories import DatasetFactory, complete_application

pytestmark = pytest.mark.django_db

COLLABORATOR = "other.applicant@example.org"


@pytest.fixture
def committee(dac, dac_chair, dac_member, dac_secretary):
    """The `dac` with its chair, member and secretary: two voters, so a quorum of two."""
    return dac


@pytest.fixture
def gru_datasets(committee):
    """Two datasets of `dac` without IRB (general research use), so no ethics document is needed."""
    return [
        DatasetFactory(dac=committee, title="Finnish Population Genomes"),
        DatasetFactory(dac=committee, title="Helsinki Biobank Exomes"),
    ]


def submit(applicant, datasets, **overrides) -> Application:
    app = complete_application(applicant, datasets, **overrides)
    return services.application_submit(application=app, actor=applicant)


@pytest.fixture
def review(applicant, gru_datasets) -> Review:
    return submit(applicant, gru_datasets).reviews.get()


@pytest.fixture
def other_review(applicant, other_dac, other_dac_member) -> Review:
    """A review in `other_dac` of another application by the same applicant."""
    return submit(applicant, [DatasetFactory(dac=other_dac, title="Metabolic Cohort")]).reviews.get()


def post(client, name: str, review: Review, body) -> object:
    return client.post(reverse(name, args=[review.pk]), body, content_type="application/json")


def vote(client, review: Review, choice: str = "approve", **extra):
    return post(client, "api:review_votes", review, {"vote": choice, **extra})


def quorum_met(review: Review, dac_chair, dac_member) -> None:
    for member in (dac_chair, dac_member):
        services.review_vote(review=review, actor=member, choice="approve")


def approvals(review: Review, months: int = 12) -> dict:
    accessions = sorted(review.items.values_list("dataset__accession", flat=True))
    return {"decisions": [{"dataset": a, "outcome": "approve", "months": months} for a in accessions]}


# --- List ---------------------------------------------------------------------------------------


def test_the_list_holds_only_the_callers_committees_reviews(client_for, review, other_review, applicant):
    mine = client_for("dac_member").get(reverse("api:reviews"))
    assert mine.status_code == 200
    assert (mine.json()["count"], mine.json()["next"]) == (1, None)
    assert [r["id"] for r in mine.json()["results"]] == [review.pk]
    row = mine.json()["results"][0]
    assert row["dac"] == "cancer-dac"
    assert row["status"] == "pending"
    assert row["application"] == {"id": review.application_id, "title": "Germline variants in breast cancer"}
    assert row["applicant"]["name"] == applicant.name
    expected = sorted((i.dataset.accession, "approve") for i in review.items.all())
    assert sorted((d["accession"], d["match"]) for d in row["datasets"]) == expected
    assert row["quorum"] == {"counted": 0, "needed": 2}
    assert row["age_days"] == 0

    theirs = client_for("other_dac_member").get(reverse("api:reviews")).json()["results"]
    assert [r["id"] for r in theirs] == [other_review.pk]


@pytest.mark.parametrize("persona", ["applicant", "other_applicant", "staff"])
def test_people_outside_every_committee_get_an_empty_list(client_for, review, persona):
    response = client_for(persona).get(reverse("api:reviews"))
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_the_list_filters_by_status_and_committee(client_for, applicant, gru_datasets, dac_chair):
    pending = submit(applicant, gru_datasets[:1]).reviews.get()
    returned = submit(applicant, gru_datasets[1:]).reviews.get()
    services.review_return(review=returned, actor=dac_chair, message="Name the cohort.")
    client = client_for("dac_chair")

    def ids(query: str) -> list[int]:
        return [r["id"] for r in client.get(reverse("api:reviews") + query).json()["results"]]

    assert ids("?status=returned") == [returned.pk]
    assert ids("?status=pending") == [pending.pk]
    assert ids("?dac=cancer-dac") == [pending.pk, returned.pk]
    assert ids("?dac=metabolic-dac") == []


def test_an_unknown_status_filter_is_400_naming_status(client_for, review):
    response = client_for("dac_member").get(reverse("api:reviews") + "?status=open")
    assert response.status_code == 400
    assert "status" in response.json()["extra"]["fields"]


def test_the_list_is_refused_to_anonymous_visitors_with_401(client_for):
    assert client_for("anonymous").get(reverse("api:reviews")).status_code == 401


def _list_queries(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("api:reviews"))
    assert response.status_code == 200
    return len(queries), len(response.json()["results"])


def test_the_list_costs_the_same_number_of_queries_for_3_and_30_reviews(
    client_for, applicant, gru_datasets, dac_chair, dac_member
):
    def add(count: int) -> None:
        for n in range(count):
            review = submit(applicant, gru_datasets).reviews.get()
            services.review_vote(review=review, actor=dac_member, choice="approve", comment="Fine.")
            if n % 2:
                services.review_vote(review=review, actor=dac_chair, conflict_of_interest=True)

    client = client_for("dac_secretary")
    # Guardian caches a permission's content type for the process on first use: warm it first,
    # so that both measurements count only what the rows cost.
    client.get(reverse("api:reviews"))
    add(3)
    few, rows = _list_queries(client)
    assert rows == 3
    add(27)
    many, rows = _list_queries(client)
    assert rows == 30
    assert many == few


def test_the_lists_quorum_agrees_with_the_service(
    client_for, applicant, gru_datasets, dac_chair, dac_member, committee
):
    # A conflict takes a voter out: with one able voter left, that one vote is the whole quorum.
    conflicted = submit(applicant, gru_datasets).reviews.get()
    services.review_vote(review=conflicted, actor=dac_chair, conflict_of_interest=True)
    half = submit(applicant, gru_datasets).reviews.get()
    services.review_vote(review=half, actor=dac_member, choice="reject")
    committee.quorum = 5
    committee.save(update_fields=["quorum"])
    rows = client_for("dac_member").get(reverse("api:reviews")).json()["results"]
    for row in rows:
        counted, needed = review_selectors.quorum_of(Review.objects.select_related("dac").get(pk=row["id"]))
        assert row["quorum"] == {"counted": counted, "needed": needed}
    assert {r["id"]: r["quorum"]["needed"] for r in rows} == {conflicted.pk: 1, half.pk: 2}


# --- Read ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("dac_member", 200),
        ("dac_chair", 200),
        ("dac_secretary", 200),
        ("applicant", 404),
        ("other_applicant", 404),
        ("other_dac_member", 404),
        ("staff", 404),
        ("anonymous", 401),
    ],
)
def test_a_review_is_read_by_its_committee_only(client_for, review, persona, expected):
    assert client_for(persona).get(reverse("api:review", args=[review.pk])).status_code == expected


def test_a_missing_review_is_404(client_for, review):
    assert client_for("dac_chair").get(reverse("api:review", args=[review.pk + 1000])).status_code == 404


def test_the_review_shows_the_application_matches_votes_notes_and_messages(
    client_for, review, applicant, dac_member, dac_chair
):
    services.review_vote(review=review, actor=dac_member, choice="reject", comment="Too broad.")
    services.review_vote(review=review, actor=dac_chair, conflict_of_interest=True)
    services.review_note_add(review=review, actor=dac_chair, kind="discussion", text="Ask about the cohort.")
    services.review_note_add(review=review, actor=dac_chair, kind="to_applicant", text="Which cohort?")

    data = client_for("dac_secretary").get(reverse("api:review", args=[review.pk])).json()

    application = data["application"]
    assert application["title"] == "Germline variants in breast cancer"
    assert application["lay_summary"].startswith("We look for inherited changes")
    assert application["abstract"] == "A case-control analysis of germline variants."
    assert application["purpose"]["diseases"] == ["MONDO:0007254"]
    assert "breast" in application["purpose_text"].lower()
    assert "MONDO:0007254" not in application["purpose_text"]
    assert application["requested_months"] == 12
    assert application["applicant"] == {"sub": str(applicant.sub), "name": applicant.name}
    assert all(d["match"]["decision"] == "approve" for d in data["datasets"])
    assert len(data["datasets"]) == 2
    assert [(v["member"]["name"], v["choice"], v["comment"], v["conflict_of_interest"]) for v in data["votes"]] == [
        ("Mika Member", "reject", "Too broad.", False),
        ("Chiara Chair", "", "", True),
    ]
    assert data["quorum"] == {"counted": 1, "needed": 1}
    assert [n["text"] for n in data["discussion"]] == ["Ask about the cohort."]
    assert [n["text"] for n in data["messages"]] == ["Which cohort?"]
    assert (data["decisions"], data["permits"], data["decided_at"]) == ([], [], None)


# --- Votes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("persona", "name"), [("dac_member", "Mika Member"), ("dac_chair", "Chiara Chair")])
def test_chair_and_members_vote_with_201(client_for, review, persona, name):
    response = vote(client_for(persona), review, "abstain", comment="Unsure about consent.")
    assert response.status_code == 201
    body = response.json()
    assert (body["member"]["name"], body["choice"], body["comment"]) == (name, "abstain", "Unsure about consent.")
    assert body["conflict_of_interest"] is False
    assert Application.objects.get(pk=review.application_id).status == "under_review"


def test_a_member_may_change_the_vote(client_for, review):
    client = client_for("dac_member")
    vote(client, review, "reject")
    assert vote(client, review, "approve").status_code == 201
    assert list(review.votes.values_list("choice", flat=True)) == ["approve"]


def test_a_secretary_may_not_vote(client_for, review):
    response = vote(client_for("dac_secretary"), review)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert not review.votes.exists()


def test_another_committees_member_gets_404_when_voting(client_for, review):
    assert vote(client_for("other_dac_member"), review).status_code == 404
    assert not review.votes.exists()


def test_after_declaring_a_conflict_of_interest_voting_is_refused(client_for, review):
    client = client_for("dac_member")
    declared = post(client, "api:review_votes", review, {"conflict_of_interest": True, "comment": "My own cohort."})
    assert declared.status_code == 201
    assert (declared.json()["choice"], declared.json()["conflict_of_interest"]) == ("", True)
    refused = vote(client, review, "approve")
    assert refused.status_code == 409
    assert refused.json()["code"] == "conflict_of_interest"


def test_a_vote_after_the_decision_is_409(client_for, review, dac_chair, dac_member):
    quorum_met(review, dac_chair, dac_member)
    assert post(client_for("dac_chair"), "api:review_decide", review, approvals(review)).status_code == 200
    response = vote(client_for("dac_member"), review, "reject")
    assert response.status_code == 409
    assert response.json()["code"] == "review_closed"
    assert "decided" in response.json()["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "vote"),
        ({"vote": "maybe"}, "vote"),
        ({"vote": 1}, "vote"),
        ({"vote": "approve", "comment": 3}, "comment"),
        ({"vote": "approve", "conflict_of_interest": "yes"}, "conflict_of_interest"),
        ([], "body"),
    ],
)
def test_a_bad_vote_is_400_naming_the_field(client_for, review, body, field):
    response = post(client_for("dac_member"), "api:review_votes", review, body)
    assert response.status_code == 400
    assert field in response.json()["extra"]["fields"]
    assert not review.votes.exists()


@pytest.mark.parametrize("name", ["api:review_votes", "api:review_return", "api:review_decide"])
def test_malformed_json_is_400(client_for, review, name):
    response = client_for("dac_chair").post(
        reverse(name, args=[review.pk]), '{"vote": "approve",', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed"


# --- Return -------------------------------------------------------------------------------------


def test_the_chair_returns_the_application_with_a_message(client_for, review):
    response = post(client_for("dac_chair"), "api:review_return", review, {"message": "Name the cohorts you need."})
    assert response.status_code == 200
    assert response.json()["status"] == "returned"
    assert [m["text"] for m in response.json()["messages"]] == ["Name the cohorts you need."]
    assert Application.objects.get(pk=review.application_id).status == "returned"


def test_a_member_may_not_return_an_application(client_for, review):
    response = post(client_for("dac_member"), "api:review_return", review, {"message": "Please clarify."})
    assert response.status_code == 403
    assert Review.objects.get(pk=review.pk).status == "pending"


@pytest.mark.parametrize("body", [{}, {"message": "   "}, {"message": 5}])
def test_returning_without_a_message_is_400_naming_message(client_for, review, body):
    response = post(client_for("dac_chair"), "api:review_return", review, body)
    assert response.status_code == 400
    assert "message" in response.json()["extra"]["fields"]
    assert Review.objects.get(pk=review.pk).status == "pending"


# --- Decide -------------------------------------------------------------------------------------


def test_deciding_before_the_quorum_is_409_quorum_not_met(client_for, review, dac_member):
    services.review_vote(review=review, actor=dac_member, choice="approve")
    response = post(client_for("dac_chair"), "api:review_decide", review, approvals(review))
    assert response.status_code == 409
    assert response.json()["code"] == "quorum_not_met"
    assert response.json()["extra"] == {"votes": 1, "needed": 2}


def test_a_member_may_not_decide(client_for, review, dac_chair, dac_member):
    quorum_met(review, dac_chair, dac_member)
    assert post(client_for("dac_member"), "api:review_decide", review, approvals(review)).status_code == 403
    assert not Permit.objects.exists()


def test_months_above_the_committees_cap_are_400_naming_the_decision(client_for, review, dac_chair, dac_member):
    quorum_met(review, dac_chair, dac_member)
    body = approvals(review)
    body["decisions"][1]["months"] = review.dac.max_permit_months + 1
    response = post(client_for("dac_chair"), "api:review_decide", review, body)
    assert response.status_code == 400
    assert list(response.json()["extra"]["fields"]) == ["decisions[1].months"]
    assert not Permit.objects.exists()


def test_leaving_out_one_of_the_datasets_is_400(client_for, review, dac_chair, dac_member):
    quorum_met(review, dac_chair, dac_member)
    body = approvals(review)
    body["decisions"].pop()
    response = post(client_for("dac_chair"), "api:review_decide", review, body)
    assert response.status_code == 400
    assert "decisions" in response.json()["extra"]["fields"]


def test_a_rejection_without_a_reason_is_400(client_for, review, dac_chair, dac_member):
    quorum_met(review, dac_chair, dac_member)
    body = approvals(review)
    body["decisions"][0] = {"dataset": body["decisions"][0]["dataset"], "outcome": "reject"}
    response = post(client_for("dac_chair"), "api:review_decide", review, body)
    assert response.status_code == 400
    assert "decisions[0].reason" in response.json()["extra"]["fields"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"months": "12"}, "decisions[0].months"),
        ({"months": True}, "decisions[0].months"),
        ({"dataset": 7}, "decisions[0].dataset"),
        ({"outcome": "maybe"}, "decisions[0].outcome"),
        ({"reason": ["no"]}, "decisions[0].reason"),
        ({"conditions": "publish"}, "decisions[0].conditions"),
        ({"conditions": [""]}, "decisions[0].conditions[0]"),
    ],
)
def test_a_decision_of_the_wrong_type_is_400_naming_the_field(client_for, review, dac_chair, dac_member, change, field):
    quorum_met(review, dac_chair, dac_member)
    body = approvals(review)
    body["decisions"][0].update(change)
    response = post(client_for("dac_chair"), "api:review_decide", review, body)
    assert response.status_code == 400
    assert field in response.json()["extra"]["fields"]
    assert Review.objects.get(pk=review.pk).status == "pending"


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "decisions"), ({"decisions": "approve all"}, "decisions"), ({"decisions": ["x"]}, "decisions[0]")],
)
def test_a_decide_body_of_the_wrong_shape_is_400(client_for, review, dac_chair, dac_member, body, field):
    quorum_met(review, dac_chair, dac_member)
    response = post(client_for("dac_chair"), "api:review_decide", review, body)
    assert response.status_code == 400
    assert field in response.json()["extra"]["fields"]


DECIDED_AT = dt.datetime(2031, 1, 31, 9, 30, tzinfo=dt.UTC)


def test_deciding_issues_permits_to_the_applicant_and_the_collaborator_who_accepted(
    client_for, applicant, other_applicant, gru_datasets, dac_chair, dac_member
):
    with time_machine.travel(DECIDED_AT, tick=False):
        app = complete_application(applicant, gru_datasets, collaborators=[COLLABORATOR])
        services.application_agreements_accept(application=app, actor=other_applicant)
        review = services.application_submit(application=app, actor=applicant).reviews.get()
        quorum_met(review, dac_chair, dac_member)
        first, second = sorted(d.accession for d in gru_datasets)
        body = {
            "decisions": [
                {"dataset": first.lower(), "outcome": "approve", "months": 1, "conditions": ["Cite the cohort."]},
                {"dataset": second, "outcome": "reject", "reason": "Not needed for the question."},
            ]
        }
        response = post(client_for("dac_chair"), "api:review_decide", review, body)

    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "decided"
    assert [(d["dataset"], d["outcome"], d["months"]) for d in data["decisions"]] == [
        (first, "approve", 1),
        (second, "reject", None),
    ]
    # relativedelta keeps the calendar: a month after 31 January is 28 February.
    expires = DECIDED_AT + relativedelta(months=1)
    assert expires.date() == dt.date(2031, 2, 28)
    issued = {(p["grantee"], p["dataset"]) for p in data["permits"]}
    assert issued == {(str(applicant.sub), first), (str(other_applicant.sub), first)}
    for permit in data["permits"]:
        assert dt.datetime.fromisoformat(permit["starts_at"]) == DECIDED_AT
        assert dt.datetime.fromisoformat(permit["expires_at"]) == expires
        assert permit["conditions"] == [{"code": "DAC", "text": "Cite the cohort."}]
    assert Permit.objects.filter(status="active").count() == 2
    assert Application.objects.get(pk=app.pk).status == "decided"


def test_without_conditions_the_matchers_proposal_is_kept(client_for, review, dac_chair, dac_member):
    quorum_met(review, dac_chair, dac_member)
    data = post(client_for("dac_chair"), "api:review_decide", review, approvals(review, months=6)).json()
    proposed = {i.dataset.accession: i.match["conditions"] for i in review.items.select_related("dataset")}
    assert {d["dataset"]: d["conditions"] for d in data["decisions"]} == proposed


def test_a_second_decision_is_409(client_for, review, dac_chair, dac_member):
    quorum_met(review, dac_chair, dac_member)
    client = client_for("dac_chair")
    assert post(client, "api:review_decide", review, approvals(review)).status_code == 200
    again = post(client, "api:review_decide", review, approvals(review))
    assert again.status_code == 409
    assert again.json()["code"] == "review_closed"
    assert Permit.objects.count() == 2


def test_the_decided_review_reads_back_with_its_decisions_and_permits(client_for, review, dac_chair, dac_member):
    quorum_met(review, dac_chair, dac_member)
    decided = post(client_for("dac_chair"), "api:review_decide", review, approvals(review)).json()
    read = client_for("dac_member").get(reverse("api:review", args=[review.pk])).json()
    assert read["decisions"] == decided["decisions"]
    assert read["permits"] == decided["permits"]
    assert read["decided_at"] is not None
