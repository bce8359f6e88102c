"""Submitting sealed, signed bids through the API (DOMAIN.md, bids §3): the receipt, durability,
idempotent retries, resubmission and withdrawal, and every refusal leaving nothing behind."""

from __future__ import annotations

import base64
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings

from agencies import pki
from agencies.ca import platform_ca
from agencies.models import Qualification
from agencies.services import certificates, credit, lists
from bidding import crypto, protocol
from bidding.models import Bid, OpeningKey
from bidding.selectors import received_bid_count
from core import clock
from core.models import AuditEntry
from core.permissions import MATRIX, Action
from market.choices import TenderStatus
from tests.conftest import client_for
from tests.factories import admitted_agency, signing_key

MS = timedelta(milliseconds=1)


def seal_and_sign(member, tender, plaintext: bytes = b'{"price": "98000.00"}', *, key=None, cert=None, reference=None):
    """What the agency's client does: seal to the published opening key, then sign the submission."""
    org = member.organisation
    if key is None:
        key, cert = signing_key(member)
    reference = reference or tender.reference
    public = bytes.fromhex(OpeningKey.objects.get(tender=tender).public_key)
    envelope = crypto.seal(
        plaintext=plaintext,
        recipient_public=public,
        associated=protocol.sealed_context(tender=reference, agency=org.uscc),
    )
    payload = protocol.submission_payload(
        tender=reference, agency=org.uscc, digest=crypto.digest(envelope), certificate=cert.serial
    )
    return envelope, cert, base64.b64encode(crypto.sign(key, payload)).decode(), key


def post(member, tender, envelope, cert, signature, **extra):
    upload = io.BytesIO(envelope)
    upload.name = "bid.sealed"
    form = {"file": upload, "certificate": cert.serial, "signature": signature, **extra}
    return client_for(member).post(f"/api/tenders/{tender.pk}/bids/", form, format="multipart")


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "bids"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def nothing_changed_since(before_bids: int, before_audit: int, before_files: list[Path]) -> None:
    assert Bid.objects.count() == before_bids
    assert AuditEntry.objects.count() == before_audit
    assert stored_files() == before_files


@pytest.fixture
def tender(world):
    return world.in_state(TenderStatus.PUBLISHED)


def test_a_sealed_signed_bid_gets_a_signed_receipt_and_is_stored_whole(world, tender):
    envelope, cert, signature, _ = seal_and_sign(world.agency, tender)
    response = post(world.agency, tender, envelope, cert, signature, idempotency_key="k1")
    assert response.status_code == 201, response.json()
    body = response.json()
    receipt = body["receipt"]
    assert receipt["tender"] == tender.reference and receipt["agency"] == world.agency.organisation.uscc
    assert receipt["digest"] == crypto.digest(envelope) and receipt["size"] == len(envelope)
    assert receipt["received_at"] == clock.now().isoformat()
    # Anyone can check the receipt with the platform's published CA certificate.
    protocol.receipt_verify(receipt, body["receipt_signature"], platform_ca().certificate)
    with pytest.raises(crypto.CryptoError):
        protocol.receipt_verify(
            {**receipt, "received_at": "2026-01-01T00:00:00+08:00"},
            body["receipt_signature"],
            platform_ca().certificate,
        )
    stored = Path(settings.MEDIA_ROOT) / "bids" / receipt["digest"][:2] / receipt["digest"]
    assert stored.read_bytes() == envelope
    assert Bid.objects.get(pk=body["id"]).status == "submitted"
    assert AuditEntry.objects.filter(action="bid.submit", object_id=str(body["id"])).count() == 1


def test_a_retry_with_the_same_key_is_harmless(world, tender):
    envelope, cert, signature, key = seal_and_sign(world.agency, tender)
    first = post(world.agency, tender, envelope, cert, signature, idempotency_key="retry-1")
    again = post(world.agency, tender, envelope, cert, signature, idempotency_key="retry-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["receipt"] == first.json()["receipt"]
    assert Bid.objects.filter(tender=tender).count() == 1
    other, _, other_signature, _ = seal_and_sign(world.agency, tender, b"other", key=key, cert=cert)
    conflict = post(world.agency, tender, other, cert, other_signature, idempotency_key="retry-1")
    assert (conflict.status_code, conflict.json()["code"]) == (409, "idempotency_conflict")
    assert Bid.objects.filter(tender=tender).count() == 1


def test_the_newest_submission_is_the_one_that_stands(world, tender):
    envelope, cert, signature, key = seal_and_sign(world.agency, tender)
    first = post(world.agency, tender, envelope, cert, signature).json()
    newer, _, newer_signature, _ = seal_and_sign(world.agency, tender, b"revised", key=key, cert=cert)
    second = post(world.agency, tender, newer, cert, newer_signature).json()
    assert Bid.objects.get(pk=first["id"]).status == "superseded"
    assert Bid.objects.get(pk=second["id"]).status == "submitted"
    assert received_bid_count(tender) == 1
    mine = client_for(world.agency).get(f"/api/tenders/{tender.pk}/bids/").json()
    assert [b["id"] for b in mine] == [second["id"], first["id"]]


def withdrawal(member, bid_id, key, cert):
    """The agency's client signs the withdrawal of one of its bids."""
    bid = Bid.objects.get(pk=bid_id)
    payload = protocol.withdrawal_payload(
        tender=bid.tender.reference,
        agency=member.organisation.uscc,
        bid=bid.pk,
        digest=bid.ciphertext_digest,
        certificate=cert.serial,
    )
    return {"certificate": cert.serial, "signature": base64.b64encode(crypto.sign(key, payload)).decode()}


def test_withdraw_before_the_deadline_not_after(world, tender):
    envelope, cert, signature, key = seal_and_sign(world.agency, tender)
    bid_id = post(world.agency, tender, envelope, cert, signature).json()["id"]
    client = client_for(world.agency)
    withdrawn = client.post(f"/api/bids/{bid_id}/withdraw/", withdrawal(world.agency, bid_id, key, cert), format="json")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert received_bid_count(tender) == 0
    # The withdrawal is the agency's signed act: the bid and the audit entry keep the signature and certificate.
    bid = Bid.objects.get(pk=bid_id)
    assert bid.withdrawal_certificate == cert
    entry = AuditEntry.objects.get(action="bid.withdraw", object_id=str(bid_id))
    assert entry.after["certificate"] == cert.serial
    assert base64.b64decode(entry.after["signature"]) == bytes(bid.withdrawal_signature)
    again = post(world.agency, tender, *seal_and_sign(world.agency, tender, key=key, cert=cert)[:3])
    again_id = again.json()["id"]
    clock.freeze(tender.bid_deadline)
    late = client.post(f"/api/bids/{again_id}/withdraw/", withdrawal(world.agency, again_id, key, cert), format="json")
    assert (late.status_code, late.json()["code"]) == (409, "deadline_passed")
    assert Bid.objects.get(pk=again_id).status == "submitted"
    stranger = admitted_agency(world.operator)
    refused = client_for(stranger).post(f"/api/bids/{bid_id}/withdraw/", withdrawal(world.agency, bid_id, key, cert))
    assert refused.status_code == 404


def test_a_withdrawal_the_agency_did_not_sign_is_refused_and_changes_nothing(world, tender):
    envelope, cert, signature, key = seal_and_sign(world.agency, tender)
    bid_id = post(world.agency, tender, envelope, cert, signature).json()["id"]
    other = admitted_agency(world.operator)
    other_key, other_cert = signing_key(other)
    client = client_for(world.agency)
    before = (Bid.objects.count(), AuditEntry.objects.count(), stored_files())
    standing = list(Bid.objects.values_list("pk", "status", "withdrawn_at", "withdrawal_signature"))
    attempts = {
        # No signature at all: what a stolen session or an administrator's reset password gives.
        "unsigned": ({}, 400, "invalid"),
        "another key": (withdrawal(world.agency, bid_id, other_key, cert), 400, "signature_invalid"),
        "another agency's certificate": (withdrawal(world.agency, bid_id, other_key, other_cert), 400, None),
        "a signature over another bid": (
            {**withdrawal(world.agency, bid_id, key, cert), "signature": signature},
            400,
            "signature_invalid",
        ),
    }
    for name, (body, status, code) in attempts.items():
        response = client.post(f"/api/bids/{bid_id}/withdraw/", body, format="json")
        assert response.status_code == status, name
        assert response.json()["detail_zh"], name
        if code:
            assert response.json()["code"] == code, name
    nothing_changed_since(*before)
    assert list(Bid.objects.values_list("pk", "status", "withdrawn_at", "withdrawal_signature")) == standing


def test_the_deadline_is_server_time_to_the_millisecond(world, tender):
    envelope, cert, signature, key = seal_and_sign(world.agency, tender)
    clock.freeze(tender.bid_deadline - MS)
    assert post(world.agency, tender, envelope, cert, signature).status_code == 201
    late_envelope, _, late_signature, _ = seal_and_sign(world.agency, tender, b"late", key=key, cert=cert)
    clock.freeze(tender.bid_deadline)
    before = (Bid.objects.count(), AuditEntry.objects.count(), stored_files())
    response = post(world.agency, tender, late_envelope, cert, late_signature)
    assert (response.status_code, response.json()["code"]) == (409, "deadline_passed")
    assert response.json()["detail_zh"]
    nothing_changed_since(*before)


@pytest.mark.parametrize("case", ["tampered", "other_tender", "unsealed", "garbage_signature", "other_agency_cert"])
def test_refused_uploads_leave_nothing(world, tender, case):
    envelope, cert, signature, key = seal_and_sign(world.agency, tender)
    expected = (400, "signature_invalid")
    if case == "tampered":
        envelope = envelope[:-1] + bytes([envelope[-1] ^ 1])
    elif case == "other_tender":
        # A bid sealed and signed for another tender, replayed here.
        other = world.in_state(TenderStatus.PUBLISHED)
        envelope, cert, signature, _ = seal_and_sign(world.agency, other, key=key, cert=cert)
    elif case == "unsealed":
        envelope = b'{"price": "1.00"}' * 10
        payload = protocol.submission_payload(
            tender=tender.reference,
            agency=world.agency.organisation.uscc,
            digest=crypto.digest(envelope),
            certificate=cert.serial,
        )
        signature = base64.b64encode(crypto.sign(key, payload)).decode()
        expected = (400, "bid_not_sealed")
    elif case == "garbage_signature":
        signature = "not base64!"
    elif case == "other_agency_cert":
        stranger = admitted_agency(world.operator)
        _, cert = signing_key(stranger)
        expected = (400, "certificate_unknown")
    before = (Bid.objects.count(), AuditEntry.objects.count(), stored_files())
    response = post(world.agency, tender, envelope, cert, signature)
    assert (response.status_code, response.json()["code"]) == expected
    nothing_changed_since(*before)


def test_a_revoked_certificate_no_longer_submits(world, tender):
    envelope, cert, signature, key = seal_and_sign(world.agency, tender)
    revocation = base64.b64encode(pki.sign(key, pki.revocation_payload(serial=cert.serial, reason="key_compromise")))
    certificates.certificate_revoke(
        actor=world.agency, serial=cert.serial, reason="key_compromise", note="泄露", signature=revocation.decode()
    )
    clock.advance(MS)
    before = (Bid.objects.count(), AuditEntry.objects.count(), stored_files())
    response = post(world.agency, tender, envelope, cert, signature)
    assert (response.status_code, response.json()["code"]) == (400, "certificate_revoked")
    nothing_changed_since(*before)


def test_a_barred_or_unqualified_agency_cannot_bid(world, tender):
    envelope, cert, signature, _ = seal_and_sign(world.agency, tender)
    agency = world.agency.organisation.agency
    event = credit.credit_event_record(actor=world.supervisor, agency_id=agency.pk, kind="collusion", reason="串标")
    entry = event.list_entries.get()
    lists.list_entry_decide(
        actor=world.supervisor,
        entry_id=entry.pk,
        document_number="江公管信〔2026〕8号",
        ends_at=clock.now() + timedelta(days=400),
    )
    before = (Bid.objects.count(), AuditEntry.objects.count(), stored_files())
    barred = post(world.agency, tender, envelope, cert, signature)
    assert (barred.status_code, barred.json()["code"]) == (403, "agency_black_listed")
    nothing_changed_since(*before)

    other = admitted_agency(world.operator)
    Qualification.objects.filter(agency__organisation=other.organisation).update(withdrawn_at=clock.now())
    envelope, cert, signature, _ = seal_and_sign(other, tender)
    unqualified = post(other, tender, envelope, cert, signature)
    assert (unqualified.status_code, unqualified.json()["code"]) == (403, "not_qualified")


def test_an_oversized_bid_is_refused_without_a_trace(world, tender, settings):
    settings.AGORA_BID_MAX_BYTES = 1024
    envelope, cert, signature, _ = seal_and_sign(world.agency, tender, b"x" * 4096)
    before = (Bid.objects.count(), AuditEntry.objects.count(), stored_files())
    response = post(world.agency, tender, envelope, cert, signature)
    assert (response.status_code, response.json()["code"]) == (413, "too_large")
    nothing_changed_since(*before)
    assert not [p for p in Path(settings.MEDIA_ROOT).glob(".upload-*")]


@pytest.mark.parametrize("role", ["purchaser", "supervisor", "operator"])
def test_only_agencies_submit(world, tender, role):
    envelope, cert, signature, _ = seal_and_sign(world.agency, tender)
    before = (Bid.objects.count(), AuditEntry.objects.count(), stored_files())
    response = post(world.by_role(role), tender, envelope, cert, signature)
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    nothing_changed_since(*before)


# The bidding rows of the permission matrix (tests/agencies/test_api.py checks all tables cover it).
EXPECTED = {
    Action.BID_SUBMIT: {"agency"},
    Action.OPENING_SUBMIT_SHARE: {"purchaser", "supervisor", "operator"},
}


def test_the_bidding_rows_of_the_matrix():
    assert {a: {r.value for r in MATRIX[a]} for a in EXPECTED} == EXPECTED


def test_anonymous_callers_are_asked_to_log_in(world, tender, api):
    response = api.post(f"/api/tenders/{tender.pk}/bids/", {}, format="multipart")
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
