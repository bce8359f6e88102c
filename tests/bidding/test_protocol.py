"""The bid inside the envelope: built and signed by the client, read and verified at the opening."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from bidding import crypto, protocol

FORM = {"tender": "ZB-2026-0001", "agency": "91350100M000100Y43", "price": "98000.00", "duration_days": 40}


@pytest.fixture(scope="module")
def key():
    return ed25519.Ed25519PrivateKey.generate()


def test_a_built_bid_reads_back_and_verifies(key):
    docs = [("报价单.pdf", b"%PDF price"), ("技术方案.docx", b"plan" * 1000)]
    plaintext = protocol.bid_build(form=FORM, documents=docs, certificate="ab12", private_key=key)
    manifest, views = protocol.bid_read(plaintext)
    assert manifest["form"] == FORM and [bytes(v) for v in views] == [d for _, d in docs]
    assert [d["name"] for d in manifest["documents"]] == ["报价单.pdf", "技术方案.docx"]
    assert protocol.bid_verify(plaintext, key.public_key())["form"]["price"] == "98000.00"


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_of_an_opened_bid_is_refused(key, position, bit):
    plaintext = bytearray(
        protocol.bid_build(form=FORM, documents=[("a.pdf", b"document bytes")], certificate="ab12", private_key=key)
    )
    plaintext[position % len(plaintext)] ^= 1 << bit
    with pytest.raises(crypto.CryptoError) as refused:
        protocol.bid_verify(bytes(plaintext), key.public_key())
    assert refused.value.code in {"bid_malformed", "document_altered", "signature_invalid"}


def test_a_bid_signed_by_another_key_is_refused(key):
    plaintext = protocol.bid_build(form=FORM, documents=[], certificate="ab12", private_key=key)
    other = ed25519.Ed25519PrivateKey.generate()
    with pytest.raises(crypto.CryptoError) as refused:
        protocol.bid_verify(plaintext, other.public_key())
    assert refused.value.code == "signature_invalid"


@pytest.mark.parametrize("garbage", [b"", b"AGB1", b"AGB1\x00\x00\x00\x05{}", b"AGB1\xff\xff\xff\xff", b"random bytes"])
def test_garbage_is_malformed_never_another_error(key, garbage):
    with pytest.raises(crypto.CryptoError) as refused:
        protocol.bid_verify(garbage, key.public_key())
    assert refused.value.code == "bid_malformed"


def test_the_submission_payload_binds_tender_agency_digest_and_certificate():
    base = {"tender": "T1", "agency": "A", "digest": "d", "certificate": "c"}
    payloads = {protocol.submission_payload(**base)}
    for field in base:
        payloads.add(protocol.submission_payload(**{**base, field: base[field] + "x"}))
    assert len(payloads) == 5


def test_another_spelling_of_the_same_signature_is_refused(key):
    """Base64's unused bits: 'A==' and 'B==' decode alike; the bid must be exactly what was signed."""
    plaintext = protocol.bid_build(form=FORM, documents=[], certificate="ab12", private_key=key)
    manifest, _ = protocol.bid_read(plaintext)
    encoded = manifest["signature"]
    assert encoded.endswith("==")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    # The last data character carries 2 bits of the signature and 4 unused ones; flip an unused one.
    respelled = encoded[:-3] + alphabet[alphabet.index(encoded[-3]) ^ 1] + "=="
    assert base64.b64decode(respelled) == base64.b64decode(encoded)
    altered = plaintext.replace(encoded.encode(), respelled.encode())
    with pytest.raises(crypto.CryptoError) as refused:
        protocol.bid_verify(altered, key.public_key())
    assert refused.value.code == "bid_malformed"
