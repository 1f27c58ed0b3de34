"""The application's workflow: its states, the moves between them, and the one audited move.

The leaf of the services: the application services (drafting, submission, withdrawal) and the
review services (a vote puts the application under review; a return or the last decision moves
it) both move applications through here, so neither needs the other to do it."""

from __future__ import annotations

from portal.audit_actions import AuditAction
from portal.workflow import Workflow
from requests.models import Application, ApplicationStatus

S = ApplicationStatus

APPLICATION_WORKFLOW = Workflow(
    name="application",
    model=Application,
    moves={
        S.DRAFT: frozenset({S.SUBMITTED, S.WITHDRAWN}),
        S.SUBMITTED: frozenset({S.UNDER_REVIEW, S.RETURNED, S.DECIDED, S.WITHDRAWN}),
        S.UNDER_REVIEW: frozenset({S.RETURNED, S.DECIDED, S.WITHDRAWN}),
        S.RETURNED: frozenset({S.SUBMITTED, S.WITHDRAWN}),
        S.DECIDED: frozenset({S.CLOSED}),
        S.WITHDRAWN: frozenset(),
        S.CLOSED: frozenset(),
    },
)
TRANSITIONS = APPLICATION_WORKFLOW.moves

# The audit action each move writes: one name per target state.
_ACTIONS = {
    S.SUBMITTED: AuditAction.APPLICATION_SUBMITTED,
    S.UNDER_REVIEW: AuditAction.APPLICATION_UNDER_REVIEW,
    S.RETURNED: AuditAction.APPLICATION_RETURNED,
    S.DECIDED: AuditAction.APPLICATION_DECIDED,
    S.WITHDRAWN: AuditAction.APPLICATION_WITHDRAWN,
    S.CLOSED: AuditAction.APPLICATION_CLOSED,
}


def application_move(
    app: Application, to: str, *, actor, fields: tuple[str, ...] = (), data: dict | None = None
) -> Application:
    """Move the application along the table (lock, guard, save with `fields`, audit), or raise
    Conflict with code invalid_transition naming its status."""
    return APPLICATION_WORKFLOW.move(
        app, to, actor=actor, action=_ACTIONS[to], fields=(*fields, "updated_at"), data=data
    )


def lock_application(pk: int) -> Application:
    """The application row, locked. The lock order of the access workflow is the application,
    then its reviews, then the audit chain, then permits: every service that touches more than
    one of them takes them in that order, so two of them never wait on each other in a circle."""
    return Application.objects.select_for_update(of=("self",)).select_related("applicant").get(pk=pk)


def withdrawable() -> set[str]:
    """The states an applicant may withdraw from."""
    return set(APPLICATION_WORKFLOW.sources(S.WITHDRAWN))
