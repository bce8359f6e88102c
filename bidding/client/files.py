"""The agency's local files: private keys, certificates, sealed bids, signatures, receipts and tokens.

Private files (keys, tokens, sealed bids and their signatures) are created with mode 0600. A new key is created
with ``O_CREAT | O_EXCL``, so an existing key is never overwritten. Error messages name files, never their
contents.
"""

from __future__ import annotations

import decimal
import getpass
import json
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agencies import pki
from bidding.client.api import ClientError

KEY_PASSWORD_VARIABLE = "AGORA_KEY_PASSWORD"  # noqa: S105  # nosec B105  # the variable's name, not a password
KINDS = {"ed25519": pki.KEY_ED25519, "p256": pki.KEY_P256}


def _unreadable(path: str | Path, exc: OSError) -> ClientError:
    reason = exc.strerror or type(exc).__name__
    return ClientError("file_unreadable", f"Cannot read {path}: {reason}.", f"无法读取文件 {path}：{reason}。")


def _exists(path: str | Path) -> ClientError:
    return ClientError(
        "file_exists",
        f"{path} already exists; it is never overwritten. Choose another name or move it away.",
        f"文件 {path} 已存在，不会被覆盖。请换一个文件名或先移走原文件。",
    )


def read_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise _unreadable(path, exc) from None


def read_head(path: str | Path, length: int) -> bytes:
    try:
        with open(path, "rb") as stream:
            return stream.read(length)
    except OSError as exc:
        raise _unreadable(path, exc) from None


def read_json(path: str | Path, *, what: str, what_zh: str) -> Any:
    raw = read_bytes(path)
    try:
        # Decimals, not floats: a price of 98000.10 must stay exactly that.
        return json.loads(raw.decode("utf-8"), parse_float=decimal.Decimal)
    except (UnicodeDecodeError, ValueError):
        raise ClientError(
            "json_invalid", f"{path} ({what}) is not valid JSON.", f"{what_zh}文件 {path} 不是有效的 JSON。"
        ) from None


def refuse_existing(path: str | Path) -> None:
    """Refuse before doing any work whose result could not be written."""
    if os.path.lexists(path):
        raise _exists(path)


def write_new(path: str | Path, data: bytes, *, private: bool) -> None:
    """Create ``path`` (never overwrite it); private files get mode 0600 whatever the umask."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    except FileExistsError:
        raise _exists(path) from None
    except OSError as exc:
        raise ClientError(
            "file_unwritable", f"Cannot create {path}: {exc.strerror}.", f"无法创建文件 {path}：{exc.strerror}。"
        ) from None
    try:
        if private:
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        Path(path).unlink(missing_ok=True)  # never leave half a file behind
        raise


def write_replace(path: str | Path, data: bytes, *, private: bool) -> None:
    """Write ``path`` atomically (a temporary file renamed over it): for receipts and tokens."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.")
    except OSError as exc:
        raise ClientError(
            "file_unwritable", f"Cannot write {path}: {exc.strerror}.", f"无法写入文件 {path}：{exc.strerror}。"
        ) from None
    try:
        os.fchmod(fd, 0o600 if private else 0o644)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | Path, value: Any, *, private: bool, new: bool) -> None:
    data = (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
    (write_new if new else write_replace)(path, data, private=private)


# --- keys ------------------------------------------------------------------------------------------------------


def key_generate(kind: str) -> pki.PrivateKey:
    if KINDS[kind] == pki.KEY_ED25519:
        return Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: pki.PrivateKey, passphrase: str | None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def new_passphrase() -> str:
    """A passphrase for a new key: ``AGORA_KEY_PASSWORD``, or asked twice on the terminal."""
    configured = os.environ.get(KEY_PASSWORD_VARIABLE)
    if configured:
        return configured
    first = getpass.getpass("Passphrase for the new key (口令): ")
    if not first or first != getpass.getpass("Repeat the passphrase (再次输入): "):
        raise ClientError("passphrase_mismatch", "The passphrases differ or are empty.", "两次输入的口令不一致或为空。")
    return first


def key_load(path: str | Path) -> pki.PrivateKey:
    """Load a PKCS#8 PEM private key (Ed25519 or P-256); an encrypted one asks for its passphrase."""
    data = read_bytes(path)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        print(f"warning: {path} can be read by other users; run `chmod 600 {path}`.", file=sys.stderr)
    unreadable = ClientError(
        "key_unreadable",
        f"{path} is not a PEM private key, or its passphrase is wrong.",
        f"{path} 不是 PEM 格式的私钥，或口令错误。",
    )
    try:
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except TypeError:  # encrypted: ask for the passphrase
            passphrase = os.environ.get(KEY_PASSWORD_VARIABLE) or getpass.getpass(f"Passphrase for {path} (口令): ")
            key = serialization.load_pem_private_key(data, password=passphrase.encode("utf-8"))
    except (ValueError, TypeError):
        raise unreadable from None
    except UnsupportedAlgorithm:  # a key type cryptography cannot even load
        raise ClientError(
            "key_unsupported",
            f"{path} holds a key type the platform does not accept: use Ed25519 or ECDSA P-256.",
            f"{path} 中的密钥类型不受支持：请使用 Ed25519 或 ECDSA P-256。",
        ) from None
    if isinstance(key, Ed25519PrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise ClientError(
        "key_unsupported",
        f"{path} holds a key type the platform does not accept: use Ed25519 or ECDSA P-256.",
        f"{path} 中的密钥类型不受支持：请使用 Ed25519 或 ECDSA P-256。",
    )


def key_kind(key: pki.PrivateKey) -> str:
    return pki.KEY_ED25519 if isinstance(key, Ed25519PrivateKey) else pki.KEY_P256


def _spki(public_key: Any) -> bytes:
    return bytes(public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))


# --- certificates ----------------------------------------------------------------------------------------------


def certificate_load(path: str | Path) -> x509.Certificate:
    try:
        return pki.certificate_load(read_bytes(path))
    except pki.PkiError:
        raise ClientError(
            "certificate_malformed", f"{path} is not a PEM certificate.", f"{path} 不是 PEM 格式的证书。"
        ) from None


def certificate_serial(certificate: x509.Certificate) -> str:
    """The serial as the API shows it: lower-case hex."""
    return format(certificate.serial_number, "x")


def certificate_matches(certificate: x509.Certificate, key: pki.PrivateKey, *, path: str | Path) -> None:
    """Refuse a certificate that is not for this private key (signatures would then never verify)."""
    if _spki(certificate.public_key()) != _spki(key.public_key()):
        raise ClientError(
            "key_certificate_mismatch",
            f"The certificate {path} is not for this private key.",
            f"证书 {path} 与该私钥不匹配。",
        )


def default_certificate_path(key_path: str | Path) -> Path:
    """``agency.key.pem`` → ``agency.cert.pem``; ``x.pem`` → ``x.cert.pem``; ``x`` → ``x.cert.pem``."""
    path = Path(key_path)
    name = path.name
    for suffix in (".key.pem", ".pem", ".key"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return path.with_name(name[: -len(suffix)] + ".cert.pem")
    return path.with_name(name + ".cert.pem")
