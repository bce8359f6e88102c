"""Reads of bids that other layers ask about, without reaching into bidding's models."""

from __future__ import annotations

from bidding.models import Bid, BidStatus
from market.models import Tender


def received_bid_count(tender: Tender) -> int:
    """Bids standing at the deadline (submitted: not withdrawn, not superseded). The workflow
    opens a tender with at least its ``min_bids`` of them and fails it (流标) with fewer."""
    return Bid.objects.filter(tender=tender, status=BidStatus.SUBMITTED).count()


def sealed_files_in_use(digests: set[str]) -> set[str]:
    """Which of these sealed-file digests a bid row names, whatever its status (storage_gc asks)."""
    return set(Bid.objects.filter(ciphertext_digest__in=digests).values_list("ciphertext_digest", flat=True))
