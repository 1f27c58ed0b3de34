"""Shared fixtures: the named personas of CONVENTIONS.md and the REQUIRE_SERVICES rule.

With REQUIRE_SERVICES=1 (CI), a skipped test is reported as a failure: a database, Redis or
browser test that cannot run must not pass quietly."""

from __future__ import annotations

import os

import pytest
from django.core.cache import cache
from django.test import Client

from tests.factories import InstitutionFactory, UserFactory

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_SERVICES and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, but REQUIRE_SERVICES is set so every test must run: {reason}"
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(autouse=True)
def _clear_cache():
    # Rate-limit counters live in the cache; each test starts with none.
    cache.clear()
    return


@pytest.fixture
def institution(db):
    return InstitutionFactory(name="University of Helsinki", country="FI", ror_id="https://ror.org/040af2s02")


@pytest.fixture
def applicant(db, institution):
    return UserFactory(email="applicant@example.org", name="Aino Applicant", institution=institution)


@pytest.fixture
def other_applicant(db):
    return UserFactory(email="other.applicant@example.org", name="Olli Other")


@pytest.fixture
def staff(db):
    return UserFactory(email="staff@example.org", name="Sam Staff", is_staff=True, is_superuser=True)


@pytest.fixture
def anonymous():
    return None


PERSONAS = ("anonymous", "applicant", "other_applicant", "staff")


@pytest.fixture
def client_for(request):
    """client_for("applicant") -> a test client signed in as that persona (anonymous: none)."""

    def make(persona: str) -> Client:
        client = Client()
        user = request.getfixturevalue(persona)
        if user is not None:
            client.force_login(user)
        return client

    return make
