from django.db import migrations


class Migration(migrations.Migration):
    """Accessions (GDS000123) come from a sequence: stable, never reused, race-free."""

    dependencies = [("datasets", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE IF NOT EXISTS datasets_accession_seq START 100",
            "DROP SEQUENCE IF EXISTS datasets_accession_seq",
        )
    ]
