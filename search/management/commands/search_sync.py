"""Deliver the outbox of index jobs to the external search service (a loop, or ``--once``)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from search import indexing
from search.service import external_backend


class Command(BaseCommand):
    help = "Deliver queued index jobs to Elasticsearch, with retries and backoff; --once for one pass."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="drain what is due now, then stop")
        parser.add_argument("--interval", type=float, default=settings.AGORA_SEARCH_SYNC_INTERVAL)

    def handle(self, *args: Any, **options: Any) -> None:
        backend = external_backend()
        if backend is None:
            self.stdout.write("search_sync: the embedded database backend is in use; nothing to deliver.")
            return
        while True:
            total_delivered = total_failed = 0
            while True:
                delivered, failed = indexing.deliver(backend)
                total_delivered, total_failed = total_delivered + delivered, total_failed + failed
                if delivered == 0:
                    break
            pruned = indexing.prune()
            if options["once"]:
                self.stdout.write(
                    f"search_sync: {total_delivered} delivered, {total_failed} failed (will retry), {pruned} pruned; "
                    f"{indexing.backlog()['pending']} pending"
                )
                return
            time.sleep(options["interval"])
