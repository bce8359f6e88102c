"""Rebuild the search indexes from the database: the embedded one, and Elasticsearch when configured
(a new versioned index, then the alias moves: searches never see it half-built)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core import clock
from search import documents
from search.backends.base import SearchUnavailable
from search.backends.database import DatabaseBackend
from search.models import IndexJob, SearchEntry
from search.service import external_backend


class Command(BaseCommand):
    help = "Rebuild every search index (or --type T) from the database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--type", action="append", choices=sorted(documents.REGISTRY), help="only this type")
        parser.add_argument("--external-only", action="store_true", help="leave the embedded index as it is")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="only types whose embedded index is empty while they have public objects (a database that "
            "predates the search index)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        names = options["type"] or sorted(documents.REGISTRY)
        external = external_backend()
        for name in names:
            dt = documents.get(name)
            if options["if_empty"] and (
                SearchEntry.objects.filter(doc_type=name).exists() or not dt.queryset().exists()
            ):
                continue
            if not options["external_only"]:
                count = DatabaseBackend().rebuild(name, dt.all_documents())
                self.stdout.write(f"search_reindex: {name}: {count} in the database index")
            if external is not None:
                started = clock.now()
                try:
                    count = external.rebuild(name, dt.all_documents())
                except SearchUnavailable as exc:
                    raise CommandError(f"{external.name} is unavailable: {exc}") from exc
                # Jobs delivered while the new index was filling went to the old one: deliver them again.
                again = IndexJob.objects.filter(doc_type=name, created_at__gte=started).update(
                    done_at=None, next_attempt_at=clock.now()
                )
                self.stdout.write(f"search_reindex: {name}: {count} in {external.name}; {again} job(s) to redeliver")
