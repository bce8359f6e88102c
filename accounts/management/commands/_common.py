"""What the set-up commands share: organisation arguments, the refusal as a CommandError, and
where a new user's password comes from."""

from __future__ import annotations

import getpass
import os
import secrets
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from accounts.services import OrganisationInput
from core.errors import ApplicationError

PASSWORD_ENV = "AGORA_NEW_USER_PASSWORD"  # noqa: S105  # nosec B105  # the variable's name, not a password


def add_organisation_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="full registered name, e.g. 江州市公共资源交易中心")
    parser.add_argument("--uscc", required=True, help="unified social credit code (18 characters, GB 32100-2015)")
    parser.add_argument("--region", required=True, help="six-digit administrative division code, e.g. 360400")
    parser.add_argument("--contact-name", default="", help="contact person")
    parser.add_argument("--contact-phone", default="", help="contact telephone")


def organisation_input(options: dict[str, Any]) -> OrganisationInput:
    return OrganisationInput(
        name=options["name"],
        uscc=options["uscc"],
        region=options["region"],
        contact_name=options["contact_name"],
        contact_phone=options["contact_phone"],
    )


def refused(exc: ApplicationError) -> CommandError:
    return CommandError(f"{exc.code}: {exc.detail} / {exc.detail_zh}")


def new_password(*, generate: bool) -> tuple[str, bool]:
    """The new user's password: from AGORA_NEW_USER_PASSWORD, typed at a prompt, or generated.
    Never a command-line argument (it would stay in the shell history and in `ps`). Returns the
    password and whether it was generated (then the command shows it once)."""
    if generate:
        return secrets.token_urlsafe(12), True
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV], False
    if not sys.stdin.isatty():
        raise CommandError(
            f"No password: set {PASSWORD_ENV}, run the command at a terminal to type one, or pass --generate-password."
        )
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password (again): "):
        raise CommandError("The two passwords differ; nothing was changed.")
    return first, False
