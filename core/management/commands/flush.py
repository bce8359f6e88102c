"""``flush`` that still works with the append-only triggers on SQLite.

``flush`` empties every table: an operator's reset of a whole database, and what Django's
transactional tests run between tests. On PostgreSQL it is a TRUNCATE, which row triggers do not
see. On SQLite it is a DELETE per table, which the triggers refusing DELETE on audit entries and
notices would stop; so here those triggers (by convention named ``<table>_no_delete``, see core and
market migrations 0004) are set aside for the flush and created again, exactly as they were, in the
same transaction. Other triggers (the search index's) run as usual. Outside a flush a DELETE stays
refused.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import DEFAULT_DB_ALIAS, connections, transaction


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        if connection.vendor != "sqlite":
            super().handle(**options)
            return
        with transaction.atomic(using=connection.alias):
            with connection.cursor() as cursor:
                cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
                triggers = [(name, sql) for name, sql in cursor.fetchall() if name.endswith("_no_delete")]
                for name, _sql in triggers:
                    cursor.execute(f'DROP TRIGGER "{name}"')
            super().handle(**options)
            with connection.cursor() as cursor:
                for _name, sql in triggers:
                    cursor.execute(sql)
