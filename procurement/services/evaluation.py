"""The actors' evaluation steps, each on a tender locked and caught up with time first (the
decision rules themselves are bidding's: ``bidding.services.evaluation``)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import User
from bidding.models import Bid, CommitteeScore
from bidding.services import evaluation
from core.permissions import Action, require
from market.models import Tender
from procurement.services.timeline import lock_current


def committee_score_record(
    *,
    actor: User,
    tender_id: int,
    member_code: str,
    member_name: str,
    scores: dict[Any, Any],
    breakdown: dict[Any, Any] | None = None,
) -> list[CommitteeScore]:
    """The trading centre records one committee member's score sheet for this round."""
    require(actor, Action.TENDER_RECORD_RESULT)
    with transaction.atomic():
        return evaluation.committee_score_record_locked(
            lock_current(tender_id),
            actor=actor,
            member_code=member_code,
            member_name=member_name,
            scores=scores,
            breakdown=breakdown,
        )


def evaluation_disqualify(*, actor: User, tender_id: int, bid_id: int, reason: str) -> Bid:
    """The committee sets a bid aside (否决投标) with the reason; the trading centre records it."""
    require(actor, Action.TENDER_RECORD_RESULT)
    with transaction.atomic():
        return evaluation.evaluation_disqualify_locked(
            lock_current(tender_id), actor=actor, bid_id=bid_id, reason=reason
        )


def evaluation_conclude(*, actor: User, tender_id: int) -> Tender:
    """The trading centre concludes a round (an open tender's sheets, or a re-run after an upheld
    objection)."""
    require(actor, Action.TENDER_RECORD_RESULT)
    with transaction.atomic():
        return evaluation.evaluation_conclude_locked(lock_current(tender_id), actor=actor)


def direct_pick(*, actor: User, tender_id: int, bid_id: int, reason: str) -> Tender:
    """直接选取: the purchaser picks one valid bid of its direct-selection tender, with a reason."""
    require(actor, Action.TENDER_DIRECT_PICK)
    with transaction.atomic():
        return evaluation.direct_pick_locked(lock_current(tender_id), actor=actor, bid_id=bid_id, reason=reason)
