"""The API against its own OpenAPI description: schemathesis, run out of process from its own
virtualenv (.venv-schemathesis, tests/schemathesis/requirements.txt; it needs PyPI `requests`,
which the portal's `requests` app shadows), fuzzes every operation of the live portal with each
kind of credential and finds no server error, no undocumented status and no response that
does not match its schema."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from rest_framework.settings import api_settings

REPO = Path(__file__).resolve().parents[2]
SCHEMATHESIS = REPO / ".venv-schemathesis" / "bin" / "schemathesis"
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
SEED = 20260101
MAX_EXAMPLES = 20
CREDENTIALS = ("anonymous", "researcher", "node", "broker")


@pytest.fixture
def portal_data(applicant, applicant_permit, applicant_submission, node, other_dataset, other_applicant):
    """Something for every operation to hit: a dataset hosted by a node, a submitted and approved
    application with its permit, a second dataset and person."""
    return applicant_permit


@pytest.fixture
def credential_header(request, applicant, node) -> str | None:
    from accounts.services import personal_token_create
    from datasets.services import node_key_create
    from tests.factories import NodeFactory

    kind = request.param
    if kind == "anonymous":
        return None
    if kind == "researcher":
        _, key = personal_token_create(user=applicant, name="schemathesis")
        return f"Token {key}"
    if kind == "node":
        _, key = node_key_create(node=node, name="schemathesis", days=1)
        return f"Api-Key {key}"
    broker = NodeFactory(slug="ls-login", name="broker", is_broker=True)
    _, key = node_key_create(node=broker, name="schemathesis", days=1)
    return f"Api-Key {key}"


@pytest.fixture
def no_rate_limits(settings):
    # Fuzzing sends many wrong keys and many matcher requests from one address.
    settings.API_KEY_FAILURE_LIMIT = 10**6
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "duo_match": "100000/min"},
    }
    api_settings.reload()
    # pytest-django restores the settings after the test; DRF reloads api_settings on that change.


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("credential_header", CREDENTIALS, indirect=True)
def test_the_api_keeps_its_openapi_contract(live_server, portal_data, credential_header, no_rate_limits, tmp_path):
    if not SCHEMATHESIS.exists():
        pytest.skip(
            f"{SCHEMATHESIS} is missing: python3 -m venv .venv-schemathesis && "
            ".venv-schemathesis/bin/pip install -r tests/schemathesis/requirements.txt (make install does this)"
        )
    # 127.0.0.1, not localhost: no attempt at ::1 before each connection.
    origin = live_server.url.replace("//localhost:", "//127.0.0.1:")
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{origin}/api/v1/schema",
        f"--url={origin}",
        f"--checks={CHECKS}",
        # The coverage phase (about 1,200 boundary cases) would take a minute per credential.
        "--phases=examples,fuzzing",
        f"--max-examples={MAX_EXAMPLES}",
        f"--seed={SEED}",
        "--no-shrink",
        # One worker: Python 3.11.7 compiling in two threads at once (Hypothesis) can fail with
        # "SystemError: AST constructor recursion depth mismatch" (CPython gh-106905).
        "--workers=1",
        "--request-timeout=10",
        "--continue-on-failure",
        "--max-redirects=0",
        "--suppress-health-check=all",
        "--warnings=off",
        "--no-color",
        "--output-truncate=false",
    ]
    if credential_header:
        command += ["--header", f"Authorization: {credential_header}"]
    # Outside the repository, with no PYTHONPATH: the portal's `requests` app must not shadow the
    # library schemathesis imports, and no schemathesis.toml of the repository is read.
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    output = result.stdout + result.stderr
    shown = output.replace(credential_header, "<credential>") if credential_header else output
    shown_command = " ".join(command).replace(credential_header or "\0", "<credential>")
    print(shown_command, shown, sep="\n")  # the summary of a passing run, with `pytest -rP`
    assert result.returncode == 0, f"schemathesis exited {result.returncode}:\n{shown_command}\n{shown}"
