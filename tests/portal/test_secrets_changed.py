"""A server whose secret no longer opens the visa signing keys (SECRET_KEY changed without
SIGNING_KEY_SECRET, or SIGNING_KEY_SECRET changed) says so: `migrate` and `check --database`
refuse with the reason, /readyz is 503, and the visa endpoints answer a JSON 503, never a 500."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client
from django.urls import reverse

from portal import signing
from portal.checks import signing_keys_readable
from tests.requests.test_node_api import node_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def changed_secret(settings):
    settings.SIGNING_KEY_SECRET = "the secret the keys were sealed with"
    signing.forget_cached_keys()
    signing.current_key()
    settings.SIGNING_KEY_SECRET = "another secret"
    signing.forget_cached_keys()
    yield
    signing.forget_cached_keys()


def test_the_check_finds_keys_it_cannot_open(changed_secret):
    (problem,) = signing_keys_readable(None, databases=["default"])
    assert problem.id == "portal.E001"
    assert "SIGNING_KEY_SECRET" in problem.msg
    with pytest.raises(SystemCheckError, match="cannot read its visa signing keys"):
        call_command("check", databases=["default"])


def test_the_check_passes_with_the_right_secret_and_before_any_key(settings):
    assert signing_keys_readable(None, databases=["default"]) == []
    signing.current_key()
    assert signing_keys_readable(None, databases=["default"]) == []


def test_readiness_fails_while_the_keys_cannot_be_opened(client, changed_secret):
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    assert response.json()["checks"]["signing_keys"]["ok"] is False


def test_visa_endpoints_answer_a_json_503(changed_secret, applicant_permit, applicant, node):
    response = Client(HTTP_AUTHORIZATION=f"Api-Key {node_key(node)}").get(
        reverse("api:permissions", args=[applicant.sub])
    )
    assert response.status_code == 503
    assert response.json()["code"] == "secrets_unreadable"
