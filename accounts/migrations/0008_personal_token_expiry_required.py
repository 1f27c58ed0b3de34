from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_personal_token_expiry"),
    ]

    operations = [
        migrations.AlterField(
            model_name="personaltoken",
            name="expires_at",
            field=models.DateTimeField(),
        ),
    ]
