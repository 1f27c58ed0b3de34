"""What each reader reads of an application that several committees review.

An application may ask for datasets of several committees; each committee reviews its own in one
review. The shared project (title, summaries, purpose, requested length, collaborators, documents,
versions) is every reviewing committee's to read. Each committee's part is its own: its datasets,
the matcher's answers on them, the applicant's justifications for them, its messages, decisions and
reasons, the permits they gave and the grantee checks on them. The applicant and collaborators read
every part (never votes or the discussion, which no page or API of theirs shows).

Who reads which part is requests.permissions.read_scope; this module cuts an application down to a
scope, for the application API, the application page and the review page alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch

from datasets.models import Dataset
from requests.models import Application, ApplicationDataset, DatasetDecision, Permit, Review, ReviewNote
from requests.selectors.applications import matches_shown, submitted_version
from requests.selectors.grantees import GranteeRow, grantee_table, warnings_of
from requests.selectors.permits import permits_of_application


@dataclass(frozen=True)
class ReadScope:
    """The committees whose part a reader reads; None: every part (the applicant, collaborators)."""

    committees: frozenset[int] | None = None

    @property
    def everything(self) -> bool:
        return self.committees is None

    def sees(self, dac_id: int | None) -> bool:
        return self.committees is None or dac_id in self.committees


EVERY_PART = ReadScope()


def committee_part(dac_id: int) -> ReadScope:
    """One committee's part: what its review page shows, whoever reads it."""
    return ReadScope(frozenset({dac_id}))


def committee_of(item: ApplicationDataset) -> int:
    """The committee a requested dataset belongs to: the one reviewing it (the dataset's own
    until the application is submitted)."""
    return item.review.dac_id if item.review_id else item.dataset.dac_id


def items_in(app: Application, scope: ReadScope) -> list[ApplicationDataset]:
    items = app.requested.select_related("dataset__dac", "review")
    return [i for i in items if scope.sees(committee_of(i))]


def reviews_in(app: Application, scope: ReadScope) -> list[Review]:
    """The reviews of the scope's committees with their decisions and their messages to the
    applicant; never votes or the discussion, which stay with the committee."""
    messages_only = ReviewNote.objects.filter(kind=ReviewNote.Kind.TO_APPLICANT)
    reviews = app.reviews.select_related("dac").prefetch_related(
        Prefetch("decisions", queryset=DatasetDecision.objects.select_related("dataset")),
        Prefetch("notes", queryset=messages_only, to_attr="messages_to_applicant"),
    )
    if not scope.everything:
        reviews = reviews.filter(dac_id__in=scope.committees)
    return list(reviews.order_by("dac__name"))


def permits_in(app: Application, scope: ReadScope) -> list[Permit]:
    permits = permits_of_application(app.pk)
    if not scope.everything:
        permits = permits.filter(decision__review__dac_id__in=scope.committees)
    return list(permits)


# The fields of a submitted version that name datasets: the rest is the shared project.
_PER_DATASET = ("datasets", "justifications", "matches")


def part_of_version(snapshot: dict[str, Any], scope: ReadScope, committees: dict[str, int]) -> dict[str, Any]:
    """A submitted version with only the datasets of the scope (`committees`: accession -> committee)."""
    if scope.everything:
        return snapshot
    seen = {a for a, dac_id in committees.items() if scope.sees(dac_id)}
    part = dict(snapshot)
    for name in _PER_DATASET:
        value = snapshot.get(name)
        if isinstance(value, dict):
            part[name] = {a: v for a, v in value.items() if a in seen}
        elif isinstance(value, list):
            part[name] = [a for a in value if a in seen]
    return part


def changes_in(changes: list[tuple[str, Any, Any]], scope: ReadScope) -> list[tuple[str, Any, Any]]:
    """The changes between two versions that the scope reads: the shared project's, and the
    datasets and justifications of its own committees."""
    if scope.everything:
        return changes
    named = {a for name, *values in changes if name in _PER_DATASET for v in values for a in (v or [])}
    committees = dict(Dataset.objects.filter(accession__in=named).values_list("accession", "dac_id"))
    kept = []
    for name, before, after in changes:
        if name in _PER_DATASET:
            before = part_of_version({name: before}, scope, committees)[name]
            after = part_of_version({name: after}, scope, committees)[name]
            if before == after:
                continue
        kept.append((name, before, after))
    return kept


def version_in(app: Application, scope: ReadScope) -> tuple[dict[str, Any], list[tuple[str, Any, Any]]]:
    """submitted_version cut down to the scope: the version a committee reads, and its changes."""
    snapshot, changes = submitted_version(app)
    if scope.everything:
        return snapshot, changes
    named = {a for name in _PER_DATASET for a in (snapshot.get(name) or [])}
    committees = dict(Dataset.objects.filter(accession__in=named).values_list("accession", "dac_id"))
    return part_of_version(snapshot, scope, committees), changes_in(changes, scope)


@dataclass(frozen=True)
class ApplicationParts:
    """An application as one reader reads it."""

    scope: ReadScope
    items: list[ApplicationDataset]
    matches: dict[str, dict | None]
    justifications: dict[str, str]
    reviews: list[Review]
    permits: list[Permit]
    changes: list[tuple[str, Any, Any]]
    grantees: list[GranteeRow]
    warnings: dict[str, str]

    @property
    def rows(self) -> list[dict[str, Any]]:
        """One row per dataset: the item, the matcher's answer, the applicant's justification."""
        return [
            {
                "item": i,
                "match": self.matches.get(i.dataset.accession),
                "justification": self.justifications.get(i.dataset.accession, ""),
            }
            for i in self.items
        ]


def application_parts(app: Application, scope: ReadScope) -> ApplicationParts:
    """The application cut down to `scope` (read_scope of the reader), for its API and its page."""
    items = items_in(app, scope)
    accessions = {i.dataset.accession for i in items}
    matches = {a: m for a, m in matches_shown(app).items() if a in accessions}
    justifications = {a: t for a, t in (app.justifications or {}).items() if a in accessions}
    _snapshot, changes = submitted_version(app)
    grantees = grantee_table(app, [i.dataset for i in items])
    return ApplicationParts(
        scope=scope,
        items=items,
        matches=matches,
        justifications=justifications,
        reviews=reviews_in(app, scope),
        permits=permits_in(app, scope),
        changes=changes_in(changes, scope),
        grantees=grantees,
        warnings=warnings_of(grantees),
    )
