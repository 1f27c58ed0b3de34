"""The audit log: written in the change's transaction, hash-chained, append-only in the database."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from portal import audit
from portal.models import GENESIS_HASH, AuditEvent

TRIGGER = "portal_auditevent_append_only"


def _record(target, action: str = "node.changed", **fields) -> AuditEvent:
    with transaction.atomic():
        return audit.record(action=action, target=target, **fields)


def _alter_trigger(state: str) -> None:
    with connection.cursor() as cursor:
        # ALTER TABLE refuses while the test's transaction holds deferred foreign-key checks.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE portal_auditevent {state} TRIGGER {TRIGGER}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@contextmanager
def _trigger_disabled() -> Iterator[None]:
    """Tampering as someone with direct database access would do it."""
    _alter_trigger("DISABLE")
    try:
        yield
    finally:
        _alter_trigger("ENABLE")


@pytest.mark.django_db(transaction=True)
def test_record_outside_a_transaction_is_refused(applicant):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit.record(action="node.changed", target=applicant)
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_record_keeps_who_what_target_and_before_after(applicant, staff):
    event = _record(applicant, action="dac.policy_changed", actor=staff, before={"name": "A"}, after={"name": "B"})

    event.refresh_from_db()
    assert event.actor == staff
    assert event.actor_label == "staff@example.org"
    assert (event.target_type, event.target_id) == ("accounts.user", str(applicant.pk))
    assert event.data == {"before": {"name": "A"}, "after": {"name": "B"}}
    assert event.prev_hash == GENESIS_HASH


@pytest.mark.django_db
def test_system_events_have_no_actor_and_the_system_label(applicant):
    event = _record(applicant, data={"reason": "nightly tidy"})
    assert event.actor is None
    assert event.actor_label == "system"


@pytest.mark.django_db
def test_data_given_twice_is_refused(applicant):
    with pytest.raises(ValueError, match="before"):
        _record(applicant, before={"a": 1}, data={"before": {"a": 2}})


@pytest.mark.django_db
def test_chain_verifies_after_several_events_including_values_json_lacks(applicant, staff):
    events = [
        _record(applicant, actor=staff, after={"n": 1}),
        _record(staff, data={"when": date(2030, 1, 31), "amount": Decimal("1.50")}),
        # jsonb rewrites these numbers; the hash must cover what comes back.
        _record(applicant, before={"n": 1}, after={"n": 2.5, "big": 1e20, "zero": -0.0}),
    ]

    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert audit.verify_chain() == audit.ChainReport(ok=True, checked=3, first_bad_id=None, reason="")


@pytest.mark.django_db
def test_update_is_refused_by_the_database_and_the_row_stays_unchanged(applicant):
    event = _record(applicant, after={"status": "submitted"})

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(data={"status": "approved"})
    event.action = "test.rewritten"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        event.save()

    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.data == {"after": {"status": "submitted"}}
    assert stored.action == "node.changed"


@pytest.mark.django_db
def test_delete_is_refused_by_the_database(applicant):
    event = _record(applicant)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()

    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db
def test_an_edited_event_breaks_the_chain_at_that_event(applicant):
    first, edited, _last = (_record(applicant, after={"n": n}) for n in range(3))

    with _trigger_disabled():
        AuditEvent.objects.filter(pk=edited.pk).update(data={"after": {"n": 99}})

    report = audit.verify_chain()
    assert not report.ok
    assert report.first_bad_id == edited.pk
    assert "altered" in report.reason
    assert first.pk < edited.pk


@pytest.mark.django_db
def test_a_removed_event_breaks_the_chain_at_its_successor(applicant):
    _first, removed, successor = (_record(applicant, after={"n": n}) for n in range(3))

    with _trigger_disabled():
        AuditEvent.objects.filter(pk=removed.pk).delete()

    report = audit.verify_chain()
    assert (report.ok, report.first_bad_id) == (False, successor.pk)
    assert "removed" in report.reason


@pytest.mark.django_db
def test_events_for_a_target_come_back_oldest_first_and_only_theirs(applicant, other_applicant):
    first = _record(applicant, action="node.created")
    _record(other_applicant, action="node.changed")
    second = _record(applicant, action="node.webhook_set")

    assert list(audit.events_for(applicant)) == [first, second]


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_form_one_chain_with_distinct_predecessors(applicant):
    writers = 6
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            with transaction.atomic():
                barrier.wait(timeout=10)
                audit.record(action="node.changed", target=applicant, data={"writer": n})
                # Hold the transaction open so the others really try to append meanwhile.
                time.sleep(0.05)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    prev_hashes = list(AuditEvent.objects.values_list("prev_hash", flat=True))
    assert len(prev_hashes) == writers
    assert len(set(prev_hashes)) == writers
    assert audit.verify_chain().ok


@pytest.mark.django_db
def test_verify_command_reports_an_intact_chain(applicant, capsys):
    _record(applicant)
    call_command("verify_audit_chain")
    assert "1 events checked" in capsys.readouterr().out


@pytest.mark.django_db
def test_verify_command_exits_non_zero_on_a_broken_chain(applicant):
    event = _record(applicant)
    with _trigger_disabled():
        AuditEvent.objects.filter(pk=event.pk).update(actor_label="someone else")

    with pytest.raises(CommandError, match=f"broken at event {event.pk}"):
        call_command("verify_audit_chain")


@pytest.mark.django_db
def test_audit_admin_lists_events_and_offers_no_changes(client_for, applicant):
    event = _record(applicant)
    client = client_for("staff")

    changelist = reverse("admin:portal_auditevent_changelist")

    assert client.get(changelist, {"q": event.target_id}).status_code == 200
    assert client.get(reverse("admin:portal_auditevent_change", args=[event.pk])).status_code == 200
    assert client.get(reverse("admin:portal_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:portal_auditevent_delete", args=[event.pk])).status_code == 403


@pytest.mark.django_db
def test_an_action_outside_the_vocabulary_is_refused(applicant):
    with transaction.atomic(), pytest.raises(ValueError, match="Unknown audit action"):
        audit.record(action="account.renamd", target=applicant)
    assert not AuditEvent.objects.exists()
