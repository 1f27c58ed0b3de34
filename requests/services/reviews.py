"""Committee review, its whole lifecycle: opening a review for each committee when an
application is submitted, votes, discussion, messages, return, decisions per dataset (which
issue permits through the permit services), and withdrawal. The review's states and moves are
REVIEW_WORKFLOW below.

Lock order (the same in every service of the access workflow): the application, then its
reviews, then the audit chain, then permits. So two chairs deciding at once give one decision
and one set of permits, and a withdrawal racing a decision cannot deadlock with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from datasets import duo
from datasets.models import Dataset
from datasets.permissions import DECIDE, VIEW_WORK, VOTE
from portal import audit, outbox
from portal.audit_actions import AuditAction
from portal.exceptions import Conflict, InvalidInput, NotAllowed
from portal.workflow import Workflow
from requests.models import (
    AgreementAcceptance,
    Application,
    ApplicationDataset,
    ApplicationStatus,
    DatasetDecision,
    Outcome,
    Review,
    ReviewNote,
    ReviewStatus,
    Vote,
)
from requests.selectors.grantees import grantee_checks, withheld_json
from requests.selectors.reviews import default_months, holds_role, length_cap, quorum_of
from requests.services.application_workflow import application_move, lock_application
from requests.services.permits import permit_issue

S = ApplicationStatus
R = ReviewStatus
OPEN_FOR_DECISION = (S.SUBMITTED, S.UNDER_REVIEW)

REVIEW_WORKFLOW = Workflow(
    name="review",
    model=Review,
    moves={
        R.PENDING: frozenset({R.RETURNED, R.DECIDED, R.WITHDRAWN}),
        # A resubmission reopens a returned review, and one withdrawn when its datasets left
        # the application and came back; a decided review stays decided.
        R.RETURNED: frozenset({R.PENDING, R.WITHDRAWN}),
        R.WITHDRAWN: frozenset({R.PENDING}),
        R.DECIDED: frozenset(),
    },
)


def _link(name: str, **kwargs) -> str:
    return settings.PORTAL_BASE_URL + reverse(name, kwargs=kwargs)


def _holds(user, review: Review, perm: str) -> bool:
    return holds_role(user, review.dac_id, perm)


def _locked(review: Review) -> tuple[Application, Review]:
    """The review's application, then the review, locked in the workflow's lock order (the rows
    alone: the committee and the applicant are read, not locked)."""
    app = lock_application(review.application_id)
    locked = Review.objects.select_for_update(of=("self",)).select_related("dac").get(pk=review.pk)
    locked.application = app
    return app, locked


def _require_open(review: Review) -> None:
    if review.status == ReviewStatus.DECIDED:
        raise Conflict("The review is decided; votes and decisions are closed.", code="review_closed")
    if review.status != ReviewStatus.PENDING:
        raise Conflict(
            f"The review is {review.get_status_display().lower()}.",
            code="review_closed",
            extra={"status": review.status},
        )


def review_vote(
    *, review: Review, actor: User, choice: str = "", comment: str = "", conflict_of_interest: bool = False
) -> Vote:
    """A chair or member votes (or changes the vote) while the review is pending; declaring a
    conflict of interest records no choice. Raises NotAllowed for anyone else (a secretary
    manages but does not vote) and Conflict once decided."""
    with transaction.atomic():
        app, review = _locked(review)
        if not _holds(actor, review, VOTE):
            raise NotAllowed("Only the committee's chair and members vote; a secretary does not.")
        _require_open(review)
        existing = review.votes.filter(member=actor).first()
        if existing is not None and existing.conflict_of_interest and not conflict_of_interest:
            raise Conflict(
                "You declared a conflict of interest on this review and cannot vote on it.", code="conflict_of_interest"
            )
        if not conflict_of_interest and choice not in ("approve", "reject", "abstain"):
            raise InvalidInput("Choose approve, reject or abstain.", extra={"fields": {"vote": "required"}})
        vote, _ = Vote.objects.update_or_create(
            review=review,
            member=actor,
            defaults={
                "choice": "" if conflict_of_interest else choice,
                "comment": comment.strip()[:5000],
                "conflict_of_interest": conflict_of_interest,
            },
        )
        if app.status == S.SUBMITTED:
            application_move(app, S.UNDER_REVIEW, actor=actor)
        action = AuditAction.REVIEW_CONFLICT_DECLARED if conflict_of_interest else AuditAction.REVIEW_VOTED
        audit.record(action=action, target=review, actor=actor, data={"choice": vote.choice})
    return vote


def review_note_add(*, review: Review, actor: User, kind: str, text: str) -> ReviewNote:
    """Add to the committee's discussion, or send a message to the applicant (e-mailed)."""
    with transaction.atomic():
        _app, review = _locked(review)
        if not _holds(actor, review, VIEW_WORK):
            raise NotAllowed("Only the committee writes here.")
        if kind not in ReviewNote.Kind.values:
            raise InvalidInput(
                "Choose the discussion or a message to the applicant.", extra={"fields": {"kind": "unknown"}}
            )
        if not (text or "").strip():
            raise InvalidInput("Write something first.", extra={"fields": {"text": "required"}})
        note = ReviewNote.objects.create(review=review, kind=kind, author=actor, text=text.strip()[:10000])
        action = (
            AuditAction.REVIEW_DISCUSSION if kind == ReviewNote.Kind.DISCUSSION else AuditAction.REVIEW_TO_APPLICANT
        )
        audit.record(action=action, target=review, actor=actor, data={"note": note.pk})
        if kind == ReviewNote.Kind.TO_APPLICANT:
            _mail_applicant(review, "requests/message", {"message": note.text})
    return note


def _mail_applicant(review: Review, template: str, extra: dict[str, Any]) -> None:
    app = review.application
    outbox.enqueue_email(
        template=template,
        to=[app.applicant.email],
        context={
            "name": app.applicant.name,
            "title": app.title,
            "dac": review.dac.name,
            "link": _link("requests:detail", pk=app.pk),
            **extra,
        },
    )


def review_return(*, review: Review, actor: User, message: str) -> Review:
    """The chair sends the application back to the applicant with a message."""
    with transaction.atomic():
        app, review = _locked(review)
        if not _holds(actor, review, DECIDE):
            raise NotAllowed("Only the committee's chair returns an application.")
        if not (message or "").strip():
            raise InvalidInput("Tell the applicant what to change.", extra={"fields": {"message": "required"}})
        _require_open(review)
        REVIEW_WORKFLOW.move(review, R.RETURNED, actor=actor, action=AuditAction.REVIEW_RETURNED)
        application_move(app, S.RETURNED, actor=actor, data={"dac": review.dac.slug})
        ReviewNote.objects.create(review=review, kind=ReviewNote.Kind.TO_APPLICANT, author=actor, text=message.strip())
        _mail_applicant(review, "requests/returned", {"message": message.strip()})
    return review


@dataclass(frozen=True)
class DecisionInput:
    dataset: str  # accession
    outcome: str  # approve | reject
    months: int | None = None
    reason: str = ""
    conditions: list[dict[str, Any]] | None = None  # None: the matcher's proposal
    errors: dict[str, str] = field(default_factory=dict, compare=False)


def _proposed_conditions(review: Review, dataset: Dataset) -> list[dict[str, Any]]:
    item = review.application.requested.filter(dataset=dataset).first()
    return list((item.match or {}).get("conditions", [])) if item else []


def _clean_conditions(raw: Any, path: str, errors: dict[str, str]) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        errors[path] = "must be a list"
        return []
    cleaned = []
    for index, item in enumerate(raw):
        if isinstance(item, str) and item.strip():
            cleaned.append({"code": "DAC", "text": item.strip()})
        elif isinstance(item, dict) and isinstance(item.get("text"), str) and item["text"].strip():
            cleaned.append(item)
        else:
            errors[f"{path}[{index}]"] = "each condition is text or an object with a text"
    return cleaned


def _validate(review: Review, decisions: list[DecisionInput]) -> list[tuple[Dataset, DecisionInput, list]]:
    items = {i.dataset.accession: i.dataset for i in review.items.select_related("dataset__current_profile")}
    given = [d.dataset for d in decisions]
    errors: dict[str, str] = {}
    if sorted(given) != sorted(items) or len(set(given)) != len(given):
        errors["decisions"] = f"decide each of this committee's datasets exactly once: {', '.join(sorted(items))}"
        raise InvalidInput("The decisions do not match the review's datasets.", extra={"fields": errors})
    plan = []
    for index, d in enumerate(decisions):
        dataset, path = items[d.dataset], f"decisions[{index}]"
        if d.outcome not in Outcome.values:
            errors[f"{path}.outcome"] = "must be approve or reject"
        if d.outcome == Outcome.REJECT and not d.reason.strip():
            errors[f"{path}.reason"] = "give the applicant the reason for the rejection"
        conditions: list = []
        if d.outcome == Outcome.APPROVE:
            cap = length_cap(review, dataset)
            if not isinstance(d.months, int) or isinstance(d.months, bool) or not 1 <= d.months <= cap:
                errors[f"{path}.months"] = f"must be a whole number of months from 1 to {cap}"
            raw = d.conditions if d.conditions is not None else _proposed_conditions(review, dataset)
            conditions = _clean_conditions(raw, f"{path}.conditions", errors)
        plan.append((dataset, d, conditions))
    if errors:
        raise InvalidInput("Some decisions are not valid.", extra={"fields": errors})
    return plan


def review_decide(*, review: Review, actor: User | None, decisions: list[DecisionInput], policy: str = "") -> Review:
    """Decide each of the review's datasets: approve (length capped by the DAC policy and DUO TS,
    conditions from the matcher unless edited) or reject with a reason. The chair decides once
    the quorum is met; `actor=None` with a `policy` is the system under an automatic-approval
    policy. An approval issues a permit (permit_issue) to each grantee whose own facts meet the
    dataset's personal restrictions (requests.selectors.grantees); the others get none, and the
    decision's audit event names them with the reasons. The application is decided when no
    review is open."""
    with transaction.atomic():
        app, review = _locked(review)
        if actor is not None and not _holds(actor, review, DECIDE):
            raise NotAllowed("Only the committee's chair decides.")
        _require_open(review)
        if app.status not in OPEN_FOR_DECISION:
            raise Conflict(
                f"The application is {app.get_status_display().lower()}; it cannot be decided now.",
                code="invalid_transition",
                extra={"status": app.status},
            )
        if actor is not None:
            counted, needed = quorum_of(review)
            if counted < needed:
                raise Conflict(
                    f"The quorum is not met: {counted} of {needed} votes.",
                    code="quorum_not_met",
                    extra={"votes": counted, "needed": needed},
                )
        now = timezone.now()
        withheld: dict[str, list[dict[str, Any]]] = {}
        for dataset, d, conditions in _validate(review, decisions):
            decision = DatasetDecision.objects.create(
                review=review,
                dataset=dataset,
                outcome=d.outcome,
                months=d.months if d.outcome == Outcome.APPROVE else None,
                reason=d.reason.strip(),
                conditions=conditions,
                decided_by=actor,
                automatic_policy=policy,
                decided_at=now,
            )
            if decision.outcome == Outcome.APPROVE:
                withheld[dataset.accession] = _issue_permits(app, decision, now)
        review.decided_at = now
        REVIEW_WORKFLOW.move(
            review,
            R.DECIDED,
            actor=actor,
            action=AuditAction.REVIEW_DECIDED,
            fields=("decided_at",),
            data={
                "decisions": [_decided_json(d, withheld) for d in decisions],
                "policy": policy,
            },
        )
        if not app.reviews.exclude(status__in=[R.DECIDED, R.WITHDRAWN]).exists():
            application_move(app, S.DECIDED, actor=actor)
        _mail_applicant(
            review,
            "requests/decided",
            {"decisions": [{"dataset": d.dataset, "outcome": d.outcome, "reason": d.reason} for d in decisions]},
        )
    return review


def _decided_json(d: DecisionInput, withheld: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    data: dict[str, Any] = {"dataset": d.dataset, "outcome": d.outcome, "months": d.months}
    if d.dataset in withheld:
        data["withheld"] = withheld[d.dataset]
    return data


def _issue_permits(app: Application, decision: DatasetDecision, at) -> list[dict[str, Any]]:
    """A permit for each grantee who qualifies in person (grantee_checks); the others, as the
    decision's audit event records them."""
    checks = {c.user_id: c for c in grantee_checks(app, decision.dataset) if c.user_id is not None}
    withheld = []
    for grantee in _grantees(app, decision.dataset):
        check = checks.get(grantee.pk)
        if check is not None and check.qualifies:
            permit_issue(decision=decision, grantee=grantee, application=app, at=at)
        elif check is not None:
            withheld.append(withheld_json(check))
    return withheld


def _grantees(app: Application, dataset: Dataset) -> list[User]:
    """The applicant and every current collaborator who accepted this dataset's current
    agreement (a collaborator removed from the application gets nothing, whatever they accepted)."""
    people = {app.applicant_id, *app.collaborators.exclude(user=None).values_list("user_id", flat=True)}
    accepted = AgreementAcceptance.objects.filter(
        application=app, dataset=dataset, agreement_version=dataset.agreement_version, user_id__in=people
    ).values_list("user_id", flat=True)
    users = User.objects.filter(pk__in=accepted, is_active=True)
    return sorted(users, key=lambda u: (u.pk != app.applicant_id, u.pk))


AUTO_POLICY = "automatic approval of GRU or HMB datasets without modifiers for a purpose the matcher approves"


def auto_decidable(review: Review) -> bool:
    """The DAC's opt-in policy applies: every dataset is GRU or HMB without modifiers, and the
    matcher approved a purpose that has no free text."""
    app = review.application
    if not review.dac.auto_approve or (app.purpose or {}).get("free_text"):
        return False
    for item in review.items.select_related("dataset__current_profile"):
        profile = item.dataset.current_profile
        if profile is None or profile.permission_id not in (duo.GRU, duo.HMB) or profile.modifiers or profile.free_text:
            return False
        if (item.match or {}).get("decision") != "approve":
            return False
    return True


def review_auto_decide(*, review: Review) -> Review | None:
    """Approve the review as the system when the committee's automatic policy allows it."""
    review = Review.objects.select_related("dac", "application").get(pk=review.pk)
    if not auto_decidable(review):
        return None
    decisions = [
        DecisionInput(dataset=item.dataset.accession, outcome="approve", months=default_months(review, item.dataset))
        for item in review.items.select_related("dataset")
    ]
    return review_decide(review=review, actor=None, decisions=decisions, policy=f"{review.dac.name}: {AUTO_POLICY}")


# --- Opening and ending reviews, for the application services ----------------------------------------


def reviews_open(*, app: Application, actor: User) -> list[Review]:
    """On submission (the application locked by the caller): one review per committee governing
    a requested dataset. A new one starts pending; a returned or withdrawn one reopens for a new
    round; a decided one stays decided. Reviews of committees no longer concerned are withdrawn."""
    now = timezone.now()
    reviews = []
    items = list(app.requested.select_related("dataset"))
    for dac_id in sorted({i.dataset.dac_id for i in items}):
        review, created = Review.objects.get_or_create(application=app, dac_id=dac_id, defaults={"opened_at": now})
        if created:
            audit.record(action=AuditAction.REVIEW_OPENED, target=review, actor=actor)
        elif review.status in REVIEW_WORKFLOW.sources(R.PENDING):
            review.opened_at = now
            REVIEW_WORKFLOW.move(
                review, R.PENDING, actor=actor, action=AuditAction.REVIEW_REOPENED, fields=("opened_at",)
            )
        ApplicationDataset.objects.filter(application=app, dataset__dac_id=dac_id).update(review=review)
        reviews.append(review)
    reviews_withdraw(app=app, actor=actor, keep=[r.dac_id for r in reviews])
    return reviews


def reviews_withdraw(*, app: Application, actor: User, keep: list[int] = ()) -> None:
    """End the application's open reviews (pending or returned), except those of the committees
    in `keep`; the caller holds the application's lock."""
    REVIEW_WORKFLOW.move_many(
        app.reviews.exclude(dac_id__in=list(keep)), R.WITHDRAWN, actor=actor, action=AuditAction.REVIEW_WITHDRAWN
    )
