"""`python manage.py run_demo_node` as an operator runs it: a separate process serving the synthetic
files of the node's datasets, trusting the portal, logging each decision with its reason."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from datasets.demo_files import synthetic_vcf, write_demo_files
from requests.services.permits import permit_revoke
from requests.visas import mint_passport, mint_visas
from tests import services
from tests.services import ROOT

pytestmark = pytest.mark.django_db(transaction=True)

_LISTENING = re.compile(r"on (http://127\.0\.0\.1:\d+)/")


@contextmanager
def demo_node(*args: str):
    """Start the command; yield its base URL and the list of lines it prints (filled as it runs)."""
    process_env = services.django_process_env()
    process_env.pop("NODE_API_KEY", None)  # --online must issue its own key
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_demo_node", *args, "--port", "0"],
        cwd=ROOT,
        env=process_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        base = None
        while base is None and time.monotonic() < deadline and process.poll() is None:
            base = next((m.group(1) for line in list(lines) if (m := _LISTENING.search(line))), None)
            time.sleep(0.05)
        assert base, "the demo node did not start:\n" + "".join(lines)
        yield base, lines
    finally:
        process.terminate()
        process.wait(timeout=20)


def wait_for(lines: list[str], pattern: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [line for line in list(lines) if re.search(pattern, line)]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no line matching {pattern!r} in:\n" + "".join(lines))


@pytest.fixture
def portal(live_server, settings):
    settings.PORTAL_BASE_URL = live_server.url
    return live_server.url


def get(base: str, path: str, token: str | None = None) -> httpx.Response:
    return httpx.get(base + path, headers={"Authorization": f"Bearer {token}"} if token else {}, timeout=10)


def test_offline_node_serves_a_passport_holder_and_logs_why(portal, node, dataset, applicant_permit, tmp_path):
    passport = mint_passport(applicant_permit.grantee, mint_visas([applicant_permit]))
    path = f"/datasets/{dataset.accession}/files/variants.vcf"
    with demo_node(node.slug, "--root", str(tmp_path / "node-files")) as (base, lines):
        assert "(offline)" in lines[0]
        about = httpx.get(base + "/", timeout=10).json()
        assert about["datasets"] == [dataset.accession]
        assert about["trusted_issuers"] == [{"issuer": portal, "jwks_url": f"{portal}/.well-known/jwks.json"}]

        refused = get(base, path)
        assert (refused.status_code, refused.json()["code"]) == (401, "no_token")
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        wait_for(lines, rf"decision=deny status=401 code=no_token mode=offline dataset={dataset.accession}")

        served = get(base, path, passport)
        assert served.status_code == 200
        assert served.text == synthetic_vcf(dataset.accession)
        line = wait_for(lines, "decision=allow")
        assert f"sub={applicant_permit.grantee.sub}" in line
        assert f'reason="visa grants {dataset.accession} until ' in line

        forged = get(base, path, passport[:-8] + "AAAAAAAA")
        assert forged.status_code == 401
        wait_for(lines, "decision=deny status=401 code=")

        # Revoked: an offline node honours the visa until it expires (within the visa lifetime).
        permit_revoke(permit=applicant_permit, actor=None, reason="Consent withdrawn.")
        assert get(base, path, passport).status_code == 200


def test_online_node_refuses_a_revoked_permit_at_once(portal, node, dataset, applicant_permit, tmp_path):
    passport = mint_passport(applicant_permit.grantee, mint_visas([applicant_permit]))
    path = f"/datasets/{dataset.accession}/files/README.txt"
    with demo_node(node.slug, "--root", str(tmp_path / "node-files"), "--online") as (base, lines):
        assert any("Issued a node key for fi-node valid for one day" in line for line in lines)
        assert httpx.get(base + "/", timeout=10).json()["mode"] == "online"
        assert get(base, path, passport).status_code == 200

        permit_revoke(permit=applicant_permit, actor=None, reason="Consent withdrawn.")
        refused = get(base, path, passport)
        assert (refused.status_code, refused.json()["code"]) == (403, "inactive")
        wait_for(lines, "decision=deny status=403 code=inactive mode=online")


def test_unknown_node_is_a_clear_error(db):
    result = subprocess.run(
        [sys.executable, "manage.py", "run_demo_node", "no-such-node", "--port", "0"],
        cwd=ROOT,
        env=services.django_process_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "No data node has the slug 'no-such-node'" in result.stderr


def test_demo_files_are_the_hosted_published_datasets_only(node, dataset, other_dataset, tmp_path):
    assert write_demo_files(node, tmp_path) == [dataset.accession]
    folder = Path(tmp_path) / dataset.accession
    assert sorted(path.name for path in folder.iterdir()) == ["README.txt", "manifest.json", "variants.vcf"]
    assert synthetic_vcf(dataset.accession) == synthetic_vcf(dataset.accession)
    assert synthetic_vcf(dataset.accession) != synthetic_vcf(other_dataset.accession)
