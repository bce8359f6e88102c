"""``manage.py storage_gc [--delete] [--older-than HOURS]``: remove what killed uploads left in the media folder.

Two kinds of garbage: spool files (``.upload-*``) of uploads killed before they finished, and stored files that no
row names (a process killed between placing the file and committing its row). Both are removed only when last
modified more than ``--older-than`` hours ago (default 24), so an upload still running is never touched. A dry run
by default: it lists what it would remove. With ``--delete`` it removes them and records one audit entry
(``storage.gc``) listing every file and its size. Names that are not content addresses are reported, never touched.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from core import storage
from core.audit import audit_record

SYSTEM_LABEL = "system:storage_gc"


class Command(BaseCommand):
    help = "List (or with --delete remove, audited) spool files of killed uploads and stored files no row uses."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--delete", action="store_true", help="remove them (default: only list them)")
        parser.add_argument(
            "--older-than",
            type=float,
            default=24.0,
            metavar="HOURS",
            help="only files last modified more than this many hours ago (default 24; at least 1)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        hours = float(options["older_than"])
        if hours < 1:
            # An upload in progress, or a row not yet committed, must never look like garbage.
            raise CommandError("--older-than must be at least 1 hour")
        delete = bool(options["delete"])
        found = storage.collect(older_than=hours * 3600, delete=delete)
        verb = "removed" if delete else "would remove"
        for name, size in found.spools:
            self.stdout.write(f"{verb} spool file {name} ({size} bytes)")
        for name, size in found.orphans:
            self.stdout.write(f"{verb} unreferenced file {name} ({size} bytes)")
        for name in found.unknown:
            self.stdout.write(f"left alone (not a content address): {name}")
        self.stdout.write(
            f"{verb} {len(found.spools)} spool file(s) and {len(found.orphans)} unreferenced file(s), "
            f"{found.size} bytes; {found.young} file(s) younger than {hours:g} h left alone"
        )
        if not delete:
            if found.files:
                self.stdout.write("dry run: nothing was removed; run again with --delete to remove them")
            return
        if found.files:
            with transaction.atomic():
                audit_record(
                    actor=None,
                    system_label=SYSTEM_LABEL,
                    action="storage.gc",
                    object_type="core.storage",
                    object_id="media",
                    after={
                        "older_than_hours": hours,
                        "spools": [{"name": n, "size": s} for n, s in found.spools],
                        "unreferenced": [{"name": n, "size": s} for n, s in found.orphans],
                        "bytes": found.size,
                    },
                )
