"""Every act is the actor's own: an administrator who takes over an agency's login still cannot act in its name.

The issue: with an agency's API token the superuser withdrew the agency's bid, and the audit trail named the agency.
A login is not enough any more. Submissions, withdrawals and objections are signed with the agency's key, which
never reaches the server; a new key is certified only with the current key's endorsement; the agency's own
revocation is signed too. So the worst an administrator can do with a reset password is be refused, and each
refusal changes nothing."""

from __future__ import annotations

import base64
import io

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from accounts.models import User
from agencies import pki
from agencies.models import Certificate
from bidding import crypto, protocol
from bidding.client import steps
from bidding.models import Bid
from core.models import AuditEntry
from market.choices import TenderStatus
from market.models import Objection
from tests.conftest import client_for
from tests.factories import PASSWORD, SIGNING_CERTS, objection_fields


def state() -> tuple:
    """What an impersonation could change: bids, objections, certificates, and the audit trail's length."""
    return (
        list(Bid.objects.order_by("pk").values_list("pk", "status", "withdrawn_at")),
        Objection.objects.count(),
        list(Certificate.objects.order_by("pk").values_list("pk", "revoked_at")),
        AuditEntry.objects.count(),
    )


@pytest.fixture
def takeover(world):
    """A published tender with the agency's standing bid, and a superuser who has reset the agency's password and
    logged in as the agency (what the admin's password form, or a shell on the server, allows)."""
    tender = world.in_state(TenderStatus.PUBLISHED)
    bid = world.sealed_bid(tender, world.agency.organisation)
    admin = User.objects.create_superuser(username="root", password=PASSWORD)
    world.agency.set_password(PASSWORD + "-reset-by-admin")
    world.agency.save()
    client = client_for(world.agency)  # the admin, now holding the agency's login
    forged_key = ed25519.Ed25519PrivateKey.generate()  # the admin's own key: the agency's never left its machine
    return tender, bid, admin, client, forged_key


def test_a_taken_over_login_cannot_get_a_key_of_its_own_certified(world, takeover):
    _, _, _, client, forged_key = takeover
    org = world.agency.organisation
    csr = pki.csr_make(forged_key, pki.Subject(organisation_name=org.name, uscc=org.uscc)).decode()
    before = state()
    response = client.post("/api/agencies/me/certificates/", {"csr": csr}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "certificate_endorsement_required")
    assert "签名认可" in response.json()["detail_zh"]
    # Nor by endorsing with its own key in the name of the agency's certificate.
    _, cert = SIGNING_CERTS[world.agency.username]
    payload = pki.rollover_payload(
        subject=org.uscc, csr_sha256=pki.csr_digest(pki.csr_load(csr.encode())), certificate=cert.serial
    )
    forged = base64.b64encode(pki.sign(forged_key, payload)).decode()
    response = client.post(
        "/api/agencies/me/certificates/",
        {"csr": csr, "endorsement": forged, "endorsing_certificate": cert.serial},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (400, "signature_invalid")
    assert state() == before


def test_a_taken_over_login_cannot_revoke_the_agencys_certificate_to_clear_the_way(world, takeover):
    _, _, _, client, forged_key = takeover
    _, cert = SIGNING_CERTS[world.agency.username]
    before = state()
    for body in (
        {"reason": "key_compromise"},
        {
            "reason": "key_compromise",
            "signature": base64.b64encode(
                pki.sign(forged_key, pki.revocation_payload(serial=cert.serial, reason="key_compromise"))
            ).decode(),
        },
    ):
        response = client.post(f"/api/certificates/{cert.serial}/revoke/", body, format="json")
        assert (response.status_code, response.json()["code"]) == (400, "revocation_signature_required")
    assert state() == before


def test_a_taken_over_login_cannot_withdraw_submit_or_object(world, takeover):
    tender, bid, _, client, forged_key = takeover
    org = world.agency.organisation
    _, cert = SIGNING_CERTS[world.agency.username]
    before = state()
    # Withdraw: unsigned, then signed with the admin's key under the agency's certificate.
    unsigned = client.post(f"/api/bids/{bid.pk}/withdraw/", {}, format="json")
    assert unsigned.status_code == 400
    forged = steps.withdrawal_signature(
        tender=tender.reference,
        agency=org.uscc,
        bid=bid.pk,
        digest=bid.ciphertext_digest,
        certificate=cert.serial,
        private_key=forged_key,
    )
    response = client.post(
        f"/api/bids/{bid.pk}/withdraw/", {"certificate": cert.serial, "signature": forged}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "signature_invalid")
    # Submit a bid of the admin's making, signed with its own key.
    opening_public = bytes.fromhex(tender.opening_key.public_key)
    envelope = crypto.seal(
        plaintext=b"a bid the agency never made",
        recipient_public=opening_public,
        associated=protocol.sealed_context(tender=tender.reference, agency=org.uscc),
    )
    _, signature = steps.submission_signature(
        envelope, tender=tender.reference, agency=org.uscc, certificate=cert.serial, private_key=forged_key
    )
    upload = io.BytesIO(envelope)
    upload.name = "bid.sealed"
    response = client.post(
        f"/api/tenders/{tender.pk}/bids/",
        {"file": upload, "certificate": cert.serial, "signature": signature},
        format="multipart",
    )
    assert (response.status_code, response.json()["code"]) == (400, "signature_invalid")
    # Object in the agency's name.
    fields = objection_fields(world.agency, tender, "documents", "资格条件排斥潜在投标人")
    fields["signature"] = steps.objection_signature(
        tender=tender.reference,
        agency=org.uscc,
        kind="documents",
        text=fields["text"],
        certificate=cert.serial,
        private_key=forged_key,
    )
    response = client.post(f"/api/tenders/{tender.pk}/objections/", fields, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "signature_invalid")
    assert state() == before
    assert Bid.objects.get(pk=bid.pk).status == "submitted"


def test_the_superuser_as_itself_may_not_act_for_an_agency(world, takeover):
    tender, bid, admin, _, _ = takeover
    client = client_for(admin)
    before = state()
    fields = objection_fields(world.agency, tender, "documents", "异议")  # even with a signature the agency made
    for response in (
        client.post(f"/api/bids/{bid.pk}/withdraw/", {"certificate": "00", "signature": "AA=="}, format="json"),
        client.post(f"/api/tenders/{tender.pk}/objections/", fields, format="json"),
        client.post(f"/api/tenders/{tender.pk}/bids/", {}, format="multipart"),
    ):
        assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert state()[:3] == before[:3]
