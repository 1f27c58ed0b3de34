"""factory_boy factories for the models that tests build."""

import factory
from django.utils import timezone

from accounts.models import Institution, User


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Institution

    name = factory.Sequence(lambda n: f"Institute of Genomics {n}")
    country = "FI"
    ror_id = factory.Sequence(lambda n: f"https://ror.org/0abcdef{n % 100:02d}")
    organisation_type = Institution.OrganisationType.NON_PROFIT


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    name = factory.Faker("name")
    country = "FI"
    email_verified_at = factory.LazyFunction(timezone.now)
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


PASSWORD = "correct horse battery staple"


class DacFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "datasets.DataAccessCommittee"
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"dac-{n}")
    name = factory.Sequence(lambda n: f"Committee {n}")
    description = "Reviews applications for its cohorts."
    contact_email = factory.LazyAttribute(lambda o: f"{o.slug}@example.org")


class NodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "datasets.DataNode"
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"node-{n}")
    name = factory.Sequence(lambda n: f"Data Node {n}")
    country = "FI"
    base_url = factory.LazyAttribute(lambda o: f"https://{o.slug}.example.org")
    contact_email = factory.LazyAttribute(lambda o: f"ops@{o.slug}.example.org")


GRU_PROFILE = {"permission": "DUO:0000042", "modifiers": []}


class DatasetFactory:
    """Datasets go through the service so that accession and profile version 1 are real."""

    def __new__(cls, *, dac, title="A Dataset", data_use=None, status="published", nodes=(), **fields):
        from datasets import duo, services
        from datasets.term_cache import known_diseases

        parsed = duo.parse_data_use(data_use or GRU_PROFILE, known_diseases=known_diseases)
        return services.dataset_create(
            dac=dac,
            title=title,
            description=fields.pop("description", f"{title}: genomes and phenotypes."),
            data_use=parsed,
            nodes=nodes,
            status=status,
            participants=fields.pop("participants", 1000),
            **fields,
        )


def minimal_pdf(extra: bytes = b"") -> bytes:
    """A tiny, well-formed PDF document."""
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        + extra
        + b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def complete_application(applicant, datasets, **overrides):
    """A draft with every field filled in and the applicant's agreements accepted."""
    from requests import services

    app = services.application_create(applicant=applicant, datasets=datasets)
    changes = services.DraftChanges(
        title=overrides.pop("title", "Germline variants in breast cancer"),
        lay_summary="We look for inherited changes that raise the risk of breast cancer.",
        abstract="A case-control analysis of germline variants.",
        purpose=overrides.pop(
            "purpose", {"primary": "disease", "diseases": ["MONDO:0007254"], "genetic_study": True, "country": "FI"}
        ),
        requested_months=overrides.pop("requested_months", 12),
        collaborators=overrides.pop("collaborators", []),
    )
    services.application_update(application=app, changes=changes, actor=applicant)
    services.application_agreements_accept(application=app, actor=applicant)
    return app
