"""The platform CA (agencies/pki.py): CSRs, issuance, certificate checks, signatures and CRLs. No database."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from agencies.pki import (
    KEY_ED25519,
    KEY_P256,
    REVOCATION_REASONS,
    CertificateAuthority,
    PkiError,
    Purpose,
    Subject,
    ca_generate,
    ca_load,
    certificate_check,
    certificate_issue,
    certificate_load,
    certificate_pem,
    certificate_uscc,
    crl_build,
    csr_load,
    csr_make,
    csr_subject,
    key_kind,
    public_key_fingerprint,
    sign,
    signature_verify,
)

# Whole seconds: X.509 times have one-second resolution, and the boundary tests depend on exact instants.
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
CA_NAME = "江州公共资源交易平台"
AGENCY = Subject(organisation_name="江州某某招标代理有限公司", uscc="91350100M000100Y43")
HOLDER = Subject(organisation_name="江州市财政局", uscc="914403001922038216", username="zhang.wei")
CJK = re.compile(r"[\u4e00-\u9fff]")


@contextmanager
def refused(code: str) -> Iterator[None]:
    """Expect a PkiError with this code, carrying both an English and a Chinese message."""
    with pytest.raises(PkiError) as caught:
        yield
    assert caught.value.code == code, caught.value
    assert caught.value.detail and str(caught.value) == caught.value.detail
    assert CJK.search(caught.value.detail_zh), caught.value.detail_zh


def p256() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def make_ca(name: str = CA_NAME) -> CertificateAuthority:
    key_pem, cert_pem = ca_generate(name=name, now=NOW - timedelta(days=1))
    return ca_load(key_pem, cert_pem)


def issue(
    ca: CertificateAuthority,
    key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey,
    subject: Subject = AGENCY,
    purpose: Purpose = Purpose.SIGNING,
    *,
    serial: int = 1001,
    not_before: datetime = NOW,
    not_after: datetime = NOW + timedelta(days=365),
) -> x509.Certificate:
    return certificate_issue(
        ca,
        csr_load(csr_make(key, subject)),
        subject=subject,
        purpose=purpose,
        serial=serial,
        not_before=not_before,
        not_after=not_after,
    )


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return make_ca()


@pytest.fixture(scope="module", params=[KEY_ED25519, KEY_P256])
def agency_key(request: pytest.FixtureRequest) -> Ed25519PrivateKey | ec.EllipticCurvePrivateKey:
    return Ed25519PrivateKey.generate() if request.param == KEY_ED25519 else p256()


@pytest.fixture(scope="module")
def agency_cert(
    ca: CertificateAuthority, agency_key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    return issue(ca, agency_key)


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    return data[:index] + bytes([data[index] ^ mask]) + data[index + 1 :]


# --- the CA ----------------------------------------------------------------------------------------------------


def test_generated_ca_is_a_p256_ca_valid_for_ten_years() -> None:
    key_pem, cert_pem = ca_generate(name=CA_NAME, now=NOW)
    ca = ca_load(key_pem, cert_pem)
    cert = ca.certificate
    assert key_kind(cert.public_key()) == KEY_P256
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == f"{CA_NAME} CA"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == CA_NAME
    assert cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "CN"
    assert cert.not_valid_before_utc == NOW
    assert cert.not_valid_after_utc == NOW + timedelta(days=3650)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    cert.verify_directly_issued_by(cert)  # self-signed
    assert 0 < cert.serial_number < 2**159
    assert b"ENCRYPTED" not in key_pem and b"BEGIN PRIVATE KEY" in key_pem


def test_each_generated_ca_has_its_own_key_and_serial() -> None:
    first, second = (ca_load(*ca_generate(name=CA_NAME, now=NOW)) for _ in range(2))
    assert public_key_fingerprint(first.certificate) != public_key_fingerprint(second.certificate)
    assert first.certificate.serial_number != second.certificate.serial_number


def test_ca_generate_refuses_naive_time() -> None:
    with refused("datetime_naive"):
        ca_generate(name=CA_NAME, now=datetime(2026, 3, 2, 9, 0))  # naive on purpose


def test_ca_load_accepts_an_encrypted_key_with_its_password() -> None:
    key_pem, cert_pem = ca_generate(name=CA_NAME, now=NOW)
    key = serialization.load_pem_private_key(key_pem, password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"correct horse"),
    )
    assert ca_load(encrypted, cert_pem, password=b"correct horse").certificate.subject.rfc4514_string()
    with refused("ca_invalid"):
        ca_load(encrypted, cert_pem, password=b"wrong")
    with refused("ca_invalid"):
        ca_load(encrypted, cert_pem)


def test_ca_load_refuses_a_key_that_is_not_the_certificates() -> None:
    key_pem, _ = ca_generate(name=CA_NAME, now=NOW)
    _, other_cert_pem = ca_generate(name=CA_NAME, now=NOW)
    with refused("ca_invalid"):
        ca_load(key_pem, other_cert_pem)


def test_ca_load_refuses_an_end_entity_certificate(ca: CertificateAuthority) -> None:
    key = p256()
    cert = issue(ca, key)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with refused("ca_invalid"):
        ca_load(key_pem, certificate_pem(cert).encode())


@pytest.mark.parametrize(
    # A PEM frame with a body that is no key (assembled here so no key-shaped block sits in the repository).
    "garbage",
    [b"", b"not a pem", b"-----BEGIN " + b"PRIVATE KEY-----\nAAAA\n-----END " + b"PRIVATE KEY-----\n"],
)
def test_ca_load_refuses_unreadable_input(garbage: bytes) -> None:
    key_pem, cert_pem = ca_generate(name=CA_NAME, now=NOW)
    with refused("ca_invalid"):
        ca_load(garbage, cert_pem)
    with refused("ca_invalid"):
        ca_load(key_pem, garbage)


def test_ca_load_refuses_an_rsa_ca() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "RSA CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with refused("ca_invalid"):
        ca_load(key_pem, cert.public_bytes(serialization.Encoding.PEM))


def ed25519_ca() -> CertificateAuthority:
    """A CA with an Ed25519 key, which ca_generate never makes but ca_load accepts."""
    key = Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"), x509.NameAttribute(NameOID.COMMON_NAME, "Ed CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(99)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, None)
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ca_load(key_pem, cert.public_bytes(serialization.Encoding.PEM))


def test_an_ed25519_ca_issues_certificates_that_check() -> None:
    ca = ed25519_ca()
    key = p256()
    cert = issue(ca, key)
    certificate_check(ca.certificate, cert, at=NOW)
    assert cert.signature_hash_algorithm is None  # Ed25519 signs without a separate hash
    signature_verify(cert, b"bid", sign(key, b"bid"))


# --- CSRs ------------------------------------------------------------------------------------------------------


def test_csr_round_trip_states_uscc_and_username(agency_key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> None:
    csr = csr_load(csr_make(agency_key, AGENCY))
    assert csr_subject(csr) == (AGENCY.uscc, None)
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == AGENCY.organisation_name
    assert public_key_fingerprint(csr.public_key()) == public_key_fingerprint(agency_key.public_key())


def test_csr_for_a_person_names_the_person() -> None:
    csr = csr_load(csr_make(p256(), HOLDER))
    assert csr_subject(csr) == (HOLDER.uscc, HOLDER.username)
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == HOLDER.username
    assert csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == HOLDER.organisation_name


def test_csr_load_accepts_der() -> None:
    pem = csr_make(p256(), AGENCY)
    der = x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER)
    assert csr_subject(csr_load(der)) == (AGENCY.uscc, None)


def test_csr_subject_is_none_when_absent() -> None:
    key = p256()
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nobody")]))
        .sign(key, hashes.SHA256())
    )
    assert csr_subject(csr_load(csr.public_bytes(serialization.Encoding.PEM))) == (None, None)


def test_csr_subject_is_none_when_uscc_stated_twice() -> None:
    key = p256()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, AGENCY.uscc),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, HOLDER.uscc),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    uscc, _ = csr_subject(csr_load(csr.public_bytes(serialization.Encoding.PEM)))
    assert uscc is None


def a_certificate_pem(ca: CertificateAuthority) -> bytes:
    return certificate_pem(issue(ca, p256())).encode()


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda ca: b"", id="empty"),
        pytest.param(lambda ca: bytes(range(256)) * 4, id="random-bytes"),
        pytest.param(lambda ca: b"\x30\x82\x01\x00" + b"\x00" * 40, id="der-prefix-garbage"),
        pytest.param(lambda ca: csr_make(p256(), AGENCY)[:-80], id="truncated-pem"),
        pytest.param(
            lambda ca: b"-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n", id="bad-b64"
        ),
        pytest.param(a_certificate_pem, id="certificate-pem"),
        pytest.param(
            lambda ca: x509.load_pem_x509_certificate(a_certificate_pem(ca)).public_bytes(serialization.Encoding.DER),
            id="certificate-der",
        ),
        pytest.param(lambda ca: csr_make(p256(), AGENCY) + b"\n" * (16 * 1024), id="oversized-but-valid-inside"),
    ],
)
def test_malformed_csr_is_refused(ca: CertificateAuthority, make: Callable[[CertificateAuthority], bytes]) -> None:
    with refused("csr_malformed"):
        csr_load(make(ca))


def test_truncated_der_csr_is_refused() -> None:
    der = x509.load_pem_x509_csr(csr_make(p256(), AGENCY)).public_bytes(serialization.Encoding.DER)
    for length in (1, len(der) // 2, len(der) - 1):
        with refused("csr_malformed"):
            csr_load(der[:length])


@pytest.mark.parametrize("kind", [KEY_ED25519, KEY_P256])
def test_csr_with_tampered_signature_is_refused(kind: str) -> None:
    key = Ed25519PrivateKey.generate() if kind == KEY_ED25519 else p256()
    csr = x509.load_pem_x509_csr(csr_make(key, AGENCY))
    der = csr.public_bytes(serialization.Encoding.DER)
    # The signature value is the DER's tail; flipping its last byte keeps the structure readable.
    assert der.endswith(csr.signature)
    with refused("csr_signature_invalid"):
        csr_load(flip(der, len(der) - 1))


def test_csr_whose_subject_was_edited_after_signing_is_refused() -> None:
    der = x509.load_pem_x509_csr(csr_make(p256(), AGENCY)).public_bytes(serialization.Encoding.DER)
    forged = der.replace(AGENCY.uscc.encode(), HOLDER.uscc.encode())
    assert forged != der and len(forged) == len(der)
    with refused("csr_signature_invalid"):
        csr_load(forged)


def der(tag: int, content: bytes) -> bytes:
    """One DER element (definite length), enough to assemble a CSR by hand."""
    if len(content) < 0x80:
        return bytes([tag, len(content)]) + content
    size = len(content).to_bytes((len(content).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


ECDSA_WITH_SHA256 = der(0x30, der(0x06, bytes.fromhex("2a8648ce3d040302")))


def test_csr_signed_by_another_key_is_refused() -> None:
    """Proof of possession: a request naming one public key but signed with a different private key."""
    honest = x509.load_pem_x509_csr(csr_make(p256(), AGENCY))
    body = honest.tbs_certrequest_bytes
    # Sanity: the hand assembly reproduces a CSR that verifies when the right key signs it.
    key = p256()
    genuine = x509.load_pem_x509_csr(csr_make(key, AGENCY)).tbs_certrequest_bytes
    good = der(0x30, genuine + ECDSA_WITH_SHA256 + der(0x03, b"\x00" + key.sign(genuine, ec.ECDSA(hashes.SHA256()))))
    assert csr_subject(csr_load(good)) == (AGENCY.uscc, None)

    stolen = der(0x30, body + ECDSA_WITH_SHA256 + der(0x03, b"\x00" + key.sign(body, ec.ECDSA(hashes.SHA256()))))
    with refused("csr_signature_invalid"):
        csr_load(stolen)


def test_rsa_csr_is_read_but_not_issued(ca: CertificateAuthority) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, AGENCY.uscc)]))
        .sign(key, hashes.SHA256())
    )
    loaded = csr_load(csr.public_bytes(serialization.Encoding.PEM))
    with refused("key_unsupported"):
        key_kind(loaded.public_key())
    with refused("key_unsupported"):
        certificate_issue(
            ca, loaded, subject=AGENCY, purpose=Purpose.SIGNING, serial=5, not_before=NOW, not_after=NOW + timedelta(1)
        )


@pytest.mark.parametrize(
    "public_key",
    [
        pytest.param(lambda: ec.generate_private_key(ec.SECP384R1()).public_key(), id="p384"),
        pytest.param(lambda: ec.generate_private_key(ec.SECP256K1()).public_key(), id="secp256k1"),
        pytest.param(lambda: x25519.X25519PrivateKey.generate().public_key(), id="x25519"),
        pytest.param(lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key(), id="rsa"),
    ],
)
def test_key_kind_refuses_other_keys(public_key: Callable[[], PublicKeyTypes]) -> None:
    with refused("key_unsupported"):
        key_kind(public_key())


def test_key_kind_names_supported_keys() -> None:
    assert key_kind(Ed25519PrivateKey.generate().public_key()) == KEY_ED25519
    assert key_kind(p256().public_key()) == KEY_P256


def test_p384_agency_key_is_not_issued(ca: CertificateAuthority) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    with refused("key_unsupported"):
        csr_make(key, AGENCY)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, AGENCY.uscc)]))
        .sign(key, hashes.SHA384())
    )
    with refused("key_unsupported"):
        certificate_issue(
            ca,
            csr_load(csr.public_bytes(serialization.Encoding.PEM)),
            subject=AGENCY,
            purpose=Purpose.SIGNING,
            serial=5,
            not_before=NOW,
            not_after=NOW + timedelta(days=1),
        )


@pytest.mark.parametrize(
    "subject",
    [
        Subject(organisation_name="", uscc=AGENCY.uscc),
        Subject(organisation_name="   ", uscc=AGENCY.uscc),
        Subject(organisation_name="代" * 65, uscc=AGENCY.uscc),
        Subject(organisation_name=AGENCY.organisation_name, uscc=""),
        Subject(organisation_name=AGENCY.organisation_name, uscc=AGENCY.uscc[:17]),
        Subject(organisation_name=AGENCY.organisation_name, uscc=AGENCY.uscc + "0"),
        Subject(organisation_name=AGENCY.organisation_name, uscc="９１３５０１００Ｍ０００１００Ｙ４３"),
        Subject(organisation_name=AGENCY.organisation_name, uscc=AGENCY.uscc, username="u" * 65),
    ],
)
def test_malformed_subject_is_refused(subject: Subject) -> None:
    with refused("subject_invalid"):
        csr_make(p256(), subject)


# --- issuance --------------------------------------------------------------------------------------------------


def test_issued_certificate_signs_and_verifies(
    ca: CertificateAuthority,
    agency_key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey,
    agency_cert: x509.Certificate,
) -> None:
    certificate_check(ca.certificate, agency_cert, at=NOW)
    bid = "投标文件 bid form + documents".encode()
    signature_verify(agency_cert, bid, sign(agency_key, bid))
    assert certificate_uscc(agency_cert) == AGENCY.uscc
    assert public_key_fingerprint(agency_cert) == public_key_fingerprint(agency_key.public_key())
    assert agency_cert.serial_number == 1001
    assert agency_cert.issuer == ca.certificate.subject


def test_signing_certificate_extensions(ca: CertificateAuthority, agency_cert: x509.Certificate) -> None:
    constraints = agency_cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    usage = agency_cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_agreement and not usage.value.key_cert_sign and not usage.value.crl_sign
    ski = agency_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(agency_cert.public_key())
    aki = agency_cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest


def test_key_holder_certificate_allows_key_agreement(ca: CertificateAuthority) -> None:
    key = p256()
    cert = issue(ca, key, HOLDER, Purpose.KEY_HOLDER)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_agreement and usage.digital_signature and not usage.content_commitment
    assert cert.subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == HOLDER.username
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == HOLDER.username
    # The point of the purpose: an ECDH peer can derive a shared key with the certified public key.
    ephemeral = p256()
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert ephemeral.exchange(ec.ECDH(), public) == key.exchange(ec.ECDH(), ephemeral.public_key())


def test_key_holder_purpose_refuses_ed25519(ca: CertificateAuthority) -> None:
    with refused("key_unsupported"):
        issue(ca, Ed25519PrivateKey.generate(), HOLDER, Purpose.KEY_HOLDER)


def test_key_holder_certificate_must_name_a_person(ca: CertificateAuthority) -> None:
    with refused("subject_invalid"):
        issue(ca, p256(), AGENCY, Purpose.KEY_HOLDER)


def test_issued_subject_comes_from_the_records_not_the_csr(ca: CertificateAuthority) -> None:
    key = p256()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Mallory Holdings"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Platform Root CA"),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, HOLDER.uscc),
            x509.NameAttribute(NameOID.EMAIL_ADDRESS, "mallory@example.com"),
        ]
    )
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(name)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert = certificate_issue(
        ca,
        csr_load(csr.public_bytes(serialization.Encoding.PEM)),
        subject=AGENCY,
        purpose=Purpose.SIGNING,
        serial=77,
        not_before=NOW,
        not_after=NOW + timedelta(days=30),
    )
    expected = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, AGENCY.organisation_name),
            x509.NameAttribute(NameOID.COMMON_NAME, AGENCY.organisation_name),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, AGENCY.uscc),
        ]
    )
    assert cert.subject == expected
    assert certificate_uscc(cert) == AGENCY.uscc
    assert not cert.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)
    # The CSR's requested extensions are not copied either: the certificate cannot act as a CA.
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    # Only the public key is taken from the CSR.
    assert public_key_fingerprint(cert) == public_key_fingerprint(key.public_key())


def test_issue_converts_times_to_utc(ca: CertificateAuthority) -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    start = datetime(2026, 3, 2, 9, 0, tzinfo=shanghai)
    cert = issue(ca, p256(), not_before=start, not_after=start + timedelta(days=10))
    assert cert.not_valid_before_utc == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    assert cert.not_valid_after_utc == datetime(2026, 3, 12, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("not_before", "not_after", "code"),
    [
        (NOW, NOW, "validity_invalid"),
        (NOW + timedelta(days=1), NOW, "validity_invalid"),
        (NOW - timedelta(days=2), NOW + timedelta(days=1), "validity_outside_ca"),
        (NOW, NOW + timedelta(days=3651), "validity_outside_ca"),
        (datetime(2026, 3, 2, 9, 0), NOW + timedelta(days=1), "datetime_naive"),  # naive on purpose
        (NOW, datetime(2027, 3, 2, 9, 0), "datetime_naive"),  # naive on purpose
    ],
)
def test_issue_refuses_bad_validity(
    ca: CertificateAuthority, not_before: datetime, not_after: datetime, code: str
) -> None:
    with refused(code):
        issue(ca, p256(), not_before=not_before, not_after=not_after)


@pytest.mark.parametrize("serial", [0, -1, 2**159, True])
def test_issue_refuses_bad_serial(ca: CertificateAuthority, serial: int) -> None:
    with refused("serial_invalid"):
        issue(ca, p256(), serial=serial)


def test_issue_accepts_largest_serial(ca: CertificateAuthority) -> None:
    assert issue(ca, p256(), serial=2**159 - 1).serial_number == 2**159 - 1


# --- certificate checks ----------------------------------------------------------------------------------------


def test_certificate_check_window_is_half_open(ca: CertificateAuthority) -> None:
    start, end = NOW, NOW + timedelta(days=365)
    cert = issue(ca, p256(), not_before=start, not_after=end)
    for inside in (start, start + timedelta(days=100), end - timedelta(seconds=1)):
        certificate_check(ca.certificate, cert, at=inside)
    with refused("certificate_expired"):
        certificate_check(ca.certificate, cert, at=end)
    with refused("certificate_expired"):
        certificate_check(ca.certificate, cert, at=end + timedelta(days=400))
    with refused("certificate_not_yet_valid"):
        certificate_check(ca.certificate, cert, at=start - timedelta(seconds=1))


def test_certificate_check_compares_instants_not_wall_clocks(ca: CertificateAuthority) -> None:
    cert = issue(ca, p256(), not_before=NOW, not_after=NOW + timedelta(hours=1))
    # 09:59 in Shanghai is 01:59 UTC, inside; 10:00 there is the expiry instant.
    shanghai = ZoneInfo("Asia/Shanghai")
    certificate_check(ca.certificate, cert, at=datetime(2026, 3, 2, 9, 59, 59, tzinfo=shanghai))
    with refused("certificate_expired"):
        certificate_check(ca.certificate, cert, at=datetime(2026, 3, 2, 10, 0, tzinfo=shanghai))


def test_certificate_check_refuses_naive_time(ca: CertificateAuthority, agency_cert: x509.Certificate) -> None:
    with refused("datetime_naive"):
        certificate_check(ca.certificate, agency_cert, at=datetime(2026, 3, 2, 9, 0))  # naive on purpose


def test_certificate_from_an_impostor_ca_with_the_same_name_is_refused(ca: CertificateAuthority) -> None:
    impostor = make_ca(CA_NAME)
    assert impostor.certificate.subject == ca.certificate.subject
    forged = issue(impostor, p256())
    assert forged.issuer == ca.certificate.subject  # the name alone would pass
    with refused("certificate_not_issued_by_platform"):
        certificate_check(ca.certificate, forged, at=NOW)
    # Its own CA accepts it: the refusal is about the signer, not the certificate's content.
    certificate_check(impostor.certificate, forged, at=NOW)


def test_certificate_from_a_differently_named_ca_is_refused(ca: CertificateAuthority) -> None:
    other = make_ca("别的平台")
    with refused("certificate_not_issued_by_platform"):
        certificate_check(ca.certificate, issue(other, p256()), at=NOW)


def test_certificate_with_tampered_body_is_refused(ca: CertificateAuthority) -> None:
    cert = issue(ca, p256())
    der = cert.public_bytes(serialization.Encoding.DER)
    forged = x509.load_der_x509_certificate(der.replace(AGENCY.uscc.encode(), HOLDER.uscc.encode()))
    assert certificate_uscc(forged) == HOLDER.uscc
    with refused("certificate_not_issued_by_platform"):
        certificate_check(ca.certificate, forged, at=NOW)


def test_certificate_pem_round_trip(agency_cert: x509.Certificate) -> None:
    text = certificate_pem(agency_cert)
    assert text.startswith("-----BEGIN CERTIFICATE-----")
    loaded = certificate_load(text.encode())
    assert loaded == agency_cert
    assert public_key_fingerprint(loaded) == public_key_fingerprint(agency_cert)


@pytest.mark.parametrize(
    "pem",
    [
        b"",
        b"garbage",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        b"A" * (16 * 1024 + 1),
    ],
)
def test_certificate_load_refuses_garbage(pem: bytes) -> None:
    with refused("certificate_malformed"):
        certificate_load(pem)


def test_certificate_load_refuses_a_csr_and_a_truncated_certificate(agency_cert: x509.Certificate) -> None:
    with refused("certificate_malformed"):
        certificate_load(csr_make(p256(), AGENCY))
    with refused("certificate_malformed"):
        certificate_load(certificate_pem(agency_cert).encode()[:-100])


# --- signatures ------------------------------------------------------------------------------------------------

DATA = b'{"tender": "JZ-2026-0001", "price": "1234567.00"}'


def test_signature_from_another_key_is_refused(
    agency_key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey, agency_cert: x509.Certificate
) -> None:
    stranger = Ed25519PrivateKey.generate() if isinstance(agency_key, Ed25519PrivateKey) else p256()
    with refused("signature_invalid"):
        signature_verify(agency_cert, DATA, sign(stranger, DATA))


def test_sign_refuses_unsupported_keys() -> None:
    with refused("key_unsupported"):
        sign(rsa.generate_private_key(public_exponent=65537, key_size=2048), DATA)
    with refused("key_unsupported"):
        sign(ec.generate_private_key(ec.SECP384R1()), DATA)


@given(index=st.integers(min_value=0), mask=st.integers(min_value=1, max_value=255))
def test_any_changed_byte_in_the_data_is_refused(
    agency_key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey,
    agency_cert: x509.Certificate,
    index: int,
    mask: int,
) -> None:
    signature = sign(agency_key, DATA)
    with refused("signature_invalid"):
        signature_verify(agency_cert, flip(DATA, index % len(DATA), mask), signature)


@given(index=st.integers(min_value=0), mask=st.integers(min_value=1, max_value=255))
def test_any_changed_byte_in_the_signature_is_refused(
    agency_key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey,
    agency_cert: x509.Certificate,
    index: int,
    mask: int,
) -> None:
    signature = sign(agency_key, DATA)
    with refused("signature_invalid"):
        signature_verify(agency_cert, DATA, flip(signature, index % len(signature), mask))


@given(garbage=st.binary(max_size=300))
def test_garbage_signatures_raise_only_pki_error(agency_cert: x509.Certificate, garbage: bytes) -> None:
    with refused("signature_invalid"):
        signature_verify(agency_cert, DATA, garbage)


def test_truncated_and_extended_signatures_are_refused(
    agency_key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey, agency_cert: x509.Certificate
) -> None:
    signature = sign(agency_key, DATA)
    signature_verify(agency_cert, DATA, signature)
    for bad in (signature[:-1], signature + b"\x00", b"", signature * 2):
        with refused("signature_invalid"):
            signature_verify(agency_cert, DATA, bad)


# --- fingerprints ----------------------------------------------------------------------------------------------


def test_fingerprint_is_sha256_of_the_public_key_info(ca: CertificateAuthority) -> None:
    key = p256()
    cert = issue(ca, key)
    fingerprint = public_key_fingerprint(cert)
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint)
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert fingerprint == hashlib.sha256(spki).hexdigest()


def test_fingerprint_names_the_key_not_the_certificate(ca: CertificateAuthority) -> None:
    key = p256()
    first = issue(ca, key, serial=1)
    reissued = issue(ca, key, serial=2, not_after=NOW + timedelta(days=30))
    assert first != reissued
    assert public_key_fingerprint(first) == public_key_fingerprint(reissued) == public_key_fingerprint(key.public_key())
    assert public_key_fingerprint(first) == public_key_fingerprint(certificate_load(certificate_pem(first).encode()))
    assert public_key_fingerprint(issue(ca, p256())) != public_key_fingerprint(first)
    assert public_key_fingerprint(Ed25519PrivateKey.generate().public_key()) != public_key_fingerprint(first)


# --- CRLs ------------------------------------------------------------------------------------------------------


def test_crl_lists_revocations_and_is_signed_by_the_ca(ca: CertificateAuthority) -> None:
    revoked_at = NOW - timedelta(hours=3)
    entries = [
        (1001, revoked_at, "key_compromise"),
        (1002, revoked_at + timedelta(minutes=5), "superseded"),
        (1003, revoked_at, "unspecified"),
        (1004, revoked_at, "cessation_of_operation"),
        (1005, revoked_at, "affiliation_changed"),
    ]
    crl = x509.load_pem_x509_crl(crl_build(ca, iter(entries), now=NOW, next_update=NOW + timedelta(days=7)))
    ca_public = ca.certificate.public_key()
    assert isinstance(ca_public, ec.EllipticCurvePublicKey)
    assert crl.is_signature_valid(ca_public)
    assert crl.issuer == ca.certificate.subject
    assert crl.last_update_utc == NOW
    assert crl.next_update_utc == NOW + timedelta(days=7)
    assert len(crl) == len(entries)
    expected_flags = {
        "key_compromise": x509.ReasonFlags.key_compromise,
        "superseded": x509.ReasonFlags.superseded,
        "cessation_of_operation": x509.ReasonFlags.cessation_of_operation,
        "affiliation_changed": x509.ReasonFlags.affiliation_changed,
    }
    for serial, when, reason in entries:
        entry = crl.get_revoked_certificate_by_serial_number(serial)
        assert entry is not None
        assert entry.revocation_date_utc == when
        if reason == "unspecified":
            # RFC 5280 §5.3.1: "unspecified" is expressed by leaving the reason code out.
            with pytest.raises(x509.ExtensionNotFound):
                entry.extensions.get_extension_for_class(x509.CRLReason)
        else:
            assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == expected_flags[reason]
    assert crl.get_revoked_certificate_by_serial_number(9999) is None
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert (
        aki.key_identifier == ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    )


def test_crl_is_not_valid_under_another_ca(ca: CertificateAuthority) -> None:
    impostor = make_ca(CA_NAME)
    crl = x509.load_pem_x509_crl(crl_build(impostor, [], now=NOW, next_update=NOW + timedelta(days=1)))
    assert len(crl) == 0
    ca_public = ca.certificate.public_key()
    assert isinstance(ca_public, ec.EllipticCurvePublicKey)
    assert not crl.is_signature_valid(ca_public)


def test_later_crl_has_a_larger_number(ca: CertificateAuthority) -> None:
    def number(now: datetime) -> int:
        crl = x509.load_pem_x509_crl(crl_build(ca, [], now=now, next_update=now + timedelta(days=1)))
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number

    assert number(NOW + timedelta(seconds=1)) > number(NOW)


def test_crl_refuses_unknown_reason(ca: CertificateAuthority) -> None:
    for reason in ("compromised", "KEY_COMPROMISE", "keyCompromise", "remove_from_crl", ""):
        with refused("revocation_reason_unknown"):
            crl_build(ca, [(1, NOW, reason)], now=NOW, next_update=NOW + timedelta(days=1))


def test_crl_refuses_bad_entries_and_window(ca: CertificateAuthority) -> None:
    later = NOW + timedelta(days=1)
    with refused("crl_invalid"):
        crl_build(ca, [(1, NOW, "superseded"), (1, NOW, "key_compromise")], now=NOW, next_update=later)
    with refused("crl_invalid"):
        crl_build(ca, [(0, NOW, "superseded")], now=NOW, next_update=later)
    with refused("crl_invalid"):
        crl_build(ca, [], now=NOW, next_update=NOW)
    with refused("datetime_naive"):
        crl_build(ca, [(1, datetime(2026, 3, 1), "superseded")], now=NOW, next_update=later)  # naive on purpose


def test_revocation_reasons_are_the_five_rfc_names_in_order() -> None:
    assert REVOCATION_REASONS == (
        "unspecified",
        "key_compromise",
        "affiliation_changed",
        "superseded",
        "cessation_of_operation",
    )
    # Each name is one cryptography knows, so crl_build can map every offered reason.
    for name in REVOCATION_REASONS:
        assert x509.ReasonFlags[name].name == name


def test_pki_error_is_a_value_error_with_both_messages() -> None:
    error = PkiError("x_code", "English.", "中文。")
    assert isinstance(error, ValueError)
    assert (error.code, error.detail, error.detail_zh, str(error)) == ("x_code", "English.", "中文。", "English.")
