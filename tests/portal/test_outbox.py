"""The e-mail outbox: rows written in the change's transaction, delivered once after commit,
retried with backoff, drained when the after-commit task never ran."""

from __future__ import annotations

import email
import logging
from datetime import datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal import outbox
from portal.celery import app as celery_app
from portal.models import OutboxMessage
from portal.tasks import deliver_outbox_message, drain_outbox
from tests.services import celery_worker, wait_for

TEMPLATE = "accounts/account_exists"
CONTEXT = {"name": "Aino", "login_url": "http://testserver/login/", "reset_url": "http://testserver/reset/"}


def _enqueue(to: str = "aino@example.org") -> OutboxMessage:
    return outbox.enqueue_email(template=TEMPLATE, to=[to], context=CONTEXT)


def _enqueue_undelivered(django_capture_on_commit_callbacks) -> OutboxMessage:
    """A committed row whose after-commit task never ran (as if the broker lost it)."""
    with django_capture_on_commit_callbacks(execute=False):
        return _enqueue()


@pytest.fixture
def smtp_down(monkeypatch):
    def refuse(**kwargs):
        raise OSError("connection refused by smtp.example.org")

    monkeypatch.setattr("portal.outbox.send_templated_email", refuse)
    return monkeypatch


@pytest.mark.django_db(transaction=True)
def test_enqueue_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        _enqueue()
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_enqueue_with_a_context_json_cannot_hold_raises_type_error():
    with pytest.raises(TypeError):
        outbox.enqueue_email(template=TEMPLATE, to=["a@example.org"], context={"when": datetime(2030, 1, 1)})
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_enqueue_with_an_unknown_template_fails_at_once():
    from django.template import TemplateDoesNotExist

    with pytest.raises(TemplateDoesNotExist):
        outbox.enqueue_email(template="accounts/no_such_mail", to=["a@example.org"], context={})


@pytest.mark.django_db(transaction=True)
def test_a_committed_enqueue_sends_the_mail_after_commit_and_marks_it_sent():
    with transaction.atomic():
        message = _enqueue()
        assert mail.outbox == []

    assert [m.to for m in mail.outbox] == [["aino@example.org"]]
    assert "Aino" in mail.outbox[0].body
    message.refresh_from_db()
    assert message.sent_at is not None
    assert message.claimed_until is None
    assert message.attempts == 0


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_sends_nothing_and_leaves_no_row():
    def enqueue_then_fail() -> None:
        with transaction.atomic():
            _enqueue()
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError, match="change failed"):
        enqueue_then_fail()

    assert mail.outbox == []
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_the_after_commit_task_delivers_it(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = _enqueue()

    assert len(mail.outbox) == 1
    assert OutboxMessage.objects.get(pk=message.pk).sent_at is not None


@pytest.mark.django_db
def test_delivering_twice_sends_once(django_capture_on_commit_callbacks):
    message = _enqueue_undelivered(django_capture_on_commit_callbacks)

    assert deliver_outbox_message(message.pk) is True
    assert deliver_outbox_message(message.pk) is False
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_claimed_message_is_not_delivered_by_a_second_concurrent_call(
    django_capture_on_commit_callbacks, monkeypatch
):
    message = _enqueue_undelivered(django_capture_on_commit_callbacks)
    second_call: list[bool] = []
    real_send = outbox.send_templated_email

    def send_while_another_worker_tries(**kwargs):
        # The second delivery arrives while the first one is still sending.
        second_call.append(outbox.deliver(message.pk))
        real_send(**kwargs)

    monkeypatch.setattr("portal.outbox.send_templated_email", send_while_another_worker_tries)

    assert outbox.deliver(message.pk) is True
    assert second_call == [False]
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_message_held_by_a_live_claim_is_left_alone(django_capture_on_commit_callbacks):
    message = _enqueue_undelivered(django_capture_on_commit_callbacks)
    OutboxMessage.objects.filter(pk=message.pk).update(claimed_until=timezone.now() + timedelta(minutes=4))

    assert deliver_outbox_message(message.pk) is False
    assert drain_outbox() == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_an_expired_claim_is_taken_over_by_the_drain(django_capture_on_commit_callbacks):
    message = _enqueue_undelivered(django_capture_on_commit_callbacks)
    # The worker that claimed it died before finishing.
    OutboxMessage.objects.filter(pk=message.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))

    assert drain_outbox() == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_failed_send_is_recorded_and_retried_later_by_the_drain(django_capture_on_commit_callbacks, smtp_down):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        message = _enqueue_undelivered(django_capture_on_commit_callbacks)

        assert deliver_outbox_message(message.pk) is False
        message.refresh_from_db()
        assert message.attempts == 1
        assert message.last_error == "OSError: connection refused by smtp.example.org"
        assert message.next_attempt_at == timezone.now() + timedelta(seconds=30)
        assert message.claimed_until is None
        assert message.sent_at is None

        smtp_down.undo()
        assert drain_outbox() == 0  # not due yet
        traveller.shift(timedelta(seconds=31))
        assert drain_outbox() == 1

    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.sent_at is not None
    assert message.attempts == 1


@pytest.mark.django_db
def test_backoff_doubles_and_is_capped_at_an_hour():
    waits = [outbox.backoff(attempts) for attempts in (1, 2, 3, 7, 8, 10)]
    assert waits == [timedelta(seconds=s) for s in (30, 60, 120, 1920, 3600, 3600)]


@pytest.mark.django_db
def test_after_ten_failures_it_stops_trying(django_capture_on_commit_callbacks, smtp_down, caplog):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        message = _enqueue_undelivered(django_capture_on_commit_callbacks)
        for _ in range(outbox.MAX_ATTEMPTS + 3):
            drain_outbox()
            traveller.shift(timedelta(hours=1, seconds=1))

        smtp_down.undo()
        assert drain_outbox() == 0
        assert deliver_outbox_message(message.pk) is False

    message.refresh_from_db()
    assert message.attempts == outbox.MAX_ATTEMPTS
    assert message.sent_at is None
    assert mail.outbox == []
    assert [r.levelno for r in caplog.records if "gave up" in r.getMessage()] == [logging.ERROR]


@pytest.mark.django_db
def test_retry_now_gives_a_message_that_gave_up_one_more_attempt(django_capture_on_commit_callbacks):
    message = _enqueue_undelivered(django_capture_on_commit_callbacks)
    later = timezone.now() + timedelta(hours=1)
    OutboxMessage.objects.filter(pk=message.pk).update(attempts=outbox.MAX_ATTEMPTS, next_attempt_at=later)

    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.retry_now(OutboxMessage.objects.all()) == 1

    message.refresh_from_db()
    assert message.sent_at is not None
    assert message.attempts == outbox.MAX_ATTEMPTS - 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_outbox_admin_lists_messages_and_retries_them(client_for, django_capture_on_commit_callbacks):
    message = _enqueue_undelivered(django_capture_on_commit_callbacks)
    client = client_for("staff")
    changelist = reverse("admin:portal_outboxmessage_changelist")

    assert client.get(changelist, {"delivery": "unsent"}).status_code == 200
    assert client.get(reverse("admin:portal_outboxmessage_change", args=[message.pk])).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(changelist, {"action": "retry_now", "_selected_action": [message.pk]})

    assert response.status_code == 302
    assert len(mail.outbox) == 1


def test_beat_drains_the_outbox_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["drain-outbox"]
    assert entry["schedule"] == 60.0
    assert entry["task"] in celery_app.tasks


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_an_enqueued_email_after_commit(tmp_path):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    with celery_worker(mail_dir):
        with transaction.atomic():
            message = _enqueue(to="worker@example.org")
        files = wait_for(lambda: sorted(mail_dir.glob("*.log")))
        wait_for(lambda: OutboxMessage.objects.filter(pk=message.pk, sent_at__isnull=False).exists())

    assert email.message_from_string(files[0].read_text())["To"] == "worker@example.org"
    assert OutboxMessage.objects.get(pk=message.pk).attempts == 0


# --- the registry of senders -----------------------------------------------------------------------


@pytest.fixture
def senders(monkeypatch):
    """The registry as the apps left it, with whatever a test registers dropped afterwards."""
    monkeypatch.setattr(outbox, "_SENDERS", dict(outbox._SENDERS))
    return outbox._SENDERS


def test_the_kernel_sends_e_mail_and_the_datasets_app_registers_webhooks():
    from datasets import webhooks

    assert outbox._SENDERS[OutboxMessage.Kind.EMAIL].max_attempts == outbox.MAX_ATTEMPTS
    assert outbox._SENDERS[OutboxMessage.Kind.WEBHOOK].send is webhooks.send_webhook
    assert outbox.max_attempts(OutboxMessage.Kind.WEBHOOK) == webhooks.MAX_ATTEMPTS


def test_a_kind_gets_one_sender_only(senders):
    def other_send(payload: dict) -> None:
        raise AssertionError("never called")

    email = senders[OutboxMessage.Kind.EMAIL]
    assert outbox.register_sender(email.kind, email.send, max_attempts=email.max_attempts) == email  # again: harmless
    with pytest.raises(ValueError, match="have a sender already"):
        outbox.register_sender(OutboxMessage.Kind.EMAIL, other_send)
    with pytest.raises(ValueError, match="at least one attempt"):
        outbox.register_sender("parcel", other_send, max_attempts=0)
    assert senders[OutboxMessage.Kind.EMAIL] == email


@pytest.mark.django_db
def test_a_kind_without_a_sender_cannot_be_enqueued():
    with pytest.raises(LookupError, match="No outbox sender"):
        outbox.enqueue(kind="parcel", payloads=[{"to": "x"}])
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_a_registered_kind_is_delivered_retried_to_its_own_limit_and_closed_when_undeliverable(
    senders, django_capture_on_commit_callbacks
):
    sent: list[dict] = []

    def send_parcel(payload: dict) -> None:
        if payload["to"] == "down":
            raise OSError("the depot is closed")
        if payload["to"] == "gone":
            raise outbox.Undeliverable("nobody lives there any more")
        sent.append(payload)

    outbox.register_sender("parcel", send_parcel, max_attempts=2)
    with django_capture_on_commit_callbacks(execute=True):
        _home, down, gone = outbox.enqueue(kind="parcel", payloads=[{"to": t} for t in ("home", "down", "gone")])

    assert sent == [{"to": "home"}]
    down.refresh_from_db()
    gone.refresh_from_db()
    assert (down.attempts, down.sent_at) == (1, None)
    assert gone.sent_at is not None
    assert gone.last_error == "not sent: nobody lives there any more"
    assert outbox.max_attempts("parcel") == 2
    OutboxMessage.objects.filter(pk=down.pk).update(attempts=2)
    assert not outbox.due(timezone.now() + timedelta(days=1)).filter(pk=down.pk).exists()
    assert OutboxMessage.objects.filter(outbox.gave_up(), pk=down.pk).exists()
