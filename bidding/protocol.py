"""The bid protocol's signed messages: what an agency signs when it submits, what the platform
signs in the receipt, and what a sealed bid is bound to. Pure functions shared by the server and
the agency's client, so both sides build exactly the same bytes."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from cryptography import x509

from bidding import crypto

SUBMISSION_TYPE = "agora/bid-submission/v1"
RECEIPT_TYPE = "agora/bid-receipt/v1"


def sealed_context(*, tender: str, agency: str) -> dict[str, str]:
    """The associated data a bid is sealed with: it opens only for this tender and this agency."""
    return {"tender": tender, "agency": agency}


def submission_payload(*, tender: str, agency: str, digest: str, certificate: str) -> bytes:
    """What the agency signs to submit: the ciphertext's SHA-256 bound to the tender, the agency's
    USCC and the certificate it signs with, so a signature cannot be replayed on another tender."""
    return crypto.signed_payload(
        {"type": SUBMISSION_TYPE, "tender": tender, "agency": agency, "digest": digest, "certificate": certificate}
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
