"""The tender's time-driven steps: one table says which steps exist and when each is due.

Both questions time asks are answered from :data:`DUE_STEPS` and nowhere else:

- the clock's query "which tenders have a step due now?" (:func:`due_tenders_q`), and
- the catch-up "run every step now due for this tender" (:func:`tender_catch_up`), which the
  clock runs and every service that acts on a tender runs first, under the tender's row lock, so a
  rule that depends on time holds at the moment of use whether or not the clock has run.

A new step is one more row in the table; it cannot be added to one of the two and not the other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q

from bidding import selectors as bid_selectors
from bidding.models import Bid, KeyShare
from bidding.services import opening
from bidding.services.evaluation import award_bids_locked, evaluation_on_entry
from core import clock
from core.clock import format_local as _fmt
from market import guards
from market.choices import NoticeKind, TenderStatus
from market.locks import lock_tender
from market.models import Tender
from market.rules import rules_of
from market.services.notices import notice_publish
from market.services.transitions import tender_move

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DueStep:
    """A step that becomes due for a tender in ``status`` once the time in ``due_field`` has passed.

    ``run`` takes the locked tender and the current time and returns whether it moved the tender
    (a step may find a reason to wait, such as an objection still pending)."""

    name: str
    status: TenderStatus
    due_field: str
    run: Callable[[Tender, datetime], bool]

    def is_due(self, tender: Tender, now: datetime) -> bool:
        due_at = getattr(tender, self.due_field)
        return tender.status == self.status and due_at is not None and now >= due_at

    def q(self, now: datetime) -> Q:
        return Q(status=self.status, **{f"{self.due_field}__lte": now})


def _close_bids(tender: Tender, now: datetime) -> bool:
    """The bid deadline passed: open with enough bids, otherwise fail (流标). The opening time
    equals the bid deadline (招标投标法 §34)."""
    received = bid_selectors.received_bid_count(tender)
    if received >= tender.min_bids:
        ends = tender.bid_deadline + rules_of(tender).decryption_window
        tender_move(
            tender, tender.start_opening, actor=None, action="tender.start_opening", changes={"opening_ends_at": ends}
        )
        return True
    tender_move(
        tender,
        tender.fail_too_few_bids,
        actor=None,
        action="tender.fail_too_few_bids",
        changes={"fail_reason": f"too_few_bids: {received} < {tender.min_bids}", "closed_at": now},
    )
    notice_publish(
        tender=tender,
        kind=NoticeKind.FAILURE,
        title=f"{tender.title} 流标公告",
        body=(
            f"截至投标截止时间 {_fmt(tender.bid_deadline)}，本项目递交投标文件 {received} 份，"
            f"少于 {tender.min_bids} 份，本次招标失败（流标）。采购人可依法重新招标。\n"
            f"Tender failed: {received} bid(s) received by the deadline, fewer than {tender.min_bids}."
        ),
        data={"received": received, "min_bids": tender.min_bids},
    )
    return True


def _close_opening(tender: Tender, now: datetime) -> bool:
    """The decryption window ended: with the holders' shares in, the bids are opened now if they were
    waiting for bidders' keys (those not released count as withdrawn) and go to evaluation; otherwise the
    opening failed, and whatever shares came in are erased."""
    if opening.opening_at_window_end_locked(tender):
        tender_move(tender, tender.close_opening, actor=None, action="tender.close_opening")
        evaluation_on_entry(tender)
        return True
    assert tender.opening_ends_at is not None  # the step is due, so the window has an end
    # The key holders did not open the bids within the window: not the bidders' fault, so their
    # bids count as withdrawn and the tender fails (电子招标投标办法).
    tender_move(
        tender,
        tender.fail_opening,
        actor=None,
        action="tender.fail_opening",
        changes={"fail_reason": "opening_not_completed", "closed_at": now},
    )
    opening.opening_secrets_erase_locked(tender, resumable=False)
    notice_publish(
        tender=tender,
        kind=NoticeKind.FAILURE,
        title=f"{tender.title} 开标失败公告",
        body=(
            f"解密时限 {_fmt(tender.opening_ends_at)} 届满，开标密钥持有人未完成解密，投标文件未能开启，"
            "按撤回处理，本次招标失败。采购人可依法重新招标。\n"
            "The key holders did not open the bids within the decryption window; the bids count as "
            "withdrawn and the tender failed."
        ),
        data={"reason": "opening_not_completed"},
    )
    return True


def _end_publicity(tender: Tender, now: datetime) -> bool:
    """The publicity period ended: with no objection pending the result takes effect (award)."""
    if not guards.no_pending_objection(tender):
        return False
    assert tender.publicity_ends_at is not None  # the step is due, so the period has an end
    contract_due_at = now + rules_of(tender).contract_period
    tender_move(
        tender,
        tender.award,
        actor=None,
        action="tender.award",
        changes={"awarded_at": now, "contract_due_at": contract_due_at},
    )
    award_bids_locked(tender)
    notice_publish(
        tender=tender,
        kind=NoticeKind.AWARD,
        title=f"{tender.title} 中标（中选）结果公告",
        body=(
            f"公示期于 {_fmt(tender.publicity_ends_at)} 届满，无未决异议，结果生效。"
            f"合同应于 {_fmt(contract_due_at)} 前签订。\n"
            "The publicity period ended with no pending objection; the result stands."
        ),
        data={"contract_due_at": contract_due_at.isoformat()},
    )
    return True


# The one table of time-driven steps.
DUE_STEPS: tuple[DueStep, ...] = (
    DueStep("close_bids", TenderStatus.PUBLISHED, "bid_deadline", _close_bids),
    DueStep("close_opening", TenderStatus.OPENING, "opening_ends_at", _close_opening),
    DueStep("end_publicity", TenderStatus.PUBLICITY, "publicity_ends_at", _end_publicity),
)


def due_tenders_q(now: datetime) -> Q:
    """Tenders with a step of :data:`DUE_STEPS` due at ``now`` (the clock's query)."""
    due = Q(pk__in=[])
    for step in DUE_STEPS:
        due |= step.q(now)
    return due


def tender_catch_up(tender: Tender) -> int:
    """Run every time-driven step now due for a tender the caller has locked. Returns how many ran.

    Called by the clock and at the start of every service that acts on a tender. Safe to call
    twice: a step that has run no longer matches."""
    moved = 0
    while True:
        now = clock.now()
        step = next((s for s in DUE_STEPS if s.is_due(tender, now)), None)
        if step is None or not step.run(tender, now):
            return moved
        moved += 1


def lock_current(tender_id: int) -> Tender:
    """The tender locked for this transaction with every time-driven step now due already run:
    how a workflow service starts. 404 when there is no such tender."""
    tender = lock_tender(tender_id)
    tender_catch_up(tender)
    return tender


def due_tender_ids(limit: int = 500) -> list[int]:
    """Tenders with a time-driven step due now, oldest deadline first."""
    due = due_tenders_q(clock.now())
    return list(Tender.objects.filter(due).order_by("bid_deadline", "id").values_list("id", flat=True)[:limit])


def stray_secrets_erase() -> int:
    """Erase opening secrets (submitted shares, bidders' released keys) held for any tender no longer in its
    opening: the services that move a tender out of the opening erase them in the same transaction, and this
    pass of the clock makes sure no path that forgets leaves them at rest. Returns how many tenders it cleaned."""
    stray = (
        Tender.objects.exclude(status=TenderStatus.OPENING)
        .filter(
            Q(pk__in=KeyShare.objects.exclude(submitted_share=b"").values("opening_key__tender_id"))
            | Q(pk__in=Bid.objects.exclude(layer_key=b"").values("tender_id"))
        )
        .values_list("pk", flat=True)
    )
    cleaned = 0
    for tender_id in list(stray):
        with transaction.atomic():
            tender = lock_tender(tender_id)
            if tender.status != TenderStatus.OPENING:
                cleaned += bool(
                    opening.opening_secrets_erase_locked(tender, resumable=tender.status == TenderStatus.SUSPENDED)
                )
    return cleaned


def run_due_steps() -> int:
    """One pass of the clock over tenders. Each tender moves in its own transaction under its row
    lock, so two clocks at once never double-move one: the second waits, re-reads and finds nothing
    left. A failing tender does not stop the rest. Returns how many steps ran."""
    moved = 0
    for tender_id in due_tender_ids():
        try:
            with transaction.atomic():
                moved += tender_catch_up(lock_tender(tender_id))
        except Exception:
            log.exception("clock: tender %s could not be moved; will retry next pass", tender_id)
    return moved
