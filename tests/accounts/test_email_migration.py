"""accounts/migrations/0006_email_lower_case: old rows get the one form of their address, and
accounts that differ only by case are settled (the oldest active one keeps the address)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MIGRATION = ("accounts", "0006_email_lower_case")


def _migrate_emails() -> None:
    from importlib import import_module

    module = import_module("accounts.migrations.0006_email_lower_case")
    apps = MigrationExecutor(connection).loader.project_state(MIGRATION).apps
    module.normalise_emails(apps, None)


def _set_email(user: User, email: str, **fields) -> None:
    # A queryset update: User.save() would normalise it, as the migration is for older rows.
    User.objects.filter(pk=user.pk).update(email=email, **fields)


def _without_the_case_insensitive_index() -> None:
    # As in a database restored without it; the test's transaction brings it back.
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX user_unique_email_ci")


def test_mixed_case_addresses_are_lower_cased_and_others_untouched():
    mixed, blank, plain = UserFactory(), UserFactory(), UserFactory(email="plain@example.org")
    _set_email(mixed, "Ada.Lovelace@Example.ORG")
    _set_email(blank, " bob@example.org ")

    _migrate_emails()

    assert User.objects.get(pk=mixed.pk).email == "ada.lovelace@example.org"
    assert User.objects.get(pk=blank.pk).email == "bob@example.org"
    assert User.objects.get(pk=plain.pk).email == "plain@example.org"
    assert User.objects.filter(is_active=False).count() == 0


def test_of_accounts_differing_only_by_case_the_oldest_active_keeps_the_address():
    _without_the_case_insensitive_index()
    now = timezone.now()
    oldest_inactive, older, newer = UserFactory(), UserFactory(), UserFactory()
    _set_email(oldest_inactive, "ADA@example.org", is_active=False, date_joined=now - timedelta(days=30))
    _set_email(older, "Ada@Example.org", date_joined=now - timedelta(days=20))
    _set_email(newer, "ada@example.org", date_joined=now - timedelta(days=10))

    _migrate_emails()

    kept = User.objects.get(pk=older.pk)
    assert (kept.email, kept.is_active) == ("ada@example.org", True)
    for other in (oldest_inactive, newer):
        row = User.objects.get(pk=other.pk)
        assert row.email == f"ada@example.org.duplicate-{other.pk}.invalid"
        assert row.is_active is False


def test_a_group_without_an_active_account_keeps_the_oldest():
    _without_the_case_insensitive_index()
    now = timezone.now()
    first, second = UserFactory(), UserFactory()
    _set_email(first, "Bo@example.org", is_active=False, date_joined=now - timedelta(days=2))
    _set_email(second, "bo@EXAMPLE.org", is_active=False, date_joined=now - timedelta(days=1))

    _migrate_emails()

    assert User.objects.get(pk=first.pk).email == "bo@example.org"
    assert User.objects.get(pk=second.pk).email == f"bo@example.org.duplicate-{second.pk}.invalid"


def test_a_long_address_keeps_its_marker_within_the_field():
    _without_the_case_insensitive_index()
    long_address = "a" * 200 + "@" + "b" * 49 + ".org"  # 254 characters
    first, second = UserFactory(), UserFactory()
    _set_email(first, long_address)
    _set_email(second, long_address.upper())

    _migrate_emails()

    marked = User.objects.get(pk=max(first.pk, second.pk)).email
    assert len(marked) <= 254
    assert marked.endswith(f".duplicate-{max(first.pk, second.pk)}.invalid")
