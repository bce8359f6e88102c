"""The cryptography of sealed, signed bids (DOMAIN.md, "Sealed, signed electronic bids"): pure functions only.

What is here, and what each is for:

- **Suites** (:func:`suite`): the algorithms, chosen by configuration and named inside every envelope, so that an
  envelope sealed today can be opened after the default changes. ``intl-v1`` is implemented; ``sm-v1`` (SM2/SM3/SM4)
  is registered but unavailable, and says what is missing (docs/crypto.md).
- **Opening keys** (:func:`opening_keypair`): the tender's X25519 key pair. Bids are sealed to the public half.
- **Sealing** (:func:`seal`, :func:`open_sealed`, :func:`open_sealed_into`): ephemeral X25519 → HKDF-SHA256 →
  AES-256-GCM, with the caller's associated data (tender, agency) bound into the tag.
- **Signatures** (:func:`sign`, :func:`verify`, :func:`signed_payload`): thin wrappers over :mod:`agencies.pki`, so
  the platform has one implementation of its signature rules; anything signed is canonical JSON.
- **Digests** (:func:`digest`, :func:`digest_file`): hex SHA-256.
- **Key shares** (:func:`split_key`, :func:`combine_shares`): Shamir secret sharing from pycryptodome (never our own
  field arithmetic), with a key check value so that wrong or mixed shares are refused instead of giving a wrong key.
- **Share wrapping** (:func:`wrap_share`, :func:`unwrap_share`): a share encrypted to one key holder's P-256 key
  (ephemeral ECDH → HKDF-SHA256 → AES-256-GCM).

No Django models, no database, no clock, no settings: callers pass everything in (the suite name comes from
``settings.AGORA_CRYPTO_SUITE`` in the services). Every refusal is a :class:`CryptoError` with a stable ``code`` and
bilingual messages; inputs from outside (envelopes, signatures, shares) never escape as another exception type.
The byte layouts are documented in docs/crypto.md.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Why B413 is marked: bandit cannot tell PyCrypto from PyCryptodome, which provides `Crypto` here: maintained, pinned in
# requirements.txt, and used only for its Shamir secret sharing.
from Crypto.Protocol.SecretSharing import Shamir  # nosec B413
from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from agencies import pki
from agencies.pki import PkiError
from core.canonical import canonical_json

__all__ = [
    "DEFAULT_SUITE",
    "SEAL_HEADER_LENGTH",
    "SEAL_MAGIC",
    "SHARE_LENGTH",
    "SHARE_MAGIC",
    "SUITE_INTL",
    "SUITE_SM",
    "TAG_LENGTH",
    "WRAP_HEADER_LENGTH",
    "WRAP_MAGIC",
    "CryptoError",
    "Suite",
    "combine_shares",
    "digest",
    "digest_file",
    "open_sealed",
    "open_sealed_into",
    "opening_keypair",
    "opening_public",
    "seal",
    "sign",
    "signed_payload",
    "split_key",
    "suite",
    "unwrap_share",
    "verify",
    "wrap_share",
]

SUITE_INTL = "intl-v1"
SUITE_SM = "sm-v1"
DEFAULT_SUITE = SUITE_INTL

# Envelope layouts (docs/crypto.md): a fixed header, then AES-GCM ciphertext with its 16-byte tag at the end.
SEAL_MAGIC = b"AGS1"
WRAP_MAGIC = b"AGW1"
SHARE_MAGIC = b"AGK1"
_X25519_LENGTH = 32
_P256_POINT_LENGTH = 65  # SEC 1 uncompressed: 0x04 || x || y
_NONCE_LENGTH = 12
TAG_LENGTH = 16
SEAL_HEADER_LENGTH = len(SEAL_MAGIC) + 1 + _X25519_LENGTH + _NONCE_LENGTH  # 49
WRAP_HEADER_LENGTH = len(WRAP_MAGIC) + 1 + _P256_POINT_LENGTH + _NONCE_LENGTH  # 82

# Share layout: magic, suite, threshold, index, key check value, two 16-byte Shamir shares.
_KCV_LENGTH = 16
_HALF = 16  # pycryptodome's Shamir works on 16-byte secrets (elements of GF(2^128))
_SHARE_HEADER_LENGTH = len(SHARE_MAGIC) + 3 + _KCV_LENGTH  # 23
SHARE_LENGTH = _SHARE_HEADER_LENGTH + 2 * _HALF  # 55
_SHARES_MAX = 255  # one byte of index; Shamir's indices are 1..n

_READ_CHUNK = 1024 * 1024


_MESSAGES: dict[str, tuple[str, str]] = {
    "suite_unknown": ("Unknown cryptographic suite.", "未知的密码算法套件。"),
    "suite_unavailable": (
        "This cryptographic suite is not available on this platform.",
        "本平台暂不支持该密码算法套件。",
    ),
    "key_invalid": ("The key is not a valid key for this use.", "密钥无效，不能用于此用途。"),
    "associated_invalid": (
        "The associated data must be a non-empty mapping of JSON values (e.g. the tender and the agency).",
        "关联数据必须是非空的 JSON 键值对（例如项目编号和投标机构）。",
    ),
    "payload_invalid": ("The value cannot be written as canonical JSON.", "该数据无法转换为规范化 JSON。"),
    "envelope_malformed": ("The sealed data is not a readable envelope.", "密文信封格式错误，无法读取。"),
    "decryption_failed": (
        "The sealed data cannot be opened with this key and context: wrong key, altered data, or another tender"
        " or agency.",
        "无法用该密钥和关联数据解密：密钥错误、数据被篡改，或属于其他项目或机构。",
    ),
    "buffer_too_small": ("The output buffer is smaller than the plaintext.", "输出缓冲区小于明文长度。"),
    "share_parameters_invalid": (
        "Key shares need 1 ≤ threshold ≤ number of shares ≤ 255.",
        "密钥分片参数须满足 1 ≤ 门限 ≤ 分片数 ≤ 255。",
    ),
    "too_few_shares": (
        "Fewer key shares than the threshold were given.",
        "提交的密钥分片少于门限数量，无法恢复开标密钥。",
    ),
    "shares_invalid": (
        "The key shares do not rebuild the tender's opening key.",
        "密钥分片无法恢复该项目的开标密钥。",
    ),
}


class CryptoError(PkiError):
    """A refusal from this module: a stable ``code`` plus ``detail`` (English) and ``detail_zh`` (Chinese).

    It subclasses :class:`agencies.pki.PkiError` so the two share one shape and one API error mapping; refusals
    that come from :mod:`agencies.pki` (``signature_invalid``, ``key_unsupported``) are re-raised as CryptoError
    with the same code, so callers of this module catch one type.
    """

    def __repr__(self) -> str:
        return f"CryptoError({self.code!r}, {self.detail!r}, {self.detail_zh!r})"


def _error(code: str, detail: str | None = None, detail_zh: str | None = None) -> CryptoError:
    default, default_zh = _MESSAGES[code]
    return CryptoError(code, detail or default, detail_zh or default_zh)


def _from_pki(exc: PkiError) -> CryptoError:
    return CryptoError(exc.code, exc.detail, exc.detail_zh)


# --- suites ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suite:
    """A named set of algorithms. ``code`` is the byte that names the suite inside envelopes and shares."""

    name: str
    code: int
    key_agreement: str
    kdf: str
    aead: str
    signatures: tuple[str, ...]
    digest: str
    available: bool
    missing: str = ""
    missing_zh: str = ""


_SUITES: dict[str, Suite] = {
    SUITE_INTL: Suite(
        name=SUITE_INTL,
        code=0x01,
        key_agreement="X25519 (bids), ECDH P-256 (key shares)",
        kdf="HKDF-SHA256",
        aead="AES-256-GCM",
        signatures=(pki.KEY_ED25519, pki.KEY_P256),
        digest="SHA-256",
        available=True,
    ),
    # Registered so that the name and its envelope byte are reserved and a configuration naming it fails with a
    # reason, not with "unknown". docs/crypto.md has the full finding.
    SUITE_SM: Suite(
        name=SUITE_SM,
        code=0x02,
        key_agreement="SM2 (GB/T 32918)",
        kdf="SM3-KDF",
        aead="SM4-GCM",
        signatures=("sm2-sm3",),
        digest="SM3",
        available=False,
        missing=(
            "SM2 is missing: 'cryptography' (on which the platform CA in agencies/pki.py is built) has SM3 and SM4"
            " (including SM4-GCM) but no SM2 keys, signatures, key agreement or SM2 certificates, so the platform"
            " can neither seal to, verify, nor certify SM2 keys. The one maintained compiled SM2 package found"
            " (gmssl-pyx, a GmSSL 3.2 wrapper) offers raw SM2 encryption and signatures but no X.509, and is not a"
            " dependency of this project. See docs/crypto.md."
        ),
        missing_zh=(
            "缺少 SM2：平台证书颁发机构所依赖的 cryptography 库支持 SM3 和 SM4（含 SM4-GCM），但不支持 SM2 密钥、签名、"
            "密钥协商和 SM2 证书，因此平台无法向 SM2 密钥加密、验证 SM2 签名或签发 SM2 证书。已找到的唯一仍在维护的"
            "编译型 SM2 库 gmssl-pyx（GmSSL 3.2 封装）只提供裸 SM2 加密和签名，不支持 X.509，且不是本项目的依赖。"
            "详见 docs/crypto.md。"
        ),
    ),
}
_SUITES_BY_CODE: dict[int, Suite] = {s.code: s for s in _SUITES.values()}


def _suite_usable(name: str) -> Suite:
    # The public functions take a parameter called ``suite``, which hides :func:`suite`; they call this.
    found = _SUITES.get(name)
    if found is None:
        raise _error(
            "suite_unknown",
            f"Unknown cryptographic suite {name!r}; known: {', '.join(sorted(_SUITES))}.",
            f"未知的密码算法套件 {name!r}；已知套件：{'、'.join(sorted(_SUITES))}。",
        )
    if not found.available:
        raise _error(
            "suite_unavailable",
            f"The cryptographic suite {name!r} is not available. {found.missing}",
            f"密码算法套件 {name!r} 不可用。{found.missing_zh}",
        )
    return found


def suite(name: str) -> Suite:
    """The suite called ``name``, if this platform can use it.

    Refuses a name nobody registered (``suite_unknown``) and a registered suite whose libraries are missing
    (``suite_unavailable``, whose message names what is missing). Services call it with
    ``settings.AGORA_CRYPTO_SUITE`` at start-up or before sealing, so a misconfiguration fails loudly.
    """
    return _suite_usable(name)


# --- helpers ---------------------------------------------------------------------------------------------------


def _hkdf(shared_secret: bytes, *, salt: bytes, info: bytes) -> bytes:
    # Salting with both public keys binds the AES key to this exact pair, so a swapped ephemeral key or a share
    # re-addressed to another recipient derives a different key and fails authentication.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(shared_secret)


def _associated(associated: Mapping[str, Any]) -> bytes:
    # Empty associated data would bind the ciphertext to nothing, letting one tender's bid be replayed into
    # another: refuse it rather than trust every caller to remember.
    if not isinstance(associated, Mapping) or not associated:
        raise _error("associated_invalid")
    try:
        return canonical_json(dict(associated))
    except (TypeError, ValueError) as exc:
        raise _error("associated_invalid") from exc


def _x25519_private(raw: bytes) -> x25519.X25519PrivateKey:
    if not isinstance(raw, bytes | bytearray | memoryview) or len(raw) != _X25519_LENGTH:
        raise _error(
            "key_invalid", "An opening private key is 32 raw bytes (X25519).", "开标私钥应为 32 字节（X25519）。"
        )
    return x25519.X25519PrivateKey.from_private_bytes(bytes(raw))


def _x25519_public(raw: bytes) -> x25519.X25519PublicKey:
    if not isinstance(raw, bytes | bytearray | memoryview) or len(raw) != _X25519_LENGTH:
        raise _error(
            "key_invalid", "An opening public key is 32 raw bytes (X25519).", "开标公钥应为 32 字节（X25519）。"
        )
    return x25519.X25519PublicKey.from_public_bytes(bytes(raw))


def _p256_point(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def _holder_public(holder_public_key: x509.Certificate | PublicKeyTypes) -> ec.EllipticCurvePublicKey:
    key = holder_public_key.public_key() if isinstance(holder_public_key, x509.Certificate) else holder_public_key
    try:
        kind = pki.key_kind(key)
    except PkiError as exc:
        raise _from_pki(exc) from exc
    if kind != pki.KEY_P256:
        # Same rule as the CA's: a holder's key must do ECDH, and Ed25519 cannot.
        raise _error(
            "key_invalid",
            "A key holder's key must be ECDSA P-256, so that a share can be encrypted to it.",
            "密钥持有人的密钥必须是 ECDSA P-256，才能将密钥分片加密给持有人。",
        )
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def _parse_header(
    envelope: bytes | bytearray | memoryview, *, magic: bytes, key_length: int, header_length: int
) -> tuple[Suite, memoryview, memoryview, memoryview]:
    """Split an envelope into (suite, sender's ephemeral public key, nonce, ciphertext with tag) without copying."""
    try:
        view = memoryview(envelope).cast("B")
    except (TypeError, ValueError) as exc:
        # Not a byte buffer at all (None, text, a non-contiguous view): refused like any other unreadable input.
        raise _error("envelope_malformed") from exc
    if len(view) < header_length + TAG_LENGTH or view[: len(magic)] != magic:
        raise _error("envelope_malformed")
    code = view[len(magic)]
    found = _SUITES_BY_CODE.get(code)
    if found is None or not found.available:
        name = found.name if found else f"0x{code:02x}"
        raise _error(
            "envelope_malformed",
            f"The envelope names suite {name}, which this platform cannot open.",
            f"密文信封使用的算法套件 {name} 本平台无法解密。",
        )
    start = len(magic) + 1
    return found, view[start : start + key_length], view[start + key_length : header_length], view[header_length:]


# --- opening keys and sealing ----------------------------------------------------------------------------------


def opening_keypair() -> tuple[bytes, bytes]:
    """Make a tender's opening key pair: ``(private, public)``, each 32 raw bytes (X25519).

    The public half is published with the notice; the private half goes straight into :func:`split_key` and is
    then dropped. Raw bytes (not PEM) because they are what the envelope, the shares and the notice carry.
    """
    private = x25519.X25519PrivateKey.generate()
    return private.private_bytes_raw(), private.public_key().public_bytes_raw()


def opening_public(private_key: bytes) -> bytes:
    """The 32-byte public half of an opening private key (``key_invalid`` unless it is 32 bytes)."""
    return _x25519_private(private_key).public_key().public_bytes_raw()


def public_key_check(public: bytes) -> None:
    """Refuse (``key_invalid``) a 32-byte X25519 public key nobody could seal to safely: the wrong length or a
    low-order point, whose agreed secret is all zeros whatever the other side's key."""
    recipient = _x25519_public(public)
    try:
        x25519.X25519PrivateKey.generate().exchange(recipient)
    except ValueError as exc:
        raise _error("key_invalid") from exc


def seal(
    *, plaintext: bytes, recipient_public: bytes, associated: Mapping[str, Any], suite: str = DEFAULT_SUITE
) -> bytes:
    """Encrypt ``plaintext`` so that only the holder of the opening private key can read it, in this context.

    An ephemeral X25519 key agrees a secret with ``recipient_public``; HKDF-SHA256 (salt: ephemeral public ‖
    recipient public; info: ``b"agora/seal/" + suite``) turns it into an AES-256-GCM key; the ciphertext is
    authenticated together with ``canonical_json(associated)``, e.g. ``{"tender": reference, "agency": uscc}``,
    so the envelope cannot be opened as another tender's or another agency's bid. The returned envelope is
    ``header (49 bytes) ‖ ciphertext ‖ tag (16 bytes)`` (docs/crypto.md).

    Refuses an unknown or unavailable suite, a recipient key that is not 32 bytes or is a low-order point
    (``key_invalid``) and empty or non-JSON associated data (``associated_invalid``).
    """
    chosen = _suite_usable(suite)
    aad = _associated(associated)
    recipient = _x25519_public(recipient_public)
    ephemeral = x25519.X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    try:
        shared = ephemeral.exchange(recipient)
    except ValueError as exc:
        # A low-order public key yields the all-zero secret: an envelope anyone could open.
        raise _error("key_invalid") from exc
    key = _hkdf(shared, salt=ephemeral_public + bytes(recipient_public), info=b"agora/seal/" + chosen.name.encode())
    # The key is fresh for every envelope, so a fixed nonce would do; a random one costs nothing and keeps the
    # format safe even if a future suite reuses keys.
    nonce = os.urandom(_NONCE_LENGTH)
    header = SEAL_MAGIC + bytes([chosen.code]) + ephemeral_public + nonce
    # One encryption, one concatenation: two linear passes over a 1 MB bid, never quadratic.
    return header + AESGCM(key).encrypt(nonce, plaintext, aad)


def _seal_opener(
    envelope: bytes | bytearray | memoryview, recipient_private: bytes, associated: Mapping[str, Any]
) -> tuple[AESGCM, memoryview, memoryview, bytes]:
    found, ephemeral_raw, nonce, body = _parse_header(
        envelope, magic=SEAL_MAGIC, key_length=_X25519_LENGTH, header_length=SEAL_HEADER_LENGTH
    )
    aad = _associated(associated)
    private = _x25519_private(recipient_private)
    ephemeral_public = bytes(ephemeral_raw)
    try:
        shared = private.exchange(x25519.X25519PublicKey.from_public_bytes(ephemeral_public))
    except ValueError as exc:
        # An altered ephemeral key can land on a low-order point; that is tampering, not a format error.
        raise _error("decryption_failed") from exc
    recipient_public = private.public_key().public_bytes_raw()
    key = _hkdf(shared, salt=ephemeral_public + recipient_public, info=b"agora/seal/" + found.name.encode())
    return AESGCM(key), nonce, body, aad


def open_sealed(*, envelope: bytes, recipient_private: bytes, associated: Mapping[str, Any]) -> bytes:
    """Open an envelope made by :func:`seal` with the rebuilt opening private key and the same associated data.

    The suite is read from the envelope, not from configuration, so bids sealed under an earlier default still
    open. Refuses with ``envelope_malformed`` (too short, wrong magic, a suite this platform cannot open) or
    ``decryption_failed`` (wrong key, any altered byte, other associated data such as another tender or agency);
    nothing else escapes for any envelope bytes.
    """
    aead, nonce, body, aad = _seal_opener(envelope, recipient_private, associated)
    try:
        return aead.decrypt(nonce, body, aad)
    except InvalidTag as exc:
        raise _error("decryption_failed") from exc


def open_sealed_into(
    *,
    envelope: bytes | bytearray | memoryview,
    recipient_private: bytes,
    associated: Mapping[str, Any],
    out: bytearray | memoryview,
) -> memoryview:
    """Like :func:`open_sealed`, but decrypt into the caller's buffer and return a view of the plaintext in it.

    For the opening, which decrypts hundreds of 1 MB bids in a row: reusing one buffer avoids a fresh large
    allocation per bid, which DOMAIN.md measured at about twice the cost. A buffer as long as the envelope always
    suffices (``buffer_too_small`` otherwise). On any refusal the part of the buffer that was written is zeroed,
    because the AEAD writes unauthenticated plaintext before it checks the tag.
    """
    aead, nonce, body, aad = _seal_opener(envelope, recipient_private, associated)
    view = memoryview(out).cast("B") if isinstance(out, memoryview) else memoryview(out)
    length = len(body) - TAG_LENGTH
    if len(view) < length:
        raise _error("buffer_too_small")
    target = view[:length]
    try:
        aead.decrypt_into(nonce, body, aad, target)
    except InvalidTag as exc:
        target[:] = bytes(length)
        raise _error("decryption_failed") from exc
    return target


# --- signatures and digests ------------------------------------------------------------------------------------


def sign(private_key: PrivateKeyTypes, data: bytes) -> bytes:
    """Sign ``data`` with an agency's (or the platform's) key: Ed25519, or ECDSA P-256 with SHA-256 (DER).

    The agency's client signs locally; the server uses this for receipts and opening records. Sign
    :func:`signed_payload` of a structure, never an ad-hoc encoding. Other key types: ``key_unsupported``.
    """
    try:
        return pki.sign(private_key, data)
    except PkiError as exc:
        raise _from_pki(exc) from exc


def verify(public_key_or_certificate: x509.Certificate | PublicKeyTypes, data: bytes, signature: bytes) -> None:
    """Return if ``signature`` over ``data`` verifies with the key (or the certificate's key); else refuse.

    Every way a signature can be wrong ends as ``signature_invalid``; a key type the platform does not accept is
    ``key_unsupported``. Only the mathematics is checked here: whether the certificate was issued by the platform,
    was valid and was not revoked at the time is the caller's (``agencies.services.certificates.signature_check``).
    """
    try:
        pki.signature_verify(public_key_or_certificate, data, signature)
    except PkiError as exc:
        raise _from_pki(exc) from exc


def signed_payload(value: Any) -> bytes:
    """The bytes to sign or hash for a structured value: canonical JSON (sorted keys, no spaces, UTF-8).

    Equal values give equal bytes whatever their key order, so a verifier rebuilding the record from its fields
    gets exactly what was signed. Values JSON cannot carry (NaN, sets, objects) are ``payload_invalid``.
    """
    try:
        return canonical_json(value)
    except (TypeError, ValueError) as exc:
        raise _error("payload_invalid") from exc


def digest(data: bytes) -> str:
    """Lowercase hex SHA-256 of ``data``: the ciphertext digest in receipts and opening records."""
    return hashlib.sha256(data).hexdigest()


def digest_file(path: str | os.PathLike[str]) -> str:
    """Lowercase hex SHA-256 of a file, read in 1 MiB chunks into one reused buffer (equal to :func:`digest`)."""
    hasher = hashlib.sha256()
    buffer = bytearray(_READ_CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as stream:
        while read := stream.readinto(buffer):
            hasher.update(view[:read])
    return hasher.hexdigest()


# --- key shares ------------------------------------------------------------------------------------------------


def _check_threshold(*, n: int, t: int) -> None:
    # bool is an int; True shares of a key is a bug, not a threshold.
    if any(isinstance(v, bool) or not isinstance(v, int) for v in (n, t)) or not 1 <= t <= n <= _SHARES_MAX:
        raise _error("share_parameters_invalid")


def _key_check_value(public: bytes) -> bytes:
    # A short fingerprint of the public key travels in every share: shares of different keys (or forged ones)
    # are refused even when the caller forgets expected_public. The public key is published, so this adds
    # nothing an attacker lacks.
    return hashlib.sha256(b"agora/share-kcv/" + public).digest()[:_KCV_LENGTH]


@dataclass(frozen=True)
class _Share:
    suite_code: int
    threshold: int
    index: int
    kcv: bytes
    half_a: bytes
    half_b: bytes


def _share_decode(share: bytes) -> _Share:
    if not isinstance(share, bytes | bytearray | memoryview) or len(share) != SHARE_LENGTH:
        raise _error("shares_invalid", "A key share is not in the share format.", "密钥分片格式错误。")
    raw = bytes(share)
    # Index 0 would be the secret itself, and a threshold of 0 means nothing: neither comes from split_key.
    if raw[:4] != SHARE_MAGIC or raw[4] not in _SUITES_BY_CODE or raw[5] == 0 or raw[6] == 0:
        raise _error("shares_invalid", "A key share is not in the share format.", "密钥分片格式错误。")
    return _Share(
        suite_code=raw[4],
        threshold=raw[5],
        index=raw[6],
        kcv=raw[7:_SHARE_HEADER_LENGTH],
        half_a=raw[_SHARE_HEADER_LENGTH : _SHARE_HEADER_LENGTH + _HALF],
        half_b=raw[_SHARE_HEADER_LENGTH + _HALF :],
    )


def share_check(share: bytes, *, index: int, public: bytes) -> None:
    """Refuse (``shares_invalid``) a share that is not share ``index`` of the key whose public half is
    ``public``. One share reveals nothing, but its key check value tells at once whether a holder
    submitted the right one, before the threshold is reached."""
    decoded = _share_decode(share)
    if decoded.index != index or not hmac.compare_digest(decoded.kcv, _key_check_value(public)):
        raise _error("shares_invalid", "This is not your share of this tender's key.", "该分片不属于本项目开标密钥。")


def split_key(secret: bytes, *, n: int, t: int, suite: str = DEFAULT_SUITE) -> list[tuple[int, bytes]]:
    """Split an opening private key into ``n`` shares of which any ``t`` rebuild it: ``[(index, share), …]``.

    Uses pycryptodome's Shamir secret sharing (GF(2^128), standard polynomial, ``ssss=False``). Its secrets are
    16 bytes, so the 32-byte key is split as two halves, each shared with its own random polynomial under the same
    indices 1..n; share ``i`` carries both halves, the threshold, the suite and a key check value of the public
    key (docs/crypto.md). Fewer than ``t`` shares determine nothing about either half.

    Refuses ``1 ≤ t ≤ n ≤ 255`` violations (``share_parameters_invalid``) and a secret that is not a 32-byte key
    (``key_invalid``).
    """
    chosen = _suite_usable(suite)
    _check_threshold(n=n, t=t)
    public = opening_public(secret)
    raw = bytes(secret)
    header_tail = _key_check_value(public)
    first = Shamir.split(t, n, raw[:_HALF], ssss=False)
    second = Shamir.split(t, n, raw[_HALF:], ssss=False)
    shares: list[tuple[int, bytes]] = []
    for (index, half_a), (index_b, half_b) in zip(first, second, strict=True):
        assert index == index_b
        shares.append((index, SHARE_MAGIC + bytes([chosen.code, t, index]) + header_tail + half_a + half_b))
    return shares


def combine_shares(shares: Sequence[tuple[int, bytes]], *, t: int, expected_public: bytes | None = None) -> bytes:
    """Rebuild the opening private key from at least ``t`` shares, or refuse; never return a wrong key.

    Shamir interpolation alone turns any wrong input into some other key without noticing, so: fewer than ``t``
    shares is ``too_few_shares``; a malformed share, an index given twice, an index that does not match its
    share, shares of another threshold or of another key, and a rebuilt key whose public half does not match the
    shares' key check value (or ``expected_public``, the key published with the notice — pass it) are all
    ``shares_invalid``. With more than ``t`` shares, the ``t`` with the lowest indices are used, as the library
    expects exactly ``t``.
    """
    _check_threshold(n=t, t=t)
    if expected_public is not None:
        _x25519_public(expected_public)
    if len(shares) < t:
        raise _error(
            "too_few_shares",
            f"{len(shares)} key share(s) given; {t} are needed.",
            f"仅提交了 {len(shares)} 个密钥分片，需要 {t} 个。",
        )
    decoded: dict[int, _Share] = {}
    for entry in shares:
        if not isinstance(entry, tuple) or len(entry) != 2:
            raise _error("shares_invalid")
        index, raw = entry
        share = _share_decode(raw)
        if share.index != index or index in decoded:
            raise _error(
                "shares_invalid",
                f"Key share {index} is given twice or does not carry its own index.",
                f"密钥分片 {index} 重复提交或编号不符。",
            )
        decoded[index] = share
    first = next(iter(decoded.values()))
    if any((s.threshold, s.kcv, s.suite_code) != (t, first.kcv, first.suite_code) for s in decoded.values()):
        raise _error(
            "shares_invalid",
            "The key shares belong to different keys or to another threshold.",
            "这些密钥分片不属于同一开标密钥，或门限不符。",
        )
    used = [decoded[i] for i in sorted(decoded)[:t]]
    half_a = Shamir.combine([(s.index, s.half_a) for s in used], ssss=False)
    half_b = Shamir.combine([(s.index, s.half_b) for s in used], ssss=False)
    key = half_a + half_b
    public = opening_public(key)
    if not hmac.compare_digest(_key_check_value(public), first.kcv) or (
        expected_public is not None and not hmac.compare_digest(public, bytes(expected_public))
    ):
        raise _error("shares_invalid")
    return key


# --- share wrapping --------------------------------------------------------------------------------------------


def wrap_share(
    *,
    share: bytes,
    holder_public_key: x509.Certificate | PublicKeyTypes,
    associated: Mapping[str, Any],
    suite: str = DEFAULT_SUITE,
) -> bytes:
    """Encrypt one key share to its holder's ECDSA P-256 key (the holder's certificate or its public key).

    Ephemeral ECDH P-256 → HKDF-SHA256 (salt: both uncompressed points; info: ``b"agora/share-wrap/" + suite``)
    → AES-256-GCM with ``canonical_json(associated)`` as associated data, e.g. ``{"tender", "holder",
    "certificate", "index"}``, so a wrapped share cannot be presented for another tender, holder or index.
    Output: ``header (82 bytes) ‖ ciphertext ‖ tag`` (docs/crypto.md).

    Refuses a key that is not P-256 (``key_invalid``; unknown key types ``key_unsupported``), something that is not
    a share (``shares_invalid``) and empty associated data (``associated_invalid``).
    """
    chosen = _suite_usable(suite)
    _share_decode(share)
    aad = _associated(associated)
    holder = _holder_public(holder_public_key)
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    ephemeral_point = _p256_point(ephemeral.public_key())
    shared = ephemeral.exchange(ec.ECDH(), holder)
    key = _hkdf(shared, salt=ephemeral_point + _p256_point(holder), info=b"agora/share-wrap/" + chosen.name.encode())
    nonce = os.urandom(_NONCE_LENGTH)
    header = WRAP_MAGIC + bytes([chosen.code]) + ephemeral_point + nonce
    return header + AESGCM(key).encrypt(nonce, bytes(share), aad)


def unwrap_share(*, wrapped: bytes, holder_private_key: PrivateKeyTypes, associated: Mapping[str, Any]) -> bytes:
    """Decrypt a share wrapped by :func:`wrap_share` with the holder's P-256 private key (in the holder's client).

    Refuses like :func:`open_sealed`: ``envelope_malformed`` for something that is not a wrapped share,
    ``decryption_failed`` for another holder's key, any altered byte or other associated data; a private key that
    is not P-256 is ``key_invalid``.
    """
    if not isinstance(holder_private_key, ec.EllipticCurvePrivateKey) or not isinstance(
        holder_private_key.curve, ec.SECP256R1
    ):
        raise _error(
            "key_invalid",
            "A key holder's private key must be ECDSA P-256.",
            "密钥持有人的私钥必须是 ECDSA P-256。",
        )
    found, ephemeral_raw, nonce, body = _parse_header(
        wrapped, magic=WRAP_MAGIC, key_length=_P256_POINT_LENGTH, header_length=WRAP_HEADER_LENGTH
    )
    aad = _associated(associated)
    ephemeral_point = bytes(ephemeral_raw)
    try:
        ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ephemeral_point)
        shared = holder_private_key.exchange(ec.ECDH(), ephemeral)
    except ValueError as exc:
        # An altered point is usually not on the curve: tampering, reported like any other altered byte.
        raise _error("decryption_failed") from exc
    key = _hkdf(
        shared,
        salt=ephemeral_point + _p256_point(holder_private_key.public_key()),
        info=b"agora/share-wrap/" + found.name.encode(),
    )
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except InvalidTag as exc:
        raise _error("decryption_failed") from exc
