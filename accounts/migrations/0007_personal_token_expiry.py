"""Give every personal API token an expiry no later than settings.PERSONAL_TOKEN_MAX_DAYS from
now (365 days unless set): tokens made "until revoked" (no expiry) or for up to ten years get that
date, so no token outlives a year of being forgotten. Tokens that expire sooner keep their date.
The next migration then makes the expiry required. Reversing it leaves the dates as they are."""

from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.db.models import Q
from django.utils import timezone


def cap_expiries(apps, schema_editor):
    PersonalToken = apps.get_model("accounts", "PersonalToken")
    latest = timezone.now() + timedelta(days=getattr(settings, "PERSONAL_TOKEN_MAX_DAYS", 365))
    PersonalToken.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=latest)).update(expires_at=latest)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_email_lower_case"),
    ]

    operations = [
        migrations.RunPython(cap_expiries, migrations.RunPython.noop, elidable=True),
    ]
