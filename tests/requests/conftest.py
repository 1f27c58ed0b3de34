import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from requests import services
from tests.factories import complete_application, minimal_pdf


@pytest.fixture
def settings_private_media(_private_media):
    return _private_media


def pdf_upload(name: str = "ethics.pdf", content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content if content is not None else minimal_pdf(), content_type="application/pdf")


def next_year() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=365)


@pytest.fixture
def draft(applicant, dataset, other_dataset, settings_private_media):
    """A complete two-DAC draft: breast cancer purpose; `other_dataset` (type 2 diabetes) is
    denied by the matcher and needs a justification; `dataset` carries IRB."""
    app = complete_application(applicant, [dataset, other_dataset])
    services.application_document_add(application=app, upload=pdf_upload(), expires_on=next_year(), actor=applicant)
    return app


@pytest.fixture
def submitted(draft, applicant, other_dataset):
    return services.application_submit(
        application=draft, actor=applicant, justifications={other_dataset.accession: "Comorbidity analysis."}
    )
