"""The permit's whole lifecycle: issue, replacement by a later approval, revocation, and the
expiry events of the changes feed. Every change of a permit is a permit event, which the
changes feed serves and webhooks push, so nodes and the feed tell the same story."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from datasets import webhooks
from datasets.models import DataNode, Dataset
from datasets.permissions import DECIDE
from portal import audit
from portal.audit_actions import AuditAction
from portal.exceptions import Conflict, InvalidInput, NotAllowed
from portal.workflow import Workflow
from requests.models import Application, DatasetDecision, Permit, PermitEvent, PermitStatus
from requests.selectors.reviews import holds_role

P = PermitStatus
PERMIT_WORKFLOW = Workflow(
    name="permit",
    model=Permit,
    moves={
        P.ACTIVE: frozenset({P.REVOKED, P.REPLACED}),
        P.REVOKED: frozenset(),
        P.REPLACED: frozenset(),
    },
)


def record_event(permit: Permit, kind: str, *, at=None) -> PermitEvent:
    """Append to the changes feed and queue the event's webhook to every node that sees the
    permit's dataset and has one; call inside the transaction of the change (the outbox raises
    RuntimeError otherwise). A fixed number of queries, however many nodes."""
    event = PermitEvent.objects.create(permit=permit, kind=kind, at=at or timezone.now(), expires_at=permit.expires_at)
    node_ids = list(DataNode.objects.seeing(permit.dataset_id).with_webhook().values_list("pk", flat=True))
    if node_ids:
        webhooks.enqueue_webhooks(node_ids=node_ids, event_id=event.pk, body=change_object(event))
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


def permit_replace(*, grantee: User, dataset: Dataset, actor: User | None, by: Application, at: dt.datetime) -> None:
    """End the grantee's active permit on the dataset, if any, because a new approval replaces
    it: a `replaced` event for nodes and the feed, and an audit event. Call before issuing."""
    active = Permit.objects.filter(grantee=grantee, dataset=dataset, status=P.ACTIVE)
    for old in PERMIT_WORKFLOW.move_many(
        active, P.REPLACED, actor=actor, action=AuditAction.PERMIT_REPLACED, data={"application": by.pk}
    ):
        old.dataset, old.grantee = dataset, grantee
        record_event(old, PermitEvent.Kind.REPLACED, at=at)


def permit_issue(*, decision: DatasetDecision, grantee: User, application: Application, at: dt.datetime) -> Permit:
    """Issue the permit an approval gives one person (replacing their active one on the same
    dataset): its length is the decision's, from `at`; an `issued` event and an audit event."""
    # The chain's lock first: two approvals of the same person and dataset (in two applications)
    # then take turns between reading the active permit and committing the new one, instead of
    # both finding none and colliding on the one-active-permit constraint.
    audit.lock_chain()
    permit_replace(grantee=grantee, dataset=decision.dataset, actor=decision.decided_by, by=application, at=at)
    expires = at + relativedelta(months=decision.months)
    permit = Permit.objects.create(
        grantee=grantee,
        dataset=decision.dataset,
        application=application,
        decision=decision,
        starts_at=at,
        expires_at=expires,
        conditions=decision.conditions,
    )
    record_event(permit, PermitEvent.Kind.ISSUED, at=at)
    audit.record(
        action=AuditAction.PERMIT_ISSUED,
        target=permit,
        actor=decision.decided_by,
        data={"grantee": str(grantee.sub), "dataset": decision.dataset.accession, "expires_at": expires.isoformat()},
    )
    return permit


def permit_revoke(*, permit: Permit, actor: User | None, reason: str, as_operator: bool = False) -> Permit:
    """The chair of the permit's committee revokes it with a reason the grantee will read
    (`actor=None` is the system; `as_operator` a member of the portal's staff, from the admin).
    Effective at once for online checks; visas already out expire within their lifetime.
    Raises InvalidInput without a reason, NotAllowed for anyone but the chair (or staff acting
    as operators), Conflict (not_active) when it is no longer active."""
    reason = (reason or "").strip()[:5000]
    if not reason:
        raise InvalidInput("Give the reason for the revocation.", extra={"fields": {"reason": "required"}})
    with transaction.atomic():
        audit.lock_chain()  # before the permit row: the lock order of docs/architecture.md
        # The permit row alone is locked: its dataset, committee and grantee are read, not locked.
        locked = (
            Permit.objects.select_for_update(of=("self",)).select_related("dataset__dac", "grantee").get(pk=permit.pk)
        )
        if as_operator:
            if actor is None or not actor.is_staff:
                raise NotAllowed("Only the portal's staff revoke permits as operators.")
        elif actor is not None and not holds_role(actor, locked.dataset.dac_id, DECIDE):
            raise NotAllowed("Only the chair of the dataset's committee revokes its permits.")
        if locked.status != P.ACTIVE:
            raise Conflict(f"The permit is {locked.get_status_display().lower()} already.", code="not_active")
        now = timezone.now()
        locked.revoked_at, locked.revoked_by, locked.revoked_reason = now, actor, reason
        PERMIT_WORKFLOW.move(
            locked,
            P.REVOKED,
            actor=actor,
            action=AuditAction.PERMIT_REVOKED,
            fields=("revoked_at", "revoked_by", "revoked_reason"),
            data={"reason": reason, "as_operator": as_operator},
        )
        record_event(locked, PermitEvent.Kind.REVOKED, at=now)
    return locked


def record_expiries(*, now=None, batch: int = 1000) -> int:
    """Add an `expired` event for each active permit whose time has run out (a tidy-up for the
    changes feed; whether a permit is live is always read from the clock, never from this)."""
    now = now or timezone.now()
    due = (
        Permit.objects.filter(status=P.ACTIVE, expires_at__lte=now)
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
