from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("requests", "0003_permit_events"),
    ]

    operations = [
        migrations.AlterField(
            model_name="permitevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("issued", "Issued"),
                    ("extended", "Extended"),
                    ("replaced", "Replaced by a later permit"),
                    ("revoked", "Revoked"),
                    ("expired", "Expired"),
                ],
                max_length=16,
            ),
        ),
    ]
