"""A researcher goes from the basket to a submitted application; a draft survives a closed tab."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from requests.models import Application
from tests.browser.test_catalogue_journey import sign_in
from tests.factories import minimal_pdf

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def add_to_basket(page, dataset) -> None:
    page.goto(f"/datasets/{dataset.accession}/")
    page.get_by_role("button", name="Request access").click()
    expect(page.get_by_text(f"{dataset.accession} is in your request basket.")).to_be_visible()


def fill_breast_cancer_project(page, title: str) -> None:
    """The project and its purpose (a genetic study of breast cancer in Finland, 12 months); the
    abstract and documents are left to the caller."""
    page.get_by_label("Title of the project").fill(title)
    page.get_by_label("Lay summary").fill("We look for inherited changes that raise the risk of breast cancer.")
    page.get_by_label("Length of access (months)").fill("12")
    page.get_by_label("Research on specific diseases").check()
    page.get_by_label("Diseases studied").fill("breast canc")
    page.get_by_role("option", name="breast cancer MONDO:0007254", exact=True).click()
    page.get_by_label("It is a genetic study (genotypes are analysed)").check()
    page.get_by_label("Country where the data is processed").select_option("FI")


def test_from_basket_to_two_pending_reviews(page, applicant, dataset, other_dataset, tmp_path):
    pdf = tmp_path / "ethics-approval.pdf"
    pdf.write_bytes(minimal_pdf())
    sign_in(page, applicant.email)
    add_to_basket(page, dataset)
    add_to_basket(page, other_dataset)
    page.get_by_role("link", name="Basket", exact=True).click()
    expect(page.get_by_text("2 datasets, governed by 2 committees")).to_be_visible()
    page.get_by_role("button", name="Start an application for these datasets").click()

    fill_breast_cancer_project(page, "Germline variants in breast cancer")
    page.get_by_label("Ethics approval (PDF, at most 10 MB)").set_input_files(str(pdf))
    expires = (timezone.localdate() + dt.timedelta(days=300)).isoformat()
    page.get_by_label("The ethics approval is valid until").fill(expires)
    # The abstract is left out on purpose.
    page.get_by_role("button", name="Submit application").click()

    expect(page.locator("#id_abstract_error")).to_contain_text("This field is required.")
    expect(page.get_by_label("Title of the project")).to_have_value("Germline variants in breast cancer")
    expect(page.get_by_label("Diseases studied")).to_have_value("MONDO:0007254 ")
    expect(page.get_by_text("Ethics approval on file: ethics-approval.pdf")).to_be_visible()
    # The consent check per dataset: breast cancer fits the cancer dataset, not the diabetes one.
    expect(page.locator(".match.decision-approve")).to_have_count(1)
    expect(page.locator(".match.decision-deny")).to_have_count(1)
    expect(page.get_by_text("type 2 diabetes mellitus or its subtypes").first).to_be_visible()

    page.get_by_role("link", name="Accept the agreements").first.click()
    page.get_by_label("I have read these agreements and accept them personally.").check()
    page.get_by_role("button", name="Accept the agreements").click()
    page.get_by_role("link", name="Continue the draft").click()

    page.get_by_label("Scientific abstract").fill("A case-control analysis of germline variants.")
    page.get_by_label(f"Why access to {other_dataset.accession} is justified").fill(
        "Diabetes is a common comorbidity in the breast cancer cohort."
    )
    page.get_by_role("button", name="Submit application").click()

    expect(page.get_by_text("Application submitted.")).to_be_visible()
    expect(page.locator(".review-row")).to_have_count(2)
    expect(page.locator(".review-row .status-pending")).to_have_count(2)
    app = Application.objects.get(applicant=applicant)
    assert app.status == "submitted"
    assert app.reviews.count() == 2


def test_a_draft_survives_a_closed_tab(page, browser, live_server, applicant, dataset):
    sign_in(page, applicant.email)
    add_to_basket(page, dataset)
    page.goto("/requests/basket/")
    page.get_by_role("button", name="Start an application for these datasets").click()
    edit_url = page.url

    # Typed and saved by the page itself, without pressing any button.
    page.get_by_label("Title of the project").fill("Autosaved title")
    expect(page.locator("#autosave-status")).to_contain_text("All changes saved", timeout=10_000)
    # Typed, and the tab closed before the next save could reach the server: from here on the
    # server is out of reach, so that a slow machine's save cannot slip through before the close.
    page.route("**/autosave/", lambda route: route.abort())
    page.get_by_label("Lay summary").fill("Written just before the tab closed.")
    storage = page.context.storage_state()
    page.close()

    app = Application.objects.get(applicant=applicant)
    assert app.title == "Autosaved title"

    context = browser.new_context(base_url=live_server.url, storage_state=storage)
    again = context.new_page()
    again.goto(edit_url)
    expect(again.get_by_label("Title of the project")).to_have_value("Autosaved title")
    expect(again.get_by_label("Lay summary")).to_have_value("Written just before the tab closed.")
    expect(again.locator("#autosave-status")).to_contain_text("All changes saved", timeout=10_000)
    app.refresh_from_db()
    assert app.lay_summary == "Written just before the tab closed."
    context.close()
