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
