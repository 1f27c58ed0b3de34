"""E-mail addresses name one person whatever their letter case: sign-in, lockout, registration,
password reset, new verification links, and the data migration that lower-cases old rows."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_lockout_holds_when_the_address_is_typed_in_another_case(client, settings):
    UserFactory(email="someone@example.com")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("accounts:login"), {"username": "someone@example.com", "password": "wrong"})

    response = client.post(reverse("accounts:login"), {"username": "Someone@Example.COM", "password": PASSWORD})

    assert response.status_code == 429
    assert client.get(reverse("accounts:profile")).status_code == 302


def test_failures_in_mixed_cases_add_up_to_one_lockout(client, settings):
    UserFactory(email="someone@example.com")
    spellings = ["someone@example.com", "SOMEONE@example.com", " Someone@Example.com", "someone@EXAMPLE.COM"]
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("accounts:login"), {"username": spellings[n % len(spellings)], "password": "wrong"})

    response = client.post(reverse("accounts:login"), {"username": "someone@example.com", "password": PASSWORD})

    assert response.status_code == 429


def test_sign_in_finds_the_account_in_any_case_and_with_blanks(client):
    UserFactory(email="someone@example.com")
    response = client.post(reverse("accounts:login"), {"username": "  SomeOne@EXAMPLE.com ", "password": PASSWORD})
    assert response.status_code == 302


def test_registering_a_known_address_in_another_case_creates_nothing(client):
    UserFactory(email="someone@example.com")
    data = {"name": "Some One", "email": "SOMEONE@Example.com", "password1": "a long enough passphrase"}
    response = client.post(reverse("accounts:register"), {**data, "password2": data["password1"]})

    assert response.status_code == 302
    assert User.objects.count() == 1
    assert len(mail.outbox) == 1
    assert "already has one" in mail.outbox[0].body


def test_password_reset_in_another_case_mails_the_stored_address(client):
    UserFactory(email="someone@example.com")
    response = client.post(reverse("accounts:password_reset"), {"email": "SomeOne@Example.COM"})

    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["someone@example.com"]]


def test_a_new_verification_link_in_another_case_goes_to_the_stored_address(client):
    UserFactory(email="someone@example.com", email_verified_at=None)
    response = client.post(reverse("accounts:resend_verification"), {"email": "SOMEONE@example.COM"})

    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["someone@example.com"]]


def test_an_address_is_stored_lower_cased_whoever_writes_it():
    user = UserFactory(email="  Ada.Lovelace@Example.ORG ")
    assert User.objects.get(pk=user.pk).email == "ada.lovelace@example.org"
    assert User.objects.with_email("ADA.lovelace@example.org ").get() == user


def test_the_admin_stores_a_new_account_lower_cased_and_refuses_another_case_of_a_known_one(client_for):
    UserFactory(email="someone@example.com")
    client = client_for("staff")
    add = reverse("admin:accounts_user_add")
    fields = {"name": "New Person", "usable_password": "false", "_save": "Save"}

    response = client.post(add, {**fields, "email": "New.Person@Example.ORG"})
    assert response.status_code == 302
    assert User.objects.filter(email="new.person@example.org").exists()

    response = client.post(add, {**fields, "email": "SomeOne@Example.com"})
    assert response.status_code == 200
    assert User.objects.filter(email__iexact="someone@example.com").count() == 1
