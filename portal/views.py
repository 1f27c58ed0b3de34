"""Pages and probes of the portal as a whole."""

from __future__ import annotations

import logging

from django.core.cache import cache, caches
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from portal.celery import app as celery_app

logger = logging.getLogger(__name__)


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html")


@require_safe
def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin signs in through the portal's own login, with its lockout and checks."""
    query = request.GET.urlencode()
    return redirect(reverse("accounts:login") + (f"?{query}" if query else ""))


@require_safe
def jwks(request: HttpRequest) -> JsonResponse:
    """The public keys that sign visas: the current one and those retiring (GA4GH JWKS)."""
    return jwks_response()


def jwks_response() -> JsonResponse:
    """The JWKS answer, also served at REMS's /api/jwk (requests.rems_api)."""
    from portal.signing import current_key
    from portal.signing import jwks as key_set

    current_key()  # a portal with no key yet gets one, so the set is never empty
    response = JsonResponse(key_set())
    # Short caching: verifiers refetch on an unknown kid, and a rotation must show up soon.
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_safe
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Touches nothing else, so a database outage never gets
    healthy web processes killed by the orchestrator."""
    return JsonResponse({"status": "ok"})


def _check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True}


def _check_cache() -> dict:
    cache.set("readyz:probe", "1", timeout=10)
    if cache.get("readyz:probe") != "1":
        return {"ok": False, "error": "value written to the cache could not be read back"}
    return {"ok": True, "backend": caches["default"].__class__.__name__}


def _check_broker() -> dict:
    if celery_app.conf.task_always_eager:
        return {"ok": True, "mode": "eager", "detail": "no broker configured; tasks run in the web process"}
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return {"ok": True, "mode": "broker"}


def _check_signing_keys() -> dict:
    # A web process that cannot open the signing keys (SECRET_KEY or SIGNING_KEY_SECRET changed)
    # would answer every visa request with 503: it is not ready.
    from portal.checks import signing_keys_readable

    problems = signing_keys_readable(None, databases=["default"])
    if problems:
        return {"ok": False, "error": "secrets_unreadable", "detail": problems[0].msg}
    return {"ok": True}


_CHECKS = {
    "database": _check_database,
    "cache": _check_cache,
    "broker": _check_broker,
    "signing_keys": _check_signing_keys,
}


def _run(check) -> dict:
    try:
        return check()
    except Exception as exc:  # a probe reports any failure instead of raising it
        logger.warning("readiness check failed: %s", exc)
        return {"ok": False, "error": exc.__class__.__name__}


@require_safe
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: database, cache and broker each answer; 503 when one does not."""
    results = {name: _run(check) for name, check in _CHECKS.items()}
    ok = all(result["ok"] for result in results.values())
    return JsonResponse({"status": "ok" if ok else "unavailable", "checks": results}, status=200 if ok else 503)
