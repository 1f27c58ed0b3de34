"""Writes of the access workflow, one module per lifecycle: the application's table and move
(application_workflow.py), the applicant's side (applications.py), committee review
(reviews.py) and permits (permits.py). Everything a caller needs is importable from here."""

from requests.services.application_workflow import APPLICATION_WORKFLOW, TRANSITIONS, application_move, withdrawable
from requests.services.applications import (
    MAX_MONTHS,
    DraftChanges,
    SubmissionInvalid,
    application_agreements_accept,
    application_collaborators_invite,
    application_create,
    application_document_add,
    application_submit,
    application_update,
    application_withdraw,
    submission_errors,
)
from requests.services.permits import (
    PERMIT_WORKFLOW,
    permit_issue,
    permit_replace,
    permit_revoke,
    record_event,
    record_expiries,
)
from requests.services.reviews import (
    REVIEW_WORKFLOW,
    DecisionInput,
    review_auto_decide,
    review_decide,
    review_note_add,
    review_return,
    review_vote,
    reviews_open,
    reviews_withdraw,
)

__all__ = [
    "APPLICATION_WORKFLOW",
    "MAX_MONTHS",
    "PERMIT_WORKFLOW",
    "REVIEW_WORKFLOW",
    "TRANSITIONS",
    "DecisionInput",
    "DraftChanges",
    "SubmissionInvalid",
    "application_agreements_accept",
    "application_collaborators_invite",
    "application_create",
    "application_document_add",
    "application_move",
    "application_submit",
    "application_update",
    "application_withdraw",
    "permit_issue",
    "permit_replace",
    "permit_revoke",
    "record_event",
    "record_expiries",
    "review_auto_decide",
    "review_decide",
    "review_note_add",
    "review_return",
    "review_vote",
    "reviews_open",
    "reviews_withdraw",
    "submission_errors",
    "withdrawable",
]
