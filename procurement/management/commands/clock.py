import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from procurement.clock import clock_pass


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
            self.stdout.write(str(clock_pass()))
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
            done = clock_pass()
            if done.total:
                self.stdout.write(str(done))
            deadline = time.monotonic() + interval
            while not stopping and time.monotonic() < deadline:
                time.sleep(min(0.2, interval))
        self.stdout.write("clock: stopped")
