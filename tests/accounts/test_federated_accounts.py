"""Accounts from the federation without the provider in the loop: the account made at a first
sign-in (accounts.services.federated_sign_in), never joined by e-mail; unlinking only while
another way to sign in remains; profile completion before applying; PASSWORD_LOGIN=false; the
configuration check. The sign-in itself, against a real provider: test_oidc_sign_in.py."""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.urls import reverse

from accounts import services
from accounts.checks import sign_in_possible
from accounts.models import FederatedIdentity, User
from portal.audit import events_for
from portal.exceptions import Conflict, InvalidInput, NotAllowed
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ISSUER = "https://login.example.org/oidc/"
SUBJECT = "5f3c0d2e8a@lifescience-ri.eu"


@pytest.fixture(autouse=True)
def _provider(settings):
    settings.OIDC_ISSUER = ISSUER
    settings.OIDC_CLIENT_ID = "portal"
    settings.OIDC_CLIENT_SECRET = "portal-secret"


def sign_in(subject=SUBJECT, email="nora@uni.example", verified=True, name="Nora Newcomer"):
    return services.federated_sign_in(issuer=ISSUER, subject=subject, email=email, email_verified=verified, name=name)


# --- The account a first sign-in makes ----------------------------------------------------------


def test_a_first_sign_in_makes_an_account_without_a_password_and_audits_it():
    user, created = sign_in(email="Nora@Uni.Example")

    assert created
    assert (user.email, user.name, user.email_verified) == ("nora@uni.example", "Nora Newcomer", True)
    assert not user.has_usable_password()
    assert not user.profile_complete
    identity = FederatedIdentity.objects.get(user=user)
    assert (identity.issuer, identity.subject) == (ISSUER, SUBJECT)
    (event,) = events_for(identity)
    assert event.action == "account.created_federated"
    assert event.actor is None


def test_the_next_sign_in_finds_the_same_person_whatever_the_provider_now_says():
    first, _ = sign_in()
    again, created = sign_in(email="renamed@uni.example", name="Someone Else")

    assert (again, created) == (first, False)
    assert User.objects.get(pk=first.pk).email == "nora@uni.example"


def test_an_unverified_address_is_kept_unverified_and_the_portal_sends_its_own_link(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        user, _ = sign_in(verified=False)

    assert not user.email_verified
    assert [m.to for m in mail.outbox] == [["nora@uni.example"]]


@pytest.mark.parametrize("verified", [True, False])
def test_an_address_with_an_account_is_never_joined_by_e_mail(applicant, verified):
    """Whether or not the provider verified it: the owner links while signed in, nobody else."""
    with pytest.raises(Conflict) as refused:
        sign_in(email=applicant.email.upper(), verified=verified)

    assert refused.value.code == "email_taken"
    assert not FederatedIdentity.objects.exists()
    assert User.objects.filter(email__iexact=applicant.email).count() == 1


@pytest.mark.parametrize("email", ["", "not-an-address", "x" * 250 + "@uni.example"])
def test_no_usable_e_mail_makes_no_account(email):
    with pytest.raises(InvalidInput) as refused:
        sign_in(email=email)

    assert refused.value.code == "email_missing"
    assert not User.objects.exists()


def test_a_disabled_account_cannot_sign_in():
    user, _ = sign_in()
    User.objects.filter(pk=user.pk).update(is_active=False)

    with pytest.raises(NotAllowed) as refused:
        sign_in()
    assert refused.value.code == "account_disabled"


def test_a_missing_name_falls_back_to_the_address():
    user, _ = sign_in(name="")
    assert user.name == "nora"


@pytest.mark.django_db(transaction=True)
def test_two_first_sign_ins_at_once_make_one_account():
    barrier = threading.Barrier(4)
    results, errors = [], []

    def attempt():
        try:
            barrier.wait()
            results.append(sign_in()[0].pk)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert len(set(results)) == 1
    assert len(results) == 4
    assert User.objects.count() == 1
    assert FederatedIdentity.objects.count() == 1


# --- Unlinking ------------------------------------------------------------------------------------


def test_the_only_way_to_sign_in_cannot_be_unlinked_by_its_owner_but_by_staff(staff):
    user, _ = sign_in()
    identity = FederatedIdentity.objects.get(user=user)

    with pytest.raises(Conflict) as refused:
        services.federated_identity_unlink(identity=identity, actor=user)
    assert refused.value.code == "last_sign_in"
    assert FederatedIdentity.objects.filter(pk=identity.pk).exists()

    services.federated_identity_unlink(identity=identity, actor=staff)
    assert not FederatedIdentity.objects.filter(pk=identity.pk).exists()


def test_with_a_password_the_identity_can_be_unlinked_unless_passwords_are_off(applicant, settings):
    identity = services.federated_identity_link(user=applicant, issuer=ISSUER, subject=SUBJECT, actor=None)
    settings.PASSWORD_LOGIN = False
    with pytest.raises(Conflict):
        services.federated_identity_unlink(identity=identity, actor=applicant)

    settings.PASSWORD_LOGIN = True
    services.federated_identity_unlink(identity=identity, actor=applicant)
    assert not FederatedIdentity.objects.exists()


def test_an_identity_at_another_issuer_is_no_way_to_sign_in_and_can_always_be_unlinked():
    user, _ = sign_in()
    other = services.federated_identity_link(user=user, issuer="https://other.example.org", subject="x", actor=None)

    services.federated_identity_unlink(identity=other, actor=user)
    assert list(FederatedIdentity.objects.values_list("issuer", flat=True)) == [ISSUER]


def test_the_profile_lists_the_identity_and_offers_unlinking_only_when_allowed(client):
    user, _ = sign_in()
    identity = FederatedIdentity.objects.get(user=user)
    client.force_login(user)

    page = client.get(reverse("accounts:profile")).content.decode()
    assert SUBJECT in page
    assert "the id your permits carry" in page
    assert reverse("accounts:identity_unlink", args=[identity.pk]) not in page
    assert "set a password" in page

    response = client.post(reverse("accounts:identity_unlink", args=[identity.pk]), follow=True)
    assert "This is your only way to sign in" in response.content.decode()
    assert FederatedIdentity.objects.filter(pk=identity.pk).exists()

    # A first password makes the identity removable.
    response = client.post(
        reverse("accounts:password_set"),
        {"new_password1": "a long new pass 2026", "new_password2": "a long new pass 2026"},
    )
    assert response.status_code == 302
    page = client.get(reverse("accounts:profile")).content.decode()
    assert reverse("accounts:identity_unlink", args=[identity.pk]) in page
    client.post(reverse("accounts:identity_unlink", args=[identity.pk]))
    assert not FederatedIdentity.objects.filter(pk=identity.pk).exists()
    # ...and the person still signs in, with the password.
    client.logout()
    response = client.post(reverse("accounts:login"), {"username": user.email, "password": "a long new pass 2026"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_first_password_is_checked_like_any_other(client):
    user, _ = sign_in()
    client.force_login(user)

    response = client.post(reverse("accounts:password_set"), {"new_password1": "short", "new_password2": "short"})

    assert response.status_code == 400
    assert "too short" in response.content.decode()
    assert not User.objects.get(pk=user.pk).has_usable_password()


def test_the_profile_offers_linking_to_a_person_without_a_linked_identity(client, applicant):
    client.force_login(applicant)
    page = client.get(reverse("accounts:profile")).content.decode()
    assert reverse("accounts:oidc_link") in page
    assert "Link Life Science Login" in page


# --- Completing the profile -----------------------------------------------------------------------


def test_the_profile_must_name_an_institution_and_a_country_before_submitting(client, applicant_draft, applicant):
    User.objects.filter(pk=applicant.pk).update(institution=None)
    client.force_login(applicant)

    response = client.post(reverse("requests:edit", args=[applicant_draft.pk]), {"submit": "1"})

    page = response.content.decode()
    assert "Complete your profile first" in page
    assert reverse("accounts:profile_complete") in page


def test_completing_the_profile_asks_for_both_and_returns_to_next(client, institution):
    user, _ = sign_in()
    client.force_login(user)
    url = reverse("accounts:profile_complete")

    response = client.post(url, {"name": "Nora Newcomer", "institution": "", "country": "", "next": "/datasets/"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose your institution." in page
    assert "Choose the country where you process data." in page

    response = client.post(
        url, {"name": "Nora Newcomer", "institution": institution.pk, "country": "FI", "next": "/datasets/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/datasets/"
    assert User.objects.get(pk=user.pk).profile_complete


def test_completing_the_profile_never_sends_the_person_off_site(client, institution):
    user, _ = sign_in()
    client.force_login(user)
    form = {"name": "N", "institution": institution.pk, "country": "FI", "next": "https://evil.example/"}

    response = client.post(reverse("accounts:profile_complete"), form)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")


# --- PASSWORD_LOGIN=false -------------------------------------------------------------------------

PASSWORD_PAGES = [
    ("accounts:register", {}),
    ("accounts:registered", {}),
    ("accounts:password_reset", {}),
    ("accounts:password_reset_done", {}),
    ("accounts:password_reset_confirm", {"uidb64": "MQ", "token": "x"}),
    ("accounts:password_reset_complete", {}),
    ("accounts:password_change", {}),
    ("accounts:password_change_done", {}),
    ("accounts:password_set", {}),
]


@pytest.mark.parametrize(("name", "kwargs"), PASSWORD_PAGES)
def test_with_passwords_off_every_password_page_is_gone(client, applicant, settings, name, kwargs):
    settings.PASSWORD_LOGIN = False
    client.force_login(applicant)
    assert client.get(reverse(name, kwargs=kwargs)).status_code == 404


def test_with_passwords_off_the_right_password_does_not_sign_in(client, applicant, settings):
    settings.PASSWORD_LOGIN = False

    page = client.get(reverse("accounts:login")).content.decode()
    response = client.post(
        reverse("accounts:login"), {"username": applicant.email, "password": "correct horse battery staple"}
    )

    assert "Sign in with Life Science Login" in page
    assert 'name="password"' not in page
    assert response.status_code == 404
    assert "_auth_user_id" not in client.session


def test_with_passwords_off_no_page_offers_to_create_an_account(client, settings):
    assert reverse("accounts:register") in client.get(reverse("home")).content.decode()
    settings.PASSWORD_LOGIN = False
    for name in ("home", "accounts:login", "datasets:catalogue"):
        assert reverse("accounts:register") not in client.get(reverse(name)).content.decode()


def test_the_login_page_shows_the_providers_button_with_next_when_configured(client, settings):
    settings.OIDC_PROVIDER_NAME = "Example Login"
    page = client.get(reverse("accounts:login") + "?next=/requests/").content.decode()
    assert "Sign in with Example Login" in page
    assert f"{reverse('accounts:oidc_login')}?next=/requests/" in page
    assert 'name="password"' in page  # passwords stay on by default

    assert 'id="oidc-sign-in"' in page

    settings.OIDC_CLIENT_ID = ""
    assert 'id="oidc-sign-in"' not in client.get(reverse("accounts:login")).content.decode()


def test_passwords_off_without_a_provider_fails_the_configuration_check(settings):
    settings.PASSWORD_LOGIN = False
    settings.OIDC_CLIENT_ID = ""
    (error,) = sign_in_possible(None)
    assert error.id == "accounts.E001"
    with pytest.raises(SystemCheckError):
        call_command("check")

    settings.OIDC_CLIENT_ID = "portal"
    assert sign_in_possible(None) == []


def test_a_new_person_has_no_password_to_change(client):
    user, _ = sign_in()
    client.force_login(user)
    response = client.get(reverse("accounts:password_change"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_set")


def test_with_a_provider_configured_passwords_still_work_by_default(client):
    user = UserFactory()
    response = client.post(
        reverse("accounts:login"), {"username": user.email, "password": "correct horse battery staple"}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
