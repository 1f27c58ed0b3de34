"""Reads of permits that encode rules: a permit's state, a person's permits and passport, the
permits a data node may see, and the node's changes feed. "Live" has one definition,
requests.models.live_permit_condition, used by every read here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.selectors import person_named
from datasets.authentication import NodePrincipal
from datasets.models import DataNode
from datasets.permissions import DECIDE, VIEW_WORK, dacs_where
from requests.models import Permit, PermitEvent, PermitStatus, Review
from requests.visas import mint_passport, mint_visas

# Not a stored status: an active permit whose time has run out (time is read, not scheduled).
EXPIRED = "expired"
STATES = [*PermitStatus.values, EXPIRED]
STATE_LABELS = {**dict(PermitStatus.choices), EXPIRED: "Expired"}


def permit_state(permit: Permit, now: dt.datetime) -> str:
    """active, expired, revoked or replaced: expiry is derived from the clock at every read."""
    if permit.status == PermitStatus.ACTIVE and permit.expires_at <= now:
        return EXPIRED
    return permit.status


def condition_texts(permit: Permit) -> list[str]:
    """The words of each condition; conditions are {code, text, ...} objects, older rows may be text."""
    return [str(c.get("text", "")) if isinstance(c, dict) else str(c) for c in permit.conditions or []]


def permits_of(user, now: dt.datetime) -> list[Permit]:
    """The user's own permits, live ones first, each group newest first."""
    permits = (
        Permit.objects.filter(grantee=user)
        .select_related("grantee", "dataset__dac", "application")
        .order_by("-starts_at", "-pk")
    )
    # Sorted here rather than in SQL so that "live" keeps its one definition (Permit.is_live is
    # live_permit_condition in memory); a person holds a handful of permits, and sorted() is
    # stable, so each group keeps its order.
    return sorted(permits, key=lambda p: not p.is_live(now))


def live_permits(now: dt.datetime, *conditions: Q, **filters: Any) -> QuerySet[Permit]:
    """Live permits matching the conditions, with what a visa needs."""
    return Permit.objects.live(now).filter(*conditions, **filters).select_related("dataset__dac", "decision", "grantee")


def passport_of(user, now: dt.datetime) -> tuple[str, int]:
    """A signed passport holding a fresh visa for each live permit of the user, and their number."""
    visas = mint_visas(live_permits(now, grantee=user), now)
    return mint_passport(user, visas, now), len(visas)


def permits_of_application(application_id: int) -> QuerySet[Permit]:
    """The permits an application gave, by dataset and grantee."""
    return (
        Permit.objects.filter(application_id=application_id)
        .select_related("dataset__dac", "grantee")
        .order_by("dataset__accession", "grantee__name", "pk")
    )


def permits_seen_by(user) -> QuerySet[Permit]:
    """Permits `user` may see: their own, and those of datasets of committees they hold a role
    on; annotated with `may_revoke` (the user chairs the dataset's committee)."""
    if user is None or not user.is_authenticated:
        return Permit.objects.none()
    seen = Q(dataset__dac__in=dacs_where(user, VIEW_WORK)) | Q(grantee=user)
    chairs = dacs_where(user, DECIDE).filter(pk=OuterRef("dataset__dac_id"))
    return (
        Permit.objects.filter(seen)
        .annotate(may_revoke=Exists(chairs))
        .select_related("grantee", "dataset__dac", "application")
    )


def review_of_permit(permit: Permit) -> int | None:
    """The committee's review of the application that gave the permit."""
    return (
        Review.objects.filter(application_id=permit.application_id, dac_id=permit.dataset.dac_id)
        .values_list("pk", flat=True)
        .first()
    )


# --- What a data node sees ---------------------------------------------------------------------------


def hosted_by(node: DataNode, via: str = "") -> Q:
    """The condition "the permit's dataset is one `node` may see", on Permit or, with `via`
    ("permit__"), on a model that points to one. Meant for a single filter() with the other
    conditions: the nodes relation is many-to-many, so chaining it would widen the result."""
    return Q() if node.is_broker else Q(**{f"{via}dataset__nodes": node})


def live_permits_for(node: DataNode, now: dt.datetime, **conditions: Any) -> QuerySet[Permit]:
    """Live permits that `node` may see and that match `conditions`, with what a visa needs."""
    return live_permits(now, hosted_by(node), **conditions)


def visas_seen_by(caller, identifier: str, now: dt.datetime) -> list[str] | None:
    """Fresh visas of the live permits of the person `identifier` names (either of their ids,
    accounts.selectors.person_named) that `caller` may see, in accession order: a node those of
    the datasets it hosts (the broker every dataset's), a person only their own. None when the id
    names nobody, or, for a person, someone else: the two answer alike (404)."""
    person = person_named(identifier)
    if person is None:
        return None
    if isinstance(caller, NodePrincipal):
        scope = hosted_by(caller.node)
    elif caller.pk == person.pk:
        scope = Q()
    else:
        return None
    permits = live_permits(now, scope, grantee=person).order_by("dataset__accession")
    return mint_visas(permits, now)


def changes_for(node: DataNode, *, after: int, limit: int, now: dt.datetime) -> list[PermitEvent]:
    """The node's permit events after the cursor `after`, oldest first.

    Events settle for a moment before they are served: ids are taken before commit, so a row
    with a lower id can become visible after a higher one; the wait lets it catch up instead of
    being skipped by a cursor that has moved on."""
    settled = now - dt.timedelta(seconds=settings.PERMIT_FEED_SETTLE_SECONDS)
    return list(
        PermitEvent.objects.filter(hosted_by(node, via="permit__"), id__gt=after, at__lte=settled)
        .select_related("permit__grantee", "permit__dataset")
        .order_by("id")[:limit]
    )
