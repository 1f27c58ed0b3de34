"""Permit lifecycle after issue: revocation, the expiry events of the changes feed, and the
permit events themselves, which the feed serves and webhooks push."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from datasets.models import DataNode
from datasets.permissions import DECIDE, dacs_where
from portal import audit, outbox
from portal.exceptions import Conflict, InvalidInput, NotAllowed
from requests.models import Permit, PermitEvent, PermitStatus


def record_event(permit: Permit, kind: str, *, at=None) -> PermitEvent:
    """Append to the changes feed and queue the event's webhook to every node that sees the
    permit's dataset and has one; call inside the transaction of the change (the outbox raises
    RuntimeError otherwise). A fixed number of queries, however many nodes."""
    event = PermitEvent.objects.create(permit=permit, kind=kind, at=at or timezone.now(), expires_at=permit.expires_at)
    node_ids = list(DataNode.objects.seeing(permit.dataset_id).with_webhook().values_list("pk", flat=True))
    if node_ids:
        outbox.enqueue_webhooks(node_ids=node_ids, event_id=event.pk, body=change_object(event))
    return event


def change_object(event: PermitEvent) -> dict[str, Any]:
    """The event as the changes feed lists it and its webhook carries it, in JSON values: times
    in UTC as ISO 8601 with a Z, as DRF renders them. Reads the permit's grantee and dataset."""
    permit = event.permit
    return {
        "permit_id": event.permit_id,
        "user": str(permit.grantee.sub),
        "dataset": permit.dataset.accession,
        "event": str(event.kind),
        "at": _utc_iso(event.at),
        "expires_at": _utc_iso(event.expires_at),
    }


def _utc_iso(moment: dt.datetime) -> str:
    # In UTC first: an event built in memory must read exactly like the same row read back
    # from PostgreSQL, which returns UTC.
    text = moment.astimezone(dt.UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def permit_revoke(*, permit: Permit, actor, reason: str) -> Permit:
    """The chair of the permit's committee revokes it with a reason the grantee will read.
    Effective at once for online checks; visas already out expire within their lifetime."""
    reason = reason or ""
    if not reason.strip():
        raise InvalidInput("Give the reason for the revocation.", extra={"fields": {"reason": "required"}})
    with transaction.atomic():
        locked = Permit.objects.select_for_update().select_related("dataset__dac", "grantee").get(pk=permit.pk)
        if actor is not None and not dacs_where(actor, DECIDE).filter(pk=locked.dataset.dac_id).exists():
            raise NotAllowed("Only the chair of the dataset's committee revokes its permits.")
        if locked.status != PermitStatus.ACTIVE:
            raise Conflict(f"The permit is {locked.get_status_display().lower()} already.", code="not_active")
        now = timezone.now()
        locked.status, locked.revoked_at, locked.revoked_by = PermitStatus.REVOKED, now, actor
        locked.revoked_reason = reason.strip()[:5000]
        locked.save(update_fields=["status", "revoked_at", "revoked_by", "revoked_reason"])
        record_event(locked, PermitEvent.Kind.REVOKED, at=now)
        audit.record(action="permit.revoked", target=locked, actor=actor, data={"reason": locked.revoked_reason})
    return locked


def record_expiries(*, now=None, batch: int = 1000) -> int:
    """Add an `expired` event for each active permit whose time has run out (a tidy-up for the
    changes feed; whether a permit is live is always read from the clock, never from this)."""
    now = now or timezone.now()
    due = (
        Permit.objects.filter(status=PermitStatus.ACTIVE, expires_at__lte=now)
        .exclude(events__kind=PermitEvent.Kind.EXPIRED)
        .select_related("grantee", "dataset")
        .order_by("expires_at")[:batch]
    )
    count = 0
    for permit in due:
        try:
            with transaction.atomic():
                record_event(permit, PermitEvent.Kind.EXPIRED, at=permit.expires_at)
            count += 1
        except IntegrityError:  # recorded by a concurrent run
            continue
    return count
