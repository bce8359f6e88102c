"""Who may see a tender, and who owns it: each question answered once, here.

Every surface asks these functions (the API's detail and list, the pages, the search documents,
bid submission, the workflow services), so they cannot disagree. A tender is **public once it was
published**: a draft, one waiting for review, or one cancelled before it was ever published never
is, whatever its status says now."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q

from core.errors import NotFound
from core.permissions import Action, Role, can, role_of
from market.choices import TenderStatus
from market.models import Tender

# The public's tenders, as a query (the same rule as tender_is_public).
PUBLIC_TENDERS = Q(published_at__isnull=False)


def tender_is_public(tender: Tender) -> bool:
    """Published at some point: its notice went out, so the tender and its history are public."""
    return tender.published_at is not None


def purchaser_owns(user: Any, tender: Tender) -> bool:
    """The tender belongs to the user's organisation, and the user acts for a purchaser."""
    return role_of(user) == Role.PURCHASER and user.organisation_id == tender.purchaser_id


def require_own_tender(actor: Any, tender: Tender) -> None:
    """Refuse a purchaser's act on someone else's tender: to that user it does not exist (404)."""
    if not purchaser_owns(actor, tender):
        raise NotFound("No such tender.", "招标项目不存在。")


def owned_tenders_q(user: Any, *, prefix: str = "") -> Q:
    """The tenders of the user's purchaser organisation, as a query (``prefix`` for a related
    model's tender, e.g. ``"tender__"``). The same rule as :func:`purchaser_owns`."""
    if role_of(user) != Role.PURCHASER:
        return Q(pk__in=[])
    return Q(**{f"{prefix}purchaser_id": user.organisation_id})


def tender_visible_q(user: Any) -> Q:
    """The tenders ``user`` may read: operators and supervisors all, a purchaser also its own
    unpublished ones, everyone else (anonymous included) the public ones."""
    if can(user, Action.TENDER_VIEW_UNPUBLISHED):
        return Q()
    return PUBLIC_TENDERS | owned_tenders_q(user)


def tender_visible_to(user: Any, tender: Tender) -> bool:
    """The same rule as :func:`tender_visible_q`, for a tender already in hand."""
    return can(user, Action.TENDER_VIEW_UNPUBLISHED) or tender_is_public(tender) or purchaser_owns(user, tender)


def tender_accepts_bids(tender: Tender, now: datetime) -> bool:
    """Bids are accepted while the tender is published (not suspended) and its deadline is ahead.
    The deadline is decided by the clock at the moment of use, not by the status alone."""
    return tender.status == TenderStatus.PUBLISHED and now < tender.bid_deadline
