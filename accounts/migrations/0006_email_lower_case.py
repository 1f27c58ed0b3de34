"""Store every account's e-mail address in the one form the portal compares: trimmed and
lower-cased (accounts.models.email_key).

Why: sign-in, its lockout, registration, password reset and invitations compare addresses in any
letter case. New accounts were stored lower-cased by UserManager, but the admin's forms and plain
saves kept the case that was typed (`Ada@Example.org`). From now on User.save() normalises; this
migration brings the older rows in line.

Accounts that differ only by case: the unique index `user_unique_email_ci` (on lower(email)) has
existed since 0001, so a database migrated with Django cannot hold two of them. One restored or
copied without that index could, and addresses that differ only by surrounding blanks are not
caught by it either. For each such group this migration decides:

- the account kept is the oldest active one (the earliest `date_joined`, then the lowest id; the
  oldest one when none is active): it gets the normalised address;
- every other account of the group is deactivated (it can no longer sign in, its API tokens and
  permits stop working) and its address becomes
  `<normalised address>.duplicate-<id>.invalid`: unique, visibly marked, undeliverable (`.invalid`
  is reserved, RFC 2606), and it still shows the original address to the operators, who merge or
  delete the account by hand. Nothing is deleted: applications, permits and the audit log keep
  pointing at the account they named.

The migration prints each account it deactivates. It cannot be reversed (the original spellings
are not kept), and reversing it does nothing.
"""

from django.db import migrations
from django.db.models import Count
from django.db.models.functions import Lower, Trim

EMAIL_MAX = 254


def duplicate_marker(key, pk):
    suffix = f".duplicate-{pk}.invalid"
    return key[: EMAIL_MAX - len(suffix)] + suffix


def normalise_emails(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    keyed = User.objects.annotate(key=Lower(Trim("email")))
    # The groups are renamed first, so that the update below collides with no address in use.
    duplicated = keyed.values("key").annotate(n=Count("pk")).filter(n__gt=1).values_list("key", flat=True)
    for key in list(duplicated):
        rows = keyed.filter(key=key).order_by("-is_active", "date_joined", "pk")
        for pk, email in list(rows.values_list("pk", "email"))[1:]:
            User.objects.filter(pk=pk).update(email=duplicate_marker(key, pk), is_active=False)
            print(f"\n  accounts: account {pk} ({email}) deactivated: an older account has the same address.")
    User.objects.exclude(email=Lower(Trim("email"))).update(email=Lower(Trim("email")))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_federatedidentity"),
    ]

    operations = [
        migrations.RunPython(normalise_emails, migrations.RunPython.noop, elidable=True),
    ]
