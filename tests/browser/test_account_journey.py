"""A researcher registers, confirms the address from the e-mail, signs in and edits the profile."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.models import User
from tests.factories import InstitutionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_register_verify_login_and_edit_profile(page, live_server):
    InstitutionFactory(name="Karolinska Institutet", country="SE", ror_id="https://ror.org/056d84691")

    page.goto("/")
    page.get_by_role("link", name="Create account").click()
    page.get_by_label("Full name").fill("Greta Genome")
    page.get_by_label("E-mail address").fill("greta@example.org")
    page.get_by_label("Password", exact=True).fill("a long enough passphrase")
    page.get_by_label("Password again").fill("a different passphrase")
    page.get_by_role("button", name="Create account").click()

    # The mismatch is shown next to its field, and what was typed is still there.
    expect(page.locator("#id_password2_error")).to_contain_text("The two passwords differ.")
    expect(page.get_by_label("Full name")).to_have_value("Greta Genome")
    expect(page.get_by_label("E-mail address")).to_have_value("greta@example.org")
    page.get_by_label("Password", exact=True).fill("a long enough passphrase")
    page.get_by_label("Password again").fill("a long enough passphrase")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

    assert len(mail.outbox) == 1
    link = re.search(r"(http://\S+/accounts/verify/\S+/)", mail.outbox[0].body).group(1)
    assert link.startswith(live_server.url)
    page.goto(link)
    page.get_by_role("button", name="Confirm my address").click()
    expect(page.get_by_text("your e-mail address is confirmed")).to_be_visible()

    page.get_by_label("E-mail address").fill("greta@example.org")
    page.get_by_label("Password").fill("a long enough passphrase")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Greta Genome")).to_be_visible()

    page.get_by_role("link", name="Greta Genome").click()
    page.get_by_label("ORCID iD").fill("0000-0002-1825-0098")
    page.get_by_role("button", name="Save profile").click()
    expect(page.locator("#id_orcid_error")).to_contain_text("wrong check digit")

    page.get_by_label("ORCID iD").fill("https://orcid.org/0000-0002-1825-0097")
    page.get_by_label("Institution").select_option(label="Karolinska Institutet (SE)")
    page.get_by_label("Country where you process data").select_option("SE")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()

    user = User.objects.get(email="greta@example.org")
    assert user.email_verified
    assert user.orcid == "0000-0002-1825-0097"
    assert user.institution.name == "Karolinska Institutet"
    assert user.country.code == "SE"
