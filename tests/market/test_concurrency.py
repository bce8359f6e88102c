"""Two transitions of one tender at the same moment, in real threads with their own database
connections: exactly one wins, the other is refused, and the trail records one change.

On PostgreSQL the row lock (SELECT … FOR UPDATE) decides; on SQLite the IMMEDIATE transaction's
write lock does. Both run in CI."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from core.audit import audit_verify
from core.errors import ApplicationError
from core.models import AuditEntry
from market.choices import TenderStatus as S
from market.models import Notice, Tender
from market.services import tenders as market_tenders
from procurement.services import tenders as svc
from procurement.services.timeline import run_due_steps
from tests.factories import World

# serialized_rollback restores the rows the data migrations made (rule profiles, audit head) after the flush.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def race(*calls: Callable[[], object]) -> list[object]:
    """Start every call at once (behind a barrier) and return what each returned or raised."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.parametrize("attempt", range(3))
def test_two_operators_approve_at_once_exactly_one_wins(attempt):
    world = World()
    tender = world.in_state(S.PENDING_REVIEW)
    results = race(*[lambda: svc.tender_approve(actor=world.operator, tender_id=tender.pk)] * 2)
    wins = [r for r in results if isinstance(r, Tender)]
    refusals = [r for r in results if isinstance(r, ApplicationError)]
    assert len(wins) == 1 and len(refusals) == 1, results
    assert refusals[0].code == "invalid_state"
    assert AuditEntry.objects.filter(action="tender.approve", object_id=str(tender.pk)).count() == 1
    assert Notice.objects.filter(tender=tender, kind="tender").count() == 1
    assert audit_verify().ok


def test_approve_and_return_race_exactly_one_wins():
    world = World()
    tender = world.in_state(S.PENDING_REVIEW)
    results = race(
        lambda: svc.tender_approve(actor=world.operator, tender_id=tender.pk),
        lambda: market_tenders.tender_return(actor=world.operator, tender_id=tender.pk, reason="退回"),
    )
    assert sum(isinstance(r, Tender) for r in results) == 1, results
    final = Tender.objects.get(pk=tender.pk).status
    assert final in (S.PUBLISHED, S.DRAFT)
    assert AuditEntry.objects.filter(action__in=["tender.approve", "tender.return"]).count() == 1
    assert audit_verify().ok


def test_two_clocks_at_the_deadline_move_the_tender_once():
    from core import clock

    world = World()
    tender = world.in_state(S.PUBLISHED)
    for agency in world.agencies:
        world.bid(tender, agency)
    clock.freeze(tender.bid_deadline)
    results = race(run_due_steps, run_due_steps)
    assert sorted(results) == [0, 1]
    assert Tender.objects.get(pk=tender.pk).status == S.OPENING
    assert AuditEntry.objects.filter(action="tender.start_opening").count() == 1
    assert audit_verify().ok


def test_cancel_racing_the_clock_leaves_one_consistent_outcome():
    from core import clock

    world = World()
    tender = world.in_state(S.PUBLISHED)
    clock.freeze(tender.bid_deadline)  # no bids: the clock would fail it
    results = race(run_due_steps, lambda: svc.tender_cancel(actor=world.purchaser, tender_id=tender.pk, reason="终止"))
    final = Tender.objects.get(pk=tender.pk)
    # Whoever takes the lock first decides; the other finds a final state and does nothing.
    assert final.status in (S.FAILED, S.CANCELLED)
    moves = AuditEntry.objects.filter(action__in=["tender.fail_too_few_bids", "tender.cancel"]).count()
    assert moves == 1, results
    assert audit_verify().ok
