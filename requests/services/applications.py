"""Writes of the application workflow. One allowed-transitions table; one service per
transition; each locks the row, checks its guard and writes its audit event in the same
transaction. E-mail goes through the outbox, so nothing is sent for a change that rolls back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from datasets.models import DacMembership, Dataset
from portal import audit, outbox
from portal.audit_actions import AuditAction
from portal.exceptions import Conflict, InvalidInput, NotAllowed
from requests import uploads
from requests.models import (
    AgreementAcceptance,
    Application,
    ApplicationDataset,
    ApplicationStatus,
    ApplicationVersion,
    Collaborator,
    Document,
    Review,
    ReviewStatus,
)
from requests.permissions import is_participant
from requests.selectors.applications import (
    current_ethics_document,
    dataset_matches,
    missing_agreements,
    needs_ethics_approval,
    parsed_purpose,
)
from requests.services.application_workflow import APPLICATION_WORKFLOW, application_move, lock_application
from requests.services.reviews import review_auto_decide, reviews_open, reviews_withdraw

S = ApplicationStatus
MAX_MONTHS = 120
TEXT_LIMITS = {"title": 300, "lay_summary": 5000, "abstract": 20000}


class SubmissionInvalid(InvalidInput):
    """The application cannot be submitted yet; `errors` maps each field to what is missing."""

    code = "application_incomplete"

    def __init__(self, errors: dict[str, str]):
        super().__init__("The application is not complete.", extra={"fields": errors})
        self.errors = errors


def _locked(application: Application) -> Application:
    return lock_application(application.pk)


def _link(path_name: str, **kwargs) -> str:
    return settings.PORTAL_BASE_URL + reverse(path_name, kwargs=kwargs)


# --- Drafts ---------------------------------------------------------------------------------------


def application_create(*, applicant: User, datasets: Iterable[Dataset], actor=None) -> Application:
    """Start a draft for the given published datasets (from the basket)."""
    datasets = [d for d in datasets if d.status == Dataset.Status.PUBLISHED]
    if not datasets:
        raise InvalidInput("Choose at least one published dataset.", extra={"fields": {"datasets": "empty"}})
    with transaction.atomic():
        app = Application.objects.create(applicant=applicant)
        ApplicationDataset.objects.bulk_create(ApplicationDataset(application=app, dataset=d) for d in datasets)
        audit.record(
            action=AuditAction.APPLICATION_CREATED,
            target=app,
            actor=actor or applicant,
            data={"datasets": [d.accession for d in datasets]},
        )
    return app


@dataclass(frozen=True)
class DraftChanges:
    """What an edit of a draft changes; None means 'leave as it is'. Values are kept as typed.

    `collaborators` is the whole list of people to invite, and inviting is a deliberate act (an
    API call, the page's Invite button, submitting): new addresses are e-mailed. The page's
    autosave and "Save draft" leave it None, so that nobody is e-mailed while the applicant types."""

    title: str | None = None
    lay_summary: str | None = None
    abstract: str | None = None
    purpose: dict | None = None
    requested_months: int | str | None = None
    datasets: list[Dataset] | None = None
    collaborators: list[str] | None = None
    justifications: dict[str, str] | None = None


def _clip(field: str, value: str) -> str:
    return value[: TEXT_LIMITS[field]]


def _months(value: Any) -> int | None:
    try:
        months = int(value)
    except (TypeError, ValueError):
        return None
    return months if 0 < months <= MAX_MONTHS else None


def application_update(*, application: Application, changes: DraftChanges, actor: User) -> Application:
    """Save a draft or returned application as typed (no completeness check: drafts may be
    half-written). Raises Conflict once submitted, NotAllowed for anyone but the applicant."""
    with transaction.atomic():
        app = _locked_editable(
            application,
            actor,
            not_applicant="Only the applicant may edit the application.",
            not_editable="The application is {status} and can no longer be edited.",
        )
        fields = _apply_changes(app, changes)
        app.save(update_fields=[*fields, "updated_at"])
        if changes.datasets is not None:
            _set_datasets(app, changes.datasets)
        if changes.collaborators is not None:
            _set_collaborators(app, changes.collaborators, actor=actor)
    return app


def _locked_editable(application: Application, actor: User, *, not_applicant: str, not_editable: str) -> Application:
    """The application, locked, once it is `actor`'s and still editable: NotAllowed (with
    `not_applicant`) or Conflict (code `not_editable`, `not_editable` with its {status}) otherwise."""
    app = _locked(application)
    if app.applicant_id != actor.pk:
        raise NotAllowed(not_applicant)
    if not app.editable:
        raise Conflict(
            not_editable.format(status=app.get_status_display().lower()),
            code="not_editable",
            extra={"status": app.status},
        )
    return app


def _apply_changes(app: Application, changes: DraftChanges) -> list[str]:
    fields = []
    for name in ("title", "lay_summary", "abstract"):
        value = getattr(changes, name)
        if value is not None:
            setattr(app, name, _clip(name, value))
            fields.append(name)
    if changes.purpose is not None:
        app.purpose = changes.purpose
        fields.append("purpose")
    if changes.requested_months is not None:
        app.requested_months = _months(changes.requested_months)
        fields.append("requested_months")
    if changes.justifications is not None:
        app.justifications = {
            k: v[:5000] for k, v in changes.justifications.items() if isinstance(v, str) and v.strip()
        }
        fields.append("justifications")
    return fields


def _set_datasets(app: Application, datasets: list[Dataset]) -> None:
    wanted = {d.pk: d for d in datasets if d.status == Dataset.Status.PUBLISHED}
    app.requested.exclude(dataset_id__in=wanted).delete()
    present = set(app.requested.values_list("dataset_id", flat=True))
    ApplicationDataset.objects.bulk_create(
        ApplicationDataset(application=app, dataset=d) for pk, d in wanted.items() if pk not in present
    )


def application_collaborators_invite(*, application: Application, emails: list[str], actor: User) -> list[str]:
    """Make the invited collaborators the given addresses, as the applicant asked (the Invite
    button, or submitting): new ones are e-mailed, those left out lose their invitation, and an
    address matches an invitation whatever its case. Returns the addresses newly invited. Raises
    NotAllowed for anyone but the applicant and Conflict once the application is not editable."""
    with transaction.atomic():
        app = _locked_editable(
            application,
            actor,
            not_applicant="Only the applicant invites collaborators.",
            not_editable="The application is {status}; its collaborators can no longer change.",
        )
        return _set_collaborators(app, emails, actor=actor)


def _set_collaborators(app: Application, emails: list[str], *, actor: User) -> list[str]:
    """The invitations follow `emails` (compared without case); returns the addresses newly invited."""
    applicant = app.applicant.email.lower()
    wanted = {e.strip().lower() for e in emails if e.strip()} - {applicant}
    kept: set[str] = set()
    gone = []
    for collaborator in app.collaborators.order_by("pk"):
        key = collaborator.email.lower()
        if key in wanted and key not in kept:
            kept.add(key)
        else:
            gone.append(collaborator.pk)
    app.collaborators.filter(pk__in=gone).delete()
    invited = sorted(wanted - kept)
    for email in invited:
        collaborator = Collaborator.objects.create(application=app, email=email)
        audit.record(
            action=AuditAction.APPLICATION_COLLABORATOR_INVITED, target=app, actor=actor, data={"email": email}
        )
        outbox.enqueue_email(
            template="requests/collaborator_invited",
            to=[email],
            context={
                "applicant": app.applicant.name,
                "title": app.title or "(untitled application)",
                "link": _link("requests:agreements", pk=app.pk),
                "collaborator_id": collaborator.pk,
            },
        )
    return invited


# --- Documents and agreements ----------------------------------------------------------------------


def application_document_add(
    *,
    application: Application,
    upload: UploadedFile,
    expires_on: dt.date | None,
    actor: User,
    kind: str = Document.Kind.ETHICS_APPROVAL,
) -> Document:
    """Attach an ethics approval (PDF by content, at most 10 MB, expiry in the future); an earlier
    document of the same kind is kept but marked replaced."""
    uploads.check_pdf(upload)
    if expires_on is None or expires_on <= timezone.localdate():
        message = "Give the date the approval expires; it must be in the future."
        raise InvalidInput(message, code="invalid_document", extra={"fields": {"expires_on": message}})
    storage_name, digest = uploads.store(upload)
    try:
        with transaction.atomic():
            app = _locked(application)
            if app.applicant_id != actor.pk:
                raise NotAllowed("Only the applicant may add documents.")
            if not app.editable:
                raise Conflict(
                    "Documents can be added only while the application is a draft or returned.", code="not_editable"
                )
            app.documents.filter(kind=kind, replaced_at__isnull=True).update(replaced_at=timezone.now())
            document = Document.objects.create(
                application=app,
                kind=kind,
                storage_name=storage_name,
                original_name=upload.name[:255],
                size=upload.size,
                sha256=digest,
                expires_on=expires_on,
                uploaded_by=actor,
            )
            audit.record(
                action=AuditAction.APPLICATION_DOCUMENT_ADDED,
                target=app,
                actor=actor,
                data={"document": document.pk, "kind": kind, "sha256": digest},
            )
    except Exception:
        uploads.discard(storage_name)  # nothing points at the file when the row was not written
        raise
    return document


def application_agreements_accept(*, application: Application, actor: User) -> list[AgreementAcceptance]:
    """The actor (the applicant or an invited collaborator) accepts the current agreement version of
    every requested dataset. A collaborator's account is linked to the invitation here."""
    with transaction.atomic():
        app = _locked(application)
        if not is_participant(actor, app):
            raise NotAllowed("Only the applicant and invited collaborators accept the agreements.")
        if app.status not in (S.DRAFT, S.RETURNED, S.SUBMITTED, S.UNDER_REVIEW):
            raise Conflict("This application no longer takes agreements.", code="not_editable")
        if app.applicant_id != actor.pk:
            app.collaborators.filter(email__iexact=actor.email, user__isnull=True).update(user=actor)
        accepted = []
        for item in app.requested.select_related("dataset"):
            row, _ = AgreementAcceptance.objects.get_or_create(
                application=app, dataset=item.dataset, user=actor, agreement_version=item.dataset.agreement_version
            )
            accepted.append(row)
        audit.record(
            action=AuditAction.APPLICATION_AGREEMENTS_ACCEPTED,
            target=app,
            actor=actor,
            data={"datasets": [r.dataset.accession for r in accepted]},
        )
    return accepted


# --- Submission ---------------------------------------------------------------------------------------


def submission_errors(app: Application, justifications: dict[str, str]) -> tuple[dict[str, str], dict[str, dict]]:
    """Everything that stops the application from being submitted, by field; and the matches."""
    errors: dict[str, str] = {}
    if not app.applicant.profile_complete:
        errors["profile"] = "Complete your profile first: the committees need your institution and country."
    for name in ("title", "lay_summary", "abstract"):
        if not getattr(app, name).strip():
            errors[name] = "This field is required."
    if app.requested_months is None:
        errors["requested_months"] = f"Give the length of access you need, 1 to {MAX_MONTHS} months."
    _, purpose_errors = parsed_purpose(app)
    errors.update({k: v[0].upper() + v[1:] + "." for k, v in purpose_errors.items()})
    if not app.requested.exists():
        errors["datasets"] = "Choose at least one dataset."
    if needs_ethics_approval(app):
        document = current_ethics_document(app)
        if document is None:
            errors["ethics_document"] = "A dataset requires ethics approval (IRB): upload the approval as a PDF."
        elif document.expires_on is None or document.expires_on <= timezone.localdate():
            errors["ethics_document"] = "The ethics approval has expired; upload a current one."
    for person, accessions in missing_agreements(app).items():
        key = "agreements" if person == app.applicant.email else "collaborators"
        who = "You have" if key == "agreements" else f"{person} has"
        errors.setdefault(key, f"{who} not accepted the data access agreement of {', '.join(accessions)}.")
    matches = dataset_matches(app) if not purpose_errors else {}
    for accession, result in matches.items():
        if result["decision"] == "deny" and not (justifications.get(accession) or "").strip():
            errors[f"justification_{accession}"] = (
                f"The consent of {accession} does not fit this purpose: "
                "explain to the committee why access is justified."
            )
    return errors, matches


def _snapshot(app: Application, matches: dict[str, dict]) -> dict:
    document = current_ethics_document(app)
    return {
        "title": app.title,
        "lay_summary": app.lay_summary,
        "abstract": app.abstract,
        "purpose": app.purpose,
        "requested_months": app.requested_months,
        "datasets": sorted(app.requested.values_list("dataset__accession", flat=True)),
        "collaborators": sorted(app.collaborators.values_list("email", flat=True)),
        "ethics_document": document.sha256 if document else None,
        "justifications": app.justifications,
        "matches": matches,
    }


def application_submit(
    *, application: Application, actor: User, justifications: dict[str, str] | None = None
) -> Application:
    """Submit a draft or returned application: every check passes or SubmissionInvalid names
    each failing field; a concurrent second submit finds it submitted (Conflict).

    A collaborator whose own facts do not meet a dataset's restrictions on who may use it (a
    for-profit employer against NPU, say) does not stop submission: the rest of the project may
    rightly go ahead. The applicant is warned next to the collaborators (grantee_warnings), the
    committee sees it before deciding, and at approval only that person's permit is withheld
    (requests.selectors.grantees)."""
    with transaction.atomic():
        app = _locked(application)
        if app.applicant_id != actor.pk:
            raise NotAllowed("Only the applicant may submit the application.")
        if justifications is not None:
            app.justifications = {
                k: v.strip()[:5000] for k, v in justifications.items() if isinstance(v, str) and v.strip()
            }
        APPLICATION_WORKFLOW.guard(app.status, S.SUBMITTED)
        errors, matches = submission_errors(app, app.justifications)
        if errors:
            raise SubmissionInvalid(errors)
        app.version += 1
        app.submitted_at = timezone.now()
        application_move(
            app,
            S.SUBMITTED,
            actor=actor,
            fields=("version", "submitted_at", "justifications"),
            data={"version": app.version},
        )
        for item in app.requested.select_related("dataset"):
            item.match = matches.get(item.dataset.accession, {})
            item.save(update_fields=["match"])
        ApplicationVersion.objects.create(
            application=app, number=app.version, snapshot=_snapshot(app, matches), submitted_by=actor
        )
        reviews = reviews_open(app=app, actor=actor)
        outbox.enqueue_email(
            template="requests/submitted",
            to=[app.applicant.email],
            context={
                "name": app.applicant.name,
                "title": app.title,
                "version": app.version,
                "committees": [r.dac.name for r in reviews],
                "link": _link("requests:detail", pk=app.pk),
            },
        )
        _tell_committees(app, [r for r in reviews if r.status == ReviewStatus.PENDING])
        for review in reviews:
            if review.status == ReviewStatus.PENDING and review.dac.auto_approve:
                review_auto_decide(review=review)
    # An automatic decision moved the application on another instance: answer what it is now.
    app.refresh_from_db()
    return app


def _tell_committees(app: Application, reviews: list[Review]) -> None:
    """E-mail each committee's members that a review waits for them."""
    for review in reviews:
        emails = sorted(DacMembership.objects.filter(dac=review.dac).values_list("user__email", flat=True))
        if emails:
            outbox.enqueue_email(
                template="requests/review_opened",
                to=emails,
                context={
                    "dac": review.dac.name,
                    "title": app.title,
                    "applicant": app.applicant.name,
                    "version": app.version,
                    "link": _link("requests:review", pk=review.pk),
                },
            )


def application_withdraw(*, application: Application, actor: User) -> Application:
    """The applicant withdraws before a decision; open reviews end."""
    with transaction.atomic():
        app = _locked(application)
        if app.applicant_id != actor.pk:
            raise NotAllowed("Only the applicant may withdraw the application.")
        app.withdrawn_at = timezone.now()
        application_move(app, S.WITHDRAWN, actor=actor, fields=("withdrawn_at",))
        reviews_withdraw(app=app, actor=actor)
    return app
