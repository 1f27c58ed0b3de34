"""Webhooks (docs/node-contract.md, "Webhooks"): each permit event is POSTed to the webhook of every node
that sees it, as the change object of the feed, signed, and retried with backoff until a 2xx.
A real HTTP server on 127.0.0.1 plays the node."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from datasets import webhooks as node_webhooks
from datasets.models import DataNode
from datasets.services import node_webhook_clear, node_webhook_set
from portal import outbox
from portal.audit import events_for
from portal.models import OutboxMessage
from portal.signing import SecretsUnreadable
from requests import services
from requests.models import Permit, PermitEvent
from tests.conftest import grant_permits
from tests.factories import DatasetFactory, NodeFactory
from tests.requests.test_node_api import GRU, as_node, grant_gru, node_key
from visa_verifier.webhook import WebhookSignatureError, verify_signature

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2031, 3, 4, 9, 0, tzinfo=dt.UTC)


# --- a node's receiver -------------------------------------------------------------------------------


@dataclass
class Delivery:
    path: str
    headers: Message
    body: bytes

    @property
    def change(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every POST; answers the statuses queued in `answers` first, then 200."""

    base: str
    deliveries: list[Delivery] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return self.base + path

    def at(self, path: str = "/hook") -> list[Delivery]:
        with self.lock:
            return [d for d in self.deliveries if d.path == path]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with receiver.lock:
                receiver.deliveries.append(Delivery(self.path, self.headers, body))
                status = receiver.answers.pop(0) if receiver.answers else 200
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", receiver.url("/redirected"))
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args) -> None:
            return

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    receiver = Receiver(base=f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(receiver)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


# --- helpers ---------------------------------------------------------------------------------------


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(T0, tick=False)
    return time_machine


@pytest.fixture
def broker(db):
    return NodeFactory(slug="ls-login", name="LS Login", is_broker=True)


def webhooks() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(kind=OutboxMessage.Kind.WEBHOOK).order_by("id"))


def approve(application, dac_chair, dac_member, on_commit) -> Permit:
    """The committee approves the application's one dataset; after-commit work (the webhook) runs."""
    with on_commit(execute=True):
        (permit,) = grant_permits(application, dac_chair, [dac_chair, dac_member])
    return permit


def revoke(permit: Permit, dac_chair, on_commit) -> None:
    with on_commit(execute=True):
        services.permit_revoke(permit=permit, actor=dac_chair, reason="The ethics approval was withdrawn.")


def record(permit: Permit, kind: str = PermitEvent.Kind.EXTENDED) -> PermitEvent:
    with transaction.atomic():
        return services.record_event(permit, kind)


def feed_bytes(node: DataNode) -> bytes:
    response = as_node(node_key(node)).get(reverse("api:permit_changes"))
    assert response.status_code == 200
    return response.content


def advance(time_machine, seconds: float) -> None:
    time_machine.move_to(timezone.now() + dt.timedelta(seconds=seconds), tick=False)


# --- what is pushed, and to whom -------------------------------------------------------------------------


def test_an_approval_pushes_the_issued_event_signed_to_the_hosting_node(
    receiver, node, applicant, applicant_submission, dac_chair, dac_member, django_capture_on_commit_callbacks
):
    secret = node_webhook_set(node=node, url=receiver.url())

    permit = approve(applicant_submission, dac_chair, dac_member, django_capture_on_commit_callbacks)

    (delivery,) = receiver.at("/hook")
    event = PermitEvent.objects.get(permit=permit)
    assert delivery.headers["Content-Type"] == "application/json"
    assert delivery.headers["X-Portal-Event"] == str(event.pk)
    assert delivery.headers["User-Agent"] == "genome-access-portal-webhook/1"
    verify_signature(secret, delivery.body, delivery.headers["X-Portal-Signature"])
    assert delivery.change == {
        "permit_id": permit.pk,
        "user": str(applicant.sub),
        "dataset": permit.dataset.accession,
        "event": "issued",
        "at": permit.starts_at.isoformat().replace("+00:00", "Z"),
        "expires_at": permit.expires_at.isoformat().replace("+00:00", "Z"),
    }
    # Byte for byte the entry of the changes feed, in the feed's key order.
    assert delivery.body in feed_bytes(node)
    (message,) = webhooks()
    assert message.sent_at is not None
    assert message.attempts == 0


def test_a_revocation_pushes_the_revoked_event(
    receiver, node, applicant_permit, dac_chair, django_capture_on_commit_callbacks
):
    secret = node_webhook_set(node=node, url=receiver.url())

    revoke(applicant_permit, dac_chair, django_capture_on_commit_callbacks)

    (delivery,) = receiver.at("/hook")
    verify_signature(secret, delivery.body, delivery.headers["X-Portal-Signature"])
    assert delivery.change["event"] == "revoked"
    assert delivery.change["permit_id"] == applicant_permit.pk
    revoked = PermitEvent.objects.get(permit=applicant_permit, kind="revoked")
    assert delivery.headers["X-Portal-Event"] == str(revoked.pk)
    assert delivery.body in feed_bytes(node)


def test_an_expiry_pushes_the_expired_event(
    receiver, node, applicant_permit, frozen, django_capture_on_commit_callbacks
):
    node_webhook_set(node=node, url=receiver.url())
    frozen.move_to(applicant_permit.expires_at + dt.timedelta(hours=1), tick=False)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.record_expiries() == 1

    (delivery,) = receiver.at("/hook")
    assert delivery.change["event"] == "expired"
    assert delivery.change["at"] == delivery.change["expires_at"]


def test_a_node_that_does_not_host_the_dataset_gets_nothing(
    receiver, node, other_node, applicant_submission, dac_chair, dac_member, django_capture_on_commit_callbacks
):
    node_webhook_set(node=node, url=receiver.url("/fi"))
    node_webhook_set(node=other_node, url=receiver.url("/se"))

    approve(applicant_submission, dac_chair, dac_member, django_capture_on_commit_callbacks)

    assert len(receiver.at("/fi")) == 1
    assert receiver.at("/se") == []
    assert [m.payload["node_id"] for m in webhooks()] == [node.pk]


def test_the_broker_gets_the_events_of_every_dataset_hosted_or_not(
    receiver, broker, node, applicant, dac, dac_chair, dac_member, django_capture_on_commit_callbacks
):
    secret = node_webhook_set(node=broker, url=receiver.url("/broker"))
    node_webhook_set(node=node, url=receiver.url("/fi"))
    hosted = DatasetFactory(dac=dac, title="Hosted", data_use=GRU, nodes=[node])
    unhosted = DatasetFactory(dac=dac, title="Hosted nowhere", data_use=GRU)

    with django_capture_on_commit_callbacks(execute=True):
        permits = grant_gru(applicant, [hosted, unhosted], dac_chair, dac_member)

    pushed = receiver.at("/broker")
    assert sorted(d.change["dataset"] for d in pushed) == sorted(p.dataset.accession for p in permits)
    for delivery in pushed:
        verify_signature(secret, delivery.body, delivery.headers["X-Portal-Signature"])
    assert [d.change["dataset"] for d in receiver.at("/fi")] == [hosted.accession]


def test_a_broker_that_also_hosts_the_dataset_gets_the_event_once(
    receiver, broker, dataset, applicant_submission, dac_chair, dac_member, django_capture_on_commit_callbacks
):
    dataset.nodes.add(broker)
    node_webhook_set(node=broker, url=receiver.url("/broker"))

    approve(applicant_submission, dac_chair, dac_member, django_capture_on_commit_callbacks)

    assert len(receiver.at("/broker")) == 1


def test_a_node_without_a_webhook_gets_nothing(
    receiver, node, applicant_submission, dac_chair, dac_member, django_capture_on_commit_callbacks
):
    approve(applicant_submission, dac_chair, dac_member, django_capture_on_commit_callbacks)

    assert webhooks() == []
    assert receiver.deliveries == []


def test_a_url_without_a_secret_pushes_nothing(
    receiver, node, applicant_submission, dac_chair, dac_member, django_capture_on_commit_callbacks
):
    # As after an edit of the URL in the admin, before set_node_webhook made a secret.
    DataNode.objects.filter(pk=node.pk).update(webhook_url=receiver.url())

    approve(applicant_submission, dac_chair, dac_member, django_capture_on_commit_callbacks)

    assert webhooks() == []
    assert receiver.deliveries == []


def test_nothing_is_sent_when_the_change_rolls_back(
    receiver, node, applicant_permit, django_capture_on_commit_callbacks
):
    node_webhook_set(node=node, url=receiver.url())

    with django_capture_on_commit_callbacks(execute=True), suppress(RuntimeError), transaction.atomic():
        services.record_event(applicant_permit, PermitEvent.Kind.EXTENDED)
        raise RuntimeError("the change fails after recording its event")

    assert webhooks() == []
    assert receiver.deliveries == []


def test_recording_an_event_costs_the_same_queries_for_one_node_or_many(
    node, applicant_permit, django_capture_on_commit_callbacks
):
    node_webhook_set(node=node, url="https://fi-node.example.org/hook")

    def cost() -> int:
        permit = Permit.objects.get(pk=applicant_permit.pk)  # nothing cached
        with django_capture_on_commit_callbacks(execute=False), CaptureQueriesContext(connection) as queries:
            record(permit)
        return len(queries)

    one = cost()
    for n in range(6):
        broker = NodeFactory(slug=f"broker-{n}", is_broker=True)
        node_webhook_set(node=broker, url=f"https://broker-{n}.example.org/hook")
    many = cost()

    assert len(webhooks()) == 1 + 7
    assert one == many, (one, many)
    # Savepoint and release, the event, the nodes, the grantee and dataset, the messages.
    assert many <= 7


# --- retries ------------------------------------------------------------------------------------------


def test_a_500_keeps_the_message_and_the_drain_delivers_it_after_the_backoff(
    receiver, node, applicant_submission, dac_chair, dac_member, frozen, django_capture_on_commit_callbacks
):
    secret = node_webhook_set(node=node, url=receiver.url())
    receiver.answers = [500]

    approve(applicant_submission, dac_chair, dac_member, django_capture_on_commit_callbacks)

    (message,) = webhooks()
    assert message.sent_at is None
    assert message.attempts == 1
    assert message.next_attempt_at == T0 + outbox.backoff(1) == T0 + dt.timedelta(seconds=30)
    assert "HTTP 500" in message.last_error
    outbox.drain()
    assert len(receiver.at()) == 1  # not due yet

    advance(frozen, 31)
    outbox.drain()

    first, second = receiver.at()
    message.refresh_from_db()
    assert message.sent_at == T0 + dt.timedelta(seconds=31)
    # The same event and bytes again (receivers de-duplicate on the id), signed afresh.
    assert first.headers["X-Portal-Event"] == second.headers["X-Portal-Event"]
    assert first.body == second.body
    assert second.headers["X-Portal-Signature"].startswith(f"t={int(T0.timestamp()) + 31},")
    verify_signature(secret, second.body, second.headers["X-Portal-Signature"])


def test_a_redirect_is_not_followed_and_counts_as_a_failure(
    receiver, node, applicant_permit, django_capture_on_commit_callbacks
):
    node_webhook_set(node=node, url=receiver.url())
    receiver.answers = [307]

    with django_capture_on_commit_callbacks(execute=True):
        record(applicant_permit)

    (message,) = webhooks()
    assert (message.attempts, message.sent_at) == (1, None)
    assert "HTTP 307" in message.last_error
    assert receiver.at("/redirected") == []


def test_any_2xx_acknowledges(receiver, node, applicant_permit, django_capture_on_commit_callbacks):
    node_webhook_set(node=node, url=receiver.url())
    receiver.answers = [204]

    with django_capture_on_commit_callbacks(execute=True):
        record(applicant_permit)

    assert webhooks()[0].sent_at is not None


def test_a_node_that_cannot_be_reached_is_retried_at_its_current_url(
    receiver, node, applicant_permit, frozen, django_capture_on_commit_callbacks
):
    secret = node_webhook_set(node=node, url=closed_port_url())

    with django_capture_on_commit_callbacks(execute=True):
        record(applicant_permit)

    (message,) = webhooks()
    assert (message.attempts, message.sent_at) == (1, None)
    assert "ConnectError" in message.last_error
    # The operators fix the URL (the admin edits it; the secret stays).
    DataNode.objects.filter(pk=node.pk).update(webhook_url=receiver.url())
    advance(frozen, 30)
    outbox.drain()
    (delivery,) = receiver.at()
    verify_signature(secret, delivery.body, delivery.headers["X-Portal-Signature"])


def test_a_rotated_secret_signs_the_messages_still_waiting(
    receiver, node, applicant_permit, frozen, django_capture_on_commit_callbacks
):
    old = node_webhook_set(node=node, url=receiver.url())
    receiver.answers = [500]
    with django_capture_on_commit_callbacks(execute=True):
        record(applicant_permit)

    new = node_webhook_set(node=node, url=receiver.url())
    advance(frozen, 30)
    outbox.drain()

    first, second = receiver.at()
    verify_signature(old, first.body, first.headers["X-Portal-Signature"])
    verify_signature(new, second.body, second.headers["X-Portal-Signature"])
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_signature(old, second.body, second.headers["X-Portal-Signature"])


def test_a_cleared_webhook_closes_waiting_messages_without_sending(
    receiver, node, applicant_permit, frozen, django_capture_on_commit_callbacks, caplog
):
    node_webhook_set(node=node, url=receiver.url())
    receiver.answers = [500]
    with django_capture_on_commit_callbacks(execute=True):
        record(applicant_permit)

    node_webhook_clear(node=node)
    advance(frozen, 30)
    outbox.drain()

    assert len(receiver.at()) == 1  # only the first, failed, try
    (message,) = webhooks()
    assert message.sent_at is not None
    assert message.last_error.startswith("not sent: ")
    assert "closed without sending" in caplog.text
    assert not outbox.due(timezone.now() + dt.timedelta(days=2)).exists()


def test_webhooks_are_tried_about_a_day_and_e_mails_keep_their_ten_tries():
    assert outbox.max_attempts(OutboxMessage.Kind.WEBHOOK) == node_webhooks.MAX_ATTEMPTS == 31
    assert outbox.max_attempts(OutboxMessage.Kind.EMAIL) == outbox.MAX_ATTEMPTS == 10
    span = sum((outbox.backoff(n) for n in range(1, 31)), dt.timedelta())
    assert dt.timedelta(hours=24) < span < dt.timedelta(hours=25)


def test_a_webhook_is_due_until_its_own_maximum_then_gives_up(
    receiver, node, applicant_permit, frozen, django_capture_on_commit_callbacks, caplog
):
    node_webhook_set(node=node, url=receiver.url())
    receiver.answers = [500] * 40
    with django_capture_on_commit_callbacks(execute=False):
        record(applicant_permit)
        email = outbox.enqueue_email(
            template="accounts/account_exists",
            to=["aino@example.org"],
            context={"name": "Aino", "login_url": "http://x/", "reset_url": "http://x/"},
        )
    (message,) = webhooks()
    # Past the e-mails' limit of ten, a webhook is still due; an e-mail is not.
    OutboxMessage.objects.filter(pk__in=[message.pk, email.pk]).update(attempts=10)
    both = [message.pk, email.pk]
    assert list(outbox.due(timezone.now()).filter(pk__in=both).values_list("pk", flat=True)) == [message.pk]
    assert not OutboxMessage.objects.filter(outbox.gave_up(), pk=message.pk).exists()
    assert OutboxMessage.objects.filter(outbox.gave_up(), pk=email.pk).exists()

    OutboxMessage.objects.filter(pk=message.pk).update(attempts=29)
    for _ in range(5):
        outbox.drain()
        advance(frozen, 3600)

    message.refresh_from_db()
    assert (message.attempts, message.sent_at) == (31, None)
    assert len(receiver.at()) == 2
    assert "gave up after 31 attempts" in caplog.text
    assert OutboxMessage.objects.filter(outbox.gave_up(), pk=message.pk).exists()
    # "Retry now" gives one more try, within the webhook's own limit.
    with django_capture_on_commit_callbacks(execute=False):
        assert outbox.retry_now(OutboxMessage.objects.filter(pk__in=both)) == 2
    message.refresh_from_db()
    email.refresh_from_db()
    assert (message.attempts, email.attempts) == (30, 9)


# --- the after-commit path and the outbox's rules ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_after_a_real_commit_the_event_is_pushed_without_help(
    receiver, node, applicant_submission, dac_chair, dac_member
):
    secret = node_webhook_set(node=node, url=receiver.url())

    (permit,) = grant_permits(applicant_submission, dac_chair, [dac_chair, dac_member])

    (delivery,) = receiver.at()
    assert delivery.change["permit_id"] == permit.pk
    verify_signature(secret, delivery.body, delivery.headers["X-Portal-Signature"])


@pytest.mark.django_db(transaction=True)
def test_enqueue_webhook_outside_a_transaction_is_refused(node):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        node_webhooks.enqueue_webhook(node_id=node.pk, event_id=1, body={"permit_id": 1})
    assert not OutboxMessage.objects.exists()


def test_enqueue_webhook_refuses_a_body_json_cannot_hold(node):
    with pytest.raises(TypeError):
        node_webhooks.enqueue_webhook(node_id=node.pk, event_id=1, body={"at": timezone.now()})


def test_a_message_for_a_node_deleted_since_is_closed(node, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        message = node_webhooks.enqueue_webhook(node_id=node.pk + 1000, event_id=1, body={"permit_id": 1})

    assert outbox.deliver(message.pk) is False
    message.refresh_from_db()
    assert message.sent_at is not None
    assert "no longer exists" in message.last_error


# --- the secret at rest, and the command -----------------------------------------------------------------


def run_command(*args: str) -> list[str]:
    out = StringIO()
    call_command("set_node_webhook", *args, stdout=out, stderr=StringIO())
    return out.getvalue().splitlines()


def test_the_command_prints_a_new_secret_alone_on_the_last_line(node):
    lines = run_command(node.slug, "https://fi-node.example.org/portal-events")

    secret = lines[-1]
    assert secret.startswith("whsec_")
    assert len(secret) == len("whsec_") + 43
    node.refresh_from_db()
    assert node.webhook_url == "https://fi-node.example.org/portal-events"
    assert node.webhook_secret() == secret
    assert node.webhook_secret_set_at is not None
    assert run_command(node.slug, "https://fi-node.example.org/portal-events")[-1] != secret


def test_the_secret_is_not_stored_in_clear(node):
    secret = run_command(node.slug, "https://fi-node.example.org/hook")[-1]

    with connection.cursor() as cursor:
        cursor.execute("SELECT webhook_secret_sealed FROM datasets_datanode WHERE id = %s", [node.pk])
        stored = bytes(cursor.fetchone()[0])
    assert secret.encode() not in stored
    assert secret.removeprefix("whsec_").encode() not in stored
    assert len(stored) > len(secret)


def test_a_sealed_secret_does_not_open_on_another_node(node, other_node):
    node_webhook_set(node=node, url="https://fi-node.example.org/hook")
    node.refresh_from_db()
    DataNode.objects.filter(pk=other_node.pk).update(
        webhook_secret_sealed=node.webhook_secret_sealed, webhook_secret_set_at=timezone.now()
    )
    other_node.refresh_from_db()

    with pytest.raises(SecretsUnreadable):
        other_node.webhook_secret()


def test_the_command_is_audited_without_the_secret(node):
    secret = run_command(node.slug, "https://fi-node.example.org/hook")[-1]
    run_command(node.slug, "--clear")

    set_event, cleared = events_for(node)
    assert set_event.action == "node.webhook_set"
    assert set_event.data["after"]["webhook_url"] == "https://fi-node.example.org/hook"
    assert cleared.action == "node.webhook_cleared"
    assert cleared.data["before"] == {"webhook_url": "https://fi-node.example.org/hook", "had_secret": True}
    assert secret not in json.dumps([set_event.data, cleared.data])


def test_clear_removes_the_url_and_the_secret(node):
    run_command(node.slug, "https://fi-node.example.org/hook")

    lines = run_command(node.slug, "--clear")

    node.refresh_from_db()
    assert (node.webhook_url, bytes(node.webhook_secret_sealed), node.webhook_secret_set_at) == ("", b"", None)
    assert node.webhook_secret() == ""
    assert "Removed" in lines[-1]
    assert not DataNode.objects.with_webhook().exists()


def test_an_unknown_slug_is_a_command_error(db):
    with pytest.raises(CommandError, match="No data node"):
        run_command("no-such-node", "https://example.org/hook")


@pytest.mark.parametrize(
    "url",
    ["ftp://fi-node.example.org/hook", "javascript:alert(1)", "fi-node.example.org/hook", "https://", "https://x"],
)
def test_a_url_that_is_not_http_or_https_is_a_command_error(node, url):
    with pytest.raises(CommandError, match="http:// or https://"):
        run_command(node.slug, url)
    node.refresh_from_db()
    assert node.webhook_secret_set_at is None


@pytest.mark.parametrize("args", [(), ("https://fi-node.example.org/hook", "--clear")])
def test_the_command_needs_either_a_url_or_clear(node, args):
    with pytest.raises(CommandError, match="either a URL or --clear"):
        run_command(node.slug, *args)


def test_an_http_url_is_taken_with_a_warning(node):
    err = StringIO()
    call_command("set_node_webhook", node.slug, "http://fi-node.internal:8080/hook", stdout=StringIO(), stderr=err)
    assert "unencrypted" in err.getvalue()


# --- the admin -------------------------------------------------------------------------------------------


def test_the_admin_never_shows_the_secret_and_keeps_the_url_editable(client_for, node):
    secret = node_webhook_set(node=node, url="https://fi-node.example.org/hook")
    node.refresh_from_db()
    url = reverse("admin:datasets_datanode_change", args=[node.pk])
    client = client_for("staff")

    page = client.get(url).content.decode()

    assert secret not in page
    assert secret.removeprefix("whsec_") not in page
    assert 'name="webhook_url"' in page
    assert "webhook_secret_sealed" not in page
    form = {
        "slug": node.slug,
        "name": node.name,
        "country": str(node.country),
        "base_url": node.base_url,
        "contact_email": node.contact_email,
        "webhook_url": "https://fi-node.example.org/new-hook",
    }
    assert client.post(url, form).status_code == 302
    node.refresh_from_db()
    assert node.webhook_url == "https://fi-node.example.org/new-hook"
    assert node.webhook_secret() == secret  # editing the URL keeps the secret
    changed = events_for(node).last()
    assert changed.action == "node.changed"
    assert changed.data["before"] == {"webhook_url": "https://fi-node.example.org/hook"}
    assert changed.data["after"] == {"webhook_url": "https://fi-node.example.org/new-hook"}
