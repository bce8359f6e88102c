"""A published notice is a legal fact: the database refuses every UPDATE and DELETE of one, as
Notice.save/delete already do in the application (docs/architecture.md, "The audit trail").

On SQLite an AlterField on this table rebuilds it and drops the triggers: a later migration that
alters it must create them again (tests/core/test_append_only.py fails if they are gone).
"""

from django.db import migrations

POSTGRESQL = [
    """
    CREATE FUNCTION market_notice_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'a published notice is never changed: % refused', TG_OP USING ERRCODE = 'restrict_violation';
    END
    $$
    """,
    """
    CREATE TRIGGER market_notice_append_only BEFORE UPDATE OR DELETE ON market_notice
    FOR EACH ROW EXECUTE FUNCTION market_notice_append_only()
    """,
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER market_notice_append_only ON market_notice",
    "DROP FUNCTION market_notice_append_only()",
]
SQLITE = [
    """
    CREATE TRIGGER market_notice_no_update BEFORE UPDATE ON market_notice
    BEGIN SELECT RAISE(ABORT, 'a published notice is never changed: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER market_notice_no_delete BEFORE DELETE ON market_notice
    BEGIN SELECT RAISE(ABORT, 'a published notice is never changed: DELETE refused'); END
    """,
]
SQLITE_REVERSE = ["DROP TRIGGER market_notice_no_update", "DROP TRIGGER market_notice_no_delete"]


def _run(statements):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor not in statements:
            raise NotImplementedError(f"no append-only triggers for {vendor}")
        for sql in statements[vendor]:
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("market", "0003_tender_rules_snapshot"),
    ]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
