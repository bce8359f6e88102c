"""The opening as a workflow step: a key holder's share arrives on a tender whose time-driven
steps have run (a share after the decryption window finds the opening already failed)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import User
from bidding.services import opening
from core.permissions import Action, require
from procurement.services.timeline import lock_current


def opening_submit_share(*, actor: User, tender_id: int, share: str) -> dict[str, Any]:
    """A key holder submits its decrypted share during the opening. The share that meets the
    threshold opens every bid in the same transaction."""
    require(actor, Action.OPENING_SUBMIT_SHARE)
    raw = opening.share_decode(share)
    with transaction.atomic():
        tender = lock_current(tender_id)
        return opening.opening_submit_share_locked(tender, actor=actor, raw=raw)
