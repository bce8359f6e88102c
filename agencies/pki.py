"""The platform's small certificate authority (平台证书颁发机构).

Each admitted agency holds a bid-signing key pair, and each opening-key holder (purchaser, supervisor, trading
centre) holds a key pair to which opening-key shares are encrypted. The private keys never reach the server: a
client makes a certificate signing request (CSR), the platform checks it against its own records and issues an
X.509 certificate binding the public key to the organisation's unified social credit code (USCC). Bids, receipts
and opening records are then verified against those certificates.

This module is pure: no Django, no database. Revocation state, the CA key's storage and the checks against the
platform's records (does the CSR's USCC belong to this agency?) are the callers' business; this module only does
the cryptography and refuses, with a :class:`PkiError`, anything it cannot vouch for.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TypeAlias

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.x509.oid import NameOID

from core.canonical import canonical_json

__all__ = [
    "KEY_ED25519",
    "KEY_P256",
    "REVOCATION_REASONS",
    "CertificateAuthority",
    "PkiError",
    "Purpose",
    "Subject",
    "ca_generate",
    "ca_load",
    "certificate_check",
    "certificate_issue",
    "certificate_load",
    "certificate_pem",
    "certificate_uscc",
    "crl_build",
    "csr_load",
    "csr_make",
    "csr_subject",
    "key_kind",
    "public_key_fingerprint",
    "sign",
    "signature_verify",
]

KEY_ED25519 = "ed25519"
KEY_P256 = "ecdsa-p256"

# RFC 5280 §5.3.1 reason names accepted from callers, in the order the platform offers them.
REVOCATION_REASONS: tuple[str, ...] = (
    "unspecified",
    "key_compromise",
    "affiliation_changed",
    "superseded",
    "cessation_of_operation",
)

# A real CSR is well under 2 KiB; the cap stops a hostile upload from making the parser do unbounded work.
CSR_MAX_BYTES = 16 * 1024
CERTIFICATE_MAX_BYTES = 16 * 1024
# RFC 5280 upper bounds (ub-common-name, ub-organization-name); longer names break other verifiers.
_NAME_MAX = 64
_USCC_LENGTH = 18
# RFC 5280 §4.1.2.2 allows 20 octets, and the serial must be positive, so at most 159 bits.
_SERIAL_MAX = 2**159 - 1

PrivateKey: TypeAlias = Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey: TypeAlias = Ed25519PublicKey | ec.EllipticCurvePublicKey

_MESSAGES: dict[str, tuple[str, str]] = {
    "ca_invalid": (
        "The certificate authority's key or certificate is invalid.",
        "证书颁发机构的密钥或证书无效。",
    ),
    "csr_malformed": (
        "The certificate signing request could not be read.",
        "证书签名请求格式错误，无法读取。",
    ),
    "csr_signature_invalid": (
        "The certificate signing request was not signed by the private key it names.",
        "证书签名请求的签名验证失败：它不是由对应的私钥签名的。",
    ),
    "key_unsupported": (
        "This key type is not accepted: use Ed25519 or ECDSA P-256 (opening-key holders: ECDSA P-256 only).",
        "不支持该密钥类型：请使用 Ed25519 或 ECDSA P-256（开标密钥持有人只能使用 ECDSA P-256）。",
    ),
    "subject_invalid": (
        "The certificate subject is incomplete or too long.",
        "证书主体信息不完整或过长。",
    ),
    "datetime_naive": (
        "A time was given without a time zone.",
        "给出的时间缺少时区信息。",
    ),
    "validity_invalid": (
        "The certificate's validity period is empty or reversed.",
        "证书有效期无效：起始时间必须早于截止时间。",
    ),
    "validity_outside_ca": (
        "The certificate would be valid outside the certificate authority's own validity period.",
        "证书有效期超出了证书颁发机构自身的有效期。",
    ),
    "serial_invalid": (
        "The certificate serial number must be a positive integer of at most 159 bits.",
        "证书序列号必须是不超过 159 位的正整数。",
    ),
    "certificate_malformed": (
        "The certificate could not be read.",
        "证书格式错误，无法读取。",
    ),
    "certificate_not_issued_by_platform": (
        "The certificate was not issued by this platform's certificate authority.",
        "该证书不是由本平台证书颁发机构签发的。",
    ),
    "certificate_not_yet_valid": (
        "The certificate is not yet valid.",
        "证书尚未生效。",
    ),
    "certificate_expired": (
        "The certificate has expired.",
        "证书已过期。",
    ),
    "signature_invalid": (
        "The signature does not verify.",
        "签名验证失败。",
    ),
    "revocation_reason_unknown": (
        "Unknown revocation reason.",
        "未知的证书吊销原因。",
    ),
    "crl_invalid": (
        "The certificate revocation list cannot be built from these entries.",
        "无法根据这些条目生成证书吊销列表。",
    ),
}


class PkiError(ValueError):
    """A refusal with a machine-readable code and bilingual messages.

    Callers turn it into an API error or a form message without parsing text: ``code`` is stable, ``detail``
    and ``detail_zh`` are for people.
    """

    def __init__(self, code: str, detail: str, detail_zh: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.detail_zh = detail_zh

    def __repr__(self) -> str:
        return f"PkiError({self.code!r}, {self.detail!r}, {self.detail_zh!r})"


def _error(code: str, detail: str | None = None, detail_zh: str | None = None) -> PkiError:
    default, default_zh = _MESSAGES[code]
    return PkiError(code, detail or default, detail_zh or default_zh)


class Purpose(StrEnum):
    """What a certificate's key may be used for; decides the accepted key types and the KeyUsage bits."""

    SIGNING = "signing"
    # A key holder's key must do ECDH so that opening-key shares can be encrypted to it; Ed25519 cannot.
    KEY_HOLDER = "key_holder"


@dataclass(frozen=True)
class CertificateAuthority:
    """The platform CA: its private key and its certificate, loaded once and passed to the issuing functions."""

    # repr=False: a CA object that ends up in a log line or a traceback should not advertise its key object.
    key: PrivateKey = field(repr=False)
    certificate: x509.Certificate


@dataclass(frozen=True)
class Subject:
    """Who a certificate is for, as the platform's records say (never as a CSR says)."""

    organisation_name: str
    uscc: str
    username: str = ""


# --- helpers ---------------------------------------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    # A naive datetime would be read as local time by some code paths and as UTC by others; refuse the guess.
    if value.tzinfo is None or value.utcoffset() is None:
        raise _error("datetime_naive")
    return value.astimezone(UTC)


def _random_serial() -> int:
    # 159 random bits (RFC 5280 caps serials at 20 octets, positive); redraw the vanishingly rare zero.
    while True:
        serial = int.from_bytes(os.urandom(20), "big") >> 1
        if serial:
            return serial


def _signature_hash(key: PrivateKeyTypes) -> hashes.SHA256 | None:
    # Ed25519 hashes internally and cryptography requires algorithm=None for it.
    return None if isinstance(key, Ed25519PrivateKey) else hashes.SHA256()


def _spki(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _is_p256(key: object) -> bool:
    return isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) and isinstance(
        key.curve, ec.SECP256R1
    )


def _private_key_kind(private_key: PrivateKeyTypes) -> str:
    if isinstance(private_key, Ed25519PrivateKey):
        return KEY_ED25519
    if _is_p256(private_key):
        return KEY_P256
    raise _error("key_unsupported")


def _text(value: str, *, what: str, what_zh: str) -> str:
    text = value.strip()
    if not text or len(text) > _NAME_MAX:
        raise _error(
            "subject_invalid",
            f"The certificate subject's {what} must be 1 to {_NAME_MAX} characters.",
            f"证书主体的{what_zh}须为 1 至 {_NAME_MAX} 个字符。",
        )
    return text


def _subject_name(subject: Subject) -> x509.Name:
    organisation = _text(subject.organisation_name, what="organisation name", what_zh="机构名称")
    username = _text(subject.username, what="username", what_zh="用户名") if subject.username else ""
    uscc = subject.uscc.strip()
    # Only the shape is checked here; the check character is verified where the USCC enters the records.
    if len(uscc) != _USCC_LENGTH or not (uscc.isascii() and uscc.isalnum()):
        raise _error(
            "subject_invalid",
            "The certificate subject's unified social credit code must be 18 letters and digits.",
            "证书主体的统一社会信用代码须为 18 位字母和数字。",
        )
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        x509.NameAttribute(NameOID.COMMON_NAME, username or organisation),
        x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, uscc),
    ]
    if username:
        attributes.append(x509.NameAttribute(NameOID.USER_ID, username))
    return x509.Name(attributes)


def _single_attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    # Two differing values would let a caller compare against one while another reader trusts the other:
    # an ambiguous name states nothing.
    if len(values) != 1 or not isinstance(values[0].value, str):
        return None
    return values[0].value


# --- the CA ----------------------------------------------------------------------------------------------------


def ca_generate(*, name: str, now: datetime, years: int = 10) -> tuple[bytes, bytes]:
    """Create the platform CA: an ECDSA P-256 key (PKCS#8 PEM, unencrypted) and its self-signed certificate PEM.

    Run once when a platform is set up (or when the CA is rotated); the key is stored by the caller, who decides
    how to protect it. The certificate is valid from ``now`` for ``years`` × 365 days and may only sign end-entity
    certificates and CRLs (path length 0).
    """
    if years < 1:
        raise _error("validity_invalid")
    if not name.strip() or len(name.strip()) + len(" CA") > _NAME_MAX:
        raise _error("subject_invalid")
    start = _utc(now)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name.strip()),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{name.strip()} CA"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(_random_serial())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


def ca_load(key_pem: bytes, cert_pem: bytes, password: bytes | None = None) -> CertificateAuthority:
    """Load the CA key and certificate, refusing a pair that could not issue valid certificates.

    Catches configuration mistakes at start-up rather than at the first issuance: an unreadable file, a wrong
    password, a key of another type, a key that is not the certificate's, or a certificate that is not a CA.
    All raise ``PkiError('ca_invalid')``.
    """
    try:
        key = serialization.load_pem_private_key(key_pem, password=password)
        certificate = x509.load_pem_x509_certificate(cert_pem)
        certificate_key = certificate.public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise _error(
            "ca_invalid",
            "The certificate authority's key or certificate could not be read (or the password is wrong).",
            "无法读取证书颁发机构的密钥或证书（或密码错误）。",
        ) from exc
    if not isinstance(key, Ed25519PrivateKey) and not _is_p256(key):
        raise _error(
            "ca_invalid",
            "The certificate authority's key must be ECDSA P-256 or Ed25519.",
            "证书颁发机构的密钥必须是 ECDSA P-256 或 Ed25519。",
        )
    if _spki(key.public_key()) != _spki(certificate_key):
        raise _error(
            "ca_invalid",
            "The certificate authority's key does not match its certificate.",
            "证书颁发机构的密钥与其证书不匹配。",
        )
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = constraints.ca
    except x509.ExtensionNotFound:
        is_ca = False
    except ValueError:
        # Duplicate or unparsable extensions: not something to trust as a CA.
        is_ca = False
    if is_ca:
        try:
            usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
            is_ca = usage.key_cert_sign
        except x509.ExtensionNotFound:
            pass
    if not is_ca:
        raise _error(
            "ca_invalid",
            "The certificate is not a certificate authority's certificate.",
            "该证书不是证书颁发机构证书。",
        )
    assert isinstance(key, Ed25519PrivateKey | ec.EllipticCurvePrivateKey)
    return CertificateAuthority(key=key, certificate=certificate)


# --- requests ----------------------------------------------------------------------------------------------------


def csr_make(private_key: PrivateKeyTypes, subject: Subject) -> bytes:
    """Make a PEM CSR, as an agency's or key holder's client does; the server uses it in tests and tools.

    The CSR proves possession of ``private_key`` and states the USCC (organizationIdentifier, OID 2.5.4.97) and,
    for a person, the username (UID), which the server compares with its records before issuing.
    """
    _private_key_kind(private_key)
    assert isinstance(private_key, Ed25519PrivateKey | ec.EllipticCurvePrivateKey)
    request = x509.CertificateSigningRequestBuilder().subject_name(_subject_name(subject))
    return request.sign(private_key, _signature_hash(private_key)).public_bytes(serialization.Encoding.PEM)


def csr_load(data: bytes) -> x509.CertificateSigningRequest:
    """Read an uploaded CSR (PEM or DER) and check its proof of possession.

    Anything unreadable (empty, garbage, truncated, a certificate, more than 16 KiB) is
    ``PkiError('csr_malformed')``; a CSR whose self-signature does not verify is
    ``PkiError('csr_signature_invalid')``; a key cryptography cannot even load is ``PkiError('key_unsupported')``.
    Whether the key type suits the purpose is decided at issuance.
    """
    if not data or len(data) > CSR_MAX_BYTES:
        raise _error("csr_malformed")
    raw = bytes(data)
    try:
        is_pem = raw.lstrip().startswith(b"-----BEGIN")
        csr = x509.load_pem_x509_csr(raw) if is_pem else x509.load_der_x509_csr(raw)
        # Parsing of these is lazy; force it so later reads cannot fail with a bare ValueError.
        _ = csr.subject
        _ = csr.tbs_certrequest_bytes
        _ = csr.signature
    except ValueError as exc:
        raise _error("csr_malformed") from exc
    try:
        csr.public_key()
    except UnsupportedAlgorithm as exc:
        raise _error("key_unsupported") from exc
    except ValueError as exc:
        raise _error("csr_malformed") from exc
    try:
        valid = csr.is_signature_valid
    except (UnsupportedAlgorithm, ValueError, TypeError) as exc:
        raise _error("csr_signature_invalid") from exc
    if not valid:
        raise _error("csr_signature_invalid")
    return csr


def csr_subject(csr: x509.CertificateSigningRequest) -> tuple[str | None, str | None]:
    """What the CSR claims: ``(uscc, username)``, each None when absent or ambiguous (stated more than once).

    The caller compares these with its records; a mismatch is a refusal. The issued certificate's subject is
    built from the records regardless (see :func:`certificate_issue`).
    """
    return (
        _single_attribute(csr.subject, NameOID.ORGANIZATION_IDENTIFIER),
        _single_attribute(csr.subject, NameOID.USER_ID),
    )


def key_kind(public_key: PublicKeyTypes) -> str:
    """Name the key type (``KEY_ED25519`` or ``KEY_P256``), refusing every other one with ``key_unsupported``.

    The platform supports exactly the default suite's signing keys; RSA, other curves and X25519 are refused
    rather than half-supported.
    """
    if isinstance(public_key, Ed25519PublicKey):
        return KEY_ED25519
    if _is_p256(public_key):
        return KEY_P256
    raise _error("key_unsupported")


# --- certificates ----------------------------------------------------------------------------------------------


def _key_usage(purpose: Purpose) -> x509.KeyUsage:
    signing = purpose is Purpose.SIGNING
    return x509.KeyUsage(
        digital_signature=True,
        # Non-repudiation: a signed bid is a binding commitment by the agency.
        content_commitment=signing,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not signing,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _authority_key_identifier(ca: CertificateAuthority) -> x509.AuthorityKeyIdentifier:
    try:
        ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key())
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def certificate_issue(
    ca: CertificateAuthority,
    csr: x509.CertificateSigningRequest,
    *,
    subject: Subject,
    purpose: Purpose,
    serial: int,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    """Issue a certificate binding the CSR's public key to ``subject`` for ``purpose``.

    The subject comes from ``subject`` (the platform's records), never from the CSR, so nothing a client writes
    into its request reaches the certificate except the public key. The caller has already compared
    :func:`csr_subject` with its records; the CSR's proof of possession is checked again here because this
    function cannot know the CSR came through :func:`csr_load`.

    Refuses: a key type the purpose does not allow (``key_unsupported``), a key holder without a username or a
    malformed subject (``subject_invalid``), an empty window (``validity_invalid``), a window outside the CA's
    (``validity_outside_ca``), a serial that is not a positive 159-bit integer (``serial_invalid``) and naive
    datetimes (``datetime_naive``).
    """
    try:
        public_key = csr.public_key()
        valid = csr.is_signature_valid
    except (UnsupportedAlgorithm, ValueError, TypeError) as exc:
        raise _error("key_unsupported") from exc
    if not valid:
        raise _error("csr_signature_invalid")
    kind = key_kind(public_key)
    if purpose is Purpose.KEY_HOLDER and kind != KEY_P256:
        raise _error(
            "key_unsupported",
            "An opening-key holder's key must be ECDSA P-256, so that key shares can be encrypted to it.",
            "开标密钥持有人的密钥必须是 ECDSA P-256，以便将密钥分片加密给持有人。",
        )
    if purpose is Purpose.KEY_HOLDER and not subject.username.strip():
        raise _error(
            "subject_invalid",
            "An opening-key holder's certificate must name the person (username).",
            "开标密钥持有人的证书必须写明持有人（用户名）。",
        )
    name = _subject_name(subject)
    start, end = _utc(not_before), _utc(not_after)
    if start >= end:
        raise _error("validity_invalid")
    # A certificate outliving its CA would fail path validation in other verifiers for part of its window.
    if start < ca.certificate.not_valid_before_utc or end > ca.certificate.not_valid_after_utc:
        raise _error("validity_outside_ca")
    if isinstance(serial, bool) or not 0 < serial <= _SERIAL_MAX:
        raise _error("serial_invalid")
    assert isinstance(public_key, Ed25519PublicKey | ec.EllipticCurvePublicKey)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca.certificate.subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(purpose), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(_authority_key_identifier(ca), critical=False)
        .sign(ca.key, _signature_hash(ca.key))
    )


def certificate_load(pem: bytes) -> x509.Certificate:
    """Read a PEM certificate (from the database or an upload); anything unreadable is ``certificate_malformed``."""
    if not pem or len(pem) > CERTIFICATE_MAX_BYTES:
        raise _error("certificate_malformed")
    try:
        certificate = x509.load_pem_x509_certificate(bytes(pem))
        # Force the lazily parsed parts that callers read, so they fail here with the right code.
        _ = certificate.subject
        _ = certificate.issuer
        _ = certificate.not_valid_after_utc
    except ValueError as exc:
        raise _error("certificate_malformed") from exc
    return certificate


def certificate_pem(cert: x509.Certificate) -> str:
    """The certificate as PEM text, for storing in a text column or returning in an API response."""
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def certificate_uscc(cert: x509.Certificate) -> str | None:
    """The USCC the certificate is bound to (subject organizationIdentifier); None if absent or ambiguous."""
    return _single_attribute(cert.subject, NameOID.ORGANIZATION_IDENTIFIER)


def public_key_fingerprint(cert_or_public_key: x509.Certificate | PublicKeyTypes) -> str:
    """Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER: a short, stable name for a key.

    Hashing the public key (not the certificate) makes the fingerprint survive re-issuance of a certificate for
    the same key, and lets anyone recompute it from a published certificate.
    """
    public_key = (
        cert_or_public_key.public_key() if isinstance(cert_or_public_key, x509.Certificate) else cert_or_public_key
    )
    return hashlib.sha256(_spki(public_key)).hexdigest()


def certificate_check(ca_certificate: x509.Certificate, cert: x509.Certificate, *, at: datetime) -> None:
    """Refuse ``cert`` unless this CA issued it and it is valid at ``at``.

    Issuance is checked by the CA's signature, not only the issuer name, because anyone can make a CA with the
    platform's name. The window is half-open: valid from ``not_valid_before`` inclusive to ``not_valid_after``
    exclusive. Because :func:`certificate_issue` keeps every window inside the CA's, this also covers the CA's
    validity. Revocation is checked by the caller against the database.
    """
    moment = _utc(at)
    try:
        cert.verify_directly_issued_by(ca_certificate)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise _error("certificate_not_issued_by_platform") from exc
    if moment < cert.not_valid_before_utc:
        raise _error("certificate_not_yet_valid")
    if moment >= cert.not_valid_after_utc:
        raise _error("certificate_expired")


# --- signatures ------------------------------------------------------------------------------------------------


ROLLOVER_TYPE = "agora/certificate-rollover/v1"
REVOCATION_TYPE = "agora/certificate-revocation/v1"


def csr_digest(csr: x509.CertificateSigningRequest) -> str:
    """SHA-256 (hex) of a certificate request's DER: what an endorsement of it signs."""
    return hashlib.sha256(csr.public_bytes(serialization.Encoding.DER)).hexdigest()


def rollover_payload(*, subject: str, csr_sha256: str, certificate: str) -> bytes:
    """What a subject (an agency's USCC) signs with the key of its current certificate to have a new key
    certified: the new request's digest, endorsed by that certificate. Only the holder of the current key can
    replace it, so a login alone (an administrator who reset a password) cannot get a key of its own certified."""
    return canonical_json(
        {"type": ROLLOVER_TYPE, "subject": subject, "csr_sha256": csr_sha256, "certificate": certificate}
    )


def revocation_payload(*, serial: str, reason: str) -> bytes:
    """What the owner of a certificate signs with its key to revoke it (a lost key is revoked by an operator)."""
    return canonical_json({"type": REVOCATION_TYPE, "certificate": serial, "reason": reason})


def sign(private_key: PrivateKeyTypes, data: bytes) -> bytes:
    """Sign ``data`` as a client would: Ed25519 (raw 64 bytes) or ECDSA P-256 with SHA-256 (DER)."""
    kind = _private_key_kind(private_key)
    if kind == KEY_ED25519:
        assert isinstance(private_key, Ed25519PrivateKey)
        return private_key.sign(data)
    assert isinstance(private_key, ec.EllipticCurvePrivateKey)
    return private_key.sign(data, ec.ECDSA(hashes.SHA256()))


def signature_verify(cert: x509.Certificate | PublicKeyTypes, data: bytes, signature: bytes) -> None:
    """Verify ``signature`` over ``data`` with the certificate's key (or a bare public key); any failure is
    ``signature_invalid``.

    Signatures come from untrusted uploads, so every way a signature can be wrong (bad value, wrong length,
    garbage DER) ends as the same refusal rather than an unexpected exception. Whether the certificate itself is
    acceptable is :func:`certificate_check`'s job.
    """
    if isinstance(cert, x509.Certificate):
        try:
            public_key: PublicKeyTypes = cert.public_key()
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise _error("key_unsupported") from exc
    else:
        public_key = cert
    kind = key_kind(public_key)
    try:
        if kind == KEY_ED25519:
            assert isinstance(public_key, Ed25519PublicKey)
            public_key.verify(signature, data)
        else:
            assert isinstance(public_key, ec.EllipticCurvePublicKey)
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError, OverflowError) as exc:
        raise _error("signature_invalid") from exc


# --- revocation ------------------------------------------------------------------------------------------------


def crl_build(
    ca: CertificateAuthority,
    revoked: Iterable[tuple[int, datetime, str]],
    *,
    now: datetime,
    next_update: datetime,
) -> bytes:
    """Publish the revocations as a PEM CRL signed by the CA, so that anyone can check certificates offline.

    Each entry is ``(serial, revoked_at, reason)`` with ``reason`` one of :data:`REVOCATION_REASONS`
    (else ``revocation_reason_unknown``). Following RFC 5280 §5.3.1, "unspecified" is written by leaving the
    reason extension out. The CRL number is derived from ``now`` (microseconds since the epoch), so CRLs built
    later carry larger numbers without the caller keeping a counter.
    """
    this_update, following = _utc(now), _utc(next_update)
    if following <= this_update:
        raise _error(
            "crl_invalid",
            "The revocation list's next update must be later than its issue time.",
            "证书吊销列表的下次更新时间必须晚于本次签发时间。",
        )
    crl_number = int((this_update - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(this_update)
        .next_update(following)
        .add_extension(_authority_key_identifier(ca), critical=False)
        .add_extension(x509.CRLNumber(max(crl_number, 0)), critical=False)
    )
    seen: set[int] = set()
    for serial, revoked_at, reason in revoked:
        if reason not in REVOCATION_REASONS:
            raise _error("revocation_reason_unknown")
        if isinstance(serial, bool) or not 0 < serial <= _SERIAL_MAX or serial in seen:
            raise _error(
                "crl_invalid",
                f"Revoked serial {serial} is not a valid serial number or is listed twice.",
                f"被吊销的证书序列号 {serial} 无效或重复。",
            )
        seen.add(serial)
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(_utc(revoked_at))
        if reason != "unspecified":
            entry = entry.add_extension(x509.CRLReason(x509.ReasonFlags[reason]), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(ca.key, _signature_hash(ca.key)).public_bytes(serialization.Encoding.PEM)
