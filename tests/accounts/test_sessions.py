"""Sessions end after SESSION_IDLE_MINUTES without a request and SESSION_MAX_HOURS after signing
in, however active (accounts.sessions, settings SESSION_COOKIE_AGE and SESSION_MAX_AGE)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _limits(settings, time_machine):
    settings.SESSION_COOKIE_AGE = 120 * 60
    settings.SESSION_MAX_AGE = 10 * 3600
    time_machine.move_to(T0, tick=False)


def _signed_in(client) -> bool:
    response = client.get(reverse("accounts:profile"))
    assert response.status_code in (200, 302)
    return response.status_code == 200


def _sign_in(client, applicant) -> None:
    response = client.post(reverse("accounts:login"), {"username": applicant.email, "password": PASSWORD})
    assert response.status_code == 302


def test_a_session_ends_after_the_idle_limit_without_a_request(client, applicant, time_machine):
    _sign_in(client, applicant)
    time_machine.move_to(T0 + timedelta(minutes=119), tick=False)
    assert _signed_in(client)

    time_machine.move_to(T0 + timedelta(minutes=119 + 120), tick=False)
    assert not _signed_in(client)


def test_each_request_moves_the_idle_limit_forward(client, applicant, time_machine):
    _sign_in(client, applicant)
    for minutes in range(100, 600, 100):
        time_machine.move_to(T0 + timedelta(minutes=minutes), tick=False)
        assert _signed_in(client), minutes


def test_requests_within_a_minute_write_the_session_once(client, applicant, time_machine):
    _sign_in(client, applicant)
    time_machine.move_to(T0 + timedelta(seconds=30), tick=False)
    _signed_in(client)
    assert Session.objects.get().expire_date == T0 + timedelta(minutes=120)

    time_machine.move_to(T0 + timedelta(seconds=61), tick=False)
    _signed_in(client)
    assert Session.objects.get().expire_date == T0 + timedelta(seconds=61, minutes=120)


def test_a_session_ends_at_the_absolute_limit_however_active(client, applicant, time_machine):
    _sign_in(client, applicant)
    for minutes in range(60, 10 * 60, 60):
        time_machine.move_to(T0 + timedelta(minutes=minutes), tick=False)
        assert _signed_in(client), minutes

    time_machine.move_to(T0 + timedelta(hours=10), tick=False)
    assert not _signed_in(client)
    # Signing in again starts a new session with its own limit.
    _sign_in(client, applicant)
    time_machine.move_to(T0 + timedelta(hours=19, minutes=59), tick=False)
    assert not _signed_in(client)  # idle since 10:00


def test_signing_in_again_starts_the_absolute_limit_afresh(client, applicant, time_machine):
    _sign_in(client, applicant)
    time_machine.move_to(T0 + timedelta(hours=10), tick=False)
    assert not _signed_in(client)

    _sign_in(client, applicant)
    time_machine.move_to(T0 + timedelta(hours=11), tick=False)
    assert _signed_in(client)


def test_a_password_change_does_not_extend_the_absolute_limit(client, applicant, time_machine):
    _sign_in(client, applicant)
    for hours in range(1, 10):
        time_machine.move_to(T0 + timedelta(hours=hours), tick=False)
        assert _signed_in(client), hours
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": "another long phrase", "new_password2": "another long phrase"},
    )
    assert response.status_code == 302
    assert _signed_in(client)

    time_machine.move_to(T0 + timedelta(hours=10), tick=False)
    assert not _signed_in(client)


def test_the_idle_and_absolute_limits_come_from_the_environment(monkeypatch):
    import importlib

    import portal.settings

    try:
        monkeypatch.setenv("SESSION_IDLE_MINUTES", "30")
        monkeypatch.setenv("SESSION_MAX_HOURS", "8")
        reloaded = importlib.reload(portal.settings)
        assert (reloaded.SESSION_COOKIE_AGE, reloaded.SESSION_MAX_AGE) == (30 * 60, 8 * 3600)
        monkeypatch.delenv("SESSION_IDLE_MINUTES")
        monkeypatch.delenv("SESSION_MAX_HOURS")
        reloaded = importlib.reload(portal.settings)
        assert (reloaded.SESSION_COOKIE_AGE, reloaded.SESSION_MAX_AGE) == (120 * 60, 14 * 24 * 3600)
        assert reloaded.SESSION_ENGINE == "accounts.sessions"
    finally:
        monkeypatch.undo()
        importlib.reload(portal.settings)


def test_a_sign_in_through_the_identity_provider_has_the_same_limits(rf, applicant, time_machine):
    # accounts.oidc_views signs people in with django.contrib.auth.login and Django's own backend.
    from django.contrib.auth import login

    from accounts.oidc_views import BACKEND
    from accounts.sessions import SIGNED_IN_AT, SessionStore

    request = rf.get("/")
    request.session = SessionStore()
    login(request, applicant, backend=BACKEND)
    request.session.save()
    key = request.session.session_key
    assert SessionStore(key)[SIGNED_IN_AT] == int(T0.timestamp())

    time_machine.move_to(T0 + timedelta(hours=9, minutes=59), tick=False)
    assert SessionStore(key).load() == {}  # idle for more than two hours

    Session.objects.filter(session_key=key).update(expire_date=T0 + timedelta(hours=11))
    assert SessionStore(key).load()[SIGNED_IN_AT] == int(T0.timestamp())
    time_machine.move_to(T0 + timedelta(hours=10), tick=False)
    assert SessionStore(key).load() == {}  # past the absolute limit, however recent the last request
