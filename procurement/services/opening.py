"""The opening as a workflow step: a key holder fetches and submits its share, a bidder releases its own
lock, on a tender whose time-driven steps have run (a share after the decryption window finds the opening
already over; a fetch one second after the deadline finds it begun, clock or no clock)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import User
from bidding.models import Bid
from bidding.services import opening
from core.errors import NotFound
from core.permissions import Action, require
from procurement.services.timeline import lock_current


def opening_share_fetch(*, actor: User, tender_id: int) -> dict[str, Any]:
    """A key holder's wrapped share, only once the opening has begun; the download is audited."""
    require(actor, Action.OPENING_SUBMIT_SHARE)
    with transaction.atomic():
        tender = lock_current(tender_id)
        return opening.opening_share_fetch_locked(tender, actor=actor)


def opening_submit_share(*, actor: User, tender_id: int, share: str) -> dict[str, Any]:
    """A key holder submits its decrypted share during the opening. The share that meets the
    threshold opens every bid in the same transaction."""
    require(actor, Action.OPENING_SUBMIT_SHARE)
    with transaction.atomic():
        tender = lock_current(tender_id)
        return opening.opening_submit_share_locked(tender, actor=actor, share=share)


def bid_release(*, actor: User, bid_id: int, layer_key: str) -> Bid:
    """A bidder releases the key of its bid's own lock during the opening (投标人解密)."""
    require(actor, Action.BID_SUBMIT)
    tender_id = Bid.objects.filter(pk=bid_id).values_list("tender_id", flat=True).first()
    if tender_id is None:
        raise NotFound("No such bid.", "投标文件不存在。")
    with transaction.atomic():
        tender = lock_current(tender_id)
        return opening.bid_release_locked(tender, actor=actor, bid_id=bid_id, layer_key=layer_key)
