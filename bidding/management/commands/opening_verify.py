"""``manage.py opening_verify TENDER``: check a published opening record with the published keys.

It needs nothing secret: the record and its signature come from the opening-record notice, and
the platform CA certificate from the settings (or ``--ca``, a PEM file downloaded from
``/api/public/ca/``). The same check offline: docs/crypto.md, "Verifying an opening record".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from agencies import pki
from agencies.ca import platform_ca
from bidding import crypto, protocol
from core.audit import audit_verify
from core.models import AuditEntry
from market.choices import NoticeKind
from market.models import Notice, Tender


class Command(BaseCommand):
    help = "Verify a tender's published opening record (signature, digest, audit trail) with the public keys."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tender", help="tender id or reference")
        parser.add_argument("--ca", type=Path, help="CA certificate PEM (default: the configured platform CA)")

    def handle(self, *args: Any, **options: Any) -> None:
        ident = str(options["tender"])
        tender = Tender.objects.filter(reference=ident).first() or (
            Tender.objects.filter(pk=int(ident)).first() if ident.isdigit() else None
        )
        if tender is None:
            raise CommandError(f"no tender {ident}")
        notice = Notice.objects.filter(tender=tender, kind=NoticeKind.OPENING_RECORD).first()
        if notice is None:
            raise CommandError(f"{tender.reference}: no opening record has been published")
        ca_cert = pki.certificate_load(options["ca"].read_bytes()) if options["ca"] else platform_ca().certificate
        data = notice.data
        try:
            digest = protocol.opening_record_verify(data["record"], data["signature"], ca_cert)
        except (crypto.CryptoError, KeyError) as exc:
            raise CommandError(f"{tender.reference}: opening record signature does NOT verify ({exc})") from None
        if digest != data.get("digest"):
            raise CommandError(f"{tender.reference}: the published digest does not match the record")
        if not AuditEntry.objects.filter(action="tender.opening_record", after__digest=digest).exists():
            raise CommandError(f"{tender.reference}: the audit trail has no entry for this record")
        chain = audit_verify()
        if not chain.ok:
            raise CommandError(f"audit trail broken at entry {chain.broken_seq}")
        bids = data["record"]["bids"]
        valid = sum(1 for row in bids if row["result"] == "opened")
        self.stdout.write(
            f"{tender.reference}: opening record verified (SHA-256 {digest}); {len(bids)} bids, {valid} valid; "
            f"audit trail intact ({chain.checked} entries)"
        )
