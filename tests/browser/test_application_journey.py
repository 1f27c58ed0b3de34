"""A researcher goes from the basket to a submitted application; a draft survives a closed tab."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from requests.models import Application
from tests.browser.test_catalogue_journey import sign_in
from tests.browser.test_review_journey import sign_out
from tests.factories import DatasetFactory, minimal_pdf

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


def apply_for(page, dataset, title: str, abstract: str) -> None:
    """The signed-in researcher applies for `dataset` alone (the breast cancer project), accepts
    the agreements, submits, and signs out."""
    add_to_basket(page, dataset)
    page.get_by_role("link", name="Basket", exact=True).click()
    page.get_by_role("button", name="Start an application for these datasets").click()
    fill_breast_cancer_project(page, title)
    page.get_by_label("Scientific abstract").fill(abstract)
    page.get_by_role("button", name="Save draft").click()
    page.get_by_role("link", name="Accept the agreements").first.click()
    page.get_by_label("I have read these agreements and accept them personally.").check()
    page.get_by_role("button", name="Accept the agreements").click()
    page.get_by_role("link", name="Continue the draft").click()
    page.get_by_role("button", name="Submit application").click()
    expect(page.get_by_text("Application submitted.")).to_be_visible()
    sign_out(page)


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


def start_draft(page, applicant, *datasets) -> str:
    """Sign in, put the datasets in the basket and start a draft; returns the edit page's URL."""
    sign_in(page, applicant.email)
    for dataset in datasets:
        add_to_basket(page, dataset)
    page.goto("/requests/basket/")
    page.get_by_role("button", name="Start an application for these datasets").click()
    return page.url


def test_the_consent_check_follows_the_purpose_as_it_is_typed(page, applicant, dataset, other_dataset):
    start_draft(page, applicant, dataset, other_dataset)
    expect(page.get_by_text("Describe the research purpose below").first).to_be_visible()
    page.evaluate("window.sameDocument = true")

    fill_breast_cancer_project(page, "Germline variants in breast cancer")
    # No reload: the rows change in place and the live region says what changed.
    expect(page.locator(".match.decision-approve")).to_have_count(1)
    expect(page.locator(".match.decision-deny")).to_have_count(1)
    expect(page.locator("#consent-status")).to_have_text("Consent check: 1 dataset fits your purpose, 1 does not fit.")
    expect(page.locator("#consent-results")).to_contain_text("Your purpose: Research on breast cancer; genetic study")
    justification = page.get_by_label(f"Why access to {other_dataset.accession} is justified")
    justification.fill("Diabetes is a common comorbidity in the cohort.")

    # Another change of the purpose is checked again; the justification typed so far stays.
    page.get_by_label("Country where the data is processed").select_option("SE")
    expect(page.locator("#consent-results")).to_contain_text("data processed in Sweden")
    expect(justification).to_have_value("Diabetes is a common comorbidity in the cohort.")
    assert page.evaluate("window.sameDocument") is True


def invitations() -> int:
    from portal.models import OutboxMessage

    return OutboxMessage.objects.filter(payload__template="requests/collaborator_invited").count()


def test_collaborators_are_invited_only_when_the_researcher_says_so(page, applicant, dataset):
    edit_url = start_draft(page, applicant, dataset)
    collaborators = page.get_by_label("Collaborators (e-mail addresses, one per line)")
    collaborators.fill("bob@uni.exa")
    expect(page.locator("#autosave-status")).to_contain_text("All changes saved", timeout=10_000)
    collaborators.fill("bob@uni.example")
    expect(page.locator("#autosave-status")).to_contain_text("All changes saved", timeout=10_000)
    # Enter in a one-line field saves the draft: it never invites.
    page.get_by_label("Title of the project").fill("Inherited risk")
    page.get_by_label("Title of the project").press("Enter")
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    app = Application.objects.get(applicant=applicant)
    assert (app.collaborators.count(), invitations()) == (0, 0)

    page.goto(edit_url)
    expect(collaborators).to_have_value("bob@uni.example")
    expect(page.locator(".collaborator-pending")).to_contain_text("bob@uni.example: Not invited yet")
    page.get_by_role("button", name="Invite now").click()
    expect(page.get_by_text("Invitations sent to bob@uni.example.")).to_be_visible()
    expect(page.locator(".collaborator-invited")).to_contain_text("bob@uni.example: Invited")
    assert list(app.collaborators.values_list("email", flat=True)) == ["bob@uni.example"]
    assert invitations() == 1


def test_withdrawing_asks_first(page, applicant, dataset):
    from requests import services
    from tests.factories import complete_application

    app = complete_application(applicant, [DatasetFactory(dac=dataset.dac, title="Population Genomes")])
    services.application_submit(application=app, actor=applicant)
    sign_in(page, applicant.email)
    page.goto(f"/requests/{app.pk}/")
    page.get_by_role("link", name="Withdraw").click()
    expect(page.get_by_role("heading", name="Withdraw “Germline variants in breast cancer”?")).to_be_visible()
    expect(page.get_by_text("This cannot be undone")).to_be_visible()
    page.get_by_role("link", name="Keep it").click()
    app.refresh_from_db()
    assert app.status == "submitted"

    page.get_by_role("link", name="Withdraw").click()
    page.get_by_role("button", name="Withdraw the application").click()
    expect(page.get_by_text("The application is withdrawn.")).to_be_visible()
    app.refresh_from_db()
    assert app.status == "withdrawn"
