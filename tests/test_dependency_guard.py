"""Our `requests` app shadows the PyPI library of that name, so nothing may need the library."""

import importlib.util
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def test_import_requests_resolves_to_the_app_inside_the_repo():
    spec = importlib.util.find_spec("requests")
    assert spec is not None
    assert Path(spec.origin).resolve() == ROOT / "requests" / "__init__.py"


def test_the_requests_library_is_not_installed():
    names = {dist.metadata["Name"].lower() for dist in metadata.distributions()}
    assert "requests" not in names


def test_no_installed_package_requires_the_requests_library():
    offenders = []
    for dist in metadata.distributions():
        for line in dist.requires or []:
            req = Requirement(line)
            needed = req.marker is None or req.marker.evaluate({"extra": ""})
            if req.name.lower() == "requests" and needed:
                offenders.append(dist.metadata["Name"])
    assert offenders == []


def test_pip_check_is_clean():
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_drf_does_not_mistake_our_app_for_the_library():
    import rest_framework.compat
    import rest_framework.test
    from django.core.exceptions import ImproperlyConfigured

    assert rest_framework.compat.requests is None
    with pytest.raises(ImproperlyConfigured, match="requests must be installed"):
        rest_framework.test.RequestsClient()
