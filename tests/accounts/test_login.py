import pytest
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_login_with_the_right_password_signs_in(client):
    UserFactory(email="ada@example.org")
    response = client.post(reverse("accounts:login"), {"username": "ADA@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_wrong_password_shows_an_error_and_keeps_the_address(client):
    UserFactory(email="ada@example.org")
    response = client.post(reverse("accounts:login"), {"username": "ada@example.org", "password": "wrong"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Please enter a correct e-mail address and password" in html
    assert 'value="ada@example.org"' in html


def test_a_malformed_address_is_shown_next_to_the_field(client):
    response = client.post(reverse("accounts:login"), {"username": "not an address", "password": "x"})
    assert response.status_code == 400
    assert 'id="id_username_error"' in response.content.decode()


def test_repeated_failures_lock_the_account_out_even_with_the_right_password(client, settings):
    UserFactory(email="ada@example.org")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("accounts:login"), {"username": "ada@example.org", "password": "wrong"})
    response = client.post(reverse("accounts:login"), {"username": "ada@example.org", "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    assert client.get(reverse("accounts:profile")).status_code == 302


def test_lockout_of_one_account_leaves_others_alone(client, settings):
    UserFactory(email="ada@example.org")
    UserFactory(email="bob@example.org")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("accounts:login"), {"username": "ada@example.org", "password": "wrong"})
    response = client.post(reverse("accounts:login"), {"username": "bob@example.org", "password": PASSWORD})
    assert response.status_code == 302


def test_login_attempts_are_rate_limited_per_client_address(client, settings):
    settings.LOGIN_RATE_PER_MINUTE = 3
    for n in range(3):
        client.post(reverse("accounts:login"), {"username": f"u{n}@example.org", "password": "x"})
    response = client.post(reverse("accounts:login"), {"username": "ada@example.org", "password": "x"})
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many attempts" in html
    assert 'value="ada@example.org"' in html


def test_logout_needs_post_and_signs_out(client):
    client.force_login(UserFactory())
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get(reverse("accounts:profile")).status_code == 302
