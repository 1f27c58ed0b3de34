"""Shared fixtures: the named personas of docs/conventions.md and the REQUIRE_SERVICES rule.

With REQUIRE_SERVICES=1 (CI), a skipped test is reported as a failure: a database, Redis or
browser test that cannot run must not pass quietly."""

from __future__ import annotations

import os

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client

from tests.factories import DacFactory, DatasetFactory, InstitutionFactory, UserFactory

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_SERVICES and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, but REQUIRE_SERVICES is set so every test must run: {reason}"
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    # Uploaded documents of a test go to its own temporary folder, never into .data/.
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


@pytest.fixture(autouse=True)
def _clear_cache():
    # Rate-limit counters live in the cache; each test starts with none.
    cache.clear()
    return


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    # The DUO and MONDO catalogue is loaded once into the test database, as `make run` does.
    with django_db_blocker.unblock():
        call_command("load_ontologies", stdout=open(os.devnull, "w"))  # noqa: SIM115


@pytest.fixture
def ontologies(db):
    """The catalogue is present (a transactional test's flush removes it; this reloads it)."""
    from datasets.models import DiseaseTerm

    if not DiseaseTerm.objects.exists():
        call_command("load_ontologies", stdout=open(os.devnull, "w"))  # noqa: SIM115


@pytest.fixture
def institution(db):
    return InstitutionFactory(name="University of Helsinki", country="FI", ror_id="https://ror.org/040af2s02")


@pytest.fixture
def applicant(db, institution):
    return UserFactory(email="applicant@example.org", name="Aino Applicant", institution=institution)


@pytest.fixture
def applicant_token(applicant):
    """A usable personal API token of `applicant` (the row; its key is not kept)."""
    from accounts import services

    token, _key = services.personal_token_create(user=applicant, name="laptop script")
    return token


@pytest.fixture
def other_applicant(db, institution):
    return UserFactory(email="other.applicant@example.org", name="Olli Other", institution=institution)


@pytest.fixture
def staff(db):
    return UserFactory(email="staff@example.org", name="Sam Staff", is_staff=True, is_superuser=True)


@pytest.fixture
def anonymous():
    return None


@pytest.fixture
def dac(ontologies):
    return DacFactory(slug="cancer-dac", name="Cancer DAC")


@pytest.fixture
def other_dac(ontologies):
    return DacFactory(slug="metabolic-dac", name="Metabolic DAC")


def _member(dac, role: str, **fields):
    from datasets import services

    user = UserFactory(**fields)
    services.dac_membership_set(dac=dac, user=user, role=role)
    return user


@pytest.fixture
def dac_chair(dac):
    return _member(dac, "chair", email="chair@example.org", name="Chiara Chair")


@pytest.fixture
def dac_member(dac):
    return _member(dac, "member", email="member@example.org", name="Mika Member")


@pytest.fixture
def dac_secretary(dac):
    return _member(dac, "secretary", email="secretary@example.org", name="Selma Secretary")


@pytest.fixture
def other_dac_member(other_dac):
    return _member(other_dac, "member", email="other.member@example.org", name="Otto Other")


@pytest.fixture
def dataset(dac):
    """A published DS dataset on breast cancer with NPU and IRB, governed by `dac`."""
    return DatasetFactory(
        dac=dac,
        title="Nordic Breast Cancer Genomes",
        data_use={
            "permission": "DUO:0000007",
            "diseases": ["MONDO:0007254"],
            "modifiers": [{"term": "DUO:0000045"}, {"term": "DUO:0000021"}],
        },
    )


@pytest.fixture
def draft_dataset(dac):
    return DatasetFactory(dac=dac, title="Unpublished Tumour Genomes", status="draft")


@pytest.fixture
def other_dataset(other_dac):
    """A published DS dataset on type 2 diabetes, governed by `other_dac`."""
    return DatasetFactory(
        dac=other_dac,
        title="Type 2 Diabetes Exomes",
        data_use={"permission": "DUO:0000007", "diseases": ["MONDO:0005148"], "modifiers": []},
    )


@pytest.fixture
def applicant_draft(applicant, dataset):
    """The applicant's complete draft for `dataset` (approved by the matcher), with its ethics
    approval, ready to submit."""
    import datetime as dt

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from requests import services
    from tests.factories import complete_application, minimal_pdf

    app = complete_application(applicant, [dataset])
    upload = SimpleUploadedFile("ethics.pdf", minimal_pdf(), content_type="application/pdf")
    expires = timezone.localdate() + dt.timedelta(days=365)
    services.application_document_add(application=app, upload=upload, expires_on=expires, actor=applicant)
    return app


@pytest.fixture
def applicant_submission(applicant_draft, applicant):
    from requests import services

    return services.application_submit(application=applicant_draft, actor=applicant)


@pytest.fixture
def applicant_document(applicant_submission):
    return applicant_submission.documents.get()


@pytest.fixture
def applicant_review(applicant_submission):
    """The cancer committee's review of the applicant's submission."""
    return applicant_submission.reviews.get()


# --- Permits ------------------------------------------------------------------------------------


def grant_permits(application, chair, voters, *, months: int = 12, conditions: list | None = None):
    """The application's one review approved through the services: each voter approves, then the
    chair approves every dataset for `months`; returns the permits it issued."""
    from requests import services as review_services
    from requests.models import Permit

    review = application.reviews.get()
    for voter in voters:
        review_services.review_vote(review=review, actor=voter, choice="approve")
    decisions = [
        review_services.DecisionInput(
            dataset=item.dataset.accession, outcome="approve", months=months, conditions=conditions
        )
        for item in review.items.select_related("dataset")
    ]
    review_services.review_decide(review=review, actor=chair, decisions=decisions)
    return list(Permit.objects.filter(decision__review=review).order_by("pk"))


PERMIT_CONDITION = "Acknowledge the Nordic breast cancer cohort in every publication."


@pytest.fixture
def applicant_permit(applicant_submission, dac_chair, dac_member):
    """The live 12-month permit `applicant` holds on `dataset` (of `dac`), with one condition of
    the committee's, approved by the chair and the member (the quorum of two)."""
    (permit,) = grant_permits(applicant_submission, dac_chair, [dac_chair, dac_member], conditions=[PERMIT_CONDITION])
    return permit


@pytest.fixture
def node(dataset):
    """The data node that hosts `dataset`."""
    from tests.factories import NodeFactory

    hosting = NodeFactory(slug="fi-node", name="Finnish node")
    dataset.nodes.add(hosting)
    return hosting


@pytest.fixture
def other_node(db):
    """A data node that does not host `dataset`."""
    from tests.factories import NodeFactory

    return NodeFactory(slug="se-node", name="Swedish node")


PEOPLE = (
    "anonymous",
    "applicant",
    "other_applicant",
    "dac_member",
    "dac_chair",
    "dac_secretary",
    "other_dac_member",
    "staff",
)
NODES = ("node", "other_node")
PERSONAS = PEOPLE + NODES


@pytest.fixture
def client_for(request):
    """client_for("applicant") -> a test client signed in as that persona (anonymous: none); a
    node persona's client sends a fresh API key of that node."""

    def make(persona: str) -> Client:
        if persona in NODES:
            from datasets.services import node_key_create

            _, key = node_key_create(node=request.getfixturevalue(persona), name="tests", days=None)
            return Client(HTTP_AUTHORIZATION=f"Api-Key {key}")
        client = Client()
        user = request.getfixturevalue(persona)
        if user is not None:
            client.force_login(user)
        return client

    return make


# --- OpenID provider ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def oidc_provider():
    """A real OpenID provider (node-oidc-provider, tests/oidc.py) on 127.0.0.1 for the whole
    session, with the clients and accounts that tests/oidc.py lists."""
    from tests.oidc import NodeUnavailable, OidcProvider, ensure_installed

    try:
        ensure_installed()
    except NodeUnavailable as error:
        pytest.skip(str(error))
    provider = OidcProvider().start()
    yield provider
    provider.stop()
