"""Failed node-key attempts are throttled per client address (datasets.authentication), on a count
of their own that both headers (`Authorization: Api-Key`, `x-rems-api-key`) add to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from datasets import services

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WRONG = "gapn_" + "x" * 40


@pytest.fixture(autouse=True)
def _limits(settings, time_machine):
    settings.API_KEY_FAILURE_LIMIT = 3
    settings.API_KEY_FAILURE_WINDOW_MINUTES = 10
    time_machine.move_to(T0, tick=False)


@pytest.fixture
def key(node) -> str:
    return services.node_key_create(node=node, name="verifier", days=None)[1]


def _changes(key: str, address: str = "192.0.2.20"):
    return Client(REMOTE_ADDR=address).get(reverse("api:permit_changes"), HTTP_AUTHORIZATION=f"Api-Key {key}")


def _rems(key: str, address: str = "192.0.2.20"):
    return Client(REMOTE_ADDR=address).get(reverse("rems:permissions", args=["someone"]), HTTP_X_REMS_API_KEY=key)


def test_after_the_limit_of_failures_the_right_key_is_refused_with_429(key):
    for _ in range(3):
        assert _changes(WRONG).status_code == 401

    response = _changes(key)

    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert response["Retry-After"] == str(10 * 60)


def test_failures_below_the_limit_and_right_keys_do_not_block(key):
    for _ in range(2):
        assert _changes(WRONG).status_code == 401
    for _ in range(5):
        assert _changes(key).status_code == 200


def test_both_headers_add_to_one_count(key):
    assert _rems(WRONG).status_code == 401
    assert _rems("   ").status_code == 401
    assert _changes(WRONG).status_code == 401

    assert _rems(key).status_code == 429
    assert _changes(key).status_code == 429


def test_a_revoked_key_counts(node, key):
    row, revoked = services.node_key_create(node=node, name="old", days=None)
    services.node_key_revoke(key=row, actor=None)
    for _ in range(3):
        assert _changes(revoked).status_code == 401
    assert _changes(key).status_code == 429


def test_the_block_ends_with_its_window_and_is_per_address(key, time_machine):
    for _ in range(3):
        _changes(WRONG)
    assert _changes(key, address="198.51.100.9").status_code == 200

    time_machine.move_to(T0 + timedelta(minutes=10), tick=False)
    assert _changes(key).status_code == 200


def test_node_key_failures_do_not_block_personal_tokens_from_the_same_address(key, applicant):
    _, token = account_services.personal_token_create(user=applicant, name="script")
    for _ in range(3):
        _changes(WRONG)

    response = Client(REMOTE_ADDR="192.0.2.20").get(reverse("api:applications"), HTTP_AUTHORIZATION=f"Token {token}")

    assert response.status_code == 200
