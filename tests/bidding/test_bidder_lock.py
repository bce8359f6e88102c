"""The bidder's lock (OpeningPolicy.THRESHOLD_AND_BIDDER): each bid sealed to the tender's opening key and to a
key only its agency holds, released by the agency during the decryption window (投标人解密). A bid whose agency does
not release it counts as withdrawn, with the reason in the opening record."""

from __future__ import annotations

import base64
import io

import pytest

from bidding.client import steps
from bidding.models import Bid, KeyShare, OpeningRecord
from bidding.services import submission
from core import clock
from core.errors import ApplicationError
from core.models import AuditEntry
from market.choices import TenderStatus
from market.models import Notice
from procurement.services.timeline import run_due_steps
from tests.bidding.test_opening_secrets import fetch_and_submit, secrets_state
from tests.conftest import client_for
from tests.factories import LAYER_KEYS, bid_envelope, bidder_lock_profile


@pytest.fixture
def tender(world):
    return world.in_state(TenderStatus.PUBLISHED, profile=bidder_lock_profile())


@pytest.fixture
def bids(world, tender):
    agencies = [world.agency.organisation, *world.agencies]
    prices = ["98000", "91000", "99000", "95000"]
    return [world.sealed_bid(tender, agency, price) for agency, price in zip(agencies, prices, strict=True)]


def release(bid, key: bytes | None = None):
    key = LAYER_KEYS[bid.layer_public] if key is None else key
    return client_for(bid.agency.users.get()).post(
        f"/api/bids/{bid.pk}/release/", {"layer_key": base64.b64encode(key).decode()}, format="json"
    )


def test_the_tender_notice_tells_bidders_the_policy(tender):
    notice = Notice.objects.get(tender=tender, kind="tender")
    assert notice.data["opening_key"]["policy"] == "threshold_and_bidder"


def test_a_bid_without_the_bidders_lock_is_refused_and_nothing_is_stored(world, tender):
    member = world.agencies[0].users.get()
    envelope, cert, signature = bid_envelope(member, tender)  # sealed to the opening key only
    with pytest.raises(ApplicationError) as refused:
        submission.bid_submit(
            actor=member,
            tender_id=tender.pk,
            stream=io.BytesIO(envelope),
            certificate_serial=cert.serial,
            signature=signature,
        )
    assert refused.value.code == "layer_key_required" and "投标人解密" in refused.value.detail_zh
    assert not Bid.objects.filter(tender=tender).exists()


def test_a_layer_key_on_a_threshold_tender_is_refused(world):
    plain = world.in_state(TenderStatus.PUBLISHED)
    member = world.agencies[0].users.get()
    _, public = steps.layer_keypair()
    envelope, cert, signature = bid_envelope(member, plain, layer_public=public)
    with pytest.raises(ApplicationError) as refused:
        submission.bid_submit(
            actor=member,
            tender_id=plain.pk,
            stream=io.BytesIO(envelope),
            certificate_serial=cert.serial,
            signature=signature,
            layer_public=public.hex(),
        )
    assert refused.value.code == "layer_key_unexpected"
    assert not Bid.objects.filter(tender=plain).exists()


def test_the_layer_key_is_part_of_what_the_agency_signed(world, tender):
    """A server (or anyone on the way) that swapped the layer public key would break the submission signature."""
    member = world.agencies[0].users.get()
    _, public = steps.layer_keypair()
    _, other = steps.layer_keypair()
    envelope, cert, signature = bid_envelope(member, tender, layer_public=public)
    with pytest.raises(ApplicationError) as refused:
        submission.bid_submit(
            actor=member,
            tender_id=tender.pk,
            stream=io.BytesIO(envelope),
            certificate_serial=cert.serial,
            signature=signature,
            layer_public=other.hex(),
        )
    assert refused.value.code == "signature_invalid"
    assert not Bid.objects.filter(tender=tender).exists()


def test_holders_alone_do_not_open_the_bids(world, tender, bids):
    clock.freeze(tender.bid_deadline)
    fetch_and_submit(tender, world.purchaser)
    answer = fetch_and_submit(tender, world.supervisor).json()
    assert answer["shares_submitted"] == 2 and answer["opened"] is False
    assert not OpeningRecord.objects.exists()
    assert all(b.status == "submitted" and b.price is None for b in Bid.objects.filter(tender=tender))


def test_a_release_before_the_opening_is_refused_and_not_stored(world, tender, bids):
    before = secrets_state(tender)
    response = release(bids[0])
    assert (response.status_code, response.json()["code"]) == (409, "opening_not_started")
    assert secrets_state(tender) == before


def test_wrong_releases_are_refused_and_change_nothing(world, tender, bids):
    clock.freeze(tender.bid_deadline)
    run_due_steps()
    before = secrets_state(tender)
    other_key, _ = steps.layer_keypair()
    wrong = release(bids[0], other_key)
    assert (wrong.status_code, wrong.json()["code"]) == (400, "layer_key_mismatch")
    assert "不符" in wrong.json()["detail_zh"]
    theirs = client_for(bids[1].agency.users.get()).post(
        f"/api/bids/{bids[0].pk}/release/",
        {"layer_key": base64.b64encode(LAYER_KEYS[bids[0].layer_public]).decode()},
        format="json",
    )
    assert theirs.status_code == 404
    garbage = client_for(bids[0].agency.users.get()).post(
        f"/api/bids/{bids[0].pk}/release/", {"layer_key": "not base64!"}, format="json"
    )
    assert garbage.status_code == 400
    assert secrets_state(tender) == before
    assert release(bids[0]).status_code == 200
    again = release(bids[0])
    assert (again.status_code, again.json()["code"]) == (409, "already_released")


def test_the_whole_opening_with_one_bidder_silent(world, tender, bids):
    clock.freeze(tender.bid_deadline)
    # Releases and shares arrive in any order.
    first = release(bids[0])
    assert first.status_code == 200 and first.json()["layer_released_at"]
    fetch_and_submit(tender, world.purchaser)
    release(bids[1])
    assert fetch_and_submit(tender, world.operator).json()["opened"] is False  # two have not released
    release(bids[2])
    entry = AuditEntry.objects.get(action="bid.layer_release", object_id=str(bids[0].pk))
    assert base64.b64encode(LAYER_KEYS[bids[0].layer_public]).decode() not in str(entry.after)
    # The window ends: the silent bidder's bid counts as withdrawn, the others are opened.
    tender.refresh_from_db()
    clock.freeze(tender.opening_ends_at)
    run_due_steps()
    tender.refresh_from_db()
    assert tender.status == TenderStatus.EVALUATING
    record = OpeningRecord.objects.get(tender=tender).record
    assert record["policy"] == "threshold_and_bidder"
    rows = {row["bid"]: row for row in record["bids"]}
    assert [rows[b.pk]["price"] for b in bids[:3]] == ["98000.00", "91000.00", "99000.00"]
    assert all(rows[b.pk]["bidder_released_at"] for b in bids[:3])
    silent = rows[bids[3].pk]
    assert silent["result"] == "withdrawn" and "视为撤回" in silent["reason"]
    assert silent["price"] is None and silent["bidder_released_at"] is None
    statuses = [Bid.objects.get(pk=b.pk).status for b in bids]
    assert statuses == ["opened", "opened", "opened", "withdrawn"]
    notice = Notice.objects.get(tender=tender, kind="opening_record")
    assert "撤回" in notice.body
    # Nothing the opening took in is left.
    assert all(bytes(b.layer_key) == b"" for b in Bid.objects.filter(tender=tender))
    assert all(bytes(s.submitted_share) == b"" for s in KeyShare.objects.filter(opening_key__tender=tender))


def test_the_last_release_opens_the_bids_at_once(world, tender, bids):
    clock.freeze(tender.bid_deadline)
    fetch_and_submit(tender, world.purchaser)
    fetch_and_submit(tender, world.supervisor)
    for bid in bids[:3]:
        release(bid)
    assert not OpeningRecord.objects.exists()
    assert release(bids[3]).json()["status"] == "opened"
    assert {row["result"] for row in OpeningRecord.objects.get(tender=tender).record["bids"]} == {"opened"}


def test_without_the_holders_the_releases_open_nothing(world, tender, bids):
    clock.freeze(tender.bid_deadline)
    for bid in bids:
        release(bid)
    fetch_and_submit(tender, world.purchaser)
    tender.refresh_from_db()
    clock.freeze(tender.opening_ends_at)
    run_due_steps()
    tender.refresh_from_db()
    assert tender.status == TenderStatus.FAILED
    assert not OpeningRecord.objects.exists()
    assert all(bytes(b.layer_key) == b"" for b in Bid.objects.filter(tender=tender))
    assert all(bytes(s.submitted_share) == b"" for s in KeyShare.objects.filter(opening_key__tender=tender))
