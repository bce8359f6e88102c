"""Certificates through the platform: an admitted agency's bid-signing certificate, an opening-key holder's
key, revocation (by the owner, an operator, or removal of the agency), the published CA certificate and CRL,
and signature checks as of a moment. The private keys stay in the test (the "client"); the server only sees
CSRs."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import NameOID
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import Organisation, User
from agencies import pki
from agencies.choices import AdmissionStatus
from agencies.models import Agency, Certificate
from agencies.services.admission import agency_remove
from agencies.services.certificates import signature_check
from core import clock
from core.errors import ApplicationError
from core.models import AuditEntry
from core.permissions import Role
from tests import factories
from tests.conftest import T0, client_for

MINE = "/api/agencies/me/certificates/"
KEYS = "/api/keys/"
CA = "/api/public/ca/"
CRL = "/api/public/ca/crl/"

KeyMaker = Callable[[], PrivateKeyTypes]


def ed25519() -> PrivateKeyTypes:
    return Ed25519PrivateKey.generate()


def p256() -> PrivateKeyTypes:
    return ec.generate_private_key(ec.SECP256R1())


def public_list(uscc: str) -> str:
    return f"/api/public/agencies/{uscc}/certificates/"


def public_detail(serial: str) -> str:
    return f"/api/public/certificates/{serial}/"


def revoke_url(serial: str) -> str:
    return f"/api/certificates/{serial}/revoke/"


def csr_for(key: PrivateKeyTypes, org: Organisation, username: str = "") -> str:
    return pki.csr_make(key, pki.Subject(organisation_name=org.name, uscc=org.uscc, username=username)).decode()


def csr_raw(key: PrivateKeyTypes, attributes: list[x509.NameAttribute], algorithm: Any = None) -> str:
    """A CSR built directly with cryptography, for subjects pki.csr_make would never write."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes))
    return builder.sign(key, algorithm).public_bytes(serialization.Encoding.PEM).decode()  # type: ignore[arg-type]


# Every key a test's agency client made, by the serial of its certificate: what the client keeps.
KEYS_BY_SERIAL: dict[str, PrivateKeyTypes] = {}


def endorsement(org: Organisation, csr: str) -> dict[str, str]:
    """The client endorses a new request with the key of a valid certificate it holds (none for a first one)."""
    now = clock.now()
    valid = Certificate.objects.filter(
        organisation=org, purpose="signing", revoked_at__isnull=True, not_before__lte=now, not_after__gt=now
    )
    current = next((c for c in valid if c.serial in KEYS_BY_SERIAL), None)
    if current is None:
        return {}
    digest = pki.csr_digest(pki.csr_load(csr.encode()))
    payload = pki.rollover_payload(subject=org.uscc, csr_sha256=digest, certificate=current.serial)
    signature = base64.b64encode(pki.sign(KEYS_BY_SERIAL[current.serial], payload)).decode()
    return {"endorsement": signature, "endorsing_certificate": current.serial}


def revoke_body(serial: str, reason: str, note: str | None = None) -> dict[str, str]:
    """An agency revoking its own certificate signs the revocation with that certificate's key."""
    payload = pki.revocation_payload(serial=serial, reason=reason)
    body = {"reason": reason, "signature": base64.b64encode(pki.sign(KEYS_BY_SERIAL[serial], payload)).decode()}
    return body if note is None else {**body, "note": note}


def issue(user: User, key: PrivateKeyTypes | None = None) -> tuple[PrivateKeyTypes, dict[str, Any]]:
    """Request a signing certificate through the API as an agency's client would; returns (key, body)."""
    key = key or ed25519()
    csr = csr_for(key, user.organisation)
    response = client_for(user).post(MINE, {"csr": csr, **endorsement(user.organisation, csr)}, format="json")
    assert response.status_code == 201, response.json()
    KEYS_BY_SERIAL[response.json()["serial"]] = key
    return key, response.json()


def row(serial: str) -> Certificate:
    return Certificate.objects.get(serial=serial)


def counts() -> tuple[int, int]:
    return Certificate.objects.count(), AuditEntry.objects.count()


def assert_refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()
    assert body["code"] == code, body
    assert body["detail"] and body["detail_zh"], body
    return body


def refused(code: str, **kwargs: Any) -> None:
    with pytest.raises(ApplicationError) as caught:
        signature_check(**kwargs)
    assert caught.value.code == code, caught.value.as_dict()
    assert caught.value.detail and caught.value.detail_zh


def ca_from_api() -> x509.Certificate:
    response = APIClient().get(CA)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-pem-file")
    return x509.load_pem_x509_certificate(response.content)


def crl_from_api() -> x509.CertificateRevocationList:
    response = APIClient().get(CRL)
    assert response.status_code == 200
    crl = x509.load_pem_x509_crl(response.content)
    assert crl.is_signature_valid(ca_from_api().public_key())  # type: ignore[arg-type]
    return crl


# --- 1. happy path -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("make_key", "kind"), [(ed25519, pki.KEY_ED25519), (p256, pki.KEY_P256)])
def test_admitted_agency_gets_a_certificate_anyone_can_verify(world, api, make_key: KeyMaker, kind: str) -> None:
    org = world.agency.organisation
    key = make_key()
    audits_before = AuditEntry.objects.count()

    response = client_for(world.agency).post(MINE, {"csr": csr_for(key, org)}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["purpose"] == "signing"
    assert body["uscc"] == org.uscc
    assert body["holder"] is None
    assert body["key_kind"] == kind
    assert body["status"] == "valid"
    assert body["revoked_at"] is None
    cert = pki.certificate_load(body["pem"].encode())
    assert pki.certificate_uscc(cert) == org.uscc
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == org.name
    assert pki.public_key_fingerprint(cert) == pki.public_key_fingerprint(key.public_key()) == body["fingerprint"]
    assert cert.serial_number == int(body["serial"], 16)
    assert cert.not_valid_before_utc == clock.now() == T0
    assert cert.not_valid_after_utc == T0 + timedelta(days=settings.AGORA_CERTIFICATE_DAYS)
    # One audit entry records the issue.
    assert AuditEntry.objects.count() == audits_before + 1
    assert AuditEntry.objects.order_by("-id").first().action == "certificate.issue"

    # Public: listed for the agency, and by serial (any case), for anonymous verifiers.
    listed = api.get(public_list(org.uscc))
    assert listed.status_code == 200
    assert [c["serial"] for c in listed.json()["results"]] == [body["serial"]]
    for serial in (body["serial"], body["serial"].upper()):
        detail = api.get(public_detail(serial))
        assert detail.status_code == 200
        assert detail.json()["pem"] == body["pem"]
        assert detail.json()["fingerprint"] == body["fingerprint"]
    # And the agency sees it among its own.
    own = client_for(world.agency).get(MINE)
    assert own.status_code == 200
    assert [c["serial"] for c in own.json()] == [body["serial"]]

    # A signature made with the client's key verifies against the stored certificate, now.
    data = "投标文件 bid form v1".encode()
    signature = pki.sign(key, data)
    signature_check(certificate=row(body["serial"]), data=data, signature=signature, at=clock.now())
    # …but not over other data.
    refused("signature_invalid", certificate=row(body["serial"]), data=data + b"!", signature=signature, at=clock.now())

    # The certificate chains to the CA certificate the platform publishes.
    ca_cert = ca_from_api()
    pki.certificate_check(ca_cert, cert, at=clock.now())
    assert cert.issuer == ca_cert.subject


def test_public_certificate_endpoints_answer_404_for_unknown(world, api) -> None:
    assert_refused(api.get(public_detail("ab" * 16)), 404, "not_found")
    listed = api.get(public_list(factories.valid_uscc(987654)))
    assert listed.status_code == 200
    assert listed.json()["results"] == []


def test_reissue_for_same_agency_lists_every_certificate(world, api) -> None:
    _, first = issue(world.agency)
    clock.advance(timedelta(hours=1))
    _, second = issue(world.agency, p256())
    serials = [c["serial"] for c in api.get(public_list(world.agency.organisation.uscc)).json()["results"]]
    assert sorted(serials) == sorted([first["serial"], second["serial"]])
    assert first["serial"] != second["serial"]


# --- 2. revocation and expiry ------------------------------------------------------------------------------


def test_signature_refused_after_revocation_but_earlier_ones_still_verify(world, api) -> None:
    key, body = issue(world.agency)
    serial = body["serial"]
    data = b"sealed bid ciphertext digest"
    signature = pki.sign(key, data)
    clock.advance(timedelta(hours=1))

    response = client_for(world.agency).post(revoke_url(serial), revoke_body(serial, "key_compromise"), format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "revoked"
    assert response.json()["revocation_reason"] == "key_compromise"
    cert = row(serial)
    assert cert.revoked_at == clock.now()
    assert cert.revoked_by == world.agency
    assert AuditEntry.objects.order_by("-id").first().action == "certificate.revoke"
    # The public view shows the revocation.
    assert api.get(public_detail(serial)).json()["status"] == "revoked"

    revoked_at = cert.revoked_at
    assert revoked_at is not None
    refused("certificate_revoked", certificate=cert, data=data, signature=signature, at=revoked_at)
    refused(
        "certificate_revoked", certificate=cert, data=data, signature=signature, at=revoked_at + timedelta(seconds=1)
    )
    signature_check(certificate=cert, data=data, signature=signature, at=revoked_at - timedelta(seconds=1))
    signature_check(certificate=cert, data=data, signature=signature, at=revoked_at - timedelta(milliseconds=1))

    # The CRL, signed by the published CA, lists the serial with its reason and time.
    crl = crl_from_api()
    entry = crl.get_revoked_certificate_by_serial_number(int(serial, 16))
    assert entry is not None
    assert entry.revocation_date_utc == revoked_at
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise
    assert crl.issuer == ca_from_api().subject


def test_crl_lists_only_revoked_certificates(world) -> None:
    _, kept = issue(world.agency)
    _, gone = issue(world.agency, p256())
    clock.advance(timedelta(minutes=5))
    client_for(world.agency).post(revoke_url(gone["serial"]), revoke_body(gone["serial"], "superseded"), format="json")
    crl = crl_from_api()
    assert crl.get_revoked_certificate_by_serial_number(int(gone["serial"], 16)) is not None
    assert crl.get_revoked_certificate_by_serial_number(int(kept["serial"], 16)) is None
    assert len(crl) == 1


def test_empty_crl_is_still_signed(world) -> None:
    crl = crl_from_api()
    assert len(crl) == 0
    assert crl.last_update_utc == clock.now()
    assert crl.next_update_utc is not None and crl.next_update_utc > clock.now()


def test_signature_refused_at_expiry_and_accepted_just_before(world, api) -> None:
    key, body = issue(world.agency, p256())
    cert = row(body["serial"])
    data = b"opening record"
    signature = pki.sign(key, data)

    refused("certificate_expired", certificate=cert, data=data, signature=signature, at=cert.not_after)
    refused(
        "certificate_expired", certificate=cert, data=data, signature=signature, at=cert.not_after + timedelta(days=1)
    )
    signature_check(certificate=cert, data=data, signature=signature, at=cert.not_after - timedelta(milliseconds=1))
    # Nor before it was issued.
    refused(
        "certificate_not_yet_valid",
        certificate=cert,
        data=data,
        signature=signature,
        at=cert.not_before - timedelta(milliseconds=1),
    )
    # The public status follows the clock.
    clock.freeze(cert.not_after)
    assert api.get(public_detail(body["serial"])).json()["status"] == "expired"


# --- 3. bad input changes nothing --------------------------------------------------------------------------


def _truncated_csr(world) -> str:
    pem = csr_for(ed25519(), world.agency.organisation)
    return pem[: len(pem) // 2]


@pytest.mark.parametrize(
    "make_csr",
    [
        pytest.param(lambda world: "this is not a certificate signing request", id="garbage"),
        pytest.param(lambda world: "", id="empty"),
        pytest.param(_truncated_csr, id="truncated-pem"),
        pytest.param(
            lambda world: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
            id="pem-with-junk-body",
        ),
    ],
)
def test_malformed_csr_is_refused(world, make_csr: Callable[[Any], str]) -> None:
    before = counts()
    response = client_for(world.agency).post(MINE, {"csr": make_csr(world)}, format="json")
    assert_refused(response, 400, "csr_malformed")
    assert counts() == before


def test_oversized_csr_is_refused(world) -> None:
    before = counts()
    response = client_for(world.agency).post(MINE, {"csr": "A" * (17 * 1024)}, format="json")
    assert_refused(response, 400, "csr_malformed")
    assert counts() == before


def test_csr_with_broken_self_signature_is_refused(world) -> None:
    org = world.agency.organisation
    key = ed25519()
    der = x509.load_pem_x509_csr(csr_for(key, org).encode()).public_bytes(serialization.Encoding.DER)
    # The DER ends with the Ed25519 signature: flip one bit of it.
    forged = x509.load_der_x509_csr(der[:-1] + bytes([der[-1] ^ 0x01]))
    pem = forged.public_bytes(serialization.Encoding.PEM).decode()
    before = counts()
    response = client_for(world.agency).post(MINE, {"csr": pem}, format="json")
    assert_refused(response, 400, "csr_signature_invalid")
    assert counts() == before


def test_csr_naming_another_agency_is_refused(world) -> None:
    other = factories.admitted_agency(world.operator).organisation
    before = counts()
    response = client_for(world.agency).post(MINE, {"csr": csr_for(ed25519(), other)}, format="json")
    body = assert_refused(response, 400, "csr_subject_mismatch")
    assert "csr" in body["fields"]
    assert counts() == before


def test_csr_without_uscc_is_refused(world) -> None:
    org = world.agency.organisation
    pem = csr_raw(
        ed25519(),
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org.name), x509.NameAttribute(NameOID.COMMON_NAME, org.name)],
    )
    before = counts()
    response = client_for(world.agency).post(MINE, {"csr": pem}, format="json")
    body = assert_refused(response, 400, "csr_uscc_missing")
    assert "csr" in body["fields"]
    assert counts() == before


def test_rsa_key_is_refused(world) -> None:
    org = world.agency.organisation
    pem = csr_raw(
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org.name),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, org.uscc),
        ],
        hashes.SHA256(),
    )
    before = counts()
    response = client_for(world.agency).post(MINE, {"csr": pem}, format="json")
    assert_refused(response, 400, "key_unsupported")
    assert counts() == before


def test_other_curve_is_refused(world) -> None:
    org = world.agency.organisation
    pem = csr_raw(
        ec.generate_private_key(ec.SECP384R1()),
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org.name),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, org.uscc),
        ],
        hashes.SHA256(),
    )
    before = counts()
    response = client_for(world.agency).post(MINE, {"csr": pem}, format="json")
    assert_refused(response, 400, "key_unsupported")
    assert counts() == before


def test_agency_not_yet_admitted_is_refused(world) -> None:
    applicant = factories.applied_agency()
    before = counts()
    response = client_for(applicant).post(MINE, {"csr": csr_for(ed25519(), applicant.organisation)}, format="json")
    assert_refused(response, 409, "agency_not_admitted")
    assert counts() == before


def test_key_already_certified_for_another_agency_is_refused(world) -> None:
    key, _ = issue(world.agency, p256())
    other = factories.admitted_agency(world.operator)
    before = counts()
    response = client_for(other).post(MINE, {"csr": csr_for(key, other.organisation)}, format="json")
    assert_refused(response, 409, "key_in_use")
    assert counts() == before
    # Nor may a key holder reuse it.
    response = client_for(world.purchaser).post(
        KEYS, {"csr": csr_for(key, world.purchaser.organisation, world.purchaser.username)}, format="json"
    )
    assert_refused(response, 409, "key_in_use")
    assert counts() == before


def test_missing_csr_field_is_refused(world) -> None:
    before = counts()
    response = client_for(world.agency).post(MINE, {}, format="json")
    body = assert_refused(response, 400, "invalid")
    assert "csr" in body["fields"]
    assert counts() == before


# --- 4. permissions ---------------------------------------------------------------------------------------


def test_anonymous_cannot_request(world, api) -> None:
    before = counts()
    response = api.post(MINE, {"csr": csr_for(ed25519(), world.agency.organisation)}, format="json")
    assert_refused(response, 401, "not_authenticated")
    assert_refused(api.get(MINE), 401, "not_authenticated")
    assert counts() == before


def test_purchaser_cannot_request_an_agency_certificate(world) -> None:
    before = counts()
    response = client_for(world.purchaser).post(
        MINE, {"csr": csr_for(ed25519(), world.purchaser.organisation)}, format="json"
    )
    assert_refused(response, 403, "forbidden")
    assert counts() == before


def test_anonymous_cannot_revoke(world, api) -> None:
    _, body = issue(world.agency)
    before = counts()
    assert_refused(
        api.post(revoke_url(body["serial"]), {"reason": "superseded"}, format="json"), 401, "not_authenticated"
    )
    assert row(body["serial"]).revoked_at is None
    assert counts() == before


@pytest.mark.parametrize("stranger", ["other_agency", "purchaser", "supervisor"])
def test_stranger_cannot_revoke_my_certificate(world, stranger: str) -> None:
    _, body = issue(world.agency)
    actor = factories.admitted_agency(world.operator) if stranger == "other_agency" else getattr(world, stranger)
    before = counts()
    response = client_for(actor).post(revoke_url(body["serial"]), {"reason": "key_compromise"}, format="json")
    assert_refused(response, 404, "not_found")
    cert = row(body["serial"])
    assert cert.revoked_at is None and cert.revocation_reason == "" and cert.revoked_by is None
    assert counts() == before


def test_colleague_in_same_agency_may_revoke(world) -> None:
    _, body = issue(world.agency)
    colleague = factories.user(Role.AGENCY, org=world.agency.organisation)
    response = client_for(colleague).post(
        revoke_url(body["serial"]), revoke_body(body["serial"], "affiliation_changed"), format="json"
    )
    assert response.status_code == 200, response.json()
    assert row(body["serial"]).revoked_by == colleague


def test_operator_may_revoke_any_certificate(world) -> None:
    _, body = issue(world.agency)
    clock.advance(timedelta(minutes=1))
    audits = AuditEntry.objects.count()
    response = client_for(world.operator).post(
        revoke_url(body["serial"].upper()), {"reason": "cessation_of_operation", "note": "核查发现"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["revocation_reason"] == "cessation_of_operation"
    assert response.json()["revocation_note"] == "核查发现"
    cert = row(body["serial"])
    assert cert.revoked_by == world.operator
    assert cert.revoked_at == clock.now()
    assert AuditEntry.objects.count() == audits + 1


def test_revoking_twice_is_refused(world) -> None:
    _, body = issue(world.agency)
    client = client_for(world.agency)
    assert (
        client.post(revoke_url(body["serial"]), revoke_body(body["serial"], "superseded"), format="json").status_code
        == 200
    )
    first = row(body["serial"])
    clock.advance(timedelta(hours=1))
    before = counts()
    assert_refused(
        client.post(revoke_url(body["serial"]), revoke_body(body["serial"], "key_compromise"), format="json"),
        409,
        "already_revoked",
    )
    assert_refused(
        client_for(world.operator).post(revoke_url(body["serial"]), {"reason": "key_compromise"}, format="json"),
        409,
        "already_revoked",
    )
    again = row(body["serial"])
    assert (again.revoked_at, again.revocation_reason) == (first.revoked_at, "superseded")
    assert counts() == before


def test_unspecified_reason_needs_a_note(world) -> None:
    _, body = issue(world.agency)
    client = client_for(world.agency)
    before = counts()
    for data in (revoke_body(body["serial"], "unspecified"), revoke_body(body["serial"], "unspecified", "   ")):
        assert_refused(client.post(revoke_url(body["serial"]), data, format="json"), 400, "reason_required")
    assert row(body["serial"]).revoked_at is None
    assert counts() == before

    response = client.post(
        revoke_url(body["serial"]), revoke_body(body["serial"], "unspecified", " 换用新设备 "), format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["revocation_note"] == "换用新设备"
    # RFC 5280: "unspecified" is written by leaving the reason out of the CRL entry.
    entry = crl_from_api().get_revoked_certificate_by_serial_number(int(body["serial"], 16))
    assert entry is not None
    with pytest.raises(x509.ExtensionNotFound):
        entry.extensions.get_extension_for_class(x509.CRLReason)


def test_unknown_reason_and_unknown_serial_are_refused(world) -> None:
    _, body = issue(world.agency)
    client = client_for(world.agency)
    before = counts()
    body_err = assert_refused(
        client.post(revoke_url(body["serial"]), {"reason": "lost"}, format="json"), 400, "invalid"
    )
    assert "reason" in body_err["fields"]
    assert_refused(client.post(revoke_url("ab" * 16), {"reason": "superseded"}, format="json"), 404, "not_found")
    assert row(body["serial"]).revoked_at is None
    assert counts() == before


# --- 5. key holders ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.PURCHASER, Role.SUPERVISOR, Role.OPERATOR])
def test_key_holder_registers_a_p256_key(world, api, role: str) -> None:
    holder = world.by_role(role)
    org = holder.organisation
    key = p256()
    # The world's holders already registered a key (tenders need them); a newer one is added beside it.
    earlier = [c.serial for c in holder.certificates.all()]
    # A colleague in the same organisation, with a key of their own.
    colleague = factories.user(role, org=org)
    colleague_response = client_for(colleague).post(
        KEYS, {"csr": csr_for(p256(), org, colleague.username)}, format="json"
    )
    assert colleague_response.status_code == 201, colleague_response.json()

    response = client_for(holder).post(KEYS, {"csr": csr_for(key, org, holder.username)}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["purpose"] == "key_holder"
    assert body["holder"] == holder.username
    assert body["uscc"] == org.uscc
    assert body["key_kind"] == pki.KEY_P256
    cert = pki.certificate_load(body["pem"].encode())
    assert pki.certificate_uscc(cert) == org.uscc
    assert cert.subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == holder.username
    assert pki.public_key_fingerprint(cert) == pki.public_key_fingerprint(key.public_key())
    assert cert.not_valid_before_utc == T0
    pki.certificate_check(ca_from_api(), cert, at=clock.now())
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_agreement  # shares are encrypted to it

    mine = client_for(holder).get(KEYS)
    assert mine.status_code == 200
    assert [c["serial"] for c in mine.json()] == [body["serial"], *earlier]  # newest first
    theirs = client_for(colleague).get(KEYS)
    assert [c["serial"] for c in theirs.json()] == [colleague_response.json()["serial"]]
    # A key holder's key is not an agency's signing certificate.
    assert api.get(public_list(org.uscc)).json()["results"] == []


def test_key_holder_may_revoke_own_key_but_not_a_colleagues(world) -> None:
    org = world.purchaser.organisation
    response = client_for(world.purchaser).post(
        KEYS, {"csr": csr_for(p256(), org, world.purchaser.username)}, format="json"
    )
    serial = response.json()["serial"]
    colleague = factories.user(Role.PURCHASER, org=org)
    assert_refused(
        client_for(colleague).post(revoke_url(serial), {"reason": "key_compromise"}, format="json"), 404, "not_found"
    )
    # Nor may an agency user of another organisation.
    assert_refused(
        client_for(world.agency).post(revoke_url(serial), {"reason": "key_compromise"}, format="json"), 404, "not_found"
    )
    assert row(serial).revoked_at is None
    response = client_for(world.purchaser).post(revoke_url(serial), {"reason": "key_compromise"}, format="json")
    assert response.status_code == 200, response.json()
    assert client_for(world.purchaser).get(KEYS).json()[0]["status"] == "revoked"


@pytest.mark.parametrize("role", [Role.PURCHASER, Role.SUPERVISOR, Role.OPERATOR])
def test_key_holder_ed25519_key_is_refused(world, role: str) -> None:
    holder = world.by_role(role)
    before = counts()
    response = client_for(holder).post(
        KEYS, {"csr": csr_for(ed25519(), holder.organisation, holder.username)}, format="json"
    )
    assert_refused(response, 400, "key_unsupported")
    assert counts() == before


def test_key_holder_csr_naming_another_user_or_organisation_is_refused(world) -> None:
    holder = world.supervisor
    org = holder.organisation
    before = counts()
    for csr in (
        csr_for(p256(), org, world.purchaser.username),
        csr_for(p256(), org, ""),
        csr_for(p256(), world.purchaser.organisation, holder.username),
    ):
        body = assert_refused(client_for(holder).post(KEYS, {"csr": csr}, format="json"), 400, "csr_subject_mismatch")
        assert "csr" in body["fields"]
    assert counts() == before


def test_agency_user_cannot_register_a_key_holder_key(world) -> None:
    before = counts()
    org = world.agency.organisation
    response = client_for(world.agency).post(KEYS, {"csr": csr_for(p256(), org, world.agency.username)}, format="json")
    assert_refused(response, 403, "forbidden")
    assert_refused(client_for(world.agency).get(KEYS), 403, "forbidden")
    assert_refused(APIClient().get(KEYS), 401, "not_authenticated")
    assert counts() == before


# --- 6. removing an agency -----------------------------------------------------------------------------------


def test_removing_an_agency_revokes_its_valid_certificates(world) -> None:
    key, first = issue(world.agency)
    clock.advance(timedelta(days=1))
    _, superseded = issue(world.agency, p256())
    client_for(world.agency).post(
        revoke_url(superseded["serial"]), revoke_body(superseded["serial"], "superseded"), format="json"
    )
    superseded_at = row(superseded["serial"]).revoked_at
    _, second = issue(world.agency, p256())
    other = factories.admitted_agency(world.operator)
    _, bystander = issue(other)
    clock.advance(timedelta(days=1))
    data = b"bid signed before removal"
    signature = pki.sign(key, data)

    agency = agency_remove(actor=world.operator, agency_id=world.agency.organisation.agency.pk, reason="提供虚假材料")

    assert agency.status == AdmissionStatus.REMOVED
    assert Agency.objects.get(pk=agency.pk).status == AdmissionStatus.REMOVED
    for serial in (first["serial"], second["serial"]):
        cert = row(serial)
        assert cert.revoked_at == clock.now()
        assert cert.revocation_reason == "cessation_of_operation"
        assert cert.revocation_note == "提供虚假材料"
        assert cert.revoked_by == world.operator
    # An earlier revocation keeps its own reason and time; another agency is untouched.
    kept = row(superseded["serial"])
    assert (kept.revoked_at, kept.revocation_reason) == (superseded_at, "superseded")
    assert row(bystander["serial"]).revoked_at is None
    assert AuditEntry.objects.filter(action="certificate.revoke").count() == 3

    # Signatures from before the removal still verify; from the removal on, they are refused.
    cert = row(first["serial"])
    signature_check(certificate=cert, data=data, signature=signature, at=clock.now() - timedelta(seconds=1))
    refused("certificate_revoked", certificate=cert, data=data, signature=signature, at=clock.now())
    crl = crl_from_api()
    for serial in (first["serial"], second["serial"]):
        entry = crl.get_revoked_certificate_by_serial_number(int(serial, 16))
        assert entry is not None
        reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        assert reason == x509.ReasonFlags.cessation_of_operation
    assert crl.get_revoked_certificate_by_serial_number(int(bystander["serial"], 16)) is None

    # Verifiers still find every certificate of the removed agency, revoked ones included.
    listed = APIClient().get(public_list(world.agency.organisation.uscc)).json()["results"]
    assert {c["serial"]: c["status"] for c in listed} == {
        first["serial"]: "revoked",
        superseded["serial"]: "revoked",
        second["serial"]: "revoked",
    }

    # A removed agency cannot get a new certificate.
    before = counts()
    response = client_for(world.agency).post(
        MINE, {"csr": csr_for(ed25519(), world.agency.organisation)}, format="json"
    )
    assert_refused(response, 409, "agency_not_admitted")
    assert counts() == before


def test_removing_an_agency_leaves_expired_certificates_alone(world, settings) -> None:
    settings.AGORA_CERTIFICATE_DAYS = 1
    _, expired = issue(world.agency)
    clock.advance(timedelta(days=2))
    settings.AGORA_CERTIFICATE_DAYS = 730
    _, current = issue(world.agency)

    agency_remove(actor=world.operator, agency_id=world.agency.organisation.agency.pk, reason="停止经营")

    assert row(expired["serial"]).revoked_at is None
    assert row(current["serial"]).revocation_reason == "cessation_of_operation"


def test_a_key_reported_compromised_is_never_certified_again(world):
    from agencies.models import Certificate
    from agencies.services import certificates
    from tests.agencies.helpers import agencies_state, signing_csr

    org = world.agency.organisation
    key, csr = signing_csr(org)
    cert = certificates.certificate_request(actor=world.agency, csr=csr)
    KEYS_BY_SERIAL[cert.serial] = key
    certificates.certificate_revoke(
        actor=world.agency, serial=cert.serial, note="私钥泄露", **revoke_body(cert.serial, "key_compromise")
    )
    before = agencies_state()
    response = client_for(world.agency).post(
        "/api/agencies/me/certificates/", {"csr": signing_csr(org, key)[1]}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "key_compromised")
    assert agencies_state() == before
    # A key superseded in the normal way may be certified again (for example after a renewal mix-up).
    other_key, other_csr = signing_csr(org)
    renewed = certificates.certificate_request(actor=world.agency, csr=other_csr)
    KEYS_BY_SERIAL[renewed.serial] = other_key
    certificates.certificate_revoke(
        actor=world.agency, serial=renewed.serial, **revoke_body(renewed.serial, "superseded")
    )
    assert certificates.certificate_request(actor=world.agency, csr=signing_csr(org, other_key)[1]).fingerprint == (
        renewed.fingerprint
    )
    assert Certificate.objects.filter(fingerprint=renewed.fingerprint).count() == 2
