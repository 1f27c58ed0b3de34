"""Reads of applications that encode rules: "my applications", the version a committee reads,
who still has to accept which agreement, whether ethics approval is needed, and the matcher's
answers for a draft."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from datasets import duo
from datasets.matcher_runtime import facts_for, match_purpose
from datasets.term_cache import known_diseases, labels_for
from requests.models import Application, Document, Review

# The fields of an application a committee reads, as frozen in each submitted version.
SUBMITTED_FIELDS = ("title", "lay_summary", "abstract", "purpose", "requested_months", "justifications")


def participant_condition(user, via: str = "") -> Q:
    """The applicant, or a collaborator by account or by the verified e-mail address the
    invitation went to: the one rule of who takes part in an application."""
    mine = Q(**{f"{via}applicant": user}) | Q(**{f"{via}collaborators__user": user})
    if user.email_verified:
        mine |= Q(**{f"{via}collaborators__email__iexact": user.email})
    return mine


def my_applications(user) -> QuerySet[Application]:
    """The applications the user takes part in (applicant or collaborator), last changed first,
    with what a list row shows."""
    if user is None or not user.is_authenticated:
        return Application.objects.none()
    # A subquery keeps the joins of the OR from duplicating rows in the outer query.
    ids = Application.objects.filter(participant_condition(user)).values("pk")
    return (
        Application.objects.filter(pk__in=ids)
        .select_related("applicant")
        .prefetch_related(Prefetch("reviews", queryset=Review.objects.select_related("dac")), "requested__dataset")
        .order_by("-updated_at", "-pk")
    )


def version_changes(before: dict, after: dict) -> list[tuple[str, Any, Any]]:
    """What changed between two submitted versions, field by field, for the committee."""
    keys = [k for k in after if k != "matches"]
    return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


def submitted_version(app: Application) -> tuple[dict[str, Any], list[tuple[str, Any, Any]]]:
    """What the committee reads: the latest submitted version (a returned application may be
    half-edited since), and what changed from the version before it."""
    versions = list(app.versions.order_by("-number")[:2])
    if not versions:
        return {name: getattr(app, name) for name in SUBMITTED_FIELDS}, []
    changes = version_changes(versions[1].snapshot, versions[0].snapshot) if len(versions) > 1 else []
    return versions[0].snapshot, changes


def purpose_in_words(purpose: dict[str, Any]) -> str:
    """The research purpose as a sentence, or "" when it cannot be read (a MONDO term retired
    since it was validated, say)."""
    try:
        parsed, _ = duo.parse_purpose(purpose or {}, known_diseases=known_diseases)
    except duo.ProfileInvalid:
        return ""
    return duo.describe_purpose(parsed, labels_for(diseases=parsed.diseases))


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


def current_ethics_document(app: Application) -> Document | None:
    return app.documents.filter(kind=Document.Kind.ETHICS_APPROVAL, replaced_at__isnull=True).first()


def needs_ethics_approval(app: Application) -> bool:
    """A requested dataset's data use has the IRB modifier."""
    return any(
        item.dataset.current_profile and any(m.get("term") == duo.IRB for m in item.dataset.current_profile.modifiers)
        for item in app.requested.select_related("dataset__current_profile")
    )


def parsed_purpose(app: Application) -> tuple[duo.ResearchPurpose | None, dict[str, str]]:
    """The application's purpose parsed, or None and the errors by field."""
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


def matches_shown(app: Application) -> dict[str, dict | None]:
    """Per requested dataset, the matcher's answer: as stored at submission, or for an editable
    application as the purpose stands now."""
    live = dataset_matches(app) if app.editable else {}
    return {
        i.dataset.accession: (i.match or live.get(i.dataset.accession)) for i in app.requested.select_related("dataset")
    }
