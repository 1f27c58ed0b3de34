from django.db import migrations


class Migration(migrations.Migration):
    """NodeApiKey moved to datasets (next to the data node it belongs to). Only Django's idea of
    the model leaves accounts here; the table and its rows stay, and datasets 0004 takes them over."""

    dependencies = [
        ("accounts", "0003_nodeapikey"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="NodeApiKey")],
            database_operations=[],
        ),
    ]
