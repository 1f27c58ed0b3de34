"""Helpers for tests that need the real Redis broker and a real Celery worker process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def broker_url_or_skip() -> str:
    """The broker URL; skips (a failure under REQUIRE_SERVICES) when none is configured."""
    url = settings.CELERY_BROKER_URL
    # Without REDIS_URL the portal runs tasks in the process, on kombu's in-process transport.
    if not url or url.startswith("memory://"):
        pytest.skip("no broker: set REDIS_URL to run the Celery worker tests")
    return url


def test_database_url() -> str:
    """A DATABASE_URL for the test database, so another process sees what the test commits."""
    s = connection.settings_dict
    host = str(s["HOST"] or "")
    user = quote(str(s["USER"] or "postgres"))
    password = f":{quote(str(s['PASSWORD']))}" if s.get("PASSWORD") else ""
    if host.startswith("/"):
        return f"postgres://{user}{password}@/{s['NAME']}?host={quote(host)}&port={s['PORT'] or 5432}"
    return f"postgres://{user}{password}@{host or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def django_process_env(**extra: str) -> dict[str, str]:
    """The environment for another process of the portal (a worker, a command) that must see what
    the test commits: the test database, development settings, this live portal's address."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "true",
        "DATABASE_URL": test_database_url(),
        "PORTAL_BASE_URL": settings.PORTAL_BASE_URL,
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


@contextmanager
def celery_worker(mail_dir: Path) -> Iterator[str]:
    """Run `celery -A portal worker` on a private queue against the test database, with
    e-mail written to files in mail_dir. Yields the queue name; the caller routes tasks there."""
    from portal.celery import app

    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = django_process_env(
        CELERY_BROKER_URL=broker_url_or_skip(),
        CELERY_QUEUE=queue,
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail_dir),
    )
    args = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "--loglevel=INFO", "-Q", queue]
    log = mail_dir.parent / "worker.log"
    with log.open("w") as out:
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url", "task_default_queue")}
    app.conf.update(task_always_eager=False, broker_url=env["CELERY_BROKER_URL"], task_default_queue=queue)
    try:
        yield queue
    finally:
        app.conf.update(
            task_always_eager=saved["task_always_eager"],
            broker_url=saved["broker_url"],
            task_default_queue=saved["task_default_queue"],
        )
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        if process.returncode not in (0, -15, None):
            print(log.read_text())


def wait_for(predicate, *, timeout: float = 45.0, interval: float = 0.2):
    """Poll until predicate() is truthy and return its value; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")
