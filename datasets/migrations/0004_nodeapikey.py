import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

OLD_LABEL, NEW_LABEL = "accounts", "datasets"


def _move_content_type(apps, schema_editor, source: str, target: str) -> None:
    # The content type travels with the model, so the permissions on it (auth_permission rows),
    # guardian grants and admin log entries keep pointing at it. On an empty database there is
    # none yet: post_migrate makes it afterwards, under the new label.
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label=target, model="nodeapikey").exists():
        ContentType.objects.using(db).filter(app_label=source, model="nodeapikey").update(app_label=target)


def forwards(apps, schema_editor):
    _move_content_type(apps, schema_editor, OLD_LABEL, NEW_LABEL)


def backwards(apps, schema_editor):
    _move_content_type(apps, schema_editor, NEW_LABEL, OLD_LABEL)


class Migration(migrations.Migration):
    """NodeApiKey comes over from accounts with its rows: first Django learns of the model on the
    table accounts made (no SQL), then the table is renamed to datasets_nodeapikey."""

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("accounts", "0004_move_nodeapikey_to_datasets"),
        ("datasets", "0003_datanode_webhook_secret"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="NodeApiKey",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
                        ),
                        ("prefix", models.CharField(editable=False, max_length=8)),
                        (
                            "key_hash",
                            models.CharField(
                                editable=False, max_length=64, unique=True, verbose_name="SHA-256 of the key"
                            ),
                        ),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ("last_used_at", models.DateTimeField(blank=True, editable=False, null=True)),
                        ("expires_at", models.DateTimeField(blank=True, null=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "name",
                            models.CharField(
                                help_text="What the key is for, e.g. “beacon production”.", max_length=100
                            ),
                        ),
                        (
                            "node",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="api_keys",
                                to="datasets.datanode",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "node API key",
                        "ordering": ["-created_at", "-pk"],
                        "db_table": "accounts_nodeapikey",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="nodeapikey", table=None),
        migrations.RunPython(forwards, backwards),
    ]
