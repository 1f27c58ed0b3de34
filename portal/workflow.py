"""One shape for every workflow of the portal: a table of allowed moves and one audited move().

A workflow (application, review, permit) declares its states as `TextChoices`, the states a row
may be created in, and a map state -> the states it may move to. `Workflow.move` is the only
way a stored status changes: it locks the row, reads the status under the lock, checks the
table, saves the status (with the other fields the caller changed) with `update_fields`, and
writes the audit event, all in the caller's transaction.

The models guard it: a `StatusGuarded` model refuses a save that changes its status, and a
`StatusGuardedQuerySet` refuses `.update(status=...)`, unless the write comes from `move`. So a
status can neither skip the lock and the audit nor leave the table."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction

from portal import audit
from portal.audit_actions import AuditAction

_moving: contextvars.ContextVar[bool] = contextvars.ContextVar("workflow_moving", default=False)


class StatusWriteOutsideMove(RuntimeError):
    """A workflow status was written without its workflow's move(): a programming error."""


@contextlib.contextmanager
def arranging_states() -> Iterator[None]:
    """For tests that arrange rows in a state directly (no lock, no audit, no table). The portal's
    own code never uses it: a test fails if a module of the portal mentions it."""
    token = _moving.set(True)
    try:
        yield
    finally:
        _moving.reset(token)


class StatusGuardedQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        if "status" in kwargs and not _moving.get():
            raise StatusWriteOutsideMove(f"{self.model.__name__}.status is changed only by its workflow's move().")
        return super().update(**kwargs)

    def bulk_update(self, objs: Iterable[models.Model], fields: Iterable[str], **kwargs: Any) -> int:
        fields = list(fields)
        if "status" in fields and not _moving.get():
            raise StatusWriteOutsideMove(f"{self.model.__name__}.status is changed only by its workflow's move().")
        return super().bulk_update(objs, fields, **kwargs)


class StatusGuarded(models.Model):
    """A model whose `status` belongs to a workflow. New rows start in one of `INITIAL_STATES`;
    afterwards only `Workflow.move` changes the status."""

    INITIAL_STATES: frozenset[str] = frozenset()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        self._check_status_write(kwargs.get("update_fields"))
        super().save(*args, **kwargs)
        self._stored_status = self.status

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._stored_status = instance.__dict__.get("status")
        return instance

    def _check_status_write(self, update_fields: Iterable[str] | None) -> None:
        if _moving.get():
            return
        if self._state.adding:
            if self.status not in self.INITIAL_STATES:
                raise StatusWriteOutsideMove(
                    f"A new {type(self).__name__} starts in one of {sorted(self.INITIAL_STATES)}, not {self.status!r}."
                )
            return
        writes_status = update_fields is None or "status" in update_fields
        stored = getattr(self, "_stored_status", self.status)
        if writes_status and self.status != stored:
            raise StatusWriteOutsideMove(f"{type(self).__name__}.status is changed only by its workflow's move().")


@dataclass(frozen=True)
class Workflow:
    """The states of one model's `status`, where each may go, and the one audited move."""

    name: str  # "application": used in messages
    model: type[StatusGuarded]
    moves: Mapping[str, frozenset[str]]

    def __post_init__(self) -> None:
        states = set(dict(self.model._meta.get_field("status").choices))
        if set(self.moves) != states or any(not targets <= states for targets in self.moves.values()):
            raise ValueError(f"The {self.name} moves must name every state and only states: {sorted(states)}.")
        if not states >= self.model.INITIAL_STATES:
            raise ValueError(f"The {self.name} initial states must be states.")

    def allowed(self, current: str, to: str) -> bool:
        return to in self.moves.get(current, frozenset())

    def guard(self, current: str, to: str) -> None:
        """Raise Conflict (code invalid_transition) unless the table allows current -> to; for a
        service that checks the move before the work that precedes it."""
        # Imported here: models import this module, and portal.exceptions brings in DRF, whose
        # settings import the authentication classes, which import models.
        from portal.exceptions import Conflict

        if not self.allowed(current, to):
            raise Conflict(
                f"The {self.name} is {self.label(current)}; it cannot become {self.label(to)}.",
                code="invalid_transition",
                extra={"status": current},
            )

    def sources(self, to: str) -> frozenset[str]:
        """The states from which `to` can be reached."""
        return frozenset(state for state, targets in self.moves.items() if to in targets)

    def label(self, state: str) -> str:
        return str(dict(self.model._meta.get_field("status").choices).get(state, state)).lower()

    def move(
        self,
        obj: StatusGuarded,
        to: str,
        *,
        actor: Any,
        action: AuditAction,
        fields: Iterable[str] = (),
        data: dict | None = None,
    ) -> StatusGuarded:
        """Move `obj` to `to` along the table, or raise Conflict (code invalid_transition) naming
        the status it is in. Locks the row (FOR UPDATE of that row alone, so that no joined row is
        locked by the way); the caller's other changes to `obj` listed in `fields` are saved with
        the status. Must run inside the caller's transaction."""
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError(f"{self.name} move() must run inside a transaction.")
        current = self.model.objects.select_for_update(of=("self",)).filter(pk=obj.pk).values_list("status", flat=True)
        current = current.get()
        self.guard(current, to)
        obj.status = to
        token = _moving.set(True)
        try:
            obj.save(update_fields=["status", *fields])
        finally:
            _moving.reset(token)
        audit.record(
            action=action, target=obj, actor=actor, before={"status": current}, after={"status": to}, data=data
        )
        return obj

    def move_many(
        self, queryset: models.QuerySet, to: str, *, actor: Any, action: AuditAction, data: dict | None = None
    ) -> list[StatusGuarded]:
        """Move every row of `queryset` that may go to `to` (locked in primary-key order, one
        lock order for all), each with its audit event; rows that may not are left alone."""
        rows = list(queryset.filter(status__in=self.sources(to)).select_for_update(of=("self",)).order_by("pk"))
        return [self.move(row, to, actor=actor, action=action, data=data) for row in rows]

    def table(self) -> list[tuple[str, list[str]]]:
        """(state, [states it may move to]) in the order of the choices, for documents."""
        order = list(dict(self.model._meta.get_field("status").choices))
        return [(state, [t for t in order if t in self.moves[state]]) for state in order]

    def markdown(self) -> str:
        """The table as docs/architecture.md shows it (a test keeps the document equal to it)."""
        initial = sorted(self.model.INITIAL_STATES)
        lines = ["| state | may move to |", "|---|---|"]
        for state, targets in self.table():
            start = " (a new row starts here)" if state in initial else ""
            lines.append(f"| `{state}`{start} | {', '.join(f'`{t}`' for t in targets) or '(final)'} |")
        return "\n".join(lines)
