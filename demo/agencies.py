"""The agencies' part of the demo world (``manage.py demo_load``): who each demo agency is and the
qualification certificates it holds (data: ``demo/data/agencies.toml``), and the demo private keys.

The demo plays the clients' part too: an agency's client makes its signing key and certificate
signing request locally, and so does an opening-key holder's. The keys are written to a demo key
directory (``AGORA_DEMO_KEY_DIR``, default ``<BASE_DIR>/var/demo-keys/``), one PKCS#8 PEM file per
username, readable by its owner only, so the command-line client can sign and decrypt as the demo
users. Only the CSRs reach the services; the keys never go into the database. The loader reads
them back (:func:`demo_key`) as those clients would: to sign and seal the demo bids and to decrypt
the holders' key shares at the openings.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from accounts.models import User
from agencies import pki
from agencies.models import Certificate
from agencies.services.certificates import certificate_request, key_holder_register
from demo import story
from demo.story import AgencyProfile

KEY_DIR_VARIABLE = "AGORA_DEMO_KEY_DIR"


# Who each demo agency is and the qualifications it holds: demo/data/agencies.toml.
PROFILES: dict[str, AgencyProfile] = story.agency_profiles()


# --- the demo key files ------------------------------------------------------------------------


class DemoKeyError(Exception):
    """A key file the demo cannot use (unreadable, or a key type the purpose does not allow)."""


def key_directory() -> Path:
    """Where the demo keys live: ``AGORA_DEMO_KEY_DIR``, or ``<BASE_DIR>/var/demo-keys``."""
    configured = os.environ.get(KEY_DIR_VARIABLE, "").strip()
    return Path(configured) if configured else Path(settings.BASE_DIR) / "var" / "demo-keys"


def key_path(directory: Path, username: str) -> Path:
    return directory / f"{username}.key.pem"


def _generate(kind: str) -> pki.PrivateKey:
    return Ed25519PrivateKey.generate() if kind == pki.KEY_ED25519 else ec.generate_private_key(ec.SECP256R1())


def demo_private_key(directory: Path, username: str, kind: str) -> tuple[pki.PrivateKey, bool]:
    """The user's demo private key and whether it was made now.

    A new key is written with ``O_CREAT | O_EXCL`` and mode 0600; a file left by an earlier run is
    reused (never overwritten), so a client that already holds it keeps working. ``kind`` is
    ``pki.KEY_ED25519`` (an agency's signing key) or ``pki.KEY_P256`` (an opening-key holder's).
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = key_path(directory, username)
    key = _generate(kind)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _existing_key(path, kind), False
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
    except BaseException:
        path.unlink(missing_ok=True)  # never leave half a key for the next run to trip over
        raise
    return key, True


def _existing_key(path: Path, kind: str) -> pki.PrivateKey:
    try:
        existing = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        # Say which file; never what is in it.
        raise DemoKeyError(f"{path} exists but is not an unencrypted PEM private key; move it away") from exc
    found = pki.KEY_ED25519 if isinstance(existing, Ed25519PrivateKey) else None
    if isinstance(existing, ec.EllipticCurvePrivateKey) and isinstance(existing.curve, ec.SECP256R1):
        found = pki.KEY_P256
    # A signing key may be either type the platform accepts; a key holder's must do ECDH (P-256).
    if found is None or (kind == pki.KEY_P256 and found != pki.KEY_P256):
        raise DemoKeyError(f"{path} holds a key of the wrong type for this user; move it away")
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o600)  # an older run or a copy left it readable by others
    assert isinstance(existing, Ed25519PrivateKey | ec.EllipticCurvePrivateKey)
    return existing


def demo_key(directory: Path, username: str, kind: str) -> pki.PrivateKey:
    """The user's demo private key, read from its file as the user's client would read it (never
    made here): ``pki.KEY_ED25519`` for an agency's signing key, ``pki.KEY_P256`` for an
    opening-key holder's. A missing or unusable file is a :class:`DemoKeyError` naming the file."""
    path = key_path(directory, username)
    if not path.is_file():
        raise DemoKeyError(f"{path} is missing; the demo made it earlier in this load, so something removed it")
    return _existing_key(path, kind)


def agency_certificate(directory: Path, user: User) -> tuple[Certificate, bool]:
    """The agency's client: make (or reuse) its Ed25519 key and ask for a signing certificate."""
    org = user.organisation
    assert org is not None
    key, created = demo_private_key(directory, user.get_username(), pki.KEY_ED25519)
    csr = pki.csr_make(key, pki.Subject(organisation_name=org.name, uscc=org.uscc))
    return certificate_request(actor=user, csr=csr), created


def key_holder_certificate(directory: Path, user: User) -> tuple[Certificate, bool]:
    """An opening-key holder's client: make (or reuse) its P-256 key and register it."""
    org = user.organisation
    assert org is not None
    key, created = demo_private_key(directory, user.get_username(), pki.KEY_P256)
    csr = pki.csr_make(key, pki.Subject(organisation_name=org.name, uscc=org.uscc, username=user.get_username()))
    return key_holder_register(actor=user, csr=csr), created
