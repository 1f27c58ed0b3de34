"""Reads of committee review that encode rules: who holds a role on a committee, which reviews a
person sees, the quorum (of one review or of many at once), and the longest permit a committee
may grant."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db.models import Prefetch, QuerySet

from datasets import duo
from datasets.models import DacMembership, Dataset
from datasets.permissions import VIEW_WORK, dacs_where
from requests.models import ApplicationDataset, DatasetDecision, Permit, Review, ReviewNote, Vote

# The roles that vote: a secretary manages the work but never votes.
VOTING_ROLES = (DacMembership.Role.CHAIR, DacMembership.Role.MEMBER)


def holds_role(user, dac_id: int, perm: str) -> bool:
    """Whether `user` holds the committee permission `perm` (VIEW_WORK, VOTE, DECIDE, ...) on the
    committee `dac_id`: the one answer to "may this person act for this committee"."""
    return user is not None and dacs_where(user, perm).filter(pk=dac_id).exists()


def reviews_visible_to(user, *, pk: int | None = None, status: str = "", dac: str = "") -> QuerySet[Review]:
    """Reviews of the committees whose work `user` sees, optionally one review or filtered by
    status and committee slug. One filter() holds every condition, so the committee condition
    cannot be widened by a later join; anonymous visitors see none."""
    conditions: dict[str, object] = {"dac__in": dacs_where(user, VIEW_WORK)}
    if pk is not None:
        conditions["pk"] = pk
    if status:
        conditions["status"] = status
    if dac:
        conditions["dac__slug"] = dac
    return Review.objects.filter(**conditions)


def review_inbox(user, *, status: str = "", dac: str = "") -> QuerySet[Review]:
    """The caller's committees' reviews, oldest round first, with what a list row shows
    prefetched: a fixed number of queries whatever the number of rows."""
    return (
        reviews_visible_to(user, status=status, dac=dac)
        .select_related("dac", "application__applicant")
        .prefetch_related(
            Prefetch("items", queryset=ApplicationDataset.objects.select_related("dataset")),
            Prefetch("votes", queryset=Vote.objects.only("id", "review_id", "member_id", "conflict_of_interest")),
        )
        .order_by("opened_at", "pk")
    )


def review_for(user, pk: int) -> Review | None:
    """One review with everything its page and its API show, if `user` sees its committee's
    work; a missing and a foreign review are both None, so both answer 404."""
    return (
        reviews_visible_to(user, pk=pk)
        .select_related("dac", "application__applicant")
        .prefetch_related(
            Prefetch("items", queryset=ApplicationDataset.objects.select_related("dataset")),
            Prefetch("votes", queryset=Vote.objects.select_related("member")),
            Prefetch("notes", queryset=ReviewNote.objects.select_related("author")),
            Prefetch("decisions", queryset=DatasetDecision.objects.select_related("dataset", "decided_by")),
            Prefetch("decisions__permits", queryset=Permit.objects.select_related("grantee", "dataset").order_by("pk")),
        )
        .first()
    )


def _voters(dac_ids: Iterable[int]) -> dict[int, set[int]]:
    voters: dict[int, set[int]] = defaultdict(set)
    memberships = DacMembership.objects.filter(dac_id__in=set(dac_ids), role__in=VOTING_ROLES)
    for dac_id, user_id in memberships.values_list("dac_id", "user_id"):
        voters[dac_id].add(user_id)
    return voters


def quorums(reviews: Sequence[Review]) -> dict[int, tuple[int, int]]:
    """(votes that count, votes needed) per review id, with one query for the voters of all the
    reviews' committees. Reads `votes` (prefetch them for a list) and `dac`."""
    voters = _voters(r.dac_id for r in reviews)
    return {r.pk: _quorum(r.votes.all(), voters[r.dac_id], r.dac.quorum) for r in reviews}


def quorum_of(review: Review) -> tuple[int, int]:
    """(votes that count, votes needed) of one review: the rule of `quorums`."""
    return quorums([review])[review.pk]


def _quorum(votes: Iterable[Vote], voters: set[int], policy: int) -> tuple[int, int]:
    # Only current chairs and members count: a vote cast before leaving the committee does not.
    # A declared conflict counts in neither number; with fewer able voters than the policy's
    # quorum, all of them are needed (and never fewer than one).
    votes = [v for v in votes if v.member_id in voters]
    counted = sum(1 for v in votes if not v.conflict_of_interest)
    able = voters - {v.member_id for v in votes if v.conflict_of_interest}
    return counted, max(1, min(policy, len(able)))


def length_cap(review: Review, dataset: Dataset) -> int:
    """The longest permit the committee may grant on the dataset: its policy's maximum, and no
    longer than the dataset's DUO TS modifier allows."""
    cap = review.dac.max_permit_months
    profile = dataset.current_profile
    for modifier in profile.modifiers if profile else []:
        if modifier.get("term") == duo.TS and isinstance(modifier.get("months"), int):
            cap = min(cap, modifier["months"])
    return cap


def default_months(review: Review, dataset: Dataset) -> int:
    """The length the decision form proposes: what the applicant asked for, within the
    committee's default and the cap."""
    wanted = review.application.requested_months or review.dac.default_permit_months
    return min(wanted, review.dac.default_permit_months, length_cap(review, dataset))
