"""The time-driven transitions: find what is due, then move each tender in its own transaction
under its row lock. Two clocks running at once never double-move a tender: the second one waits
for the lock, re-reads the row and finds nothing left to do."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Q

from core import clock
from market.choices import TenderStatus
from market.locks import lock_tender
from market.models import Tender
from market.services.transitions import tender_catch_up

log = logging.getLogger(__name__)


def due_tender_ids(limit: int = 500) -> list[int]:
    """Tenders with a time-driven step due now, oldest deadline first."""
    now = clock.now()
    due = (
        Q(status=TenderStatus.PUBLISHED, bid_deadline__lte=now)
        | Q(status=TenderStatus.OPENING, opening_ends_at__lte=now)
        | Q(status=TenderStatus.PUBLICITY, publicity_ends_at__lte=now)
    )
    return list(Tender.objects.filter(due).order_by("bid_deadline", "id").values_list("id", flat=True)[:limit])


def run_due_transitions() -> int:
    """One pass of the clock. Returns how many steps ran; a failing tender does not stop the rest."""
    moved = 0
    for tender_id in due_tender_ids():
        try:
            with transaction.atomic():
                moved += tender_catch_up(lock_tender(tender_id))
        except Exception:
            log.exception("clock: tender %s could not be moved; will retry next pass", tender_id)
    return moved
