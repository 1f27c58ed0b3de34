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
from datasets import duo
from datasets.matcher_runtime import facts_for, match_purpose
from datasets.models import Dataset
from datasets.term_cache import known_diseases
from portal import audit, outbox
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

S = ApplicationStatus
TRANSITIONS: dict[str, set[str]] = {
    S.DRAFT: {S.SUBMITTED, S.WITHDRAWN},
    S.SUBMITTED: {S.UNDER_REVIEW, S.RETURNED, S.DECIDED, S.WITHDRAWN},
    S.UNDER_REVIEW: {S.RETURNED, S.DECIDED, S.WITHDRAWN},
    S.RETURNED: {S.SUBMITTED, S.WITHDRAWN},
    S.DECIDED: {S.CLOSED},
    S.WITHDRAWN: set(),
    S.CLOSED: set(),
}
MAX_MONTHS = 120
TEXT_LIMITS = {"title": 300, "lay_summary": 5000, "abstract": 20000}


class SubmissionInvalid(InvalidInput):
    """The application cannot be submitted yet; `errors` maps each field to what is missing."""

    code = "application_incomplete"

    def __init__(self, errors: dict[str, str]):
        super().__init__("The application is not complete.", extra={"fields": errors})
        self.errors = errors


def _locked(application: Application) -> Application:
    return Application.objects.select_for_update().get(pk=application.pk)


def move_application(app: Application, to: str, *, actor, action: str, data: dict | None = None) -> None:
    """Change status along the table, or raise Conflict naming the current status."""
    if to not in TRANSITIONS[app.status]:
        raise Conflict(
            f"The application is {app.get_status_display().lower()}; it cannot become {S(to).label.lower()}.",
            code="invalid_transition",
            extra={"status": app.status},
        )
    before = app.status
    app.status = to
    audit.record(action=action, target=app, actor=actor, before={"status": before}, after={"status": to}, data=data)


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
            action="application.created",
            target=app,
            actor=actor or applicant,
            data={"datasets": [d.accession for d in datasets]},
        )
    return app


@dataclass(frozen=True)
class DraftChanges:
    """What an edit of a draft changes; None means 'leave as it is'. Values are kept as typed."""

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
        app = _locked(application)
        if app.applicant_id != actor.pk:
            raise NotAllowed("Only the applicant may edit the application.")
        if not app.editable:
            raise Conflict(
                f"The application is {app.get_status_display().lower()} and can no longer be edited.",
                code="not_editable",
                extra={"status": app.status},
            )
        fields = _apply_changes(app, changes)
        app.save(update_fields=[*fields, "updated_at"])
        if changes.datasets is not None:
            _set_datasets(app, changes.datasets)
        if changes.collaborators is not None:
            _set_collaborators(app, changes.collaborators, actor=actor)
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


def _set_collaborators(app: Application, emails: list[str], *, actor: User) -> None:
    wanted = {e.strip().lower() for e in emails if e.strip() and e.strip().lower() != app.applicant.email.lower()}
    app.collaborators.exclude(email__in=wanted).delete()
    present = set(app.collaborators.values_list("email", flat=True))
    for email in sorted(wanted - present):
        collaborator = Collaborator.objects.create(application=app, email=email)
        audit.record(action="application.collaborator_invited", target=app, actor=actor, data={"email": email})
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
                action="application.document_added",
                target=app,
                actor=actor,
                data={"document": document.pk, "kind": kind, "sha256": digest},
            )
    except Exception:
        uploads.discard(storage_name)  # nothing points at the file when the row was not written
        raise
    return document


def application_agreements_accept(*, application: Application, user: User) -> list[AgreementAcceptance]:
    """The user (applicant or invited collaborator) accepts the current agreement version of
    every requested dataset. A collaborator's account is linked to the invitation here."""
    from requests.permissions import is_participant

    with transaction.atomic():
        app = _locked(application)
        if not is_participant(user, app):
            raise NotAllowed("Only the applicant and invited collaborators accept the agreements.")
        if app.status not in (S.DRAFT, S.RETURNED, S.SUBMITTED, S.UNDER_REVIEW):
            raise Conflict("This application no longer takes agreements.", code="not_editable")
        if app.applicant_id != user.pk:
            app.collaborators.filter(email__iexact=user.email, user__isnull=True).update(user=user)
        accepted = []
        for item in app.requested.select_related("dataset"):
            row, _ = AgreementAcceptance.objects.get_or_create(
                application=app, dataset=item.dataset, user=user, agreement_version=item.dataset.agreement_version
            )
            accepted.append(row)
        audit.record(
            action="application.agreements_accepted",
            target=app,
            actor=user,
            data={"datasets": [r.dataset.accession for r in accepted]},
        )
    return accepted


def missing_agreements(app: Application) -> dict[str, list[str]]:
    """Who has not yet accepted which dataset's current agreement: {person label: [accessions]}."""
    items = list(app.requested.select_related("dataset"))
    accepted = set(app.acceptances.values_list("user_id", "dataset_id", "agreement_version"))
    people: list[tuple[str, int | None]] = [(app.applicant.email, app.applicant_id)]
    people += [(c.email, c.user_id) for c in app.collaborators.all()]
    missing: dict[str, list[str]] = {}
    for label, user_id in people:
        absent = [
            i.dataset.accession
            for i in items
            if user_id is None or (user_id, i.dataset_id, i.dataset.agreement_version) not in accepted
        ]
        if absent:
            missing[label] = absent
    return missing


# --- Submission ---------------------------------------------------------------------------------------


def current_ethics_document(app: Application) -> Document | None:
    return app.documents.filter(kind=Document.Kind.ETHICS_APPROVAL, replaced_at__isnull=True).first()


def needs_ethics_approval(app: Application) -> bool:
    return any(
        item.dataset.current_profile and any(m.get("term") == duo.IRB for m in item.dataset.current_profile.modifiers)
        for item in app.requested.select_related("dataset__current_profile")
    )


def parsed_purpose(app: Application) -> tuple[duo.ResearchPurpose | None, dict[str, str]]:
    try:
        purpose, _ = duo.parse_purpose(app.purpose or {}, known_diseases=known_diseases)
    except duo.ProfileInvalid as invalid:
        return None, {f"purpose.{k}" if k != "purpose" else "purpose": v for k, v in invalid.errors.items()}
    return purpose, {}


def dataset_matches(app: Application) -> dict[str, dict]:
    """The matcher's answer for each requested dataset, from the purpose as it stands."""
    from datasets.presenters import present_profiles

    purpose, _ = parsed_purpose(app)
    if purpose is None:
        return {}
    items = list(
        app.requested.select_related("dataset__current_profile__permission").prefetch_related(
            "dataset__current_profile__diseases"
        )
    )
    views = present_profiles([i.dataset.current_profile for i in items])
    facts = facts_for(app.applicant)
    return {
        i.dataset.accession: match_purpose(v.data_use, purpose, facts).to_json()
        for i, v in zip(items, views, strict=True)
    }


def submission_errors(app: Application, justifications: dict[str, str]) -> tuple[dict[str, str], dict[str, dict]]:
    """Everything that stops the application from being submitted, by field; and the matches."""
    errors: dict[str, str] = {}
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


def _open_reviews(app: Application) -> list[Review]:
    """One review per committee governing a requested dataset; a returned review reopens, a
    decided one stays decided."""
    now = timezone.now()
    reviews = []
    items = list(app.requested.select_related("dataset"))
    for dac_id in sorted({i.dataset.dac_id for i in items}):
        review, created = Review.objects.get_or_create(application=app, dac_id=dac_id, defaults={"opened_at": now})
        if not created and review.status in (ReviewStatus.RETURNED, ReviewStatus.WITHDRAWN):
            review.status, review.opened_at = ReviewStatus.PENDING, now
            review.save(update_fields=["status", "opened_at"])
        ApplicationDataset.objects.filter(application=app, dataset__dac_id=dac_id).update(review=review)
        reviews.append(review)
    app.reviews.exclude(dac_id__in=[r.dac_id for r in reviews]).update(status=ReviewStatus.WITHDRAWN)
    return reviews


def application_submit(
    *, application: Application, actor: User, justifications: dict[str, str] | None = None
) -> Application:
    """Submit a draft or returned application: every check passes or SubmissionInvalid names
    each failing field; a concurrent second submit finds it submitted (Conflict)."""
    with transaction.atomic():
        app = _locked(application)
        if app.applicant_id != actor.pk:
            raise NotAllowed("Only the applicant may submit the application.")
        if justifications is not None:
            app.justifications = {
                k: v.strip()[:5000] for k, v in justifications.items() if isinstance(v, str) and v.strip()
            }
        move_application(
            app, S.SUBMITTED, actor=actor, action="application.submitted", data={"version": app.version + 1}
        )
        errors, matches = submission_errors(app, app.justifications)
        if errors:
            raise SubmissionInvalid(errors)
        app.version += 1
        app.submitted_at = timezone.now()
        app.save(update_fields=["status", "version", "submitted_at", "justifications", "updated_at"])
        for item in app.requested.select_related("dataset"):
            item.match = matches.get(item.dataset.accession, {})
            item.save(update_fields=["match"])
        ApplicationVersion.objects.create(
            application=app, number=app.version, snapshot=_snapshot(app, matches), submitted_by=actor
        )
        reviews = _open_reviews(app)
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
                # Imported here: reviews.py builds on this module.
                from requests.services.reviews import review_auto_decide

                review_auto_decide(review=review)
    return app


def _tell_committees(app: Application, reviews: list[Review]) -> None:
    """E-mail each committee's members that a review waits for them."""
    from datasets.models import DacMembership

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
        move_application(app, S.WITHDRAWN, actor=actor, action="application.withdrawn")
        app.withdrawn_at = timezone.now()
        app.save(update_fields=["status", "withdrawn_at", "updated_at"])
        app.reviews.filter(status=ReviewStatus.PENDING).update(status=ReviewStatus.WITHDRAWN)
    return app


def withdrawable() -> set[str]:
    return {status for status, moves in TRANSITIONS.items() if S.WITHDRAWN in moves}


def version_changes(before: dict, after: dict) -> list[tuple[str, Any, Any]]:
    """What changed between two submitted versions, field by field, for the committee."""
    keys = [k for k in after if k != "matches"]
    return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]
