"""The portal audit log: append-only, hash-chained events written in the changing transaction.

Call `record` from the service that makes the change, inside its transaction.atomic block
(docs/conventions.md, "Audit explicitly": never from signals). Each event's hash covers its content and its
predecessor's hash, so editing or removing an old event breaks every later link, and
`verify_chain` finds the first broken one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from portal.audit_actions import AuditAction
from portal.models import GENESIS_HASH, AuditEvent

# The advisory-lock key that serialises appends ("portalAU" in ASCII; any fixed bigint would do,
# as long as nothing else in the database uses the same one).
_APPEND_LOCK_KEY = 0x706F7274616C4155
SYSTEM_LABEL = "system"


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad_id: int | None
    reason: str


def record(
    *,
    action: AuditAction | str,
    target: models.Model,
    actor: AbstractBaseUser | None = None,
    before: dict | None = None,
    after: dict | None = None,
    data: dict | None = None,
) -> AuditEvent:
    """Append one event about `target` to the chain; raises RuntimeError outside a transaction
    and ValueError for an unsaved target or actor."""
    _require_transaction("audit.record")
    if action not in AuditAction.values:
        raise ValueError(f"Unknown audit action {action!r}: add it to portal.audit_actions.AuditAction.")
    if target.pk is None:
        raise ValueError("audit.record needs a saved target (it has no primary key yet).")
    if actor is not None and actor.pk is None:
        raise ValueError("audit.record needs a saved actor, or None for the system.")
    event = AuditEvent(
        actor=actor,
        actor_label=actor.get_username() if actor is not None else SYSTEM_LABEL,
        action=str(action),
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        data=_event_data(before=before, after=after, data=data),
    )
    _lock_chain()
    event.prev_hash = _last_hash()
    # Stamped after the lock so created_at follows chain order on one clock.
    event.created_at = timezone.now()
    event.hash = event_hash(event)
    event.save(force_insert=True)
    return event


def events_for(target: models.Model) -> QuerySet[AuditEvent]:
    """The events about `target`, oldest first."""
    return AuditEvent.objects.filter(target_type=target._meta.label_lower, target_id=str(target.pk)).order_by(
        "created_at", "id"
    )


def verify_chain() -> ChainReport:
    """Recompute every link in id order; the report names the first event that does not fit."""
    expected_prev = GENESIS_HASH
    checked = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        checked += 1
        problem = _link_problem(event, expected_prev)
        if problem:
            return ChainReport(ok=False, checked=checked, first_bad_id=event.id, reason=problem)
        expected_prev = event.hash
    return ChainReport(ok=True, checked=checked, first_bad_id=None, reason="")


def event_hash(event: AuditEvent) -> str:
    """SHA-256 of the event's canonical serialisation, which includes its predecessor's hash."""
    content = {
        "prev_hash": event.prev_hash,
        "created_at": event.created_at.isoformat(),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "data": event.data,
    }
    return hashlib.sha256(_canonical_json(content).encode()).hexdigest()


def _require_transaction(what: str) -> None:
    # Outside the caller's transaction, the event could commit while the change rolls back
    # (or the reverse), and the log would no longer tell the truth.
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"{what} must be called inside the transaction.atomic() block of the change.")


def lock_chain() -> None:
    """Take the audit chain's lock now (it is taken by the first `record` of a transaction
    anyway, and held until commit). The permit services take it before they lock or create a
    permit: holding it, a transaction knows no other one is between reading a person's active
    permit and committing its own (see docs/architecture.md, "One lock order")."""
    _require_transaction("audit.lock_chain")
    _lock_chain()


def _lock_chain() -> None:
    # Two transactions that both read the last hash before either commits would chain onto the
    # same predecessor and fork the log. A transaction-level advisory lock makes appends take
    # turns: it is held until this transaction commits or rolls back, so the next writer reads
    # the hash written here. The cost is that audited transactions serialise from record() to
    # commit, so services should keep that stretch short. This relies on READ COMMITTED (Django's
    # default): each statement after the lock sees what the previous holder committed.
    with transaction.get_connection().cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_APPEND_LOCK_KEY])


def _last_hash() -> str:
    last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    return last or GENESIS_HASH


def _event_data(*, before: dict | None, after: dict | None, data: dict | None) -> dict[str, Any]:
    combined = dict(data or {})
    for key, value in (("before", before), ("after", after)):
        if value is None:
            continue
        if key in combined:
            raise ValueError(f"audit.record got `{key}` both as an argument and inside `data`.")
        combined[key] = value
    return _as_stored(combined)


def _as_stored(data: dict[str, Any]) -> dict[str, Any]:
    # The hash must cover the data exactly as it will be read back. Values JSON cannot hold
    # (dates, decimals, UUIDs) become strings here, and the text goes through jsonb once,
    # because jsonb rewrites some numbers (1e20 comes back as an integer, -0.0 as 0.0) and
    # verify_chain would otherwise call an untouched event altered.
    with transaction.get_connection().cursor() as cursor:
        cursor.execute("SELECT %s::jsonb", [_canonical_json(data)])
        stored = cursor.fetchone()[0]
    return json.loads(stored) if isinstance(stored, str) else stored


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _link_problem(event: AuditEvent, expected_prev: str) -> str:
    if event.prev_hash != expected_prev:
        return "prev_hash does not match the previous event's hash (an event was removed or reordered)"
    if event.hash != event_hash(event):
        return "hash does not match the event's content (the event was altered)"
    return ""
