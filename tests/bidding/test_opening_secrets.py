"""The opening's secrets exist only during the opening (issue: two holders read bids 330 s before the deadline).

A holder's wrapped share is handed out, and a share or a bidder's key taken in, only while the tender is in its
opening; each download and submission is audited; and whatever came in is erased when the opening ends in any
way: opened, failed, cancelled or suspended."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from bidding import crypto
from bidding.models import Bid, KeyShare, OpeningRecord
from core import clock
from core.models import AuditEntry
from market.choices import TenderStatus
from market.services import tenders as market_tenders
from procurement.clock import clock_pass
from procurement.services import tenders as svc
from procurement.services.timeline import run_due_steps
from tests.conftest import client_for
from tests.factories import HOLDER_KEYS, holder_key, user


def share_url(tender) -> str:
    return f"/api/tenders/{tender.pk}/opening/share/"


def secrets_state(tender) -> list[tuple]:
    """Everything the opening holds for a tender, plus the audit trail's length."""
    shares = KeyShare.objects.filter(opening_key__tender=tender).order_by("index")
    bids = Bid.objects.filter(tender=tender).order_by("pk")
    return [
        *((s.index, s.submitted_at, bytes(s.submitted_share)) for s in shares),
        *((b.pk, b.status, b.layer_released_at, bytes(b.layer_key)) for b in bids),
        ("audit", AuditEntry.objects.count()),
    ]


def fetch_and_submit(tender, holder):
    """A key holder's client: fetch the wrapped share, decrypt it locally, submit it."""
    client = client_for(holder)
    mine = client.get(share_url(tender))
    assert mine.status_code == 200, mine.json()
    share = crypto.unwrap_share(
        wrapped=base64.b64decode(mine.json()["wrapped"]),
        holder_private_key=HOLDER_KEYS[holder.username],
        associated=mine.json()["context"],
    )
    return client.post(share_url(tender), {"share": base64.b64encode(share).decode()}, format="json")


@pytest.fixture
def tender(world):
    tender = world.in_state(TenderStatus.PUBLISHED)
    for agency in world.agencies:
        world.sealed_bid(tender, agency)
    return tender


def at_deadline(tender) -> None:
    clock.freeze(tender.bid_deadline)


@pytest.mark.parametrize("when", ["published", "one second before the deadline", "suspended before the deadline"])
def test_no_share_is_handed_out_or_taken_in_before_the_opening(world, tender, when):
    if when == "one second before the deadline":
        clock.freeze(tender.bid_deadline - timedelta(seconds=1))
    elif when == "suspended before the deadline":
        svc.tender_suspend(actor=world.supervisor, tender_id=tender.pk, reason="收到投诉")
    outsider = user("purchaser")
    holder_key(outsider)
    before = secrets_state(tender)
    # Every caller meets the same refusal first, holder or not, GET or POST.
    for who in (world.purchaser, world.operator, world.supervisor, outsider):
        client = client_for(who)
        for response in (
            client.get(share_url(tender)),
            client.post(share_url(tender), {"share": base64.b64encode(b"x" * 40).decode()}, format="json"),
            client.post(share_url(tender), {"share": "not base64 at all"}, format="json"),
        ):
            assert response.status_code == 409
            body = response.json()
            assert body["code"] == "opening_not_started" and "尚未开标" in body["detail_zh"]
    assert secrets_state(tender) == before
    assert not AuditEntry.objects.filter(action__startswith="opening.share").exists()


def test_the_deadline_itself_opens_the_shares_without_the_clock(world, tender):
    """At the deadline a holder gets its share even if the clock process has not run: the request catches up."""
    at_deadline(tender)
    response = client_for(world.purchaser).get(share_url(tender))
    assert response.status_code == 200
    tender.refresh_from_db()
    assert tender.status == TenderStatus.OPENING


def test_every_share_download_and_submission_is_audited(world, tender):
    at_deadline(tender)
    fetch_and_submit(tender, world.purchaser)
    fetched = AuditEntry.objects.get(action="opening.share_fetch")
    submitted = AuditEntry.objects.get(action="opening.share_submit")
    assert fetched.actor_id == submitted.actor_id == world.purchaser.pk
    assert fetched.after["role"] == "purchaser" and fetched.after["tender"] == tender.reference
    # What is audited is who took which share, never the share itself.
    share = bytes(KeyShare.objects.get(opening_key__tender=tender, role="purchaser").submitted_share)
    for entry in (fetched, submitted):
        text = str(entry.after)
        assert base64.b64encode(share).decode() not in text and share.hex() not in text


def test_a_failed_opening_erases_the_share_it_received(world, tender):
    at_deadline(tender)
    assert fetch_and_submit(tender, world.purchaser).status_code == 200
    assert bytes(KeyShare.objects.get(opening_key__tender=tender, role="purchaser").submitted_share)
    tender.refresh_from_db()
    clock.freeze(tender.opening_ends_at)
    run_due_steps()
    tender.refresh_from_db()
    assert tender.status == TenderStatus.FAILED and tender.fail_reason == "opening_not_completed"
    assert all(bytes(s.submitted_share) == b"" for s in KeyShare.objects.filter(opening_key__tender=tender))
    assert AuditEntry.objects.filter(action="opening.secrets_erase", after__rows=1).exists()
    # And nothing more is handed out.
    late = client_for(world.supervisor).get(share_url(tender))
    assert (late.status_code, late.json()["code"]) == (409, "not_opening")


def test_a_cancelled_opening_erases_the_shares(world, tender):
    at_deadline(tender)
    fetch_and_submit(tender, world.supervisor)
    svc.tender_cancel(actor=world.purchaser, tender_id=tender.pk, reason="项目取消")
    assert all(bytes(s.submitted_share) == b"" for s in KeyShare.objects.filter(opening_key__tender=tender))


def test_a_suspended_opening_erases_the_shares_and_takes_them_again_after_it_resumes(world, tender):
    at_deadline(tender)
    fetch_and_submit(tender, world.supervisor)
    svc.tender_suspend(actor=world.supervisor, tender_id=tender.pk, reason="收到投诉")
    shares = KeyShare.objects.filter(opening_key__tender=tender)
    assert all(bytes(s.submitted_share) == b"" and s.submitted_at is None for s in shares)
    refused = client_for(world.purchaser).get(share_url(tender))
    assert (refused.status_code, refused.json()["code"]) == (409, "not_opening")
    market_tenders.tender_resume(actor=world.supervisor, tender_id=tender.pk, ruling="投诉不成立")
    assert fetch_and_submit(tender, world.supervisor).json()["opened"] is False
    assert fetch_and_submit(tender, world.purchaser).json()["opened"] is True
    assert OpeningRecord.objects.filter(tender=tender).exists()


def test_the_clock_erases_secrets_a_forgotten_path_left_behind(world, tender):
    """Belt and braces: if some future path moved a tender out of its opening without erasing, the next pass of
    the clock erases what is left."""
    at_deadline(tender)
    fetch_and_submit(tender, world.supervisor)
    # A path that forgets: the tender leaves its opening by a raw update.
    type(tender).objects.filter(pk=tender.pk).update(status=TenderStatus.CANCELLED)
    assert any(bytes(s.submitted_share) for s in KeyShare.objects.filter(opening_key__tender=tender))
    clock_pass()
    assert all(bytes(s.submitted_share) == b"" for s in KeyShare.objects.filter(opening_key__tender=tender))
    again = len(AuditEntry.objects.filter(action="opening.secrets_erase"))
    clock_pass()  # safe to run twice: nothing left, nothing audited
    assert AuditEntry.objects.filter(action="opening.secrets_erase").count() == again


def test_more_shares_than_the_threshold_are_not_taken(world):
    """Under the bidder's-lock policy the opening waits for bidders after the threshold is met; a third holder's
    share would be one more secret at rest, so it is refused."""
    from tests.factories import bidder_lock_profile

    locked = world.in_state(TenderStatus.PUBLISHED, profile=bidder_lock_profile())
    for agency in world.agencies:
        world.sealed_bid(locked, agency)
    clock.freeze(locked.bid_deadline)
    fetch_and_submit(locked, world.purchaser)
    fetch_and_submit(locked, world.supervisor)
    before = secrets_state(locked)
    third = fetch_and_submit(locked, world.operator)
    assert (third.status_code, third.json()["code"]) == (409, "threshold_met")
    after = secrets_state(locked)
    # Only the operator's fetch was added to the audit trail; no share was stored.
    assert after[:-1] == before[:-1]
