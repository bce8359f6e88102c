from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from accounts.management.commands._common import add_organisation_arguments, organisation_input, refused
from accounts.services import KINDS_MADE_HERE, organisation_add
from core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Add a purchaser (采购人) or a supervisory department (行政监督部门) the trading centre serves. "
        "Agencies register themselves; the centre itself is made by centre_init."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("kind", choices=[str(k) for k in KINDS_MADE_HERE], help="what the organisation is")
        add_organisation_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            org = organisation_add(kind=options["kind"], data=organisation_input(options))
        except ApplicationError as exc:
            raise refused(exc) from None
        self.stdout.write(f"{org.get_kind_display()} added: {org.name} ({org.uscc}, region {org.region})")
