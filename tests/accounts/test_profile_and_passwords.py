import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from accounts.validators import orcid_checksum_ok
from tests.factories import PASSWORD, InstitutionFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_profile_saves_name_institution_country_and_a_normalised_orcid(client, applicant):
    other = InstitutionFactory(name="Karolinska Institutet", country="SE")
    client.force_login(applicant)
    response = client.post(
        reverse("accounts:profile"),
        {
            "name": "Aino A. Applicant",
            "institution": other.pk,
            "country": "SE",
            "orcid": "https://orcid.org/0000-0002-1825-0097",
        },
    )
    assert response.status_code == 302
    applicant.refresh_from_db()
    assert (applicant.name, applicant.institution, applicant.country.code, applicant.orcid) == (
        "Aino A. Applicant",
        other,
        "SE",
        "0000-0002-1825-0097",
    )


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"orcid": "0000-0002-1825-0098"}, "orcid", "wrong check digit"),
        ({"orcid": "orcid please"}, "orcid", "Enter an ORCID iD"),
        ({"country": "XX"}, "country", "Select a valid choice"),
        ({"institution": "999999"}, "institution", "Select a valid choice"),
        ({"name": ""}, "name", "This field is required"),
    ],
)
def test_bad_profile_input_is_shown_next_to_the_field_and_nothing_is_saved(client, applicant, change, field, message):
    client.force_login(applicant)
    data = {"name": "New Name", "institution": "", "country": "DE", "orcid": "", **change}
    response = client.post(reverse("accounts:profile"), data)

    assert response.status_code == 400
    assert any(message in error for error in response.context["form"].errors[field])
    assert f'id="id_{field}_error"' in response.content.decode()
    if field != "name":
        assert 'value="New Name"' in response.content.decode()
    applicant.refresh_from_db()
    assert applicant.name == "Aino Applicant"


def test_orcid_checksum_follows_iso_7064():
    assert orcid_checksum_ok("0000000218250097")
    assert orcid_checksum_ok("000000021694233X")
    assert not orcid_checksum_ok("0000000218250098")


def test_password_change_needs_the_old_password(client, applicant):
    client.force_login(applicant)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": "wrong", "new_password1": "another long phrase", "new_password2": "another long phrase"},
    )
    assert response.status_code == 400
    assert 'id="id_old_password_error"' in response.content.decode()
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": "another long phrase", "new_password2": "another long phrase"},
    )
    assert response.status_code == 302
    assert User.objects.get(pk=applicant.pk).check_password("another long phrase")


def test_password_reset_mails_a_link_that_sets_a_new_password(client, applicant):
    response = client.post(reverse("accounts:password_reset"), {"email": applicant.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    path = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": "brand new phrase 1", "new_password2": "brand new phrase 1"}
    )
    assert response.status_code == 302
    assert User.objects.get(pk=applicant.pk).check_password("brand new phrase 1")


def test_password_reset_for_an_unknown_address_sends_nothing_but_answers_the_same(client):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert mail.outbox == []


# --- a new password revokes the person's API tokens -------------------------------------------


def _tokens(user, n: int = 2) -> list:
    from accounts import services

    return [services.personal_token_create(user=user, name=f"script {i}")[0] for i in range(n)]


def _revoked(tokens) -> list[bool]:
    from accounts.models import PersonalToken

    return [PersonalToken.objects.get(pk=t.pk).revoked_at is not None for t in tokens]


def _token_events(user):
    from portal.audit import events_for

    return [e for e in events_for(user) if e.action == "account.tokens_revoked"]


def test_changing_the_password_revokes_every_token_and_the_page_says_so(client, applicant, other_applicant):
    mine, theirs = _tokens(applicant), _tokens(other_applicant, 1)
    client.force_login(applicant)

    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": "another long phrase", "new_password2": "another long phrase"},
        follow=True,
    )

    assert response.status_code == 200
    assert _revoked(mine) == [True, True]
    assert _revoked(theirs) == [False]
    assert "Your 2 personal API tokens were revoked with the old password" in response.content.decode()
    # Still signed in with the new password.
    assert client.get(reverse("accounts:profile")).status_code == 200
    (event,) = _token_events(applicant)
    assert event.actor == applicant
    assert event.data["reason"] == "changed"
    assert event.data["tokens"] == [t.display_prefix for t in mine]


def test_a_password_reset_revokes_every_token_and_the_page_says_so(client, applicant):
    (token,) = _tokens(applicant, 1)
    client.post(reverse("accounts:password_reset"), {"email": applicant.email})
    path = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(path, follow=True)

    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "brand new phrase 1", "new_password2": "brand new phrase 1"},
        follow=True,
    )

    assert response.status_code == 200
    assert _revoked([token]) == [True]
    assert "Your personal API token was revoked" in response.content.decode()
    assert _token_events(applicant)[0].data["reason"] == "reset"


def test_a_refused_password_change_revokes_nothing(client, applicant):
    tokens = _tokens(applicant)
    client.force_login(applicant)
    client.post(
        reverse("accounts:password_change"),
        {"old_password": "wrong", "new_password1": "another long phrase", "new_password2": "another long phrase"},
    )
    assert _revoked(tokens) == [False, False]


def test_without_tokens_the_change_says_nothing_of_them_and_audits_nothing(client, applicant):
    client.force_login(applicant)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": "another long phrase", "new_password2": "another long phrase"},
        follow=True,
    )
    assert "API token" not in response.content.decode()
    assert _token_events(applicant) == []


def test_staff_setting_a_password_in_the_admin_revokes_the_tokens_audited_as_them(client_for, applicant, staff):
    tokens = _tokens(applicant)
    url = reverse("admin:auth_user_password_change", args=[applicant.pk])

    response = client_for("staff").post(
        url, {"usable_password": "true", "password1": "staff chosen phrase", "password2": "staff chosen phrase"}
    )

    assert response.status_code == 302
    assert User.objects.get(pk=applicant.pk).check_password("staff chosen phrase")
    assert _revoked(tokens) == [True, True]
    (event,) = _token_events(applicant)
    assert (event.actor, event.data["reason"]) == (staff, "set_by_staff")


def test_a_first_password_keeps_the_tokens(client, applicant):
    applicant.set_unusable_password()
    applicant.save(update_fields=["password"])
    tokens = _tokens(applicant)
    client.force_login(applicant)

    response = client.post(
        reverse("accounts:password_set"), {"new_password1": "a first phrase 1", "new_password2": "a first phrase 1"}
    )

    assert response.status_code == 302
    assert _revoked(tokens) == [False, False]
