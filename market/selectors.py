"""Selectors read: what each user may see, by the one visibility rule of ``market.access``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from core.errors import NotFound
from core.permissions import Role, role_of
from market.access import purchaser_owns, tender_visible_q
from market.models import Notice, Objection, Tender


def tender_list(*, user: Any) -> QuerySet[Tender]:
    return Tender.objects.filter(tender_visible_q(user)).select_related("purchaser", "profile")


def tender_get(*, user: Any, tender_id: int) -> Tender:
    tender = tender_list(user=user).prefetch_related("attachments").filter(pk=tender_id).first()
    if tender is None:
        raise NotFound("No such tender.", "招标项目不存在。")
    return tender


def notice_list(*, tender_id: int | None = None) -> QuerySet[Notice]:
    # Notices exist only for published tenders, so every notice is public.
    qs = Notice.objects.select_related("tender")
    return qs.filter(tender_id=tender_id) if tender_id is not None else qs


def objection_list(*, user: Any, tender: Tender) -> QuerySet[Objection]:
    """The tender's purchaser, operators and supervisors see every objection; an agency its own."""
    qs = tender.objections.select_related("organisation")
    role = role_of(user)
    if role in (Role.OPERATOR, Role.SUPERVISOR) or purchaser_owns(user, tender):
        return qs
    if role == Role.AGENCY:
        return qs.filter(organisation_id=user.organisation_id)
    return qs.none()
