from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from accounts.management.commands._common import PASSWORD_ENV, new_password, refused
from accounts.services import organisation_find, user_add
from core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Add a person who logs in for the trading centre (an operator: admin staff, in the operators group), "
        "a supervisory department (a supervisor) or a purchaser. The role follows the organisation. "
        f"The password comes from {PASSWORD_ENV}, a prompt, or --generate-password (shown once); "
        "never from the command line."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("organisation", help="the organisation's USCC or exact name")
        parser.add_argument("username")
        parser.add_argument("--full-name", default="", help="given name and family name, e.g. '李 娜'")
        parser.add_argument("--email", default="")
        parser.add_argument("--generate-password", action="store_true", help="make a random password and print it once")

    def handle(self, *args: Any, **options: Any) -> None:
        password, generated = new_password(generate=options["generate_password"])
        try:
            organisation = organisation_find(options["organisation"])
            user = user_add(
                organisation=organisation,
                username=options["username"],
                password=password,
                full_name=options["full_name"],
                email=options["email"],
            )
        except ApplicationError as exc:
            raise refused(exc) from None
        extra = " (admin staff, operators group)" if user.is_staff else ""
        self.stdout.write(f"user added: {user.username}, {user.get_role_display()} of {organisation.name}{extra}")
        if generated:
            self.stdout.write(f"one-time password (shown only now; ask the user to change it): {password}")
