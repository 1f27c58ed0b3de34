"""The import contracts of pyproject.toml ([tool.importlinter]) hold, on our own `requests` app (not
the PyPI library), and they bite: an import against the layers, or from the verifier into Django
or the portal, breaks them."""

from __future__ import annotations

import copy
import importlib.util
import subprocess
import sys
from pathlib import Path

import grimp
import pytest
from importlinter import api
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract
from importlinter.domain.contract import ContractCheck

ROOT = Path(__file__).resolve().parents[2]
CONFIG = api.read_configuration(str(ROOT / "pyproject.toml"))
CONTRACT_TYPES = {"layers": LayersContract, "forbidden": ForbiddenContract}
# The configuration reader hands every value over as text.
EXTERNAL = CONFIG["session_options"]["include_external_packages"] == "True"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    roots = CONFIG["session_options"]["root_packages"]
    return grimp.build_graph(*roots, include_external_packages=EXTERNAL, cache_dir=None)


def check(graph: grimp.ImportGraph, contract_id: str) -> ContractCheck:
    options = next(c for c in CONFIG["contracts_options"] if c["id"] == contract_id)
    contract = CONTRACT_TYPES[options["type"]](
        name=options["name"], session_options=CONFIG["session_options"], contract_options=options
    )
    return contract.check(copy.deepcopy(graph), verbose=False)


def test_the_contracts_cover_every_package_and_the_verifier_forbids_django():
    session = CONFIG["session_options"]
    assert set(session["root_packages"]) == {"portal", "accounts", "datasets", "requests", "visa_verifier"}
    assert EXTERNAL
    contracts = {c["id"]: c for c in CONFIG["contracts_options"]}
    assert contracts["layers"]["layers"] == ["requests", "datasets", "accounts", "portal"]
    assert {"django", "portal", "accounts", "datasets", "requests"} <= set(contracts["verifier"]["forbidden_modules"])


def test_requests_is_analysed_as_our_app(graph):
    assert Path(importlib.util.find_spec("requests").origin).resolve() == ROOT / "requests" / "__init__.py"
    assert {"requests.node_api", "requests.models"} <= graph.modules


@pytest.mark.parametrize("contract_id", ["layers", "verifier"])
def test_the_code_keeps_the_contract(graph, contract_id):
    result = check(graph, contract_id)
    assert result.kept, result.metadata


@pytest.mark.parametrize(
    ("contract_id", "importer", "imported"),
    [
        # The two imports that made the kernel and accounts reach up, before their code moved.
        ("layers", "portal.outbox", "datasets.models"),
        ("layers", "accounts.services", "datasets.models"),
        ("layers", "portal.tasks", "datasets.webhooks"),
        ("layers", "datasets.models", "requests.models"),
        # The shell's exceptions are per module: the rest of the kernel gets none.
        ("layers", "portal.views", "datasets.views"),
        ("verifier", "visa_verifier.verifier", "django"),
        ("verifier", "visa_verifier.webhook", "portal.signing"),
        ("verifier", "visa_verifier.online", "requests.node_api"),
    ],
)
def test_an_import_against_the_contract_breaks_it(graph, contract_id, importer, imported):
    broken = copy.deepcopy(graph)
    broken.add_import(importer=importer, imported=imported, line_number=1, line_contents=f"import {imported}")
    assert not check(broken, contract_id).kept


def test_lint_imports_passes_from_the_command_line():
    # What `make lint` runs, reading pyproject.toml from the project folder.
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout
