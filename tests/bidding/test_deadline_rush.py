"""The deadline rush (DOMAIN.md: ProZorro's lesson): fifty agencies submitting in the last second,
each in its own thread and database connection. Every bid is stored exactly once, a retry adds
nothing, and every upload that completes at or after the deadline is refused. Runs on SQLite and
on PostgreSQL (CI runs both)."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest

from bidding.models import Bid
from bidding.selectors import received_bid_count
from bidding.services.submission import bid_submit
from core import clock
from core.audit import audit_verify
from core.errors import ApplicationError
from market.choices import TenderStatus
from tests.bidding.test_submission import seal_and_sign, stored_files
from tests.factories import World, admitted_agency
from tests.market.test_concurrency import race

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

AGENCIES = 50
RETRIES = 15


def _submission(member, tender, envelope, cert, signature, key):
    return lambda: bid_submit(
        actor=member,
        tender_id=tender.pk,
        stream=io.BytesIO(envelope),
        certificate_serial=cert.serial,
        signature=signature,
        idempotency_key=key,
    )


def _bidders(world, tender):
    bidders = []
    for _ in range(AGENCIES):
        member = admitted_agency(world.operator)
        envelope, cert, signature, _key = seal_and_sign(member, tender, b"x" * 4096)
        bidders.append((member, envelope, cert, signature))
    return bidders


def test_fifty_agencies_in_the_last_second_each_stored_exactly_once():
    world = World()
    tender = world.in_state(TenderStatus.PUBLISHED)
    bidders = _bidders(world, tender)
    clock.freeze(tender.bid_deadline - timedelta(seconds=1))
    # Every agency submits; some retry at the same moment (a client that timed out and tried again).
    # 65 threads, each with its own connection, stay inside PostgreSQL's default 100 connections.
    calls = [_submission(m, tender, e, c, s, f"rush-{m.pk}") for m, e, c, s in bidders]
    results = race(*calls, *calls[:RETRIES])
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors[:3]
    bids = Bid.objects.filter(tender=tender)
    assert bids.count() == AGENCIES
    assert sorted(bids.values_list("agency_id", flat=True)) == sorted(m.organisation_id for m, *_ in bidders)
    assert received_bid_count(tender) == AGENCIES
    assert len(stored_files()) == AGENCIES
    # Both calls of a retrying agency got the same bid (and so the same receipt).
    first, retried = results[:RETRIES], results[AGENCIES:]
    assert [b[0].pk for b in first] == [b[0].pk for b in retried]
    assert sorted(created for _bid, created in results[:RETRIES] + retried) == [False] * RETRIES + [True] * RETRIES
    assert audit_verify().ok


def test_uploads_completing_at_the_deadline_are_all_refused():
    world = World()
    tender = world.in_state(TenderStatus.PUBLISHED)
    bidders = _bidders(world, tender)
    clock.freeze(tender.bid_deadline)
    results = race(*[_submission(m, tender, e, c, s, "late") for m, e, c, s in bidders])
    assert all(isinstance(r, ApplicationError) and r.code == "deadline_passed" for r in results), results[:3]
    assert not Bid.objects.filter(tender=tender).exists()
    assert stored_files() == []


def test_a_clock_passing_the_deadline_mid_rush_splits_them_cleanly():
    """Whichever side of the deadline each submission lands, it is either stored with a receipt time
    before the deadline or refused: never stored late, never lost."""
    world = World()
    tender = world.in_state(TenderStatus.PUBLISHED)
    bidders = _bidders(world, tender)
    clock.freeze(tender.bid_deadline - timedelta(milliseconds=1))
    started = threading.Event()

    def deadline_strikes():
        started.wait(timeout=10)
        clock.freeze(tender.bid_deadline)
        return None

    def first_then_signal(call):
        def run():
            started.set()
            return call()

        return run

    calls = [first_then_signal(_submission(m, tender, e, c, s, "mid")) for m, e, c, s in bidders]
    results = race(*calls, deadline_strikes)[:-1]
    stored = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, ApplicationError)]
    assert len(stored) + len(refused) == AGENCIES, [r for r in results if not isinstance(r, tuple | ApplicationError)]
    assert all(r.code == "deadline_passed" for r in refused)
    bids = Bid.objects.filter(tender=tender)
    assert bids.count() == len(stored)
    assert all(b.received_at < tender.bid_deadline for b in bids)
    assert len(stored_files()) == len(stored)
