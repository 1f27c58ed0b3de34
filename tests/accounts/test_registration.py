import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

REGISTER = {
    "name": "Ada Researcher",
    "email": "Ada@Example.org",
    "password1": "a long enough passphrase",
    "password2": "a long enough passphrase",
}


def _link(message) -> str:
    return re.search(r"http://testserver(/accounts/verify/\S+/)", message.body).group(1)


def test_registration_creates_an_unverified_user_and_mails_the_link(client):
    response = client.post(reverse("accounts:register"), REGISTER)

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:registered")
    user = User.objects.get(email="ada@example.org")
    assert user.email_verified_at is None
    assert user.check_password("a long enough passphrase")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.org"]
    assert "/accounts/verify/" in mail.outbox[0].body


def test_following_the_link_and_confirming_verifies_the_address(client):
    client.post(reverse("accounts:register"), REGISTER)
    link = _link(mail.outbox[0])

    page = client.get(link)
    assert page.status_code == 200
    assert b"Confirm my address" in page.content
    assert User.objects.get(email="ada@example.org").email_verified_at is None

    response = client.post(link)
    assert response.status_code == 302
    assert User.objects.get(email="ada@example.org").email_verified_at is not None


def test_a_link_older_than_the_timeout_is_refused(client):
    with time_machine.travel(timezone.now() - timedelta(days=4), tick=False):
        client.post(reverse("accounts:register"), REGISTER)
    response = client.post(_link(mail.outbox[0]))
    assert response.status_code == 400
    assert User.objects.get(email="ada@example.org").email_verified_at is None


def test_a_tampered_link_is_refused(client):
    client.post(reverse("accounts:register"), REGISTER)
    link = _link(mail.outbox[0])
    response = client.post(link[:-3] + "xx/")
    assert response.status_code == 400
    assert b"not valid" in response.content


def test_registering_a_known_address_tells_its_owner_and_creates_nothing(client):
    UserFactory(email="ada@example.org", name="Ada Original")
    response = client.post(reverse("accounts:register"), REGISTER)

    # The same answer as a new registration, so the form does not reveal who has an account.
    assert response.status_code == 302
    assert User.objects.filter(email__iexact="ada@example.org").count() == 1
    assert len(mail.outbox) == 1
    assert "already has one" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"email": "not-an-address"}, "email", "Enter a valid email address."),
        ({"name": "   "}, "name", "This field is required."),
        ({"password2": "something else entirely"}, "password2", "The two passwords differ."),
        ({"password1": "short", "password2": "short"}, "password1", "too short"),
        ({"password1": "12345678901", "password2": "12345678901"}, "password1", "entirely numeric"),
    ],
)
def test_bad_registration_input_is_shown_next_to_the_field_and_keeps_what_was_typed(client, change, field, message):
    data = {**REGISTER, **change}
    response = client.post(reverse("accounts:register"), data)

    assert response.status_code == 400
    form = response.context["form"]
    assert any(message in error for error in form.errors[field])
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html
    if field != "name":
        assert 'value="Ada Researcher"' in html
    assert User.objects.count() == 0
    assert mail.outbox == []


def test_registration_is_rate_limited_per_address(client, settings):
    settings.FORM_RATE_PER_HOUR = 2
    for n in range(2):
        client.post(reverse("accounts:register"), {**REGISTER, "email": f"r{n}@example.org"})
    response = client.post(reverse("accounts:register"), {**REGISTER, "email": "r9@example.org"})
    assert response.status_code == 429
    assert b"Too many attempts" in response.content
    assert not User.objects.filter(email="r9@example.org").exists()


def test_resend_sends_a_new_link_only_to_unverified_accounts(client):
    unverified = UserFactory(email="new@example.org", email_verified_at=None)
    UserFactory(email="done@example.org")
    for email in ["new@example.org", "done@example.org", "nobody@example.org"]:
        response = client.post(reverse("accounts:resend_verification"), {"email": email})
        assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [[unverified.email]]


def test_verification_task_skips_users_who_are_already_verified():
    from accounts.tasks import send_verification_email

    user = UserFactory()
    assert send_verification_email(user.pk) is False
    assert mail.outbox == []


def test_login_needs_a_verified_address(client):
    UserFactory(email="new@example.org", email_verified_at=None)
    response = client.post(reverse("accounts:login"), {"username": "new@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert b"confirm your e-mail address first" in response.content


def _register_counting_work(client) -> tuple[int, int]:
    """Post the registration form; returns how often the password hasher ran and how many
    callbacks (the queued e-mail) the request left to run after commit."""
    from unittest import mock

    from django.contrib.auth.hashers import get_hasher
    from django.db import transaction

    hasher = type(get_hasher())
    with (
        mock.patch.object(hasher, "encode", autospec=True, side_effect=hasher.encode) as encode,
        mock.patch.object(transaction, "on_commit", wraps=transaction.on_commit) as on_commit,
    ):
        response = client.post(reverse("accounts:register"), REGISTER)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:registered")
    return encode.call_count, on_commit.call_count


def test_a_known_and_an_unknown_address_cost_the_same_work(client):
    # The answer time must not tell whether an address has an account: both paths hash the
    # password once and queue one e-mail after commit (no wall-clock timing, which is flaky).
    unknown = _register_counting_work(client)
    assert len(mail.outbox) == 1
    mail.outbox.clear()

    known = _register_counting_work(client)

    assert unknown == known == (1, 1)
    assert User.objects.filter(email__iexact="ada@example.org").count() == 1
    assert len(mail.outbox) == 1
    assert "already has one" in mail.outbox[0].body
