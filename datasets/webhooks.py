"""Webhooks that push permit events to data nodes (docs/node-contract.md, "Webhooks"), as outbox messages.

A message is written in the transaction of the change and sent after commit by the outbox, whose
sender for this kind lives here (registered by DatasetsConfig.ready()). Bodies are signed with
visa_verifier.webhook.sign, so that nodes check them with the same code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

import httpx

from datasets.models import DataNode
from portal import outbox
from portal.models import OutboxMessage
from visa_verifier import webhook

KIND = OutboxMessage.Kind.WEBHOOK
# A webhook is tried until the node acknowledges it, for about a day: the waits double from
# 30 s to the 1-hour cap (the 8th try comes 63.5 min after the first), then hourly; the 31st and last
# try comes 24 h 3.5 min after the first. A node down longer catches up from the changes feed.
MAX_ATTEMPTS = 31
WEBHOOK_TIMEOUT = httpx.Timeout(10.0)
WEBHOOK_USER_AGENT = "genome-access-portal-webhook/1"


class WebhookRejected(Exception):
    """The receiver answered, but not with a 2xx: the message is tried again later."""


def enqueue_webhook(*, node_id: int, event_id: int, body: dict) -> OutboxMessage:
    """Store a webhook POST of `body` about permit event `event_id` to the node, sent once the
    caller's transaction commits; raises like enqueue_webhooks."""
    return enqueue_webhooks(node_ids=[node_id], event_id=event_id, body=body)[0]


def enqueue_webhooks(*, node_ids: Iterable[int], event_id: int, body: dict) -> list[OutboxMessage]:
    """One webhook message per node, all in one INSERT; raises RuntimeError outside a transaction,
    TypeError or ValueError for a body JSON cannot hold."""
    # Serialised once, here: every try to every node sends the same bytes, in the feed's key order
    # (jsonb would reorder the keys of a stored object).
    text = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    payloads = [{"node_id": node_id, "event_id": event_id, "body": text} for node_id in node_ids]
    return outbox.enqueue(kind=KIND, payloads=payloads)


def send_webhook(payload: dict) -> None:
    """The outbox's sender for webhooks: POST the stored body, signed now, to the node's webhook.
    Raises outbox.Undeliverable when the node or its webhook is gone, WebhookRejected for a
    non-2xx answer and httpx errors when the node cannot be reached (both are retried)."""
    # The node's URL and secret are read now, not when the event happened: a rotated secret or
    # a moved endpoint applies to messages still waiting.
    url, secret = _webhook_target(payload["node_id"])
    body = payload["body"].encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": WEBHOOK_USER_AGENT,
        webhook.EVENT_HEADER: str(payload["event_id"]),
        webhook.SIGNATURE_HEADER: webhook.sign(secret, body, int(time.time())),
    }
    # No redirects: the signed event goes to the configured URL or nowhere. Streamed, so the
    # receiver's answer is never read into memory: only its status counts.
    with (
        httpx.Client(timeout=WEBHOOK_TIMEOUT, follow_redirects=False) as client,
        client.stream("POST", url, content=body, headers=headers) as response,
    ):
        if not response.is_success:
            raise WebhookRejected(f"the node answered HTTP {response.status_code}")


def _webhook_target(node_id: int) -> tuple[str, str]:
    node = DataNode.objects.filter(pk=node_id).only("webhook_url", "webhook_secret_sealed").first()
    if node is None:
        raise outbox.Undeliverable(f"data node {node_id} no longer exists")
    secret = node.webhook_secret()
    if not node.webhook_url or not secret:
        raise outbox.Undeliverable(f"data node {node_id} has no webhook any more")
    return node.webhook_url, secret
