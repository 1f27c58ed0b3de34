"""The audit log is append-only in the database itself, not only in the code that writes it:
a trigger refuses every UPDATE and DELETE on portal_auditevent, whoever issues it.

TRUNCATE is deliberately left alone (no TRUNCATE trigger): test frameworks empty every table
with TRUNCATE between transactional tests, and only the table owner may truncate anyway.

A later migration that must rewrite rows (a data fix, a column change that backfills with
UPDATE) has to disable the trigger around that step, in the open, in its own code.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION portal_auditevent_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'portal_auditevent is append-only: % of event % refused', TG_OP, OLD.id;
END;
$$;

CREATE TRIGGER portal_auditevent_append_only
BEFORE UPDATE OR DELETE ON portal_auditevent
FOR EACH ROW EXECUTE FUNCTION portal_auditevent_refuse_change();
"""

REVERSE = """
DROP TRIGGER IF EXISTS portal_auditevent_append_only ON portal_auditevent;
DROP FUNCTION IF EXISTS portal_auditevent_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
    ]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=REVERSE)]
