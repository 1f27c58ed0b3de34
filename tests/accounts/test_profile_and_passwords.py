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
