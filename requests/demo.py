"""Demo applications for `seed_demo`, made through the real services so that reviews, audit
events and permits are exactly what the portal would have produced."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import User
from datasets.models import Dataset
from requests import services
from requests.models import Application, Review
from requests.selectors.applications import needs_ethics_approval

# The smallest well-formed PDF, standing in for an ethics approval letter.
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _draft(applicant: User, dataset_titles: list[str], *, title: str, purpose: dict, months: int) -> Application:
    # By title: accessions come from a sequence and differ between databases.
    datasets = list(Dataset.objects.filter(title__in=dataset_titles).order_by("accession"))
    app = services.application_create(applicant=applicant, datasets=datasets)
    changes = services.DraftChanges(
        title=title,
        lay_summary=f"{title}: a study explained for participants.",
        abstract=f"{title}. Methods, cohorts and analysis plan.",
        purpose=purpose,
        requested_months=months,
    )
    app = services.application_update(application=app, changes=changes, actor=applicant)
    services.application_agreements_accept(application=app, actor=applicant)
    if needs_ethics_approval(app):
        upload = SimpleUploadedFile("ethics-approval.pdf", DEMO_PDF, content_type="application/pdf")
        expires = timezone.localdate() + dt.timedelta(days=365)
        services.application_document_add(application=app, upload=upload, expires_on=expires, actor=applicant)
    return app


def seed_applications() -> int:
    """A few applications in different states; does nothing when any application exists."""
    if Application.objects.exists():
        return 0
    aino = User.objects.get(email="researcher@demo.example")
    ben = User.objects.get(email="researcher2@demo.example")
    breast = _draft(
        aino,
        ["Nordic Breast Cancer Germline Genomes", "Ovarian and Breast Cancer Families"],
        title="Inherited risk of breast and ovarian cancer",
        purpose={"primary": "disease", "diseases": ["MONDO:0007254"], "genetic_study": True, "country": "FI"},
        months=24,
    )
    services.application_submit(application=breast, actor=aino)
    review = Review.objects.get(application=breast)
    services.review_vote(
        review=review,
        actor=User.objects.get(email="cancer-dac-member@demo.example"),
        choice="approve",
        comment="Well argued; the cohorts fit.",
    )
    reference = _draft(
        aino,
        ["Finnish Population Reference Genomes"],
        title="Allele frequencies for variant interpretation",
        purpose={"primary": "hmb", "genetic_study": True, "country": "FI"},
        months=12,
    )
    services.application_submit(application=reference, actor=aino)  # the population DAC approves automatically
    metabolic = _draft(
        ben,
        ["Cardiometabolic Health Study"],
        title="Cardiometabolic risk scores for a screening product",
        purpose={"primary": "hmb", "commercial": True, "country": "FI"},
        months=12,
    )
    accession = metabolic.requested.get().dataset.accession
    services.application_submit(
        application=metabolic, actor=ben, justifications={accession: "Results will also be published openly."}
    )
    _draft(
        aino,
        ["Type 2 Diabetes Case–Control Exomes"],
        title="Type 2 diabetes and cancer risk",
        months=12,
        purpose={"primary": "disease", "diseases": ["MONDO:0005148"]},
    )
    return Application.objects.count()
