"""A visitor browses and filters the catalogue; a DAC secretary edits a data-use profile."""

import pytest
from playwright.sync_api import expect

from datasets.models import DataUseProfile
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_browse_filter_by_disease_and_open_a_dataset(page, dataset, other_dataset):
    page.goto("/")
    page.get_by_role("link", name="Datasets").click()
    expect(page.get_by_text("2 datasets")).to_be_visible()

    # Pick "cancer" from the MONDO suggestions; the filter includes its subtypes.
    page.get_by_label("Disease (includes its subtypes)").fill("cancer")
    page.get_by_role("option", name="cancer MONDO:0004992", exact=True).click()
    expect(page.get_by_label("Disease (includes its subtypes)")).to_have_value("MONDO:0004992")
    page.get_by_role("button", name="Show datasets").click()

    expect(page.get_by_text("1 dataset", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Type 2 Diabetes Exomes")).to_have_count(0)
    page.get_by_role("link", name="Nordic Breast Cancer Genomes").click()

    expect(page.get_by_role("heading", name="Nordic Breast Cancer Genomes")).to_be_visible()
    expect(page.get_by_text("Use is limited to research on breast cancer or its subtypes")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in to request access")).to_be_visible()


def test_secretary_edits_a_profile_and_sees_its_history(page, dac_secretary, dataset):
    sign_in(page, dac_secretary.email)
    page.goto(f"/datasets/{dataset.accession}/")
    page.get_by_role("link", name="Edit data use").click()

    diseases = page.get_by_label("Diseases (for DS)")
    diseases.press("End")
    diseases.type(" ovarian canc")
    page.get_by_role("option", name="ovarian cancer MONDO:0008170", exact=True).click()
    page.get_by_label("TS time limit on use").check()
    page.get_by_label("Months").fill("0")
    page.get_by_label("Reason for the change").fill("Families study consent")
    page.get_by_role("button", name="Save as a new version").click()

    # Refused next to the field; everything typed is still there.
    expect(page.locator("#id_param_TS_error")).to_contain_text("positive whole number of months")
    expect(page.get_by_label("Diseases (for DS)")).to_have_value("MONDO:0007254 MONDO:0008170 ")
    expect(page.get_by_label("Reason for the change")).to_have_value("Families study consent")
    assert DataUseProfile.objects.filter(dataset=dataset).count() == 1

    page.get_by_label("Months").fill("24")
    page.get_by_role("button", name="Save as a new version").click()

    expect(page.get_by_role("heading", name="History of the data use")).to_be_visible()
    expect(page.get_by_text("Data use saved as version 2.")).to_be_visible()
    expect(page.get_by_role("heading", name="Version 2 in force")).to_be_visible()
    expect(page.get_by_role("heading", name="Version 1")).to_be_visible()
    expect(page.get_by_text("breast cancer, ovarian cancer, or their subtypes")).to_be_visible()
    expect(page.get_by_text("Families study consent")).to_be_visible()
    assert DataUseProfile.objects.get(dataset=dataset, version=2).created_by == dac_secretary
