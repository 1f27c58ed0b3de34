"""The outbox: side effects that must not be lost are written as rows in the changing
transaction, then delivered after commit (docs/conventions.md, "Side effects after commit").

The after-commit task is the fast path; `drain` (Celery beat, every minute) is the safety net
for a task the broker lost or could not take. Delivery is at least once: a worker that dies
after sending but before marking the row sent leaves it to be sent again when its claim expires.

Each kind of message has one sender, registered with `register_sender`: the kernel sends e-mail
itself; an app that owns another kind registers its sender in its AppConfig.ready() (the data
nodes' webhooks: datasets.webhooks). The outbox knows nothing of what a kind means.
"""

from __future__ import annotations

import json
import logging
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce

from django.db import transaction
from django.db.models import Case, F, Q, QuerySet, When
from django.db.models.functions import Least
from django.template.loader import get_template
from django.utils import timezone

from portal.mail import send_templated_email
from portal.models import OutboxMessage

logger = logging.getLogger(__name__)

# Tries of an e-mail, and of any kind registered without its own limit.
MAX_ATTEMPTS = 10
CLAIM_DURATION = timedelta(minutes=5)
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
DRAIN_BATCH_SIZE = 100
# Bounds one drain run; beat starts another a minute later anyway.
DRAIN_MAX_BATCHES = 50
_ERROR_LIMIT = 2000


class Undeliverable(Exception):
    """The message has nowhere to go any more (a node's webhook was removed): it is closed
    without being sent, and not tried again."""


@dataclass(frozen=True)
class Sender:
    """How messages of one kind leave: `send(payload)` returns once the receiver took the
    message, raises Undeliverable when it never can, and raises anything else to be retried."""

    kind: str
    send: Callable[[dict], None]
    max_attempts: int


_SENDERS: dict[str, Sender] = {}


def register_sender(kind: str, send: Callable[[dict], None], *, max_attempts: int = MAX_ATTEMPTS) -> Sender:
    """Make `send` the sender of messages of `kind`, tried at most `max_attempts` times; raises
    ValueError when the kind already has another sender or the limit is below 1."""
    if max_attempts < 1:
        raise ValueError(f"A sender needs at least one attempt, not {max_attempts}.")
    sender = Sender(kind=kind, send=send, max_attempts=max_attempts)
    # Registering the same sender again (AppConfig.ready() run twice) is harmless; a second
    # sender for a kind would make delivery depend on the order apps load.
    if _SENDERS.setdefault(kind, sender) != sender:
        raise ValueError(f"Outbox messages of kind {kind!r} have a sender already: {_SENDERS[kind].send!r}.")
    return sender


def enqueue(*, kind: str, payloads: Iterable[dict]) -> list[OutboxMessage]:
    """Store one message of `kind` per payload, all in one INSERT, each delivered once the caller's
    transaction commits; raises RuntimeError outside a transaction, LookupError for a kind that
    has no sender."""
    _require_transaction("enqueue")
    if kind not in _SENDERS:
        raise LookupError(f"No outbox sender is registered for messages of kind {kind!r}.")
    messages = OutboxMessage.objects.bulk_create(OutboxMessage(kind=kind, payload=payload) for payload in payloads)
    for message in messages:
        _deliver_after_commit(message.id)
    return messages


def enqueue_email(*, template: str, to: list[str], context: dict) -> OutboxMessage:
    """Store an e-mail to send once the caller's transaction commits; raises RuntimeError outside
    a transaction, TypeError for a context JSON cannot hold, TemplateDoesNotExist for a bad name."""
    _require_transaction("enqueue_email")
    _check_email(template=template, to=to, context=context)
    payload = {"template": template, "to": list(to), "context": context}
    return enqueue(kind=OutboxMessage.Kind.EMAIL, payloads=[payload])[0]


def deliver(message_id: int) -> bool:
    """Claim the message, send it and record the outcome. Returns whether this call sent it;
    False also when another worker holds it, it was sent already, or it is not due."""
    if not _claim(message_id, timezone.now()):
        return False
    message = OutboxMessage.objects.get(pk=message_id)
    try:
        _SENDERS[message.kind].send(message.payload)
    except Undeliverable as exc:
        _close_unsent(message, exc)
        return False
    except Exception as exc:
        # Whatever went wrong (SMTP, a template error, a kind whose sender is not registered in
        # this process), the row stays and is tried again later.
        _record_failure(message, exc)
        return False
    OutboxMessage.objects.filter(pk=message_id).update(sent_at=timezone.now(), claimed_until=None)
    return True


def drain(*, batch_size: int = DRAIN_BATCH_SIZE, max_batches: int = DRAIN_MAX_BATCHES) -> int:
    """Deliver every due message in this process, batch by batch; returns how many were sent."""
    sent = 0
    for _ in range(max_batches):
        ids = list(due(timezone.now()).order_by("next_attempt_at", "id").values_list("id", flat=True)[:batch_size])
        if not ids:
            break
        # Each id leaves the due set whatever happens: sent, rescheduled later, or claimed elsewhere.
        sent += sum(deliver(message_id) for message_id in ids)
    return sent


def max_attempts(kind: str) -> int:
    """How many times a message of this kind is tried before the outbox gives up on it."""
    sender = _SENDERS.get(kind)
    return sender.max_attempts if sender else MAX_ATTEMPTS


def gave_up() -> Q:
    """The condition "unsent and out of tries", each kind against its own limit."""
    return Q(sent_at__isnull=True) & ~_tries_left()


def due(now: datetime) -> QuerySet[OutboxMessage]:
    """Unsent messages whose time has come, that nobody holds and that have tries left."""
    return OutboxMessage.objects.filter(_claimable(now))


def retry_now(messages: QuerySet[OutboxMessage]) -> int:
    """Make unsent messages due at once and queue their delivery; one that gave up gets one
    more attempt. Returns how many were reset."""
    with transaction.atomic():
        ids = list(messages.filter(sent_at__isnull=True).values_list("id", flat=True))
        OutboxMessage.objects.filter(id__in=ids).update(
            next_attempt_at=timezone.now(),
            claimed_until=None,
            attempts=Case(
                *(When(kind=kind, then=Least(F("attempts"), limit - 1)) for kind, limit in _own_limits().items()),
                default=Least(F("attempts"), MAX_ATTEMPTS - 1),
            ),
        )
        for message_id in ids:
            _deliver_after_commit(message_id)
    return len(ids)


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failures: 30 s, 60 s, 2 min, ... at most 1 hour."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def _own_limits() -> dict[str, int]:
    """The kinds whose limit is not the default one, with their limits."""
    return {kind: s.max_attempts for kind, s in _SENDERS.items() if s.max_attempts != MAX_ATTEMPTS}


def _tries_left() -> Q:
    limits = _own_limits()
    own_limits = [Q(kind=kind, attempts__lt=limit) for kind, limit in limits.items()]
    default = Q(attempts__lt=MAX_ATTEMPTS) & ~Q(kind__in=list(limits))
    return reduce(operator.or_, own_limits, default)


def _claimable(now: datetime) -> Q:
    return (
        Q(sent_at__isnull=True, next_attempt_at__lte=now)
        & _tries_left()
        & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    )


def _claim(message_id: int, now: datetime) -> bool:
    # One conditional UPDATE: of two workers given the same id (a duplicated task, the drain
    # racing the after-commit task), exactly one matches the row; the other sees 0 rows.
    claimed = OutboxMessage.objects.filter(_claimable(now), pk=message_id).update(claimed_until=now + CLAIM_DURATION)
    return claimed == 1


def _record_failure(message: OutboxMessage, exc: Exception) -> None:
    attempts = message.attempts + 1
    OutboxMessage.objects.filter(pk=message.pk).update(
        attempts=attempts,
        last_error=f"{type(exc).__name__}: {exc}"[:_ERROR_LIMIT],
        next_attempt_at=timezone.now() + backoff(attempts),
        claimed_until=None,
    )
    if attempts >= max_attempts(message.kind):
        logger.error("outbox message %s gave up after %s attempts: %r", message.pk, attempts, exc)
    else:
        logger.warning("outbox message %s failed (attempt %s), will retry: %r", message.pk, attempts, exc)


def _close_unsent(message: OutboxMessage, exc: Exception) -> None:
    # sent_at closes the row (nothing will try it again); last_error says it never left.
    OutboxMessage.objects.filter(pk=message.pk).update(
        sent_at=timezone.now(), claimed_until=None, last_error=f"not sent: {exc}"[:_ERROR_LIMIT]
    )
    logger.warning("outbox message %s closed without sending: %s", message.pk, exc)


def _require_transaction(name: str) -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"outbox.{name} must be called inside the transaction.atomic() block of the change.")


def _deliver_after_commit(message_id: int) -> None:
    # Imported here: portal.tasks imports this module.
    from portal.tasks import deliver_outbox_message

    # robust: a broker that is down at commit must not turn a committed change into an error
    # for the user; the row is safe and the drain delivers it.
    transaction.on_commit(lambda: deliver_outbox_message.delay(message_id), robust=True)


def _check_email(*, template: str, to: list[str], context: dict) -> None:
    if isinstance(to, str) or not to or not all(isinstance(address, str) and address for address in to):
        raise ValueError("enqueue_email needs a non-empty list of e-mail addresses.")
    # Fails now, in the caller, rather than ten times in the worker.
    json.dumps(context, allow_nan=False)
    for suffix in ("subject.txt", "txt", "html"):
        get_template(f"email/{template}.{suffix}")


def _send_email(payload: dict) -> None:
    send_templated_email(template=payload["template"], to=payload["to"], context=payload["context"])


register_sender(OutboxMessage.Kind.EMAIL, _send_email)
