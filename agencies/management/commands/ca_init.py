from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from agencies.ca import ca_create_files


class Command(BaseCommand):
    help = "Create the platform certificate authority (key and self-signed certificate) at the configured paths."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--if-missing", action="store_true", help="do nothing when a CA already exists")

    def handle(self, *args: Any, **options: Any) -> None:
        key_file, cert_file = Path(settings.AGORA_CA_KEY_FILE), Path(settings.AGORA_CA_CERT_FILE)
        if key_file.exists() and cert_file.exists() and options["if_missing"]:
            self.stdout.write(f"ca_init: using the existing CA at {cert_file}")
            return
        try:
            ca_create_files(key_file=key_file, cert_file=cert_file, name=settings.AGORA_CA_NAME)
        except FileExistsError as exc:
            raise CommandError(f"{exc}; move it away first if you really mean to replace the CA") from None
        self.stdout.write(f"ca_init: new CA certificate {cert_file}; private key {key_file} (mode 600)")
