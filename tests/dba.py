"""A database administrator working behind the application's back, for the tests that show what the
platform still catches when someone with that power rewrites the tables."""

from __future__ import annotations

from django.db import connection, models


def append_only_triggers_off(model: type[models.Model]) -> None:
    """Switch off the append-only triggers of ``model``'s table for the rest of the test's transaction
    (the test's rollback switches them back on)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A superuser's switch: no user trigger fires for the rest of this transaction.
            cursor.execute("SET LOCAL session_replication_role = replica")
            return
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [model._meta.db_table]
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP TRIGGER "{name}"')
