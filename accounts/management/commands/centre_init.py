from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from accounts.management.commands._common import add_organisation_arguments, organisation_input, refused
from accounts.services import centre_init
from core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Create this platform's trading centre (公共资源交易中心), the first step on an empty database. "
        "Running it again with the same name and code changes nothing; a different centre is refused."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_organisation_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            centre, created = centre_init(data=organisation_input(options))
        except ApplicationError as exc:
            raise refused(exc) from None
        verb = "created" if created else "already set up, unchanged"
        self.stdout.write(f"trading centre {verb}: {centre.name} ({centre.uscc}, region {centre.region})")
