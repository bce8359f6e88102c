"""The platform CA as configured: loaded from the files the settings name, once per process.

The CA's private key is configuration (a mounted secret in production, ``var/ca`` on a laptop),
never part of the repository or the database.
"""

from __future__ import annotations

import os
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from agencies import pki
from core.errors import ApplicationError

CA_BACKDATE = timedelta(days=1)


@lru_cache(maxsize=4)
def _load(key_file: Path, cert_file: Path, password: str) -> pki.CertificateAuthority:
    return pki.ca_load(key_file.read_bytes(), cert_file.read_bytes(), password.encode() or None)


def platform_ca() -> pki.CertificateAuthority:
    """The CA, or a 503 the operator can act on when it is not configured."""
    key_file, cert_file = Path(settings.AGORA_CA_KEY_FILE), Path(settings.AGORA_CA_CERT_FILE)
    if not key_file.exists() or not cert_file.exists():
        raise ApplicationError(
            "ca_not_configured",
            "The platform certificate authority is not configured (run `manage.py ca_init`).",
            "平台证书颁发机构尚未配置。",
            status=503,
        )
    try:
        return _load(key_file, cert_file, settings.AGORA_CA_KEY_PASSWORD)
    except (pki.PkiError, ValueError, TypeError):
        raise ApplicationError(
            "ca_invalid",
            "The platform CA key or certificate cannot be loaded.",
            "平台证书颁发机构配置有误。",
            status=503,
        ) from None


def platform_ca_certificate_pem() -> str:
    return pki.certificate_pem(platform_ca().certificate)


def ca_create_files(*, key_file: Path, cert_file: Path, name: str) -> None:
    """Write a new CA: the key readable by its owner only. Refuses to overwrite an existing CA."""
    from core import clock

    if key_file.exists() or cert_file.exists():
        raise FileExistsError(f"a CA already exists at {key_file} / {cert_file}")
    # Valid from a day back: the demo plays its story on a clock set hours into the past, and
    # clocks of the machines that check certificates are never exactly ours.
    key_pem, cert_pem = pki.ca_generate(name=name, now=clock.now() - CA_BACKDATE)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    cert_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key_pem)
    cert_file.write_bytes(cert_pem)
    _load.cache_clear()
