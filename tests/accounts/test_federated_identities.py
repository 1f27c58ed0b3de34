"""Federated identities (accounts.FederatedIdentity): linking and unlinking through the audited
services, the constraints, and the one rule of which id a person's visas carry."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from accounts import selectors, services
from accounts.models import FederatedIdentity, User
from portal.audit import events_for
from portal.exceptions import Conflict, InvalidInput, NotAllowed

pytestmark = pytest.mark.django_db

ISSUER = "https://login.example.org/oidc/"
SUBJECT = "5f3c0d2e8a@lifescience-ri.eu"


@pytest.fixture(autouse=True)
def _issuer(settings):
    settings.OIDC_ISSUER = ISSUER


def link(user, subject=SUBJECT, issuer=ISSUER, actor=None) -> FederatedIdentity:
    return services.federated_identity_link(user=user, issuer=issuer, subject=subject, actor=actor)


def test_linking_records_the_identity_and_audits_it(applicant, staff):
    identity = link(applicant, actor=staff)

    assert (identity.user, identity.issuer, identity.subject) == (applicant, ISSUER, SUBJECT)
    assert identity.linked_at is not None
    (event,) = events_for(identity)
    assert event.action == "account.identity_linked"
    assert event.actor == staff
    assert event.data["after"] == {"user": str(applicant.sub), "issuer": ISSUER, "subject": SUBJECT}


def test_linking_the_same_identity_again_changes_nothing(applicant):
    first = link(applicant)
    assert link(applicant) == first
    assert len(list(events_for(first))) == 1


def test_a_subject_names_one_person_and_a_person_has_one_subject_per_issuer(applicant, other_applicant):
    link(applicant)
    with pytest.raises(Conflict) as taken:
        link(other_applicant)
    assert taken.value.code == "identity_taken"
    with pytest.raises(Conflict):
        link(applicant, subject="another@lifescience-ri.eu")

    link(applicant, issuer="https://other-idp.example.org")  # the same subject at another issuer
    link(other_applicant, subject="olli@lifescience-ri.eu")
    assert FederatedIdentity.objects.count() == 3


def test_the_database_holds_both_rules(applicant, other_applicant):
    FederatedIdentity.objects.create(user=applicant, issuer=ISSUER, subject=SUBJECT)
    with pytest.raises(IntegrityError), transaction.atomic():
        FederatedIdentity.objects.create(user=other_applicant, issuer=ISSUER, subject=SUBJECT)
    with pytest.raises(IntegrityError), transaction.atomic():
        FederatedIdentity.objects.create(user=applicant, issuer=ISSUER, subject="second")


def test_only_staff_or_the_system_link(applicant):
    with pytest.raises(NotAllowed):
        link(applicant, actor=applicant)
    assert not FederatedIdentity.objects.exists()


@pytest.mark.parametrize(
    ("issuer", "subject", "field"), [("", SUBJECT, "issuer"), (ISSUER, " ", "subject"), (ISSUER, "x" * 256, "subject")]
)
def test_an_empty_or_overlong_issuer_or_subject_is_invalid(applicant, issuer, subject, field):
    with pytest.raises(InvalidInput) as invalid:
        link(applicant, subject=subject, issuer=issuer)
    assert field in invalid.value.extra["fields"]


def test_a_subject_of_255_characters_with_at_signs_is_kept_as_given(applicant):
    subject = ("a@b" * 85)[:255]
    assert link(applicant, subject=subject).subject == subject


def test_unlinking_removes_the_identity_and_audits_it(applicant, other_applicant):
    identity = link(applicant)
    with pytest.raises(NotAllowed):
        services.federated_identity_unlink(identity=identity, actor=other_applicant)

    services.federated_identity_unlink(identity=identity, actor=applicant)
    services.federated_identity_unlink(identity=identity, actor=applicant)  # gone already: nothing

    assert not FederatedIdentity.objects.exists()
    events = list(events_for(identity))
    assert [e.action for e in events] == ["account.identity_linked", "account.identity_unlinked"]
    assert events[1].data["before"]["subject"] == SUBJECT


# --- which id visas carry, and who an id names -------------------------------------------------------


def test_visas_carry_the_federated_id_once_linked_else_the_portal_id(applicant, settings):
    assert selectors.visa_subject(applicant) == str(applicant.sub)
    identity = link(applicant)
    assert selectors.visa_subject(applicant) == SUBJECT  # what the person's object knew is dropped
    assert selectors.visa_subject(User.objects.get(pk=applicant.pk)) == SUBJECT
    services.federated_identity_unlink(identity=identity, actor=None)
    assert selectors.visa_subject(identity.user) == str(applicant.sub)


def test_an_identity_at_another_issuer_or_without_an_issuer_is_not_the_federated_id(applicant, settings):
    link(applicant, issuer="https://other-idp.example.org")
    assert selectors.visa_subject(User.objects.get(pk=applicant.pk)) == str(applicant.sub)
    link(applicant)
    settings.OIDC_ISSUER = ""
    assert selectors.visa_subject(User.objects.get(pk=applicant.pk)) == str(applicant.sub)


def test_subjects_of_many_people_are_read_in_one_query(applicant, other_applicant, django_assert_num_queries):
    link(applicant)
    people = list(User.objects.filter(pk__in=[applicant.pk, other_applicant.pk]).order_by("pk"))
    with django_assert_num_queries(1):
        selectors.prime_visa_subjects(people)
        assert [selectors.visa_subject(p) for p in people] == [SUBJECT, str(other_applicant.sub)]


def test_a_person_is_found_by_either_id(applicant, other_applicant, settings):
    link(applicant)
    assert selectors.person_named(str(applicant.sub)) == applicant
    assert selectors.person_named(SUBJECT) == applicant
    assert selectors.person_named(str(other_applicant.sub)) == other_applicant
    for nobody in ("", "nobody@lifescience-ri.eu", "00000000-0000-0000-0000-000000000000", "x" * 300):
        assert selectors.person_named(nobody) is None
    settings.OIDC_ISSUER = ""
    assert selectors.person_named(SUBJECT) is None
