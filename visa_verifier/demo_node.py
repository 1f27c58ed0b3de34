"""A demo data node: serves the files under `<root>/<accession>/` to a caller whose visa (or passport)
grants that dataset, and logs every decision with its reason. Runs without Django:

    python -m visa_verifier.demo_node --root ./demo-files --trust http://127.0.0.1:8000 --port 8100 \
        [--resource EGAD00001000001=GDS000123]

A visa's value is the portal's dataset URL, or a resource id (such as an archive accession) that
`--resource` (or VISA_RESOURCES) maps to the accession, i.e. the folder, it names.

Offline by default (the reference verifier and the portal's public keys); with NODE_API_KEY set (or
`online_key=`) every request is also checked with the portal's introspection endpoint, so a revoked
permit is refused at once. With a webhook secret the node also takes the portal's pushed permit events
at `POST /webhooks/portal` and refuses visas of a permit revoked after it was granted, even offline.

    GET  /                                  the node: mode, trusted issuers, datasets
    GET  /datasets/<accession>/files        the dataset's files (visa needed)
    GET  /datasets/<accession>/files/<name> one file (visa needed)
    POST /webhooks/portal                   permit events pushed by the portal (HMAC-signed)

The visa or passport travels as `Authorization: Bearer <JWT>`. Errors are JSON
`{"code", "message", "extra"}`: 401 without a valid token, 403 when the token does not grant the
dataset (or the portal says the permit is no longer live), 404 for an unknown dataset or file, 503
when the portal cannot be asked in online mode (the node fails closed).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import mimetypes
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from visa_verifier.config import build_config
from visa_verifier.online import Introspector, PortalUnavailable
from visa_verifier.verifier import Grant, KeySetUnavailable, Rejected, Verifier, iso_time
from visa_verifier.webhook import WebhookSignatureError, verify_signature

logger = logging.getLogger("visa_verifier.demo_node")

_DATASET = re.compile(r"^/datasets/(?P<accession>[A-Za-z0-9][A-Za-z0-9._-]{0,63})/files(?:/(?P<name>[^/]*))?$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MAX_WEBHOOK_BYTES = 65_536


@dataclass(frozen=True)
class Decision:
    allowed: bool
    status: int
    code: str
    reason: str
    dataset: str = ""
    file: str = ""
    sub: str = ""
    jti: str = ""
    until: int | None = None
    mode: str = "offline"
    at: float = 0.0

    def log_line(self) -> str:
        fields = {
            "decision": "allow" if self.allowed else "deny",
            "status": self.status,
            "code": self.code,
            "mode": self.mode,
            "dataset": self.dataset or "-",
            "file": self.file or "-",
            "sub": self.sub or "-",
            "jti": self.jti or "-",
            "until": iso_time(self.until) if self.until else "-",
            "reason": json.dumps(self.reason),
        }
        return " ".join(f"{key}={value}" for key, value in fields.items())


@dataclass
class RevocationList:
    """What the portal pushed: per (person, dataset) the latest permit event. A visa is refused when a
    revocation or expiry of that person's permit for that dataset happened after its decision."""

    ended: dict[tuple[str, str], float] = field(default_factory=dict)
    seen: set[tuple] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, change: dict) -> bool:
        """Take one change object; False when it was taken before. Duplicates are recognised by the
        signed body (permit, event, time), never by the unsigned X-Portal-Event header, which anyone
        replaying a captured request could set to the id of an event still to come."""
        at = _timestamp(change["at"])  # ValueError/TypeError before anything is recorded
        if at is None:
            raise ValueError("at is required")
        identity = (change.get("permit_id"), str(change["event"]), at)
        key = (str(change["user"]), str(change["dataset"]))
        with self.lock:
            if identity in self.seen:
                return False
            if change["event"] in ("revoked", "expired"):
                self.ended[key] = max(at, self.ended.get(key, at))
            self.seen.add(identity)
            return True

    def ended_after(self, grant: Grant) -> float | None:
        with self.lock:
            at = self.ended.get((grant.sub, grant.dataset))
        return at if at is not None and at >= grant.asserted else None


class DemoNode:
    """The WSGI application. `decisions` keeps the latest decisions for tests and the operator."""

    def __init__(
        self,
        *,
        root: Path,
        verifier: Verifier,
        introspector: Introspector | None = None,
        webhook_secret: str = "",
        name: str = "Demo data node",
        clock: Callable[[], float] | None = None,
    ):
        self.root = Path(root)
        self.verifier = verifier
        self.introspector = introspector
        self.webhook_secret = webhook_secret
        self.name = name
        self.revocations = RevocationList()
        self.decisions: list[Decision] = []
        self._clock = clock

    def close(self) -> None:
        self.verifier.close()
        if self.introspector is not None:
            self.introspector.close()

    @property
    def mode(self) -> str:
        return "online" if self.introspector is not None else "offline"

    def datasets(self) -> list[str]:
        return sorted(path.name for path in self.root.iterdir() if path.is_dir()) if self.root.is_dir() else []

    # --- WSGI ----------------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if path == "/webhooks/portal":
            if method != "POST":
                return _json(start_response, 405, _error("method_not_allowed", "POST only"))
            return self._webhook(environ, start_response)
        if method not in ("GET", "HEAD"):
            return _json(start_response, 405, _error("method_not_allowed", "GET only"))
        if path in ("", "/"):
            return _json(start_response, 200, self._about())
        match = _DATASET.match(path)
        if match is None:
            return _json(start_response, 404, _error("not_found", "no such path on this node"))
        accession, name = match.group("accession"), match.group("name") or ""
        decision = self.decide(environ.get("HTTP_AUTHORIZATION", ""), accession, name)
        self._remember(decision)
        if not decision.allowed:
            headers = [("WWW-Authenticate", 'Bearer realm="demo-node"')] if decision.status == 401 else []
            return _json(start_response, decision.status, _error(decision.code, decision.reason), headers)
        folder = self.root / accession
        if not name:
            files = [
                {"name": path.name, "size": path.stat().st_size, "url": f"/datasets/{accession}/files/{path.name}"}
                for path in sorted(folder.iterdir())
                if path.is_file()
            ]
            return _json(start_response, 200, {"dataset": accession, "until": iso_time(decision.until), "files": files})
        body = (folder / name).read_bytes()
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        start_response(
            "200 OK",
            [("Content-Type", content_type), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")],
        )
        return [b"" if method == "HEAD" else body]

    # --- the decision ----------------------------------------------------------------------------

    def decide(self, authorization: str, accession: str, name: str = "") -> Decision:
        now = self._clock() if self._clock else None
        at = now if now is not None else time.time()
        base = {"dataset": accession, "file": name, "mode": self.mode, "at": at}
        if accession not in self.datasets():
            return Decision(False, 404, "unknown_dataset", "this node does not host the dataset", **base)
        if name and not _FILE_NAME.match(name):
            # A name that cannot exist (or that tries to climb out of the folder) ends here; whether a
            # well-formed name exists is told only to a caller the visa lets in.
            return Decision(False, 404, "not_found", "no such file", **base)
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return Decision(False, 401, "no_token", "present a visa or passport as a Bearer token", **base)
        try:
            grant = self.verifier.grant_for(token.strip(), accession, now=now)
        except Rejected as rejected:
            status = 403 if rejected.code in ("other_dataset", "foreign_dataset") else 401
            return Decision(False, status, rejected.code, rejected.reason, **base)
        except KeySetUnavailable as error:
            return Decision(False, 503, "keys_unavailable", str(error), **base)
        who = {"sub": grant.sub, "jti": grant.jti, "until": grant.expires_at}
        ended = self.revocations.ended_after(grant)
        if ended is not None:
            return Decision(
                False, 403, "revoked", f"the portal reported the permit ended at {iso_time(int(ended))}", **base, **who
            )
        if self.introspector is not None:
            try:
                answer = self.introspector.introspect(grant.token)
            except PortalUnavailable as error:
                return Decision(False, 503, "portal_unavailable", str(error), **base, **who)
            if not answer["active"] or answer.get("dataset") != accession or answer.get("sub") != grant.sub:
                return Decision(
                    False, 403, "inactive", "the portal says the permit is not live (revoked or expired)", **base, **who
                )
            try:
                permit_end = _timestamp(answer.get("permit_expires_at"))
            except (ValueError, TypeError):
                return Decision(
                    False, 503, "portal_unavailable", "the portal's answer has a bad permit_expires_at", **base, **who
                )
            who["until"] = min(grant.expires_at, permit_end or grant.expires_at)
        if name and not (self.root / accession / name).is_file():
            return Decision(False, 404, "not_found", "no such file", **base, **who)
        until = iso_time(who["until"])
        return Decision(True, 200, "granted", f"visa grants {accession} until {until}", **base, **who)

    def _remember(self, decision: Decision) -> None:
        self.decisions = [*self.decisions[-999:], decision]
        logger.info(decision.log_line())

    # --- webhooks --------------------------------------------------------------------------------

    def _webhook(self, environ: dict, start_response) -> Iterable[bytes]:
        if not self.webhook_secret:
            return _json(start_response, 404, _error("not_found", "webhooks are not configured on this node"))
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_WEBHOOK_BYTES:
            return _json(start_response, 413, _error("too_large", "webhook body too large"))
        body = environ["wsgi.input"].read(length)
        try:
            verify_signature(self.webhook_secret, body, environ.get("HTTP_X_PORTAL_SIGNATURE", ""))
            change = json.loads(body)
            if not isinstance(change, dict) or not {"user", "dataset", "event", "at"} <= change.keys():
                raise ValueError("not a change object")
            fresh = self.revocations.record(change)
        except WebhookSignatureError as error:
            logger.warning("webhook refused: %s", error)
            return _json(start_response, 401, _error("bad_signature", str(error)))
        except (ValueError, TypeError) as error:
            return _json(start_response, 400, _error("bad_request", str(error)))
        logger.info(
            "webhook event=%s dataset=%s sub=%s duplicate=%s",
            change["event"],
            change["dataset"],
            change["user"],
            not fresh,
        )
        start_response("204 No Content", [])
        return [b""]

    def _about(self) -> dict:
        return {
            "node": self.name,
            "mode": self.mode,
            "trusted_issuers": [
                {"issuer": trusted.issuer, "jwks_url": trusted.jwks_url} for trusted in self.verifier.config.issuers
            ],
            "datasets": self.datasets(),
            "resources": dict(self.verifier.config.resources),
            "webhooks": bool(self.webhook_secret),
        }


# --- serving ----------------------------------------------------------------------------------


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # the decision log says what matters
        logger.debug("%s - %s", self.address_string(), format % args)


def make_node_server(app: DemoNode, host: str = "127.0.0.1", port: int = 8100) -> WSGIServer:
    """A threaded HTTP server for the node (port 0 picks a free port: see `server.server_port`)."""
    return make_server(host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler)


def build_node(
    *,
    root: Path,
    trust: list[str] | None = None,
    skew: int | None = None,
    resources: list[str] | None = None,
    node_key: str | None = None,
    portal_url: str | None = None,
    webhook_secret: str | None = None,
    name: str = "Demo data node",
    env: dict | None = None,
) -> DemoNode:
    env = os.environ if env is None else env
    config = build_config(trust or [], skew=skew, resources=resources or [], env=env)
    node_key = node_key if node_key is not None else env.get("NODE_API_KEY", "")
    introspector = None
    if node_key:
        introspector = Introspector(portal_url or env.get("PORTAL_URL") or config.issuers[0].issuer, node_key)
    secret = webhook_secret if webhook_secret is not None else env.get("NODE_WEBHOOK_SECRET", "")
    return DemoNode(root=root, verifier=Verifier(config), introspector=introspector, webhook_secret=secret, name=name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m visa_verifier.demo_node", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="folder holding one sub-folder of files per accession")
    parser.add_argument("--trust", action="append", default=[], metavar="ISSUER[=JWKS_URL]")
    parser.add_argument("--skew", type=int)
    parser.add_argument(
        "--resource",
        action="append",
        default=[],
        metavar="RESOURCE_ID=ACCESSION",
        help="a resource id the portal's visas may carry as their value, and the accession (folder) it names",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        node = build_node(root=Path(args.root), trust=args.trust, skew=args.skew, resources=args.resource)
    except ValueError as error:
        parser.error(str(error))
    server = make_node_server(node, args.host, args.port)
    logger.info(
        "demo node on http://%s:%s (%s), datasets: %s", args.host, server.server_port, node.mode, node.datasets()
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


# --- small helpers ------------------------------------------------------------------------------


def _timestamp(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        raise ValueError("time must be ISO 8601 text or unix seconds")
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _error(code: str, message: str, extra: dict | None = None) -> dict:
    return {"code": code, "message": message, "extra": extra or {}}


def _json(start_response, status: int, payload: dict, headers: list | None = None) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *(headers or [])],
    )
    return [body]


if __name__ == "__main__":
    sys.exit(main())
