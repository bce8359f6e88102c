"""bidding/crypto.py: suites, sealing, signatures, digests, key shares and share wrapping. No database.

Property tests (hypothesis) cover the issue's three claims: round trips, any flipped byte is refused, and t−1
shares reveal nothing usable.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from Crypto.Protocol.SecretSharing import Shamir
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agencies import pki
from agencies.pki import PkiError, Purpose, Subject
from bidding import crypto
from bidding.crypto import (
    SEAL_HEADER_LENGTH,
    SEAL_MAGIC,
    SHARE_LENGTH,
    SUITE_INTL,
    SUITE_SM,
    TAG_LENGTH,
    WRAP_HEADER_LENGTH,
    WRAP_MAGIC,
    CryptoError,
)
from core.canonical import canonical_json

CJK = re.compile(r"[\u4e00-\u9fff]")
TENDER = "JZ-2026-0042"
AGENCY = "91350100M000100Y43"
CONTEXT = {"tender": TENDER, "agency": AGENCY}
# The byte layout of a share (docs/crypto.md): 23-byte header, then the two 16-byte Shamir shares.
SHARE_HEADER = SHARE_LENGTH - 32
REFUSED = {"envelope_malformed", "decryption_failed"}
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

# The autouse fixtures in tests/conftest.py (clock, settings) are harmless to share between examples.
examples = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@contextmanager
def refused(*codes: str) -> Iterator[pytest.ExceptionInfo[CryptoError]]:
    """Expect a CryptoError with one of these codes, carrying an English and a Chinese message."""
    with pytest.raises(CryptoError) as caught:
        yield caught
    assert caught.value.code in codes, caught.value
    assert caught.value.detail and str(caught.value) == caught.value.detail
    assert CJK.search(caught.value.detail_zh), caught.value.detail_zh


def flip(data: bytes, position: int, bit: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= 1 << bit
    return bytes(changed)


@pytest.fixture(scope="module")
def opening() -> tuple[bytes, bytes]:
    return crypto.opening_keypair()


@pytest.fixture(scope="module")
def holder() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def ca() -> pki.CertificateAuthority:
    key_pem, cert_pem = pki.ca_generate(name="江州公共资源交易平台", now=NOW - timedelta(days=1))
    return pki.ca_load(key_pem, cert_pem)


def certify(
    ca: pki.CertificateAuthority, key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey, purpose: Purpose
) -> x509.Certificate:
    subject = Subject(organisation_name="江州某某招标代理有限公司", uscc=AGENCY, username="zhang.wei")
    return pki.certificate_issue(
        ca,
        pki.csr_load(pki.csr_make(key, subject)),
        subject=subject,
        purpose=purpose,
        serial=1001,
        not_before=NOW,
        not_after=NOW + timedelta(days=365),
    )


# --- suites ----------------------------------------------------------------------------------------------------


def test_the_international_suite_is_the_default_and_names_its_algorithms():
    suite = crypto.suite(SUITE_INTL)
    assert crypto.DEFAULT_SUITE == SUITE_INTL and suite.available
    assert (suite.kdf, suite.aead, suite.digest) == ("HKDF-SHA256", "AES-256-GCM", "SHA-256")
    assert suite.signatures == (pki.KEY_ED25519, pki.KEY_P256)


def test_an_unknown_suite_is_refused_everywhere_a_suite_is_chosen(opening):
    with refused("suite_unknown"):
        crypto.suite("rot13-v1")
    with refused("suite_unknown"):
        crypto.seal(plaintext=b"bid", recipient_public=opening[1], associated=CONTEXT, suite="intl-v2")
    with refused("suite_unknown"):
        crypto.split_key(opening[0], n=3, t=2, suite="")


def test_the_national_suite_is_registered_but_says_what_is_missing(opening):
    with refused("suite_unavailable") as caught:
        crypto.suite(SUITE_SM)
    assert "SM2" in caught.value.detail and "X.509" in caught.value.detail and "SM2" in caught.value.detail_zh
    with refused("suite_unavailable"):
        crypto.seal(plaintext=b"bid", recipient_public=opening[1], associated=CONTEXT, suite=SUITE_SM)


def test_crypto_errors_share_the_pki_errors_shape():
    error = crypto.CryptoError("decryption_failed", "no", "不")
    assert isinstance(error, PkiError) and isinstance(error, ValueError)
    assert repr(error).startswith("CryptoError('decryption_failed'")


# --- sealing ---------------------------------------------------------------------------------------------------


@examples
@given(
    plaintext=st.binary(max_size=2048),
    tender=st.text(min_size=1, max_size=40),
    agency=st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=18, max_size=18),
)
def test_seal_then_open_gives_back_the_plaintext(opening, plaintext, tender, agency):
    private, public = opening
    context = {"tender": tender, "agency": agency}
    envelope = crypto.seal(plaintext=plaintext, recipient_public=public, associated=context)
    assert len(envelope) == SEAL_HEADER_LENGTH + len(plaintext) + TAG_LENGTH
    assert envelope[:4] == SEAL_MAGIC and envelope[4] == crypto.suite(SUITE_INTL).code
    assert crypto.open_sealed(envelope=envelope, recipient_private=private, associated=context) == plaintext


@pytest.mark.parametrize("size", [0, 1, 1024 * 1024])
def test_empty_and_one_megabyte_bids_round_trip(opening, size):
    private, public = opening
    plaintext = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    envelope = crypto.seal(plaintext=plaintext, recipient_public=public, associated=CONTEXT)
    assert crypto.open_sealed(envelope=envelope, recipient_private=private, associated=CONTEXT) == plaintext
    # A bytearray or memoryview of the stored file opens the same way.
    assert crypto.open_sealed(envelope=memoryview(envelope), recipient_private=private, associated=CONTEXT) == plaintext


def test_sealing_twice_gives_unrelated_envelopes(opening):
    first = crypto.seal(plaintext=b"same bid", recipient_public=opening[1], associated=CONTEXT)
    second = crypto.seal(plaintext=b"same bid", recipient_public=opening[1], associated=CONTEXT)
    # Fresh ephemeral key and nonce each time: equal bids cannot be spotted by equal ciphertexts.
    assert first[5:37] != second[5:37] and first[SEAL_HEADER_LENGTH:] != second[SEAL_HEADER_LENGTH:]


def test_open_into_a_reused_buffer_and_the_buffer_is_wiped_on_refusal(opening):
    private, public = opening
    buffer = bytearray(4096)
    for plaintext in (b"first bid " * 50, b"second, shorter"):
        envelope = crypto.seal(plaintext=plaintext, recipient_public=public, associated=CONTEXT)
        view = crypto.open_sealed_into(envelope=envelope, recipient_private=private, associated=CONTEXT, out=buffer)
        assert view.tobytes() == plaintext and view.obj is buffer
    tampered = flip(envelope, len(envelope) - 1, 0)
    with refused("decryption_failed"):
        crypto.open_sealed_into(envelope=tampered, recipient_private=private, associated=CONTEXT, out=buffer)
    # The AEAD writes plaintext before checking the tag; none of it may be left behind.
    assert b"second" not in buffer and buffer[: len(b"second, shorter")] == bytes(len(b"second, shorter"))
    with refused("buffer_too_small"):
        crypto.open_sealed_into(envelope=envelope, recipient_private=private, associated=CONTEXT, out=bytearray(3))


@examples
@given(data=st.data(), plaintext=st.binary(max_size=64))
def test_any_flipped_bit_anywhere_in_the_envelope_is_refused(opening, data, plaintext):
    private, public = opening
    envelope = crypto.seal(plaintext=plaintext, recipient_public=public, associated=CONTEXT)
    position = data.draw(st.integers(0, len(envelope) - 1), label="position")
    bit = data.draw(st.integers(0, 7), label="bit")
    expected = "envelope_malformed" if position < len(SEAL_MAGIC) + 1 else "decryption_failed"
    with refused(expected):
        crypto.open_sealed(envelope=flip(envelope, position, bit), recipient_private=private, associated=CONTEXT)


def test_every_single_bit_flip_of_one_envelope_is_refused(opening):
    """Exhaustive on one short envelope, so no position is left to chance."""
    private, public = opening
    envelope = crypto.seal(plaintext=b"price=1000", recipient_public=public, associated=CONTEXT)
    for position in range(len(envelope)):
        for bit in range(8):
            with refused(*REFUSED):
                crypto.open_sealed(
                    envelope=flip(envelope, position, bit), recipient_private=private, associated=CONTEXT
                )


@pytest.mark.parametrize(
    "other",
    [
        {"tender": "JZ-2026-0043", "agency": AGENCY},
        {"tender": TENDER, "agency": "91350100M000200Y21"},
        {"tender": TENDER},
        {"tender": TENDER, "agency": AGENCY, "round": 2},
    ],
    ids=["other tender", "other agency", "agency left out", "extra field"],
)
def test_an_envelope_opens_only_in_its_own_context(opening, other):
    private, public = opening
    envelope = crypto.seal(plaintext=b"bid", recipient_public=public, associated=CONTEXT)
    with refused("decryption_failed"):
        crypto.open_sealed(envelope=envelope, recipient_private=private, associated=other)
    # Key order is not context: the associated data is canonical JSON.
    reordered = {"agency": AGENCY, "tender": TENDER}
    assert crypto.open_sealed(envelope=envelope, recipient_private=private, associated=reordered) == b"bid"


def test_another_opening_key_cannot_open_the_envelope(opening):
    envelope = crypto.seal(plaintext=b"bid", recipient_public=opening[1], associated=CONTEXT)
    other_private, _ = crypto.opening_keypair()
    with refused("decryption_failed"):
        crypto.open_sealed(envelope=envelope, recipient_private=other_private, associated=CONTEXT)


@examples
@given(garbage=st.binary(max_size=200), keep_magic=st.booleans())
def test_garbage_is_refused_with_a_crypto_error_only(opening, garbage, keep_magic):
    envelope = SEAL_MAGIC + b"\x01" + garbage if keep_magic else garbage
    with refused(*REFUSED):
        crypto.open_sealed(envelope=envelope, recipient_private=opening[0], associated=CONTEXT)


def test_every_truncation_is_refused(opening):
    private, public = opening
    envelope = crypto.seal(plaintext=b"a short bid", recipient_public=public, associated=CONTEXT)
    for length in range(len(envelope)):
        expected = "envelope_malformed" if length < SEAL_HEADER_LENGTH + TAG_LENGTH else "decryption_failed"
        with refused(expected):
            crypto.open_sealed(envelope=envelope[:length], recipient_private=private, associated=CONTEXT)


def test_an_envelope_naming_the_unavailable_national_suite_is_malformed(opening):
    envelope = bytearray(crypto.seal(plaintext=b"bid", recipient_public=opening[1], associated=CONTEXT))
    envelope[4] = crypto._SUITES[SUITE_SM].code
    with refused("envelope_malformed"):
        crypto.open_sealed(envelope=bytes(envelope), recipient_private=opening[0], associated=CONTEXT)


def test_a_low_order_ephemeral_key_is_refused_not_crashed(opening):
    envelope = bytearray(crypto.seal(plaintext=b"bid", recipient_public=opening[1], associated=CONTEXT))
    envelope[5:37] = bytes(32)  # the all-zero X25519 point gives the all-zero shared secret
    with refused("decryption_failed"):
        crypto.open_sealed(envelope=bytes(envelope), recipient_private=opening[0], associated=CONTEXT)


@pytest.mark.parametrize(
    ("recipient", "associated", "code"),
    [
        (bytes(31), CONTEXT, "key_invalid"),
        (bytes(32), CONTEXT, "key_invalid"),  # low order: the shared secret would be public
        (None, {}, "associated_invalid"),
        (None, {"tender": float("nan")}, "associated_invalid"),
        (None, {"tender": {1, 2}}, "associated_invalid"),
    ],
    ids=["short key", "low-order key", "no context", "NaN", "set"],
)
def test_seal_refuses_bad_keys_and_contexts(opening, recipient, associated, code):
    with refused(code):
        crypto.seal(plaintext=b"bid", recipient_public=recipient or opening[1], associated=associated)


def test_open_refuses_a_key_of_the_wrong_length(opening):
    envelope = crypto.seal(plaintext=b"bid", recipient_public=opening[1], associated=CONTEXT)
    with refused("key_invalid"):
        crypto.open_sealed(envelope=envelope, recipient_private=opening[0][:16], associated=CONTEXT)


def test_opening_keys_are_raw_x25519(opening):
    private, public = opening
    assert len(private) == len(public) == 32 and crypto.opening_public(private) == public
    assert x25519.X25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw() == public


# --- signatures, payloads, digests -----------------------------------------------------------------------------


KEY_MAKERS = {
    pki.KEY_ED25519: Ed25519PrivateKey.generate,
    pki.KEY_P256: lambda: ec.generate_private_key(ec.SECP256R1()),
}


@pytest.fixture(scope="module", params=sorted(KEY_MAKERS))
def signing_key(request) -> Ed25519PrivateKey | ec.EllipticCurvePrivateKey:
    return KEY_MAKERS[request.param]()


@examples
@given(data=st.binary(max_size=512))
def test_sign_then_verify_with_the_key_or_its_certificate(ca, signing_key, data):
    signature = crypto.sign(signing_key, data)
    crypto.verify(signing_key.public_key(), data, signature)
    crypto.verify(certify(ca, signing_key, Purpose.SIGNING), data, signature)


@examples
@given(data=st.data())
def test_a_flipped_bit_in_signature_or_data_is_refused(signing_key, data):
    message = data.draw(st.binary(min_size=1, max_size=128), label="message")
    signature = crypto.sign(signing_key, message)
    in_signature = data.draw(st.booleans(), label="in signature")
    target = signature if in_signature else message
    # ECDSA signatures vary in length, so draw independently of it and reduce.
    position = data.draw(st.integers(0, 255), label="position") % len(target)
    bit = data.draw(st.integers(0, 7), label="bit")
    with refused("signature_invalid"):
        if in_signature:
            crypto.verify(signing_key.public_key(), message, flip(signature, position, bit))
        else:
            crypto.verify(signing_key.public_key(), flip(message, position, bit), signature)


def test_a_signature_by_another_key_or_of_garbage_is_refused(signing_key):
    other = KEY_MAKERS[pki.key_kind(signing_key.public_key())]()
    signature = crypto.sign(other, b"bid")
    for bad in (signature, b"", b"\x30\x00", bytes(64), bytes(1000)):
        with refused("signature_invalid"):
            crypto.verify(signing_key.public_key(), b"bid", bad)


def test_keys_the_platform_does_not_accept_are_refused():
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with refused("key_unsupported"):
        crypto.sign(rsa_key, b"bid")
    with refused("key_unsupported"):
        crypto.verify(rsa_key.public_key(), b"bid", b"sig")
    with refused("key_unsupported"):
        crypto.verify(ec.generate_private_key(ec.SECP384R1()).public_key(), b"bid", b"sig")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@examples
@given(value=st.dictionaries(st.text(max_size=8), json_values, max_size=6), seed=st.randoms(use_true_random=False))
def test_equal_dicts_give_equal_payloads_whatever_the_key_order(value, seed):
    items = list(value.items())
    seed.shuffle(items)
    assert crypto.signed_payload(dict(items)) == crypto.signed_payload(value) == canonical_json(value)


def test_the_signed_payload_is_compact_sorted_utf8():
    assert crypto.signed_payload({"b": 1, "a": "投标", "c": [1, 2]}) == '{"a":"投标","b":1,"c":[1,2]}'.encode()
    for bad in ({"price": float("inf")}, {"x": object()}):
        with refused("payload_invalid"):
            crypto.signed_payload(bad)


def test_digest_and_digest_file_agree(tmp_path):
    assert crypto.digest(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    # Over two chunks and a bit, so the chunk boundary and the short last read are both exercised.
    content = bytes(range(256)) * (10 * 1024 + 3)
    path = tmp_path / "bid.sealed"
    path.write_bytes(content)
    assert crypto.digest_file(path) == crypto.digest(content) == hashlib.sha256(content).hexdigest()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert crypto.digest_file(str(empty)) == hashlib.sha256(b"").hexdigest()


# --- key shares ------------------------------------------------------------------------------------------------


@st.composite
def sharings(draw: st.DrawFn, min_t: int = 1) -> tuple[int, int, list[int]]:
    """(n, t, an order in which to pick the shares)."""
    n = draw(st.integers(max(min_t, 1), 8), label="n")
    t = draw(st.integers(min_t, n), label="t")
    order = draw(st.permutations(list(range(n))), label="order")
    return n, t, order


@examples
@given(sharing=sharings(), extra=st.integers(0, 2))
def test_any_t_of_the_n_shares_rebuild_the_key(sharing, extra):
    n, t, order = sharing
    private, public = crypto.opening_keypair()
    shares = crypto.split_key(private, n=n, t=t)
    assert [index for index, _ in shares] == list(range(1, n + 1))
    assert all(len(share) == SHARE_LENGTH for _, share in shares)
    chosen = [shares[i] for i in order[: min(n, t + extra)]]
    assert crypto.combine_shares(chosen, t=t, expected_public=public) == private
    assert crypto.combine_shares(chosen, t=t) == private


@examples
@given(sharing=sharings(min_t=2))
def test_fewer_than_t_shares_are_too_few(sharing):
    n, t, order = sharing
    private, public = crypto.opening_keypair()
    shares = crypto.split_key(private, n=n, t=t)
    with refused("too_few_shares"):
        crypto.combine_shares([shares[i] for i in order[: t - 1]], t=t, expected_public=public)


def test_the_largest_split_works():
    private, public = crypto.opening_keypair()
    shares = crypto.split_key(private, n=255, t=5)
    assert crypto.combine_shares(shares[-5:], t=5, expected_public=public) == private


@pytest.mark.parametrize(("n", "t"), [(3, 0), (2, 3), (256, 2), (0, 0), (True, True), (3, 2.0)])
def test_impossible_thresholds_are_refused(n, t):
    with refused("share_parameters_invalid"):
        crypto.split_key(crypto.opening_keypair()[0], n=n, t=t)


def test_only_a_32_byte_key_is_split():
    with refused("key_invalid"):
        crypto.split_key(b"x" * 16, n=3, t=2)


@examples
@given(sharing=sharings(min_t=2), forged=st.binary(min_size=32, max_size=32), with_public=st.booleans())
def test_t_minus_one_genuine_shares_and_a_forged_one_are_refused(sharing, forged, with_public):
    """A guessed last share rebuilds some key, but never one whose public half matches: refused, not returned."""
    n, t, order = sharing
    private, public = crypto.opening_keypair()
    shares = crypto.split_key(private, n=n, t=t)
    genuine = [shares[i] for i in order[: t - 1]]
    index, real = shares[order[t - 1]]
    if forged == real[SHARE_HEADER:]:
        return  # guessing the real share is not forging it (and has probability 2^-256)
    guess = (index, real[:SHARE_HEADER] + forged)
    with refused("shares_invalid"):
        crypto.combine_shares([*genuine, guess], t=t, expected_public=public if with_public else None)


def complete_with(known: list[tuple[int, bytes]], secret: bytes, index: int) -> bytes:
    """The value at ``index`` of the one polynomial of degree < t through the t−1 ``known`` points and (0, secret).

    Only the library's interpolation is used: Shamir.combine evaluates that polynomial at 0, and addition in
    GF(2^128) is XOR, so giving every point the abscissa x ⊕ index (and the secret the abscissa index) moves the
    evaluation point from 0 to ``index``.
    """
    return Shamir.combine([(x ^ index, y) for x, y in known] + [(index, secret)], ssss=False)


@examples
@given(sharing=sharings(min_t=2), other=st.binary(min_size=32, max_size=32))
def test_fewer_than_t_shares_are_consistent_with_every_key(sharing, other):
    """The issue's "t−1 shares reveal nothing usable", shown rather than assumed.

    Take the t−1 shares an attacker holds of the real key. For *any* other key, the same t−1 Shamir values are
    part of a complete, valid sharing of that other key: the attacker's shares cannot tell the keys apart. (The
    share headers differ only in the key check value, a fingerprint of the public key, which is published with
    the notice anyway.)
    """
    n, t, order = sharing
    private, _ = crypto.opening_keypair()
    shares = dict(crypto.split_key(private, n=n, t=t))
    held = sorted(i + 1 for i in order[: t - 1])
    # The other key's share headers (index, threshold, check value) come from a genuine split of it.
    alternative = dict(crypto.split_key(other, n=n, t=t))
    for index in alternative:
        if index in held:
            halves = shares[index][SHARE_HEADER:]  # the attacker's very values, unchanged
        else:
            halves = b"".join(
                complete_with([(i, shares[i][SHARE_HEADER + h : SHARE_HEADER + h + 16]) for i in held], part, index)
                for h, part in ((0, other[:16]), (16, other[16:]))
            )
        alternative[index] = alternative[index][:SHARE_HEADER] + halves
    # Any t shares of the alternative set, including all t−1 held ones, rebuild the other key, checked against its
    # public half: a complete and consistent sharing.
    rest = [i for i in sorted(alternative) if i not in held]
    picks = [held + rest[:1], held + rest[-1:]] + ([rest[:t]] if len(rest) >= t else [])
    for pick in picks:
        chosen = [(i, alternative[i]) for i in pick]
        assert crypto.combine_shares(chosen, t=t, expected_public=crypto.opening_public(other)) == other


def test_a_share_given_twice_is_refused():
    private, public = crypto.opening_keypair()
    shares = crypto.split_key(private, n=3, t=2)
    with refused("shares_invalid"):
        crypto.combine_shares([shares[0], shares[0]], t=2, expected_public=public)


def test_a_share_presented_under_another_index_is_refused():
    private, public = crypto.opening_keypair()
    shares = crypto.split_key(private, n=3, t=2)
    with refused("shares_invalid"):
        crypto.combine_shares([(2, shares[0][1]), shares[2]], t=2, expected_public=public)


def test_shares_of_two_keys_or_two_splits_do_not_mix():
    private, public = crypto.opening_keypair()
    first = crypto.split_key(private, n=3, t=2)
    second = crypto.split_key(private, n=3, t=2)  # same key, new polynomials: same check value
    other = crypto.split_key(crypto.opening_keypair()[0], n=3, t=2)
    for mixed in ([first[0], other[1]], [first[0], second[1]]):
        with refused("shares_invalid"):
            crypto.combine_shares(mixed, t=2)
        with refused("shares_invalid"):
            crypto.combine_shares(mixed, t=2, expected_public=public)


def test_shares_combined_under_another_threshold_are_refused():
    private, public = crypto.opening_keypair()
    shares = crypto.split_key(private, n=3, t=2)
    with refused("shares_invalid"):
        crypto.combine_shares(shares, t=3, expected_public=public)
    with refused("too_few_shares"):
        crypto.combine_shares(shares, t=4)


def test_genuine_shares_against_another_public_key_are_refused():
    private, _ = crypto.opening_keypair()
    shares = crypto.split_key(private, n=3, t=2)
    with refused("shares_invalid"):
        crypto.combine_shares(shares[:2], t=2, expected_public=crypto.opening_keypair()[1])
    with refused("key_invalid"):
        crypto.combine_shares(shares[:2], t=2, expected_public=b"short")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-1],
        lambda s: s + b"\x00",
        lambda s: b"XXXX" + s[4:],
        lambda s: s[:4] + b"\x09" + s[5:],  # unknown suite
        lambda s: s[:5] + b"\x00" + s[6:],  # threshold 0
        lambda s: s[:6] + b"\x00" + s[7:],  # index 0: the secret's own position
        lambda s: "not bytes",
    ],
    ids=["short", "long", "magic", "suite", "threshold 0", "index 0", "str"],
)
def test_malformed_shares_are_refused(mangle):
    private, public = crypto.opening_keypair()
    shares = crypto.split_key(private, n=3, t=2)
    index, share = shares[0]
    with refused("shares_invalid"):
        crypto.combine_shares([(index, mangle(share)), shares[1]], t=2, expected_public=public)


def test_one_of_one_is_the_key_itself_in_share_form():
    private, public = crypto.opening_keypair()
    [(index, share)] = crypto.split_key(private, n=1, t=1)
    assert index == 1 and share[SHARE_HEADER:] == private
    assert crypto.combine_shares([(index, share)], t=1, expected_public=public) == private


# --- share wrapping --------------------------------------------------------------------------------------------


WRAP_CONTEXT = {"tender": TENDER, "holder": "zhang.wei", "certificate": "1001", "index": 1}


@pytest.fixture(scope="module")
def a_share() -> bytes:
    return crypto.split_key(crypto.opening_keypair()[0], n=3, t=2)[0][1]


def test_wrap_then_unwrap_with_the_key_or_the_certificate(ca, holder, a_share):
    for recipient in (holder.public_key(), certify(ca, holder, Purpose.KEY_HOLDER)):
        wrapped = crypto.wrap_share(share=a_share, holder_public_key=recipient, associated=WRAP_CONTEXT)
        assert wrapped[:4] == WRAP_MAGIC
        assert len(wrapped) == WRAP_HEADER_LENGTH + SHARE_LENGTH + TAG_LENGTH
        assert crypto.unwrap_share(wrapped=wrapped, holder_private_key=holder, associated=WRAP_CONTEXT) == a_share


@examples
@given(data=st.data())
def test_any_flipped_bit_of_a_wrapped_share_is_refused(holder, a_share, data):
    wrapped = crypto.wrap_share(share=a_share, holder_public_key=holder.public_key(), associated=WRAP_CONTEXT)
    position = data.draw(st.integers(0, len(wrapped) - 1), label="position")
    bit = data.draw(st.integers(0, 7), label="bit")
    expected = "envelope_malformed" if position < len(WRAP_MAGIC) + 1 else "decryption_failed"
    with refused(expected):
        crypto.unwrap_share(wrapped=flip(wrapped, position, bit), holder_private_key=holder, associated=WRAP_CONTEXT)


@pytest.mark.parametrize("field", ["tender", "holder", "certificate", "index"])
def test_a_wrapped_share_is_bound_to_its_tender_holder_certificate_and_index(holder, a_share, field):
    wrapped = crypto.wrap_share(share=a_share, holder_public_key=holder.public_key(), associated=WRAP_CONTEXT)
    other = {**WRAP_CONTEXT, field: 2 if field == "index" else "other"}
    with refused("decryption_failed"):
        crypto.unwrap_share(wrapped=wrapped, holder_private_key=holder, associated=other)


def test_another_holder_cannot_unwrap(holder, a_share):
    wrapped = crypto.wrap_share(share=a_share, holder_public_key=holder.public_key(), associated=WRAP_CONTEXT)
    with refused("decryption_failed"):
        crypto.unwrap_share(
            wrapped=wrapped, holder_private_key=ec.generate_private_key(ec.SECP256R1()), associated=WRAP_CONTEXT
        )


@examples
@given(garbage=st.binary(max_size=200), keep_magic=st.booleans())
def test_garbage_wrapped_shares_are_refused_with_a_crypto_error_only(holder, garbage, keep_magic):
    wrapped = WRAP_MAGIC + b"\x01" + garbage if keep_magic else garbage
    with refused(*REFUSED):
        crypto.unwrap_share(wrapped=wrapped, holder_private_key=holder, associated=WRAP_CONTEXT)


def test_wrapping_needs_a_p256_key_and_a_real_share(holder, a_share):
    ed25519 = Ed25519PrivateKey.generate()
    with refused("key_invalid"):
        crypto.wrap_share(share=a_share, holder_public_key=ed25519.public_key(), associated=WRAP_CONTEXT)
    with refused("key_unsupported"):
        crypto.wrap_share(
            share=a_share, holder_public_key=x25519.X25519PrivateKey.generate().public_key(), associated=WRAP_CONTEXT
        )
    with refused("key_unsupported"):
        crypto.wrap_share(
            share=a_share,
            holder_public_key=ec.generate_private_key(ec.SECP384R1()).public_key(),
            associated=WRAP_CONTEXT,
        )
    with refused("shares_invalid"):
        crypto.wrap_share(share=b"the key itself", holder_public_key=holder.public_key(), associated=WRAP_CONTEXT)
    with refused("associated_invalid"):
        crypto.wrap_share(share=a_share, holder_public_key=holder.public_key(), associated={})
    wrapped = crypto.wrap_share(share=a_share, holder_public_key=holder.public_key(), associated=WRAP_CONTEXT)
    with refused("key_invalid"):
        crypto.unwrap_share(wrapped=wrapped, holder_private_key=ed25519, associated=WRAP_CONTEXT)
