"""The command line a node operator runs (`python -m visa_verifier verify`), as a real process
without Django, against a key set served over HTTP: exit 0 granted, 1 refused, 2 bad usage or
configuration, 3 key set unreachable; one JSON object on standard output. And the package imports
no Django at all."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.visa_verifier.conftest import ACCESSION, OTHER_ACCESSION, SUB, passport, visa

ROOT = Path(__file__).resolve().parents[2]
MODULES = (
    "visa_verifier",
    "visa_verifier.verifier",
    "visa_verifier.online",
    "visa_verifier.config",
    "visa_verifier.__main__",
    "visa_verifier.demo_node",
    "visa_verifier.webhook",
)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a node: nothing of the portal's Django settings, no trust by default."""
    drop = {"DJANGO_SETTINGS_MODULE", "VISA_TRUSTED_ISSUERS", "VISA_CLOCK_SKEW", "VISA_ALGORITHMS"}
    drop |= {"PORTAL_URL", "NODE_API_KEY", "PYTHONPATH"}
    env = {name: value for name, value in os.environ.items() if name not in drop}
    return {**env, **extra}


def run_cli(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> tuple[int, dict]:
    result = subprocess.run(
        [sys.executable, "-m", "visa_verifier", "verify", *args],
        input=stdin.encode(),
        capture_output=True,
        cwd=ROOT,
        env=clean_env() if env is None else env,
        timeout=60,
        check=False,
    )
    try:
        answer = json.loads(result.stdout)
    except ValueError:
        raise AssertionError(f"not JSON: {result.stdout!r}, stderr: {result.stderr.decode()[-2000:]}") from None
    return result.returncode, answer


def iso(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_good_visa_for_the_dataset_exits_0_with_the_grant(portal, es_key):
    now = int(time.time())
    token = visa(portal.issuer, es_key, now)
    status, answer = run_cli("--trust", portal.issuer, "--dataset", ACCESSION, stdin=token + "\n")
    assert status == 0, answer
    assert answer["granted"] is True
    assert (answer["dataset"], answer["sub"], answer["until"]) == (ACCESSION, SUB, iso(now + 3600))
    (grant,) = answer["grants"]
    assert (grant["dataset_url"], grant["expires_at"], grant["kid"]) == (
        f"{portal.issuer}/datasets/{ACCESSION}",
        now + 3600,
        es_key.kid,
    )
    assert portal.gets == 1


def test_a_resource_id_mapped_with_resource_is_granted_as_its_accession(portal, es_key):
    token = visa(portal.issuer, es_key, time.time(), value="EGAD00001000001")
    args = ("--trust", portal.issuer, "--dataset", ACCESSION)
    status, answer = run_cli(*args, "--resource", f"EGAD00001000001={ACCESSION}", stdin=token)
    assert (status, answer["dataset"], answer["grants"][0]["value"]) == (0, ACCESSION, "EGAD00001000001")
    status, answer = run_cli(*args, stdin=token)
    assert (status, answer["code"]) == (1, "foreign_dataset")
    assert run_cli(*args, "--resource", "EGAD00001000001", stdin=token)[0] == 2


def test_a_visa_for_another_dataset_exits_1_with_the_code(portal, es_key):
    token = visa(portal.issuer, es_key, time.time())
    status, answer = run_cli("--trust", portal.issuer, "--dataset", OTHER_ACCESSION, stdin=token)
    assert (status, answer["granted"], answer["code"]) == (1, False, "other_dataset")


def test_an_expired_visa_exits_1_with_the_code(portal, es_key):
    token = visa(portal.issuer, es_key, time.time() - 7200)
    status, answer = run_cli("--trust", portal.issuer, "--dataset", ACCESSION, stdin=token)
    assert (status, answer["granted"], answer["code"]) == (1, False, "expired")


def test_a_forged_visa_exits_1(portal, attacker_key):
    token = visa(portal.issuer, attacker_key, time.time())
    status, answer = run_cli("--trust", portal.issuer, stdin=token)
    assert (status, answer["code"]) == (1, "unknown_kid")


def test_garbage_on_standard_input_exits_1_as_malformed(portal):
    status, answer = run_cli("--trust", portal.issuer, stdin="not a token at all")
    assert (status, answer["code"]) == (1, "malformed")
    assert portal.gets == 0


def test_no_trusted_issuer_exits_2(es_key):
    status, answer = run_cli("--dataset", ACCESSION, stdin="a.b.c")
    assert (status, answer["error"]) == (2, "configuration")
    assert "VISA_TRUSTED_ISSUERS" in answer["message"]


def test_a_bad_configuration_exits_2(portal):
    assert run_cli("--trust", "portal.example", stdin="a.b.c")[0] == 2
    assert run_cli("--trust", portal.issuer, "--skew", "3600", stdin="a.b.c")[0] == 2
    assert run_cli("--trust", portal.issuer, "--online", stdin="a.b.c")[0] == 2  # no NODE_API_KEY


def test_the_trusted_issuers_come_from_the_environment(portal, es_key):
    token = visa(portal.issuer, es_key, time.time())
    env = clean_env(VISA_TRUSTED_ISSUERS=f"https://elsewhere.example {portal.issuer}")
    status, answer = run_cli("--dataset", ACCESSION, stdin=token, env=env)
    assert (status, answer["dataset"]) == (0, ACCESSION)


def test_an_unreachable_key_set_exits_3(es_key):
    issuer = closed_port_url()
    token = visa(issuer, es_key, time.time())
    status, answer = run_cli("--trust", issuer, "--dataset", ACCESSION, stdin=token)
    assert (status, answer["granted"], answer["code"]) == (3, False, "portal_unavailable")


def test_a_passport_on_standard_input_grants_the_dataset_it_holds(portal, es_key):
    now = time.time()
    visas = [visa(portal.issuer, es_key, now), visa(portal.issuer, es_key, now, accession=OTHER_ACCESSION)]
    token = passport(portal.issuer, es_key, now, visas)
    status, answer = run_cli("--trust", portal.issuer, "--dataset", OTHER_ACCESSION, stdin=token)
    assert (status, answer["dataset"], answer["sub"]) == (0, OTHER_ACCESSION, SUB)
    status, answer = run_cli("--trust", portal.issuer, stdin=token)
    assert status == 0
    assert [grant["dataset"] for grant in answer["grants"]] == [ACCESSION, OTHER_ACCESSION]
    status, answer = run_cli("--trust", portal.issuer, "--dataset", "GDS000003", stdin=token)
    assert (status, answer["code"]) == (1, "other_dataset")


def test_the_token_is_read_from_a_file(portal, es_key, tmp_path):
    path = tmp_path / "visa.jwt"
    path.write_text(visa(portal.issuer, es_key, time.time()) + "\n")
    status, answer = run_cli("--trust", portal.issuer, "--dataset", ACCESSION, "--token-file", str(path))
    assert (status, answer["dataset"]) == (0, ACCESSION)


def test_a_missing_token_file_exits_2(portal, tmp_path):
    status, answer = run_cli("--trust", portal.issuer, "--token-file", str(tmp_path / "missing.jwt"))
    assert (status, answer["error"]) == (2, "token_file")


@pytest.mark.parametrize("module", MODULES)
def test_the_verifier_runs_without_django(module):
    script = (
        "import importlib, sys\n"
        f"importlib.import_module({module!r})\n"
        "loaded = sorted(name for name in sys.modules if name == 'django' or name.startswith('django.'))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, cwd=ROOT, env=clean_env(), timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == ""
