"""Benchmark of the node API under gunicorn with 2 workers and 100,000 permits in the database.

Prints requests per second and latency percentiles for
  - GET  /healthz                      a bare JSON view on the same server (the baseline),
  - POST /api/v1/permits/introspect    a random one of 1,000 visas per request,
  - GET  /api/v1/permissions/{user}    a researcher with 200 live permits (200 fresh visas),
and the ratio of introspection to the bare view. The load comes from client threads in this
process, on the same 2-core machine, so absolute figures are modest; the ratio is the point.

    python -m tests.perf.bench_node_api [--seconds 8] [--clients 8]

Uses its own database, `portal_bench` (on DATABASE_URL's server, else on the embedded server);
the seeded data is kept and reused by the next run.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
BENCH_DB = "portal_bench"
PERMITS = 100_000
DATASETS = 200
HEAVY = 200  # live permits of the researcher whose permissions are fetched


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bench_database_url() -> str:
    import psycopg2

    url = os.environ.get("DATABASE_URL")
    if url:
        base, _, _ = url.rpartition("/")
        target, admin = f"{base}/{BENCH_DB}", f"{base}/postgres"
        conn = psycopg2.connect(admin)
    else:
        sys.path.insert(0, str(ROOT))
        from portal.embedded_db import database_settings

        cfg = database_settings(ROOT / ".data")
        target = f"postgres://postgres@/{BENCH_DB}?host={quote(cfg['HOST'])}&port={cfg['PORT']}"
        conn = psycopg2.connect(dbname="postgres", user="postgres", host=cfg["HOST"], port=cfg["PORT"])
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB])
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{BENCH_DB}"')
    conn.close()
    return target


def _environment(port: int, database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": "benchmark-only-secret-key-not-for-production-use-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "PORTAL_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }


def _seed() -> tuple[str, list[str], str]:
    """(node key, visas to introspect, the heavy researcher's sub). Seeds once, reuses after."""
    from django.core.management import call_command
    from django.db import transaction

    from accounts.models import User
    from datasets.models import DataNode
    from datasets.ontologies import load_duo
    from datasets.services import node_key_create
    from portal.workflow import arranging_states
    from requests.models import Permit
    from requests.visas import mint_visas

    call_command("migrate", verbosity=0)
    load_duo()
    node, _ = DataNode.objects.get_or_create(
        slug="bench-node",
        defaults={
            "name": "Bench node",
            "country": "FI",
            "base_url": "https://bench.example",
            "contact_email": "ops@bench.example",
        },
    )
    if Permit.objects.count() < PERMITS + HEAVY:
        print(f"seeding {PERMITS:,} permits (once; kept in the {BENCH_DB} database)...", flush=True)
        # The rows are arranged in their final states directly, as tests arrange them.
        with transaction.atomic(), arranging_states():
            _seed_rows(node)
    _, key = node_key_create(node=node, name=f"bench {time.time():.0f}", days=1)
    sample = list(Permit.objects.select_related("grantee", "dataset__dac", "decision").order_by("?")[:1000])
    heavy = User.objects.get(email="heavy@bench.example")
    return key, mint_visas(sample), str(heavy.sub)


def _seed_rows(node) -> None:
    import datetime as dt

    from django.utils import timezone

    from accounts.models import User
    from datasets import duo
    from datasets import services as dataset_services
    from datasets.models import DataAccessCommittee, Dataset
    from requests.models import Application, DatasetDecision, Permit, Review

    dac, _ = DataAccessCommittee.objects.get_or_create(
        slug="bench-dac", defaults={"name": "Bench DAC", "contact_email": "dac@bench.example"}
    )
    gru = duo.parse_data_use({"permission": duo.GRU}, known_diseases=lambda ids: ids)
    existing = Dataset.objects.filter(dac=dac).count()
    for n in range(existing, DATASETS):
        dataset_services.dataset_create(
            dac=dac,
            title=f"Bench dataset {n}",
            description="Benchmark.",
            data_use=gru,
            nodes=[node],
            status="published",
        )
    datasets = list(Dataset.objects.filter(dac=dac).order_by("pk"))
    applicant, _ = User.objects.get_or_create(email="applicant@bench.example", defaults={"name": "Bench applicant"})
    heavy, _ = User.objects.get_or_create(email="heavy@bench.example", defaults={"name": "Heavy user"})
    now = timezone.now()
    app = Application.objects.create(applicant=applicant, title="Bench", status="decided", version=1)
    review = Review.objects.create(application=app, dac=dac, status="decided", opened_at=now, decided_at=now)
    decisions = DatasetDecision.objects.bulk_create(
        DatasetDecision(review=review, dataset=d, outcome="approve", months=12, decided_at=now) for d in datasets
    )
    Permit.objects.all().delete()
    users = User.objects.bulk_create(
        [User(email=f"r{n}@bench.example", name=f"Researcher {n}", password="!") for n in range(PERMITS // 10)],
        batch_size=5000,
    )
    start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=365)
    rows = [
        Permit(
            grantee=u,
            dataset=decisions[j].dataset,
            application=app,
            decision=decisions[j],
            starts_at=start,
            expires_at=end,
        )
        for u in users
        for j in range(10)
    ]
    rows += [
        Permit(grantee=heavy, dataset=d.dataset, application=app, decision=d, starts_at=start, expires_at=end)
        for d in decisions[:HEAVY]
    ]
    Permit.objects.bulk_create(rows, batch_size=10_000)


def _start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "portal.wsgi",
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(args, cwd=ROOT, env=env)
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("gunicorn did not start")


def _load(port: int, make_request, seconds: float, clients: int) -> tuple[float, list[float], int]:
    """Run `clients` threads for `seconds`; returns (requests/s, latencies in ms, errors)."""
    import httpx

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        mine: list[float] = []
        failed = 0
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            while time.monotonic() < stop:
                began = time.perf_counter()
                response = make_request(client)
                mine.append((time.perf_counter() - began) * 1000)
                failed += response.status_code != 200
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies) / (time.monotonic() - began), latencies, errors[0]


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=8)
    options = parser.parse_args()
    port = _free_port()
    env = _environment(port, _bench_database_url())
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    key, visas, heavy_sub = _seed()
    headers = {"Authorization": f"Api-Key {key}"}
    server = _start_server(env, port)
    try:
        cases = [
            ("bare JSON view (GET /healthz)", lambda c: c.get("/healthz")),
            (
                "introspection (POST /api/v1/permits/introspect)",
                lambda c: c.post("/api/v1/permits/introspect", json={"token": random.choice(visas)}, headers=headers),
            ),
            (
                f"permissions of a researcher with {HEAVY} live permits",
                lambda c: c.get(f"/api/v1/permissions/{heavy_sub}", headers=headers),
            ),
        ]
        results = {}
        for label, request in cases:
            rate, latencies, errors = _load(port, request, options.seconds, options.clients)
            results[label] = rate
            print(
                f"{label}: {rate:,.0f} requests/s, p50 {_percentile(latencies, 0.5):.1f} ms, "
                f"p99 {_percentile(latencies, 0.99):.1f} ms, errors {errors}",
                flush=True,
            )
        ratio = results[cases[1][0]] / results[cases[0][0]]
        print(
            f"introspection / bare JSON view: {ratio:.2f} (gunicorn 2 workers, {PERMITS:,} permits, "
            f"{options.clients} client threads, {options.seconds:.0f} s each)"
        )
    finally:
        server.terminate()
        server.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
