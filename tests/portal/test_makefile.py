"""The Makefile's defaults: what `make run` and the workers are told about the portal's address."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# An extra makefile read after ours: prints what a recipe of ours would see.
SHOW = "show-base-url:\n\t@echo $$PORTAL_BASE_URL\n"


def base_url(*arguments: str, **environment: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"PORTAL_BASE_URL", "HOST", "PORT"}}
    result = subprocess.run(
        ["make", "-s", "--no-print-directory", "-f", "Makefile", "-f", "-", "show-base-url", *arguments],
        input=SHOW,
        cwd=ROOT,
        env={**env, **environment},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout.strip()


def test_the_base_url_follows_host_and_port():
    assert base_url() == "http://127.0.0.1:8000"
    assert base_url("PORT=8010") == "http://127.0.0.1:8010"
    assert base_url("HOST=0.0.0.0", "PORT=9000") == "http://0.0.0.0:9000"


def test_a_base_url_that_is_set_wins():
    assert base_url("PORT=8010", PORTAL_BASE_URL="https://portal.example.org") == "https://portal.example.org"
