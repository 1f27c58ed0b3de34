"""Committee review at the service level: votes, quorum, return, decisions, permits, automatic
approval, and the refusals."""

import threading

import pytest
from dateutil.relativedelta import relativedelta
from django.core import mail
from django.db import connection

from datasets import services as dataset_services
from portal.exceptions import Conflict, InvalidInput, NotAllowed
from requests import services
from requests.models import DatasetDecision, Permit, Review
from requests.selectors import reviews as review_selectors
from tests.factories import DacFactory, DatasetFactory, UserFactory, complete_application

pytestmark = pytest.mark.django_db

GRU = {"permission": "DUO:0000042", "modifiers": []}


@pytest.fixture
def two_datasets(dac):
    a = DatasetFactory(dac=dac, title="Tumour Genomes A", data_use=GRU)
    b = DatasetFactory(
        dac=dac,
        title="Tumour Genomes B",
        data_use={
            "permission": "DUO:0000042",
            "modifiers": [{"term": "DUO:0000025", "months": 6}, {"term": "DUO:0000019"}],
        },
    )
    return a, b


@pytest.fixture
def review(applicant, two_datasets, dac_chair, dac_member, dac_secretary):
    app = complete_application(applicant, list(two_datasets), purpose={"primary": "hmb"})
    services.application_submit(application=app, actor=applicant)
    return Review.objects.get(application=app)


def decide_both(review, actor, months=(12, 6)):
    a, b = sorted(i.dataset.accession for i in review.items.all())
    return services.review_decide(
        review=review,
        actor=actor,
        decisions=[
            services.DecisionInput(dataset=a, outcome="approve", months=months[0]),
            services.DecisionInput(dataset=b, outcome="reject", reason="Not covered by the consent review."),
        ],
    )


def test_votes_move_the_application_under_review_and_count_toward_the_quorum(review, dac_member, dac_chair):
    assert review_selectors.quorum_of(review) == (0, 2)
    services.review_vote(review=review, actor=dac_member, choice="approve", comment="Fine.")
    review.refresh_from_db()
    assert review.application.status == "under_review"
    services.review_vote(review=review, actor=dac_chair, choice="abstain")
    assert review_selectors.quorum_of(review) == (2, 2)


def test_a_member_may_change_the_vote_until_the_decision(review, dac_member):
    services.review_vote(review=review, actor=dac_member, choice="reject")
    services.review_vote(review=review, actor=dac_member, choice="approve")
    assert list(review.votes.values_list("choice", flat=True)) == ["approve"]


def test_a_secretary_does_not_vote(review, dac_secretary):
    with pytest.raises(NotAllowed, match="secretary does not"):
        services.review_vote(review=review, actor=dac_secretary, choice="approve")


def test_another_committee_cannot_vote(review, other_dac_member):
    with pytest.raises(NotAllowed):
        services.review_vote(review=review, actor=other_dac_member, choice="approve")


def test_a_conflict_of_interest_removes_the_member_from_vote_and_quorum(review, dac_member, dac_chair):
    services.review_vote(review=review, actor=dac_member, conflict_of_interest=True)
    with pytest.raises(Conflict, match="conflict of interest"):
        services.review_vote(review=review, actor=dac_member, choice="approve")
    # Two voters (chair, member) minus the conflicted member: the chair's vote is enough.
    assert review_selectors.quorum_of(review) == (0, 1)
    services.review_vote(review=review, actor=dac_chair, choice="approve")
    decide_both(review, dac_chair)


def test_the_chair_decides_only_once_the_quorum_is_met(review, dac_chair, dac_member):
    services.review_vote(review=review, actor=dac_chair, choice="approve")
    with pytest.raises(Conflict, match="1 of 2 votes"):
        decide_both(review, dac_chair)
    services.review_vote(review=review, actor=dac_member, choice="approve")
    decide_both(review, dac_chair)
    assert Review.objects.get(pk=review.pk).status == "decided"


def test_only_the_chair_decides(review, dac_chair, dac_member, dac_secretary):
    services.review_vote(review=review, actor=dac_chair, choice="approve")
    services.review_vote(review=review, actor=dac_member, choice="approve")
    for person in (dac_member, dac_secretary):
        with pytest.raises(NotAllowed):
            decide_both(review, person)


def test_approval_issues_permits_with_the_chosen_length_and_the_matchers_conditions(
    review, applicant, dac_chair, dac_member, django_capture_on_commit_callbacks
):
    services.review_vote(review=review, actor=dac_chair, choice="approve")
    services.review_vote(review=review, actor=dac_member, choice="approve")
    a, b = sorted((i.dataset for i in review.items.all()), key=lambda d: d.accession)
    with django_capture_on_commit_callbacks(execute=True):
        services.review_decide(
            review=review,
            actor=dac_chair,
            decisions=[
                services.DecisionInput(dataset=a.accession, outcome="approve", months=12),
                services.DecisionInput(dataset=b.accession, outcome="approve", months=6),
            ],
        )
    permits = {p.dataset_id: p for p in Permit.objects.filter(grantee=applicant)}
    assert set(permits) == {a.pk, b.pk}
    for dataset, months in ((a, 12), (b, 6)):
        permit = permits[dataset.pk]
        assert permit.expires_at == permit.starts_at + relativedelta(months=months)
        assert permit.is_live()
    assert [c["code"] for c in permits[b.pk].conditions] == ["TS", "PUB"]
    application = review.application
    application.refresh_from_db()
    assert application.status == "decided"
    assert any("Decision on" in m.subject for m in mail.outbox)


def test_permit_length_is_capped_by_duo_ts_and_the_dac_policy(review, dac_chair, dac_member):
    services.review_vote(review=review, actor=dac_chair, choice="approve")
    services.review_vote(review=review, actor=dac_member, choice="approve")
    with pytest.raises(InvalidInput) as caught:
        decide_both(review, dac_chair, months=(37, 0))
    fields = caught.value.extra["fields"]
    assert fields["decisions[0].months"] == "must be a whole number of months from 1 to 36"
    a, b = sorted(i.dataset.accession for i in review.items.all())
    with pytest.raises(InvalidInput) as caught:
        services.review_decide(
            review=review,
            actor=dac_chair,
            decisions=[
                services.DecisionInput(dataset=a, outcome="approve", months=12),
                services.DecisionInput(dataset=b, outcome="approve", months=7),
            ],
        )
    assert caught.value.extra["fields"] == {"decisions[1].months": "must be a whole number of months from 1 to 6"}
    assert not DatasetDecision.objects.exists()


def test_a_rejection_needs_a_reason_and_every_dataset_a_decision(review, dac_chair, dac_member):
    services.review_vote(review=review, actor=dac_chair, choice="approve")
    services.review_vote(review=review, actor=dac_member, choice="approve")
    a, b = sorted(i.dataset.accession for i in review.items.all())
    with pytest.raises(InvalidInput) as caught:
        services.review_decide(
            review=review,
            actor=dac_chair,
            decisions=[
                services.DecisionInput(dataset=a, outcome="reject"),
                services.DecisionInput(dataset=b, outcome="reject", reason="x"),
            ],
        )
    assert "decisions[0].reason" in caught.value.extra["fields"]
    with pytest.raises(InvalidInput) as caught:
        services.review_decide(
            review=review, actor=dac_chair, decisions=[services.DecisionInput(dataset=a, outcome="approve", months=3)]
        )
    assert "decisions" in caught.value.extra["fields"]


def test_a_vote_after_the_decision_is_refused_clearly(review, dac_chair, dac_member):
    services.review_vote(review=review, actor=dac_chair, choice="approve")
    services.review_vote(review=review, actor=dac_member, choice="approve")
    decide_both(review, dac_chair)
    with pytest.raises(Conflict, match=r"The review is decided; votes and decisions are closed\."):
        services.review_vote(review=review, actor=dac_member, choice="reject")


def test_collaborators_who_accepted_get_permits_too(applicant, two_datasets, dac_chair, dac_member):
    colleague = UserFactory(email="colleague@example.org")
    app = complete_application(
        applicant, [two_datasets[0]], purpose={"primary": "hmb"}, collaborators=[colleague.email]
    )
    services.application_agreements_accept(application=app, actor=colleague)
    services.application_submit(application=app, actor=applicant)
    review = Review.objects.get(application=app)
    services.review_vote(review=review, actor=dac_chair, choice="approve")
    services.review_vote(review=review, actor=dac_member, choice="approve")
    services.review_decide(
        review=review,
        actor=dac_chair,
        decisions=[services.DecisionInput(dataset=two_datasets[0].accession, outcome="approve", months=12)],
    )
    assert set(Permit.objects.values_list("grantee__email", flat=True)) == {applicant.email, colleague.email}


def test_a_new_approval_replaces_the_earlier_permit(applicant, two_datasets, dac_chair, dac_member):
    for _ in range(2):
        app = complete_application(applicant, [two_datasets[0]], purpose={"primary": "hmb"})
        services.application_submit(application=app, actor=applicant)
        review = Review.objects.get(application=app)
        services.review_vote(review=review, actor=dac_chair, choice="approve")
        services.review_vote(review=review, actor=dac_member, choice="approve")
        services.review_decide(
            review=review,
            actor=dac_chair,
            decisions=[services.DecisionInput(dataset=two_datasets[0].accession, outcome="approve", months=12)],
        )
    assert sorted(Permit.objects.values_list("status", flat=True)) == ["active", "replaced"]


def test_return_sends_the_application_back_with_a_message(
    review, dac_chair, dac_member, applicant, django_capture_on_commit_callbacks
):
    with pytest.raises(NotAllowed):
        services.review_return(review=review, actor=dac_member, message="Please add detail.")
    with django_capture_on_commit_callbacks(execute=True):
        services.review_return(review=review, actor=dac_chair, message="Please describe the controls.")
    review.refresh_from_db()
    assert review.status == "returned"
    assert review.application.status == "returned"
    assert review.notes.get().text == "Please describe the controls."
    assert any("needs changes" in m.subject for m in mail.outbox)
    # The applicant edits and resubmits; the review opens again as version 2.
    services.application_update(
        application=review.application, actor=applicant, changes=services.DraftChanges(abstract="With controls.")
    )
    services.application_submit(application=review.application, actor=applicant)
    review.refresh_from_db()
    assert (review.status, review.application.version) == ("pending", 2)


def test_discussion_and_messages(review, dac_member, other_dac_member, applicant, django_capture_on_commit_callbacks):
    services.review_note_add(review=review, actor=dac_member, kind="discussion", text="Looks fine to me.")
    with django_capture_on_commit_callbacks(execute=True):
        services.review_note_add(review=review, actor=dac_member, kind="to_applicant", text="Which cohort?")
    assert [m.to for m in mail.outbox if "A message from" in m.subject] == [[applicant.email]]
    with pytest.raises(NotAllowed):
        services.review_note_add(review=review, actor=other_dac_member, kind="discussion", text="Hi")
    with pytest.raises(InvalidInput):
        services.review_note_add(review=review, actor=dac_member, kind="discussion", text="  ")


def test_automatic_approval_under_the_dac_policy_is_audited_as_the_system(applicant, ontologies):
    from portal.audit import events_for

    dac = DacFactory(slug="auto-dac", auto_approve=True, default_permit_months=12)
    dataset = DatasetFactory(dac=dac, title="Reference Genomes", data_use=GRU)
    app = complete_application(applicant, [dataset], purpose={"primary": "hmb"}, requested_months=24)
    services.application_submit(application=app, actor=applicant)
    review = Review.objects.get(application=app)
    assert review.status == "decided"
    decision = review.decisions.get()
    assert decision.decided_by is None
    assert "automatic approval" in decision.automatic_policy
    permit = Permit.objects.get(grantee=applicant, dataset=dataset)
    assert permit.expires_at == permit.starts_at + relativedelta(months=12)
    event = events_for(review).get(action="review.decided")
    assert event.actor is None
    assert "automatic approval" in event.data["policy"]


@pytest.mark.parametrize(
    ("data_use", "purpose"),
    [
        ({"permission": "DUO:0000042", "modifiers": [{"term": "DUO:0000019"}]}, {"primary": "hmb"}),
        (
            {"permission": "DUO:0000007", "diseases": ["MONDO:0007254"], "modifiers": []},
            {"primary": "disease", "diseases": ["MONDO:0007254"]},
        ),
        (GRU, {"primary": "hmb", "free_text": "Also some other work."}),
    ],
)
def test_automatic_approval_does_not_apply_outside_its_narrow_case(applicant, ontologies, data_use, purpose):
    dac = DacFactory(slug="auto-dac", auto_approve=True)
    dataset = DatasetFactory(dac=dac, title="Cohort", data_use=data_use)
    app = complete_application(applicant, [dataset], purpose=purpose)
    services.application_submit(application=app, actor=applicant)
    assert Review.objects.get(application=app).status == "pending"


@pytest.mark.django_db(transaction=True)
def test_two_chairs_deciding_at_once_give_one_decision_and_one_set_of_permits(applicant, dac, ontologies):
    a = DatasetFactory(dac=dac, title="A", data_use=GRU)
    chairs = [UserFactory(), UserFactory()]
    for chair in chairs:
        dataset_services.dac_membership_set(dac=dac, user=chair, role="chair")
    app = complete_application(applicant, [a], purpose={"primary": "hmb"})
    services.application_submit(application=app, actor=applicant)
    review = Review.objects.get(application=app)
    for chair in chairs:
        services.review_vote(review=review, actor=chair, choice="approve")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(chair):
        try:
            barrier.wait()
            services.review_decide(
                review=review,
                actor=chair,
                decisions=[services.DecisionInput(dataset=a.accession, outcome="approve", months=12)],
            )
            outcomes.append("decided")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(c,)) for c in chairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "decided"]
    assert DatasetDecision.objects.filter(review=review).count() == 1
    assert Permit.objects.filter(application=app).count() == 1
