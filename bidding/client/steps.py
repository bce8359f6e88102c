"""The client's steps, as functions of keys and bytes: what an agency's and a key holder's machine compute.

One implementation for every caller that plays a client: the command-line client (``build``, ``share``),
the demo story (``manage.py demo_load``), the test factories and the opening benchmark. No Django and no
network: the caller fetches the tender's opening key or the wrapped share and submits the result.

An agency's bid, in order (docs/crypto.md):

1. :func:`sign_bid`: the bid form and the documents' digests, signed with the agency's key, packed with the
   documents into the plaintext;
2. :func:`seal_bid`: the plaintext sealed to the tender's opening public key, bound to the tender and agency;
3. :func:`submission_signature`: the agency's signature over the sealed envelope's digest, sent with it.

:func:`build_sealed_bid` runs the three. A tender's key holder, at the opening, runs :func:`unwrap_holder_share`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bidding import crypto, protocol


@dataclass(frozen=True)
class SealedBid:
    """What the agency uploads: the envelope, its SHA-256 (hex) and the base64 submission signature."""

    envelope: bytes
    digest: str
    signature: str


def sign_bid(
    *, form: Mapping[str, Any], documents: list[tuple[str, bytes]], certificate: str, private_key: Any
) -> bytes:
    """Step 1: the signed bid plaintext (form, documents and the agency's inner signature)."""
    return protocol.bid_build(form=form, documents=documents, certificate=certificate, private_key=private_key)


def layer_keypair() -> tuple[bytes, bytes]:
    """A fresh key pair for one bid's inner layer (the bidder's lock): ``(private, public)``, 32 raw bytes each.
    The agency keeps the private half until it releases it at the opening; nobody else ever holds it."""
    return crypto.opening_keypair()


LAYER_KEY_TYPE = "agora/bid-layer-key/v1"


def layer_key_record(
    *, tender_id: int, tender: str, agency: str, digest: str, layer_public: bytes, layer_private: bytes
) -> dict[str, Any]:
    """What an agency's client keeps of a bid's own key, until it releases it at the opening (``BID.layer-key.json``,
    mode 600): the key and what it belongs to."""
    return {
        "type": LAYER_KEY_TYPE,
        "tender_id": tender_id,
        "tender": tender,
        "agency": agency,
        "digest": digest,
        "layer_public": layer_public.hex(),
        "layer_key": base64.b64encode(layer_private).decode(),
    }


def seal_bid(
    plaintext: bytes,
    *,
    opening_public: bytes,
    tender: str,
    agency: str,
    suite: str = crypto.DEFAULT_SUITE,
    layer_public: bytes | None = None,
) -> bytes:
    """Step 2: the plaintext sealed to the tender's opening key, bound to tender reference and agency USCC.
    With ``layer_public`` (the bidder's-lock policy) it is first sealed to the agency's own layer key, and that
    envelope is then sealed to the opening key: opening it needs both the holders and the agency."""
    if layer_public is not None:
        plaintext = crypto.seal(
            plaintext=plaintext,
            recipient_public=layer_public,
            associated=protocol.layer_context(tender=tender, agency=agency),
            suite=suite,
        )
    return crypto.seal(
        plaintext=plaintext,
        recipient_public=opening_public,
        associated=protocol.sealed_context(tender=tender, agency=agency),
        suite=suite,
    )


def submission_signature(
    envelope: bytes, *, tender: str, agency: str, certificate: str, private_key: Any, layer_public: str = ""
) -> tuple[str, str]:
    """Step 3: the envelope's digest and the agency's base64 signature over what the platform checks on upload
    (``layer_public``: hex of the bidder's layer key, under that policy)."""
    digest = crypto.digest(envelope)
    payload = protocol.submission_payload(
        tender=tender, agency=agency, digest=digest, certificate=certificate, layer_public=layer_public
    )
    return digest, base64.b64encode(crypto.sign(private_key, payload)).decode()


def withdrawal_signature(*, tender: str, agency: str, bid: int, digest: str, certificate: str, private_key: Any) -> str:
    """The agency's base64 signature that withdraws one bid (its id and ciphertext digest)."""
    payload = protocol.withdrawal_payload(tender=tender, agency=agency, bid=bid, digest=digest, certificate=certificate)
    return base64.b64encode(crypto.sign(private_key, payload)).decode()


def build_sealed_bid(
    *,
    form: Mapping[str, Any],
    documents: list[tuple[str, bytes]],
    certificate: str,
    private_key: Any,
    opening_public: bytes,
    suite: str = crypto.DEFAULT_SUITE,
    layer_public: bytes | None = None,
) -> SealedBid:
    """An agency's whole bid, steps 1-3, for the tender and agency the form names (with ``layer_public``, also
    locked under the agency's own layer key)."""
    tender, agency = str(form["tender"]), str(form["agency"])
    plaintext = sign_bid(form=form, documents=documents, certificate=certificate, private_key=private_key)
    envelope = seal_bid(
        plaintext, opening_public=opening_public, tender=tender, agency=agency, suite=suite, layer_public=layer_public
    )
    del plaintext
    digest, signature = submission_signature(
        envelope,
        tender=tender,
        agency=agency,
        certificate=certificate,
        private_key=private_key,
        layer_public=layer_public.hex() if layer_public else "",
    )
    return SealedBid(envelope, digest, signature)


def objection_signature(*, tender: str, agency: str, kind: str, text: str, certificate: str, private_key: Any) -> str:
    """The agency's base64 signature that raises an objection with exactly this kind and text."""
    payload = protocol.objection_payload(tender=tender, agency=agency, kind=kind, text=text, certificate=certificate)
    return base64.b64encode(crypto.sign(private_key, payload)).decode()


def unwrap_holder_share(*, wrapped: str, context: Mapping[str, Any], private_key: Any) -> str:
    """A key holder's step at the opening: the wrapped share (base64, as the platform serves it) decrypted with
    the holder's P-256 key, as the base64 share to submit. Raises ``crypto.CryptoError`` when this key does not
    open it, ``ValueError`` when ``wrapped`` is not base64."""
    share = crypto.unwrap_share(
        wrapped=base64.b64decode(wrapped, validate=True), holder_private_key=private_key, associated=context
    )
    return base64.b64encode(share).decode()
