import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from agencies.clock import run_credit_steps
from market.clock import run_due_transitions
from search.indexing import refresh_due


def _one_pass() -> tuple[int, str]:
    """Every step once: how many things moved, and the line that says so."""
    moved, credit, refreshed = run_due_transitions(), run_credit_steps(), refresh_due()
    summary = f"clock: {moved} transition(s), {credit} credit step(s), {refreshed} search refresh(es)"
    return moved + credit + refreshed, summary


class Command(BaseCommand):
    help = (
        "Run every due time-driven step (tenders, credit lists, search documents that change with time), "
        "in a loop (or once with --once)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--interval", type=float, default=None, help="seconds between passes")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            self.stdout.write(_one_pass()[1])
            return
        interval = options["interval"] or settings.AGORA_CLOCK_INTERVAL
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"clock: running every {interval:g}s (Ctrl-C stops)")
        while not stopping:
            done, summary = _one_pass()
            if done:
                self.stdout.write(summary)
            deadline = time.monotonic() + interval
            while not stopping and time.monotonic() < deadline:
                time.sleep(min(0.2, interval))
        self.stdout.write("clock: stopped")
