"""The platform CA's configuration: made by `ca_init`, loaded from settings, never in the repository."""

from __future__ import annotations

import shutil
import stat
import subprocess
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from agencies import pki
from agencies.ca import platform_ca
from agencies.models import CreditListEntry
from agencies.services import lists
from core import clock
from core.errors import ApplicationError
from tests.conftest import client_for


def test_ca_init_writes_a_private_key_only_its_owner_can_read(settings, tmp_path):
    settings.AGORA_CA_KEY_FILE = tmp_path / "ca" / "key.pem"
    settings.AGORA_CA_CERT_FILE = tmp_path / "ca" / "cert.pem"
    out = StringIO()
    call_command("ca_init", stdout=out)
    mode = stat.S_IMODE(settings.AGORA_CA_KEY_FILE.stat().st_mode)
    assert mode == 0o600
    ca = platform_ca()
    assert ca.certificate.subject == ca.certificate.issuer
    # Valid from a day back, so a certificate can be issued on a clock set into the recent past (the demo).
    assert ca.certificate.not_valid_before_utc == clock.now() - timedelta(days=1)
    assert "PRIVATE KEY" not in out.getvalue()
    key_before = settings.AGORA_CA_KEY_FILE.read_bytes()
    with pytest.raises(CommandError):
        call_command("ca_init", stdout=StringIO())
    call_command("ca_init", "--if-missing", stdout=StringIO())
    assert settings.AGORA_CA_KEY_FILE.read_bytes() == key_before


def test_without_a_ca_certificate_requests_get_a_clear_503(settings, tmp_path, api):
    settings.AGORA_CA_KEY_FILE = tmp_path / "missing-key.pem"
    settings.AGORA_CA_CERT_FILE = tmp_path / "missing-cert.pem"
    with pytest.raises(ApplicationError) as refused:
        platform_ca()
    assert (refused.value.status, refused.value.code) == (503, "ca_not_configured")
    response = api.get("/api/public/ca/")
    assert (response.status_code, response.json()["code"]) == (503, "ca_not_configured")


def test_the_default_ca_location_is_outside_version_control():
    base = Path(settings.BASE_DIR)
    ignored = (base / ".gitignore").read_text().split()
    assert "var/" in ignored
    for path in (settings.AGORA_CA_KEY_FILE, settings.AGORA_CA_CERT_FILE):
        # The tests point the settings at a temporary CA; the defaults live under var/.
        assert not Path(path).is_relative_to(base) or Path(path).relative_to(base).parts[0] == "var"


def test_the_served_ca_certificate_is_the_configured_one(api, db):
    served = pki.certificate_load(api.get("/api/public/ca/").content)
    assert served == platform_ca().certificate


def test_the_clock_command_moves_credit_lists_too(world):
    agency = world.agency.organisation.agency
    entry = lists.list_entry_propose(actor=world.supervisor, agency_id=agency.pk, list_kind="red", reason="守信")
    start = clock.now() + timedelta(hours=2)
    lists.list_entry_decide(
        actor=world.supervisor, entry_id=entry.pk, document_number="江公管信〔2026〕3号", starts_at=start
    )
    clock.freeze(start)
    out = StringIO()
    call_command("clock", "--once", stdout=out)
    assert CreditListEntry.objects.get(pk=entry.pk).status == "in_force"
    assert "credit step" in out.getvalue()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_a_csr_made_with_stock_openssl_gets_a_certificate(world, tmp_path):
    """The documented way (docs/agencies.md) to make a key and request without our client."""
    org = world.agency.organisation
    key, csr = tmp_path / "agency.key", tmp_path / "agency.csr"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(key)], check=True, capture_output=True)
    subject = f"/C=CN/O={org.name}/CN={org.name}/organizationIdentifier={org.uscc}"
    subprocess.run(
        ["openssl", "req", "-new", "-utf8", "-key", str(key), "-subj", subject, "-out", str(csr)],
        check=True,
        capture_output=True,
    )
    response = client_for(world.agency).post("/api/agencies/me/certificates/", {"csr": csr.read_text()}, format="json")
    assert response.status_code == 201, response.json()
    issued = pki.certificate_load(response.json()["pem"].encode())
    assert pki.certificate_uscc(issued) == org.uscc
    message, signature = tmp_path / "bid-form.json", tmp_path / "bid-form.sig"
    message.write_bytes(b'{"price": "98000.00"}')
    subprocess.run(
        ["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", str(key), "-in", str(message), "-out", str(signature)],
        check=True,
        capture_output=True,
    )
    pki.signature_verify(issued, message.read_bytes(), signature.read_bytes())
