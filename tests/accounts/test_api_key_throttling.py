"""Failed personal-token attempts are throttled per client address (accounts.authentication):
after API_KEY_FAILURE_LIMIT failures in a window, every request with a token from that address
answers 429 until the window has passed, a right token included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WRONG = "Token gapp_" + "x" * 40


@pytest.fixture(autouse=True)
def _limits(settings, time_machine):
    settings.API_KEY_FAILURE_LIMIT = 3
    settings.API_KEY_FAILURE_WINDOW_MINUTES = 10
    time_machine.move_to(T0, tick=False)


def _get(header: str, address: str = "192.0.2.10"):
    return Client(REMOTE_ADDR=address).get(reverse("api:applications"), HTTP_AUTHORIZATION=header)


@pytest.fixture
def key(applicant) -> str:
    return services.personal_token_create(user=applicant, name="laptop script")[1]


def test_after_the_limit_of_failures_a_right_token_is_refused_too_with_429(key):
    for _ in range(3):
        assert _get(WRONG).status_code == 401

    response = _get(f"Token {key}")

    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert "Too many failed attempts" in response.json()["message"]
    assert response["Retry-After"] == str(10 * 60)


def test_failures_below_the_limit_leave_a_right_token_working(key):
    for _ in range(2):
        assert _get(WRONG).status_code == 401
    assert _get(f"Token {key}").status_code == 200


def test_right_tokens_are_never_counted(key):
    for _ in range(10):
        assert _get(f"Token {key}").status_code == 200
    assert _get(WRONG).status_code == 401


@pytest.mark.parametrize("bad", ["Token", "Token a b", WRONG])
def test_malformed_unknown_revoked_and_expired_tokens_all_count(applicant, bad, time_machine):
    revoked, revoked_key = services.personal_token_create(user=applicant, name="old laptop")
    services.personal_token_revoke(token=revoked, actor=applicant)
    _, short_key = services.personal_token_create(user=applicant, name="short job", days=1)
    time_machine.move_to(T0 + timedelta(days=2), tick=False)

    for header in (bad, f"Token {revoked_key}", f"Token {short_key}"):
        assert _get(header).status_code == 401

    assert _get(WRONG).status_code == 429


def test_the_block_lasts_one_window_and_then_a_right_token_works(key, time_machine):
    for _ in range(3):
        _get(WRONG)
    time_machine.move_to(T0 + timedelta(minutes=9, seconds=59), tick=False)
    response = _get(f"Token {key}")
    assert response.status_code == 429
    assert response["Retry-After"] == "1"

    time_machine.move_to(T0 + timedelta(minutes=10), tick=False)
    assert _get(f"Token {key}").status_code == 200


def test_the_block_is_per_client_address(key):
    for _ in range(3):
        _get(WRONG, address="192.0.2.10")
    assert _get(f"Token {key}", address="192.0.2.10").status_code == 429
    assert _get(f"Token {key}", address="198.51.100.7").status_code == 200


def test_a_request_without_a_token_is_not_refused_by_the_block(client, applicant):
    for _ in range(3):
        _get(WRONG, address="127.0.0.1")
    client.force_login(applicant)
    assert client.get(reverse("api:applications")).status_code == 200
