"""The three workflows (application, review, permit): one table each, one audited move(), and
no status written anywhere else; the drifts between pages and the API that were fixed."""

from __future__ import annotations

import ast
import datetime as dt
import pathlib
import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from datasets import services as dac_services
from portal.models import AuditEvent
from portal.workflow import StatusWriteOutsideMove
from requests import services
from requests.models import Application, ApplicationStatus, Permit, PermitEvent, PermitStatus, Review, ReviewStatus
from tests.conftest import grant_permits
from tests.factories import DatasetFactory, UserFactory, complete_application, minimal_pdf

pytestmark = pytest.mark.django_db
ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKFLOWS = {
    "application": (services.APPLICATION_WORKFLOW, Application, ApplicationStatus),
    "review": (services.REVIEW_WORKFLOW, Review, ReviewStatus),
    "permit": (services.PERMIT_WORKFLOW, Permit, PermitStatus),
}


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_each_workflow_table_names_every_state_of_its_choices(name):
    workflow, model, states = WORKFLOWS[name]
    assert workflow.model is model
    assert set(workflow.moves) == set(states.values)
    assert set(states.values) >= model.INITIAL_STATES


# --- No status is written outside move() ------------------------------------------------------------


def test_saving_a_changed_status_outside_move_is_refused(applicant_submission):
    applicant_submission.status = ApplicationStatus.DECIDED
    with pytest.raises(StatusWriteOutsideMove):
        applicant_submission.save()
    with pytest.raises(StatusWriteOutsideMove):
        applicant_submission.save(update_fields=["status"])
    assert Application.objects.get(pk=applicant_submission.pk).status == ApplicationStatus.SUBMITTED


def test_a_bulk_update_of_a_status_is_refused(applicant_permit):
    with pytest.raises(StatusWriteOutsideMove):
        Permit.objects.filter(pk=applicant_permit.pk).update(status=PermitStatus.REVOKED)
    with pytest.raises(StatusWriteOutsideMove):
        Review.objects.all().update(status=ReviewStatus.DECIDED)
    assert Permit.objects.get(pk=applicant_permit.pk).status == PermitStatus.ACTIVE


def test_a_new_row_starts_in_an_initial_state_only(applicant, dataset):
    with pytest.raises(StatusWriteOutsideMove):
        Application.objects.create(applicant=applicant, status=ApplicationStatus.DECIDED)
    assert Application.objects.create(applicant=applicant).status == ApplicationStatus.DRAFT


def test_saving_other_fields_of_a_loaded_row_is_allowed(applicant_submission):
    applicant_submission.title = "A better title"
    applicant_submission.save(update_fields=["title"])
    applicant_submission.save()
    assert Application.objects.get(pk=applicant_submission.pk).title == "A better title"


class _StatusWrites(ast.NodeVisitor):
    """`x.status = ...` and `.update(status=...)` in source code."""

    def __init__(self) -> None:
        self.found: list[int] = []

    def visit_Assign(self, node: ast.Assign) -> None:
        if any(isinstance(t, ast.Attribute) and t.attr == "status" for t in node.targets):
            self.found.append(node.lineno)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        method = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        if method in {"update", "bulk_update"} and any(k.arg == "status" for k in node.keywords):
            self.found.append(node.lineno)
        self.generic_visit(node)


def test_no_module_but_the_workflow_kernel_writes_a_status():
    # The code says it too: a status assigned or bulk-updated anywhere but portal/workflow.py.
    offenders = []
    for package in ("portal", "accounts", "datasets", "requests"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts or path == ROOT / "portal" / "workflow.py":
                continue
            visitor = _StatusWrites()
            visitor.visit(ast.parse(path.read_text(), filename=str(path)))
            offenders += [f"{path.relative_to(ROOT)}:{line}" for line in visitor.found]
    # datasets.Dataset.status is not a workflow status: it is edited by staff as a field.
    assert [o for o in offenders if not o.startswith("datasets/")] == []


def test_only_tests_arrange_states_without_a_move():
    users = [
        str(path.relative_to(ROOT))
        for package in ("portal", "accounts", "datasets", "requests")
        for path in (ROOT / package).rglob("*.py")
        if "arranging_states" in path.read_text() and path != ROOT / "portal" / "workflow.py"
    ]
    assert users == []


# --- Moves are audited and guarded -------------------------------------------------------------------


def test_every_move_writes_an_audit_event_with_before_and_after(applicant_submission, applicant):
    services.application_withdraw(application=applicant_submission, actor=applicant)
    event = AuditEvent.objects.filter(action="application.withdrawn").get()
    assert (event.data["before"], event.data["after"]) == ({"status": "submitted"}, {"status": "withdrawn"})
    review = applicant_submission.reviews.get()
    assert review.status == ReviewStatus.WITHDRAWN
    assert AuditEvent.objects.filter(action="review.withdrawn", target_id=str(review.pk)).count() == 1


def test_a_move_the_table_does_not_allow_is_a_conflict_naming_the_status(applicant_submission, applicant):
    services.application_withdraw(application=applicant_submission, actor=applicant)
    from portal.exceptions import Conflict

    with pytest.raises(Conflict) as refused:
        services.application_withdraw(application=applicant_submission, actor=applicant)
    assert (refused.value.code, refused.value.extra) == ("invalid_transition", {"status": "withdrawn"})


def _approve(review, chair, voters, months: int = 6):
    for voter in voters:
        services.review_vote(review=review, actor=voter, choice="approve")
    accessions = sorted(review.items.values_list("dataset__accession", flat=True))
    decisions = [services.DecisionInput(dataset=a, outcome="approve", months=months) for a in accessions]
    return services.review_decide(review=review, actor=chair, decisions=decisions)


def test_a_decided_review_stays_decided_when_its_datasets_leave_a_resubmission(
    applicant, dac, dac_chair, dac_member, other_dac, other_dac_member
):
    # Two committees; the first decides, the second returns; the applicant drops the first's
    # dataset and resubmits. The decided review stays decided (a bulk update once marked it
    # withdrawn), the returned one reopens.
    ours, theirs = DatasetFactory(dac=dac, title="Ours"), DatasetFactory(dac=other_dac, title="Theirs")
    app = services.application_submit(application=complete_application(applicant, [ours, theirs]), actor=applicant)
    decided, returned = app.reviews.get(dac=dac), app.reviews.get(dac=other_dac)
    _approve(decided, dac_chair, [dac_chair, dac_member])
    other_chair = UserFactory(email="other.chair@example.org")
    dac_services.dac_membership_set(dac=other_dac, user=other_chair, role="chair")
    services.review_return(review=returned, actor=other_chair, message="Say more.")
    services.application_update(application=app, changes=services.DraftChanges(datasets=[theirs]), actor=applicant)
    services.application_submit(application=app, actor=applicant)
    decided.refresh_from_db()
    returned.refresh_from_db()
    assert (decided.status, returned.status) == (ReviewStatus.DECIDED, ReviewStatus.PENDING)
    assert AuditEvent.objects.filter(action="review.reopened", target_id=str(returned.pk)).count() == 1


# --- Permits: replacement is an event -----------------------------------------------------------------


def test_a_permit_replaced_by_a_new_approval_has_its_own_event(applicant, applicant_permit, dac_chair, dac_member):
    draft = complete_application(applicant, [applicant_permit.dataset])
    upload = SimpleUploadedFile("ethics.pdf", minimal_pdf(), content_type="application/pdf")
    expires = timezone.localdate() + dt.timedelta(days=365)
    services.application_document_add(application=draft, upload=upload, expires_on=expires, actor=applicant)
    second = services.application_submit(application=draft, actor=applicant)
    (new,) = grant_permits(second, dac_chair, [dac_chair, dac_member])
    applicant_permit.refresh_from_db()
    assert (applicant_permit.status, new.status) == (PermitStatus.REPLACED, PermitStatus.ACTIVE)
    kinds = list(PermitEvent.objects.filter(permit=applicant_permit).values_list("kind", flat=True))
    assert kinds == ["issued", "replaced"]
    assert AuditEvent.objects.filter(action="permit.replaced", target_id=str(applicant_permit.pk)).count() == 1


# --- One lock order: concurrent withdrawals and decisions do not deadlock -----------------------------


@pytest.mark.django_db(transaction=True)
def test_withdrawing_while_the_chair_decides_gives_one_outcome_and_no_deadlock(
    applicant, dac, dac_chair, dac_member, ontologies
):
    datasets = [DatasetFactory(dac=dac, title=f"Cohort {n}") for n in range(2)]
    apps = [services.application_submit(application=complete_application(applicant, datasets), actor=applicant)]
    apps += [services.application_submit(application=complete_application(applicant, datasets), actor=applicant)]
    for app in apps:
        review = app.reviews.get()
        for member in (dac_chair, dac_member):
            services.review_vote(review=review, actor=member, choice="approve")
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def run(action):
        try:
            barrier.wait(timeout=10)
            action()
        except Exception as exc:  # a Conflict is an expected loser; anything else is a failure
            errors.append(exc)
        finally:
            connection.close()

    def decide(app):
        review = app.reviews.get()
        decisions = [
            services.DecisionInput(dataset=a, outcome="approve", months=6)
            for a in sorted(review.items.values_list("dataset__accession", flat=True))
        ]
        return lambda: services.review_decide(review=review, actor=dac_chair, decisions=decisions)

    def withdraw(app):
        return lambda: services.application_withdraw(application=app, actor=applicant)

    threads = [threading.Thread(target=run, args=(f(app),)) for app in apps for f in (decide, withdraw)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    from portal.exceptions import Conflict

    assert all(isinstance(e, Conflict) for e in errors), errors
    for app in apps:
        app.refresh_from_db()
        review = app.reviews.get()
        assert (app.status, review.status) in {
            (ApplicationStatus.DECIDED, ReviewStatus.DECIDED),
            (ApplicationStatus.WITHDRAWN, ReviewStatus.WITHDRAWN),
        }
        assert (app.permits.exists()) == (app.status == ApplicationStatus.DECIDED)


@pytest.mark.django_db(transaction=True)
def test_two_approvals_of_one_persons_permit_at_once_leave_one_active_permit(
    applicant, dac, dac_chair, dac_member, ontologies, monkeypatch
):
    from requests.services import permits as permit_services

    dataset = DatasetFactory(dac=dac, title="Shared cohort")
    replace = permit_services.permit_replace

    def slow_replace(**kwargs):
        # Widens the moment between reading the active permit and creating the new one, where
        # two approvals without a lock would both find none.
        replace(**kwargs)
        time.sleep(0.3)

    monkeypatch.setattr(permit_services, "permit_replace", slow_replace)
    reviews = []
    for _ in range(2):
        app = services.application_submit(application=complete_application(applicant, [dataset]), actor=applicant)
        review = app.reviews.get()
        for member in (dac_chair, dac_member):
            services.review_vote(review=review, actor=member, choice="approve")
        reviews.append(review)
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(reviews))

    def decide(review):
        try:
            barrier.wait(timeout=10)
            decision = services.DecisionInput(dataset=dataset.accession, outcome="approve", months=6)
            services.review_decide(review=review, actor=dac_chair, decisions=[decision])
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(r,)) for r in reviews]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    statuses = sorted(Permit.objects.filter(grantee=applicant, dataset=dataset).values_list("status", flat=True))
    assert statuses == [PermitStatus.ACTIVE, PermitStatus.REPLACED]


# --- Drifts between pages and the API, pinned ----------------------------------------------------------


def test_a_member_deciding_gets_403_on_the_page_and_in_the_api_whatever_the_body(client_for, applicant_review):
    client = client_for("dac_member")
    page = client.post(reverse("requests:review_decide", args=[applicant_review.pk]), {})
    api = client.post(
        reverse("api:review_decide", args=[applicant_review.pk]), "not json", content_type="application/json"
    )
    assert (page.status_code, api.status_code) == (403, 403)


def test_a_collaborator_withdrawing_gets_403_on_the_page_and_in_the_api(client_for, applicant_submission):
    applicant_submission.collaborators.create(email="other.applicant@example.org")
    client = client_for("other_applicant")
    page = client.post(reverse("requests:withdraw", args=[applicant_submission.pk]))
    api = client.post(reverse("api:application_withdraw", args=[applicant_submission.pk]))
    assert (page.status_code, api.status_code) == (403, 403)
    applicant_submission.refresh_from_db()
    assert applicant_submission.status == ApplicationStatus.SUBMITTED


def test_the_review_api_shows_the_submitted_version_as_the_page_does(
    client_for, applicant_review, dac_chair, applicant
):
    services.review_return(review=applicant_review, actor=dac_chair, message="Tell us more.")
    app = applicant_review.application
    services.application_update(
        application=app, changes=services.DraftChanges(title="Half-edited title"), actor=applicant
    )
    client = client_for("dac_chair")
    body = client.get(reverse("api:review", args=[applicant_review.pk])).json()
    page = client.get(reverse("requests:review", args=[applicant_review.pk])).content.decode()
    submitted = app.versions.get().snapshot["title"]
    assert body["application"]["title"] == submitted
    assert submitted in page
    assert "Half-edited title" not in page


def test_the_application_api_lists_its_real_permits(client_for, applicant_permit):
    body = client_for("applicant").get(reverse("api:application", args=[applicant_permit.application_id]))
    permits = body.json()["permits"]
    assert [(p["id"], p["dataset"], p["status"]) for p in permits] == [
        (applicant_permit.pk, applicant_permit.dataset.accession, "active")
    ]


def test_my_applications_are_the_same_on_the_page_and_in_the_api(client_for, applicant_submission, other_applicant):
    # Invited by e-mail, not yet linked to the account: listed in both places.
    applicant_submission.collaborators.create(email="Other.Applicant@example.org")
    client = client_for("other_applicant")
    api_ids = [row["id"] for row in client.get(reverse("api:applications")).json()["results"]]
    page = client.get(reverse("requests:list")).content.decode()
    assert api_ids == [applicant_submission.pk]
    assert reverse("requests:detail", args=[applicant_submission.pk]) in page


def test_only_staff_revoke_as_operators(applicant_permit, dac_member, staff):
    from portal.exceptions import NotAllowed

    with pytest.raises(NotAllowed):
        services.permit_revoke(permit=applicant_permit, actor=dac_member, reason="No.", as_operator=True)
    revoked = services.permit_revoke(
        permit=applicant_permit, actor=staff, reason="Consent withdrawn.", as_operator=True
    )
    assert (revoked.status, revoked.revoked_by) == (PermitStatus.REVOKED, staff)
