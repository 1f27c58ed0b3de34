"""Checking the signature of the portal's webhooks, for data nodes. Standard library only.

The portal POSTs each permit event (the change object of `GET /api/v1/permits/changes`) as JSON:

    Content-Type: application/json
    X-Portal-Event: <event id>        for logs; NOT under the MAC
    X-Portal-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, b"<t>." + body)>

Check the header over the raw body bytes, before parsing them, and answer 2xx only afterwards:

    verify_signature(secret, raw_body, headers["X-Portal-Signature"])  # raises WebhookSignatureError

The timestamp is inside the MAC, so a captured request is refused once it is older than the
tolerance. Delivery is at least once: recognise duplicates by the signed body (permit_id, event, at),
not by X-Portal-Event, which a replay inside the tolerance could set at will.

The signature header may hold several `v1=` values (the portal signing with an old and a new
secret during a rotation); one match is enough. The portal builds its header with `sign` below,
so both sides share this one implementation of the MAC.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

SIGNATURE_HEADER = "X-Portal-Signature"
EVENT_HEADER = "X-Portal-Event"
DEFAULT_TOLERANCE = 300

_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
# Ten digits reach the year 2286; more is no timestamp of ours, and bounds int() on hostile input.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_MAX_HEADER = 4096


class WebhookSignatureError(ValueError):
    """The request is not a genuine, fresh webhook of the portal; the message says why."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The X-Portal-Signature value for `body` sent at `timestamp` (unix seconds)."""
    return f"t={int(timestamp)},v1={_mac(secret, body, int(timestamp))}"


def verify_signature(
    secret: str,
    body: bytes,
    signature_header: str | None,
    *,
    now: float | None = None,
    tolerance: int = DEFAULT_TOLERANCE,
) -> None:
    """Return if `signature_header` signs `body` with `secret` and its timestamp is within
    `tolerance` seconds of `now` (default: the clock); raise WebhookSignatureError otherwise."""
    if tolerance < 0:
        raise ValueError("tolerance is a number of seconds, at least 0.")
    timestamp, candidates = _parse(signature_header)
    expected = _mac(secret, bytes(body), timestamp)
    # compare_digest for every candidate: the time taken says nothing about how much matched.
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise WebhookSignatureError("the signature does not match the body (wrong secret or altered body)")
    now = time.time() if now is None else now
    if timestamp < now - tolerance:
        raise WebhookSignatureError(
            f"the timestamp is {now - timestamp:.0f} s old, more than the {tolerance} s allowed (a replay?)"
        )
    if timestamp > now + tolerance:
        raise WebhookSignatureError(
            f"the timestamp is {timestamp - now:.0f} s in the future, more than the {tolerance} s allowed "
            "(check the clocks)"
        )


def _mac(secret: str, body: bytes, timestamp: int) -> str:
    if not secret:
        raise ValueError("no webhook secret given")
    return hmac.new(secret.encode(), b"%d." % timestamp + body, hashlib.sha256).hexdigest()


def _parse(header: str | None) -> tuple[int, list[str]]:
    if not header or not header.strip():
        raise WebhookSignatureError(f"the {SIGNATURE_HEADER} header is missing")
    if len(header) > _MAX_HEADER:
        raise WebhookSignatureError(f"the {SIGNATURE_HEADER} header is malformed: too long")
    timestamps, candidates = [], []
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            raise WebhookSignatureError(
                f"the {SIGNATURE_HEADER} header is malformed: {item.strip()!r} is not key=value"
            )
        if name == "t":
            timestamps.append(value)
        elif name == "v1":
            candidates.append(value.lower())
        # Other schemes (a future v2) are skipped, so the portal can add one without breaking nodes.
    if len(timestamps) != 1 or not _TIMESTAMP.fullmatch(timestamps[0]):
        raise WebhookSignatureError(f"the {SIGNATURE_HEADER} header is malformed: it needs one t=<unix seconds>")
    if not candidates or not all(_HEX_SHA256.fullmatch(candidate) for candidate in candidates):
        raise WebhookSignatureError(f"the {SIGNATURE_HEADER} header is malformed: it needs v1=<64 hex digits>")
    return int(timestamps[0]), candidates
