"""The embedded PostgreSQL of `make run` and `make test` survives an interrupted or concurrent
start: a start killed half-way, a handle list left empty by a cut-short write, and three starts
at once all end with one running server that the next start reuses."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest

from portal import embedded_db

ROOT = Path(__file__).resolve().parents[2]
START = (
    "import json, sys; from pathlib import Path; from portal.embedded_db import database_settings; "
    "print(json.dumps(database_settings(Path(sys.argv[1]))), flush=True)"
)


def start_process(data_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", START, str(data_dir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def started(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def answers(settings: dict) -> bool:
    conn = psycopg2.connect(dbname=settings["NAME"], user="postgres", host=settings["HOST"], port=settings["PORT"])
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    finally:
        conn.close()


@pytest.fixture
def data_dir(tmp_path):
    folder = tmp_path / "data"
    yield folder
    embedded_db.stop(folder)


def test_a_start_killed_half_way_then_starts_again(data_dir):
    first = start_process(data_dir)
    # Killed while it initialises the data folder or starts the server.
    deadline = time.monotonic() + 20
    while not (data_dir / "postgres").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    first.send_signal(signal.SIGKILL)
    first.wait(10)

    settings = started(start_process(data_dir))

    assert answers(settings)


def test_an_empty_handle_list_does_not_stop_the_next_start(data_dir):
    settings = started(start_process(data_dir))
    # What a write cut short by Ctrl-C leaves: the file truncated, nothing written.
    (data_dir / "postgres" / ".handle_pids.json").write_text("")

    again = started(start_process(data_dir))

    assert again == settings
    assert answers(again)
    assert json.loads((data_dir / "postgres" / ".handle_pids.json").read_text()) != ""


def test_three_starts_at_once_share_one_server(data_dir):
    processes = [start_process(data_dir) for _ in range(3)]

    results = [started(process) for process in processes]

    assert results[0] == results[1] == results[2]
    assert answers(results[0])
