"""The bid protocol's signed messages: what an agency signs when it submits, what the platform
signs in the receipt, and what a sealed bid is bound to. Pure functions shared by the server and
the agency's client, so both sides build exactly the same bytes."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from cryptography import x509

from bidding import crypto

SUBMISSION_TYPE = "agora/bid-submission/v1"
RECEIPT_TYPE = "agora/bid-receipt/v1"
WITHDRAWAL_TYPE = "agora/bid-withdrawal/v1"
OBJECTION_TYPE = "agora/objection/v1"
OPENING_RECORD_TYPE = "agora/opening-record/v1"
EVALUATION_RECORD_TYPE = "agora/evaluation-record/v1"


def sealed_context(*, tender: str, agency: str) -> dict[str, str]:
    """The associated data a bid is sealed with: it opens only for this tender and this agency."""
    return {"tender": tender, "agency": agency}


def layer_context(*, tender: str, agency: str) -> dict[str, str]:
    """The associated data of a bid's inner layer, sealed to the agency's own key (the bidder's lock): another
    context than the outer layer's, so neither layer can be passed off as the other."""
    return {"tender": tender, "agency": agency, "layer": "bidder"}


def submission_payload(*, tender: str, agency: str, digest: str, certificate: str, layer_public: str = "") -> bytes:
    """What the agency signs to submit: the ciphertext's SHA-256 bound to the tender, the agency's
    USCC and the certificate it signs with, so a signature cannot be replayed on another tender.
    Under the bidder's-lock policy it also binds the public half of the agency's own layer key (hex),
    so the key the agency releases at the opening is checked against one it committed to."""
    signed = {"type": SUBMISSION_TYPE, "tender": tender, "agency": agency, "digest": digest, "certificate": certificate}
    if layer_public:
        signed["layer_public"] = layer_public
    return crypto.signed_payload(signed)


def withdrawal_payload(*, tender: str, agency: str, bid: int, digest: str, certificate: str) -> bytes:
    """What the agency signs to withdraw one bid: the bid's id and ciphertext digest on this tender, by this
    agency, with this certificate. Only the agency's key makes it, so a withdrawal is the agency's own act."""
    return crypto.signed_payload(
        {
            "type": WITHDRAWAL_TYPE,
            "tender": tender,
            "agency": agency,
            "bid": bid,
            "digest": digest,
            "certificate": certificate,
        }
    )


def objection_payload(*, tender: str, agency: str, kind: str, text: str, certificate: str) -> bytes:
    """What the agency signs to raise an objection (异议): its kind and exact text on this tender, by this
    agency, with this certificate. A login without the agency's key cannot object in its name."""
    return crypto.signed_payload(
        {
            "type": OBJECTION_TYPE,
            "tender": tender,
            "agency": agency,
            "kind": kind,
            "text": text,
            "certificate": certificate,
        }
    )


def receipt_payload(receipt: Mapping[str, Any]) -> bytes:
    """The bytes the platform signs for a receipt (tender, agency, bid, digest, size, server time)."""
    return crypto.signed_payload({"type": RECEIPT_TYPE, **receipt})


def receipt_verify(receipt: Mapping[str, Any], signature_b64: str, ca_certificate: x509.Certificate) -> None:
    """Check a receipt with the platform's published CA certificate; raises ``CryptoError``."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except ValueError:
        raise crypto.CryptoError(
            "signature_invalid", "The receipt signature is not base64.", "回执签名格式错误。"
        ) from None
    crypto.verify(ca_certificate, receipt_payload(receipt), signature)


# --- the bid inside the envelope ------------------------------------------------------------------
#
#   b"AGB1" | manifest length (4 bytes, big-endian) | manifest (canonical JSON) | document bytes …
#
# The manifest holds the bid form, each document's name, size and SHA-256, the signing
# certificate's serial and the agency's signature over the signed part (form + document list +
# certificate). Documents follow as raw bytes in manifest order, so opening a 1 MB bid hashes the
# bytes once and never base64-decodes them.

BID_MAGIC = b"AGB1"
BID_TYPE = "agora/bid/v1"
_LENGTH_BYTES = 4


def _signed_part(form: Mapping[str, Any], documents: list[dict[str, Any]], certificate: str) -> bytes:
    return crypto.signed_payload({"type": BID_TYPE, "form": form, "documents": documents, "certificate": certificate})


def bid_build(
    *, form: Mapping[str, Any], documents: list[tuple[str, bytes]], certificate: str, private_key: Any
) -> bytes:
    """The agency's client: sign the bid form and the documents' digests, and pack everything as
    the plaintext that is then sealed. ``form`` carries at least tender, agency, price, duration."""
    listed = [{"name": name, "size": len(data), "sha256": crypto.digest(data)} for name, data in documents]
    signature = crypto.sign(private_key, _signed_part(form, listed, certificate))
    manifest = crypto.signed_payload(
        {
            "type": BID_TYPE,
            "form": form,
            "documents": listed,
            "certificate": certificate,
            "signature": base64.b64encode(signature).decode(),
        }
    )
    return b"".join([BID_MAGIC, len(manifest).to_bytes(_LENGTH_BYTES, "big"), manifest, *(d for _, d in documents)])


def _malformed(what: str) -> crypto.CryptoError:
    return crypto.CryptoError("bid_malformed", f"The opened bid is malformed: {what}.", "解密后的投标文件格式错误。")


def bid_read(plaintext: bytes | memoryview) -> tuple[dict[str, Any], list[memoryview]]:
    """Unpack an opened bid: its manifest and a view of each document (no copies)."""
    view = memoryview(plaintext)
    if bytes(view[: len(BID_MAGIC)]) != BID_MAGIC or len(view) < len(BID_MAGIC) + _LENGTH_BYTES:
        raise _malformed("not a bid")
    start = len(BID_MAGIC) + _LENGTH_BYTES
    length = int.from_bytes(view[len(BID_MAGIC) : start], "big")
    if start + length > len(view):
        raise _malformed("manifest truncated")
    try:
        manifest = json.loads(bytes(view[start : start + length]))
        documents = manifest["documents"]
        sizes = [int(d["size"]) for d in documents]
    except (ValueError, KeyError, TypeError):
        raise _malformed("manifest unreadable") from None
    if not isinstance(manifest, dict) or start + length + sum(sizes) != len(view):
        raise _malformed("document sizes do not add up")
    # Exactly the bytes the client wrote: any other spelling of the same values is an alteration.
    if manifest.get("type") != BID_TYPE or crypto.signed_payload(manifest) != bytes(view[start : start + length]):
        raise _malformed("manifest not in canonical form")
    views, offset = [], start + length
    for size in sizes:
        views.append(view[offset : offset + size])
        offset += size
    return manifest, views


def bid_verify(plaintext: bytes | memoryview, certificate: x509.Certificate) -> dict[str, Any]:
    """Check an opened bid: every document matches its digest and the agency's signature over the
    form and the digests verifies with ``certificate``. Returns the manifest; raises CryptoError."""
    manifest, documents = bid_read(plaintext)
    for listed, data in zip(manifest["documents"], documents, strict=True):
        if hashlib.sha256(data).hexdigest() != listed.get("sha256"):
            raise crypto.CryptoError(
                "document_altered",
                f"Document {listed.get('name')!r} does not match its digest.",
                "投标文件附件与摘要不符。",
            )
    encoded = str(manifest.get("signature", ""))
    try:
        signature = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise _malformed("signature is not base64") from None
    if base64.b64encode(signature).decode() != encoded:  # unused bits set: another spelling
        raise _malformed("signature not in canonical base64")
    signed = _signed_part(manifest.get("form", {}), manifest["documents"], str(manifest.get("certificate", "")))
    crypto.verify(certificate, signed, signature)
    return manifest


# --- the opening record ----------------------------------------------------------------------------


def opening_record_payload(record: Mapping[str, Any]) -> bytes:
    """The bytes the platform signs for an opening record: its canonical JSON."""
    return crypto.signed_payload(record)


def platform_record_verify(
    record: Mapping[str, Any], signature_b64: str, ca_certificate: x509.Certificate, *, record_type: str
) -> str:
    """Check a record the platform signed and published (an opening or an evaluation record) with
    the platform's CA certificate alone. Returns the record's SHA-256 (as the notice states it);
    raises ``CryptoError``."""
    if record.get("type") != record_type:
        raise crypto.CryptoError("record_malformed", f"This is not a {record_type} record.", "记录类型不符。")
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except ValueError:
        raise crypto.CryptoError("signature_invalid", "The signature is not base64.", "签名格式错误。") from None
    payload = crypto.signed_payload(record)
    crypto.verify(ca_certificate, payload, signature)
    return hashlib.sha256(payload).hexdigest()


def opening_record_verify(record: Mapping[str, Any], signature_b64: str, ca_certificate: x509.Certificate) -> str:
    """:func:`platform_record_verify` for an opening record."""
    return platform_record_verify(record, signature_b64, ca_certificate, record_type=OPENING_RECORD_TYPE)


def evaluation_record_verify(record: Mapping[str, Any], signature_b64: str, ca_certificate: x509.Certificate) -> str:
    """:func:`platform_record_verify` for an evaluation record."""
    return platform_record_verify(record, signature_b64, ca_certificate, record_type=EVALUATION_RECORD_TYPE)
