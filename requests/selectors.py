"""Reads of committee review that encode rules: which reviews a person sees, and the quorum of
many reviews at once for lists (services.quorum_of answers for one review at a time)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db.models import Prefetch, QuerySet

from datasets.models import DacMembership
from datasets.permissions import VIEW_WORK, dacs_where
from requests.models import ApplicationDataset, DatasetDecision, Permit, Review, ReviewNote, Vote

# The roles that vote, as in services.quorum_of: a secretary manages the work but never votes.
VOTING_ROLES = (DacMembership.Role.CHAIR, DacMembership.Role.MEMBER)


def reviews_visible_to(user, *, pk: int | None = None, status: str = "", dac: str = "") -> QuerySet[Review]:
    """Reviews of the committees whose work `user` sees, optionally one review or filtered by
    status and committee slug. One filter() holds every condition (CONVENTIONS 6), so the
    committee condition cannot be widened by a later join; anonymous visitors see none."""
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
    """One review with everything its page shows, if `user` sees its committee's work; a
    missing and a foreign review are both None, so both answer 404."""
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


def quorums(reviews: Sequence[Review]) -> dict[int, tuple[int, int]]:
    """(votes that count, votes needed) per review id, by the rule of services.quorum_of, with
    one query for the voters of all the reviews' committees. Expects `votes` prefetched."""
    voters: dict[int, set[int]] = defaultdict(set)
    memberships = DacMembership.objects.filter(dac_id__in={r.dac_id for r in reviews}, role__in=VOTING_ROLES)
    for dac_id, user_id in memberships.values_list("dac_id", "user_id"):
        voters[dac_id].add(user_id)
    return {r.pk: _quorum(r.votes.all(), voters[r.dac_id], r.dac.quorum) for r in reviews}


def _quorum(votes: Iterable[Vote], voters: set[int], policy: int) -> tuple[int, int]:
    # A declared conflict counts in neither number; with fewer able voters than the policy's
    # quorum, all of them are needed (and never fewer than one).
    # Only current chairs and members count: a vote cast before leaving the committee does not.
    votes = [v for v in votes if v.member_id in voters]
    counted = sum(1 for v in votes if not v.conflict_of_interest)
    able = voters - {v.member_id for v in votes if v.conflict_of_interest}
    return counted, max(1, min(policy, len(able)))
