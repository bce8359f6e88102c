"""Audit entries are recorded pending (no seq, prev_hash, hash) and chained after the commit; the
database then refuses every UPDATE but that chaining and every DELETE (docs/architecture.md, "The
audit trail").

The triggers are created after the AlterFields on purpose: on SQLite an AlterField rebuilds the
table and drops its triggers. A later migration that alters this table must create them again
(tests/core/test_append_only.py fails if they are gone).
"""

from django.db import migrations, models

# Everything but the three chain columns: the chaining may not change any of it.
CONTENT = ("id", "created", "actor_id", "actor_label", "action", "object_type", "object_id", '"before"', '"after"')
PENDING = "OLD.seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL"
CHAINED = "NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL"

POSTGRESQL = [
    f"""
    CREATE FUNCTION core_auditentry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND {PENDING} AND {CHAINED}
           AND ({", ".join("NEW." + c for c in CONTENT)})
               IS NOT DISTINCT FROM ({", ".join("OLD." + c for c in CONTENT)}) THEN
            RETURN NEW;  -- the chaining step, once per entry
        END IF;
        RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP USING ERRCODE = 'restrict_violation';
    END
    $$
    """,
    """
    CREATE TRIGGER core_auditentry_append_only BEFORE UPDATE OR DELETE ON core_auditentry
    FOR EACH ROW EXECUTE FUNCTION core_auditentry_append_only()
    """,
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER core_auditentry_append_only ON core_auditentry",
    "DROP FUNCTION core_auditentry_append_only()",
]

SQLITE = [
    """
    CREATE TRIGGER core_auditentry_no_delete BEFORE DELETE ON core_auditentry
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: DELETE refused'); END
    """,
    f"""
    CREATE TRIGGER core_auditentry_no_update BEFORE UPDATE ON core_auditentry
    WHEN NOT ({PENDING} AND {CHAINED} AND {" AND ".join(f"NEW.{c} IS OLD.{c}" for c in CONTENT)})
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: UPDATE refused'); END
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER core_auditentry_no_delete",
    "DROP TRIGGER core_auditentry_no_update",
]


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
        ("core", "0003_audit_head"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="hash",
            field=models.CharField(blank=True, max_length=64, null=True, unique=True),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="prev_hash",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="seq",
            field=models.BigIntegerField(blank=True, null=True, unique=True),
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
