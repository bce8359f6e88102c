from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.audit import audit_verify


class Command(BaseCommand):
    help = "Verify the whole audit hash chain; report the first broken entry. Exit status 1 if broken."

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit_verify()
        if result.ok:
            self.stdout.write(f"audit trail intact: {result.checked} entries verified")
            return
        raise CommandError(
            f"audit trail BROKEN at entry #{result.broken_seq}: {result.reason} "
            f"({result.checked} entries verified before it)"
        )
