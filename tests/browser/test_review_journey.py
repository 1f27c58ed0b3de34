"""A committee reviews an application of two datasets in the browser: a member votes, the chair
votes and decides (one approval, one rejection with a reason), and the applicant reads the outcome
without ever seeing the votes."""

import pytest
from dateutil.relativedelta import relativedelta
from playwright.sync_api import expect

from requests import services
from requests.models import Permit
from tests.browser.test_catalogue_journey import sign_in
from tests.factories import DatasetFactory, complete_application

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = "The exomes add nothing to a germline variant study."


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("banner").get_by_role("link", name="Sign in")).to_be_visible()


def vote(page, choice: str, comment: str) -> None:
    form = page.locator("form.vote-form")
    form.get_by_label(choice, exact=True).check()
    form.get_by_label("Comment for the committee").fill(comment)
    form.get_by_role("button", name="Vote").click()
    expect(page.get_by_text("Your vote is saved.")).to_be_visible()


def record_the_decision(page) -> None:
    """The decision form leads to its summary; the decision is recorded from there."""
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_role("heading", name="Record this decision")).to_be_visible()
    page.get_by_role("button", name="Yes, record the decision").click()
    expect(page.get_by_text("The decision is recorded and the applicant is told.")).to_be_visible()


def committee_approves(page, title: str, dataset, member, chair) -> None:
    """The member votes to approve, the chair votes, approves `dataset` and confirms."""
    sign_in(page, member.email)
    page.get_by_role("link", name="Committee work").click()
    page.get_by_role("link", name=title).click()
    vote(page, "Approve", "A sound design.")
    sign_out(page)
    sign_in(page, chair.email)
    page.get_by_role("link", name="Committee work").click()
    page.get_by_role("link", name=title).click()
    vote(page, "Approve", "Agreed.")
    page.get_by_label(f"Approve {dataset.accession}").check()
    record_the_decision(page)


def test_a_member_and_the_chair_review_and_the_applicant_reads_the_outcome(page, applicant, dac, dac_chair, dac_member):
    # Neither dataset carries IRB, so the application needs no ethics document.
    genomes = DatasetFactory(dac=dac, title="Finnish Population Genomes")
    exomes = DatasetFactory(dac=dac, title="Helsinki Biobank Exomes")
    app = complete_application(applicant, [genomes, exomes], title="Inherited risk of breast cancer")
    services.application_submit(application=app, actor=applicant)

    sign_in(page, dac_member.email)
    page.get_by_role("link", name="Committee work").click()
    expect(page.locator(".inbox-row")).to_have_count(1)
    page.get_by_role("link", name="Inherited risk of breast cancer").click()
    expect(page.get_by_text("Research on breast cancer")).to_be_visible()
    vote(page, "Approve", "A sound case-control design.")
    expect(page.get_by_text("1 of 2 votes needed for the quorum")).to_be_visible()
    sign_out(page)

    sign_in(page, dac_chair.email)
    page.get_by_role("link", name="Committee work").click()
    page.get_by_role("link", name="Inherited risk of breast cancer").click()
    expect(page.get_by_text("You can decide once the quorum is met")).to_be_visible()
    vote(page, "Approve", "Agreed for the genomes.")
    expect(page.get_by_text("the quorum is met")).to_be_visible()
    page.get_by_label(f"Approve {genomes.accession}").check()
    page.get_by_label(f"Permit length for {genomes.accession}").fill("9")
    page.get_by_label(f"Reject {exomes.accession}").check()
    page.get_by_label(f"Reason for the applicant about {exomes.accession}").fill(REASON)
    page.get_by_role("button", name="Record the decision").click()
    summary = page.locator(".decision-summary")
    expect(summary).to_contain_text(f"{genomes.accession}: approve for 9 months")
    expect(summary).to_contain_text(f"{exomes.accession}: reject")
    expect(summary).to_contain_text(REASON)
    page.get_by_role("button", name="Yes, record the decision").click()
    expect(page.get_by_text("The decision is recorded and the applicant is told.")).to_be_visible()
    expect(page.locator(".decision-result.outcome-approve")).to_contain_text("Approved for 9 months")
    expect(page.locator(".decided-by")).to_contain_text(f"Decided by {dac_chair.name} on ")
    sign_out(page)

    sign_in(page, applicant.email)
    page.get_by_role("link", name="My applications").click()
    page.get_by_role("link", name="Inherited risk of breast cancer").click()
    decisions = page.locator(".decisions")
    expect(decisions).to_contain_text(f"{genomes.accession}: Approved for 9 months")
    expect(decisions).to_contain_text(f"{exomes.accession}: Rejected")
    expect(decisions).to_contain_text(REASON)
    expect(page.locator(".permit")).to_have_count(1)
    expect(page.locator("main")).not_to_contain_text("A sound case-control design.")
    expect(page.locator("main")).not_to_contain_text("Agreed for the genomes.")
    expect(page.locator("main")).not_to_contain_text(dac_member.name)

    permit = Permit.objects.get(application=app)
    assert (permit.grantee, permit.dataset) == (applicant, genomes)
    assert permit.expires_at == permit.starts_at + relativedelta(months=9)
    assert not Permit.objects.filter(dataset=exomes).exists()
