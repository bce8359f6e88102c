"""No global lock across slow work (issue 11, point 6): while one tender's opening decrypts a few
hundred bids in its transaction, an agency's bid on another tender is received, recorded and
chained into the audit trail without waiting for it. Both are in the one chain afterwards.

PostgreSQL only: SQLite has one write lock for the whole database, so there every writer waits for
the opening whatever the audit trail does."""

from __future__ import annotations

import base64
import io
import os
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection

from bidding import crypto, protocol
from bidding.models import Bid, BidStatus, OpeningKey, OpeningRecord
from bidding.services.submission import bid_submit
from core import clock
from core.audit import audit_verify
from core.models import AuditEntry
from market.choices import TenderStatus
from procurement.services.opening import opening_share_fetch, opening_submit_share
from procurement.services.timeline import run_due_steps
from tests.factories import HOLDER_KEYS, World, admitted_agency, bid_envelope, signing_key

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.slow,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite has one database-wide write lock: a writer always waits for the opening's transaction",
    ),
]

BIDS = 300
DOCUMENT = 1024 * 1024  # each bid carries a megabyte to decrypt and hash


def _big_bid(member, tender) -> Bid:
    """One real bid, sealed and signed by the agency's client, submitted through the service."""
    org = member.organisation
    key, cert = signing_key(member)
    form = {"tender": tender.reference, "agency": org.uscc, "price": "98000.00", "duration_days": 40}
    plaintext = protocol.bid_build(
        form=form, documents=[("方案.pdf", os.urandom(DOCUMENT))], certificate=cert.serial, private_key=key
    )
    envelope = crypto.seal(
        plaintext=plaintext,
        recipient_public=bytes.fromhex(OpeningKey.objects.get(tender=tender).public_key),
        associated=protocol.sealed_context(tender=tender.reference, agency=org.uscc),
    )
    payload = protocol.submission_payload(
        tender=tender.reference, agency=org.uscc, digest=crypto.digest(envelope), certificate=cert.serial
    )
    bid, _ = bid_submit(
        actor=member,
        tender_id=tender.pk,
        stream=io.BytesIO(envelope),
        certificate_serial=cert.serial,
        signature=base64.b64encode(crypto.sign(key, payload)).decode(),
    )
    return bid


def _share(tender, holder) -> str:
    mine = opening_share_fetch(actor=holder, tender_id=tender.pk)
    raw = crypto.unwrap_share(
        wrapped=base64.b64decode(mine["wrapped"]),
        holder_private_key=HOLDER_KEYS[holder.username],
        associated=mine["context"],
    )
    return base64.b64encode(raw).decode()


def test_a_bid_on_another_tender_is_received_while_an_opening_decrypts(monkeypatch):
    world = World()
    opening_tender = world.in_state(TenderStatus.PUBLISHED)
    other = world.in_state(TenderStatus.PUBLISHED, bid_deadline=opening_tender.bid_deadline + timedelta(days=10))
    # A few hundred standing bids: real ones from three agencies, then the same sealed file received
    # again and again (rows written directly; the opening decrypts and checks each one).
    first = _big_bid(world.agency, opening_tender)
    for org in world.agencies:
        world.sealed_bid(opening_tender, org)
    copies = [
        Bid(
            tender=opening_tender,
            agency=first.agency,
            received_at=first.received_at,
            ciphertext_digest=first.ciphertext_digest,
            ciphertext_size=first.ciphertext_size,
            certificate=first.certificate,
            signature=first.signature,
            submitted_by=first.submitted_by,
            receipt=first.receipt,
            receipt_signature=first.receipt_signature,
        )
        for _ in range(BIDS - 4)
    ]
    Bid.objects.bulk_create(copies)
    # The late bidder on the other tender, ready to send.
    late = admitted_agency(world.operator)
    envelope, cert, signature = bid_envelope(late, other)
    clock.freeze(opening_tender.bid_deadline)
    run_due_steps()
    assert Bid.objects.filter(tender=opening_tender, status=BidStatus.SUBMITTED).count() == BIDS
    opening_submit_share(
        actor=world.purchaser, tender_id=opening_tender.pk, share=_share(opening_tender, world.purchaser)
    )
    last_share = _share(opening_tender, world.operator)

    # Tells the test when the opening has begun decrypting (the real function does the work).
    decrypting = threading.Event()
    real_open = crypto.open_sealed_into

    def observed_open(**kwargs):
        decrypting.set()
        return real_open(**kwargs)

    monkeypatch.setattr(crypto, "open_sealed_into", observed_open)
    outcome: dict[str, object] = {}

    def the_opening() -> None:
        try:
            started = time.monotonic()
            outcome["opening"] = opening_submit_share(
                actor=world.operator, tender_id=opening_tender.pk, share=last_share
            )
            outcome["opening_seconds"] = time.monotonic() - started
        except Exception as exc:  # reported by the assertions below
            outcome["opening"] = exc
        finally:
            decrypting.set()
            connection.close()

    opener = threading.Thread(target=the_opening)
    opener.start()
    try:
        assert decrypting.wait(timeout=120)
        started = time.monotonic()
        bid, created = bid_submit(
            actor=late,
            tender_id=other.pk,
            stream=io.BytesIO(envelope),
            certificate_serial=cert.serial,
            signature=signature,
        )
        submit_seconds = time.monotonic() - started
        # The submission returned, its entry committed and chained, while the opening's transaction
        # had not committed yet: nothing of its outcome is visible.
        opened_meanwhile = OpeningRecord.objects.filter(tender=opening_tender).exists()
        bid_entry = AuditEntry.objects.get(action="bid.submit", object_id=str(bid.pk))
    finally:
        opener.join(timeout=300)
    assert created and bid_entry.seq is not None
    assert not opened_meanwhile, f"the submission waited for the opening ({submit_seconds:.2f} s)"
    assert outcome["opening"] == {
        "tender": opening_tender.reference,
        "shares_submitted": 2,
        "threshold": 2,
        "opened": True,
    }, outcome
    assert Bid.objects.filter(tender=opening_tender, status=BidStatus.OPENED).count() == BIDS
    # The opening's entries were chained after the submission's, in the one chain.
    record_entry = AuditEntry.objects.get(action="tender.opening_record")
    assert record_entry.seq > bid_entry.seq
    assert audit_verify().ok
