"""Reads behind the committee's pages: the inbox with its filters and counts, and the dossier of
one review. Built on the review and application selectors; every list read here takes a fixed
number of queries whatever the number of reviews."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from datasets.models import Dataset
from datasets.permissions import VIEW_WORK, dacs_where
from datasets.presenters import DataUseView, present_profiles
from requests.models import (
    Application,
    ApplicationDataset,
    ApplicationStatus,
    DatasetDecision,
    Document,
    Permit,
    Review,
    ReviewNote,
    ReviewStatus,
    Vote,
)
from requests.selectors.applications import missing_agreements, purpose_in_words
from requests.selectors.grantees import FAILS, WITHHELD, GranteeCheck, GranteeRow, grantee_table
from requests.selectors.parts import committee_part, version_in
from requests.selectors.reviews import default_months, length_cap, quorum_of, quorums, review_inbox, reviews_visible_to

ALL = "all"

# --- Inbox -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxFilters:
    status: str = ReviewStatus.PENDING
    dac: str = ""
    dataset: str = ""
    waiting_days: int | None = None
    matcher: str = ""
    newest_first: bool = False


@dataclass(frozen=True)
class InboxRow:
    review: Review
    datasets: list[tuple[str, str]]  # (accession, the matcher's decision at submission)
    votes: int
    needed: int
    age_days: int
    voted: bool


def committee_choices(user) -> list[tuple[str, str]]:
    """(slug, name) of the committees whose work the user sees."""
    return list(dacs_where(user, VIEW_WORK).order_by("name").values_list("slug", "name"))


def committee_datasets(user) -> list[tuple[str, str]]:
    """(accession, title) of the datasets of the user's committees, for the dataset filter."""
    datasets = Dataset.objects.filter(dac__in=dacs_where(user, VIEW_WORK)).order_by("accession")
    return list(datasets.values_list("accession", "title"))


def inbox_reviews(user, filters: InboxFilters, now: dt.datetime) -> QuerySet[Review]:
    """The user's committees' reviews that pass the filters, with what a row shows prefetched."""
    status = "" if filters.status == ALL else filters.status
    reviews = review_inbox(user, status=status, dac=filters.dac)
    # Exists() and a column of the review itself add no join, so filtering after the committee
    # condition cannot widen it (docs/conventions.md, "Selectors").
    conditions: list[Any] = []
    requested = ApplicationDataset.objects.filter(review=OuterRef("pk"))
    if filters.dataset:
        conditions.append(Exists(requested.filter(dataset__accession=filters.dataset)))
    if filters.matcher:
        conditions.append(Exists(requested.filter(match__decision=filters.matcher)))
    if filters.waiting_days is not None:
        conditions.append(Q(opened_at__lte=now - dt.timedelta(days=filters.waiting_days)))
    reviews = reviews.filter(*conditions)
    return reviews.order_by("-opened_at", "-pk") if filters.newest_first else reviews.order_by("opened_at", "pk")


def status_counts(user) -> dict[str, int]:
    """How many of the user's committees' reviews are in each status, and in all: one query."""
    counts = {status: Count("pk", filter=Q(status=status)) for status in ReviewStatus.values}
    return reviews_visible_to(user).aggregate(**counts, **{ALL: Count("pk")})


def inbox_rows(reviews, *, now: dt.datetime, user) -> list[InboxRow]:
    """Rows of a page of the inbox; expects the prefetches of inbox_reviews."""
    reviews = list(reviews)
    quorum = quorums(reviews)
    return [
        InboxRow(
            review=r,
            datasets=[(i.dataset.accession, (i.match or {}).get("decision", "")) for i in r.items.all()],
            votes=quorum[r.pk][0],
            needed=quorum[r.pk][1],
            age_days=(now - r.opened_at).days,
            voted=any(v.member_id == user.pk for v in r.votes.all()),
        )
        for r in reviews
    ]


# --- One review ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetUnderReview:
    item: ApplicationDataset
    data_use: DataUseView | None
    justification: str
    decision: DatasetDecision | None
    cap: int
    default_months: int
    grantees: tuple[GranteeCheck, ...] = ()  # each person against the dataset's restrictions on who

    @property
    def accession(self) -> str:
        return self.item.dataset.accession

    @property
    def proposed_conditions(self) -> list[dict[str, Any]]:
        return list((self.item.match or {}).get("conditions", []))

    @property
    def restricted(self) -> bool:
        """The dataset restricts who may use it, so each person's check says something."""
        return any(c.restricted for c in self.grantees)

    @property
    def left_out(self) -> list[GranteeCheck]:
        """The people who get (or got) no permit on this dataset by their own facts."""
        return [c for c in self.grantees if c.state in (FAILS, WITHHELD)]


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    role: str
    accepted: bool
    grantee: GranteeRow | None = None  # their institution and their check on each dataset


@dataclass(frozen=True)
class Dossier:
    """Everything the committee reads about one review: the shared project and its own part
    (requests.selectors.parts), never another committee's datasets, messages or decisions."""

    review: Review
    submitted: dict[str, Any]
    purpose_text: str
    datasets: list[DatasetUnderReview]
    shared: bool  # other committees review other datasets of the application
    documents: list[Document]
    people: list[Person]
    grantees: list[GranteeRow]
    changes: list[tuple[str, Any, Any]]
    other_applications: list[Application]
    permits: list[Permit]
    votes: list[Vote]
    counted: int
    needed: int
    discussion: list[ReviewNote]
    messages: list[ReviewNote]


def review_dossier(review: Review) -> Dossier:
    """The dossier of a review fetched by selectors.review_for."""
    app = review.application
    submitted, changes = version_in(app, committee_part(review.dac_id))
    votes = list(review.votes.all())
    counted, needed = quorum_of(review)
    notes = list(review.notes.all())
    grantees = grantee_table(app, [i.dataset for i in review.items.all()])
    return Dossier(
        review=review,
        submitted=submitted,
        purpose_text=purpose_in_words(submitted.get("purpose") or {}),
        datasets=datasets_under_review(review, submitted.get("justifications") or {}, grantees),
        shared=app.reviews.exclude(pk=review.pk).exclude(status=ReviewStatus.WITHDRAWN).exists(),
        documents=list(app.documents.all()),
        people=_people(app, grantees),
        grantees=grantees,
        changes=changes,
        other_applications=_other_applications(app),
        permits=_applicants_permits(app, review),
        votes=votes,
        counted=counted,
        needed=needed,
        discussion=[n for n in notes if n.kind == ReviewNote.Kind.DISCUSSION],
        messages=[n for n in notes if n.kind == ReviewNote.Kind.TO_APPLICANT],
    )


def _applicants_permits(app: Application, review: Review) -> list[Permit]:
    """The applicant's permits, but none that another committee gave on this application: that
    decision is the other committee's part."""
    permits = Permit.objects.filter(grantee_id=app.applicant_id).exclude(
        Q(application=app) & ~Q(decision__review__dac_id=review.dac_id)
    )
    return list(permits.select_related("dataset"))


def datasets_under_review(
    review: Review, justifications: dict[str, str], grantees: list[GranteeRow] = ()
) -> list[DatasetUnderReview]:
    """The review's datasets with their data use in words, the matcher's stored answer, the
    applicant's justification, any decision, the permit length the chair may grant and, from
    `grantees` (grantee_table), each person's check on the dataset."""
    items = list(
        review.items.select_related("dataset__current_profile__permission").prefetch_related(
            "dataset__current_profile__diseases"
        )
    )
    with_profile = [i.dataset.current_profile for i in items if i.dataset.current_profile]
    views = dict(zip((p.pk for p in with_profile), present_profiles(with_profile), strict=True))
    decisions = {d.dataset_id: d for d in review.decisions.all()}
    return [
        DatasetUnderReview(
            item=i,
            data_use=views.get(i.dataset.current_profile_id),
            justification=justifications.get(i.dataset.accession, ""),
            decision=decisions.get(i.dataset_id),
            cap=length_cap(review, i.dataset),
            default_months=default_months(review, i.dataset),
            grantees=tuple(c for row in grantees for c in row.checks if c.accession == i.dataset.accession),
        )
        for i in items
    ]


def _people(app: Application, grantees: list[GranteeRow] = ()) -> list[Person]:
    """The applicant and each collaborator, whether they accepted every agreement, and their
    row of `grantees`."""
    missing = missing_agreements(app)
    rows = {row.person.email.lower(): row for row in grantees}
    applicant = app.applicant
    people = [
        Person(
            applicant.name,
            applicant.email,
            "applicant",
            applicant.email not in missing,
            rows.get(applicant.email.lower()),
        )
    ]
    for c in app.collaborators.select_related("user"):
        name = c.user.name if c.user else ""
        people.append(Person(name, c.email, "collaborator", c.email not in missing, rows.get(c.email.lower())))
    return people


def _other_applications(app: Application) -> list[Application]:
    """The applicant's other submitted applications, newest first, with their committees."""
    others = (
        Application.objects.filter(applicant_id=app.applicant_id)
        .exclude(pk=app.pk)
        .exclude(status=ApplicationStatus.DRAFT)
        .prefetch_related("reviews__dac", "requested__dataset")
    )
    return list(others.order_by("-submitted_at"))
