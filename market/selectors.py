"""Selectors read: what each user may see, by the one visibility rule of ``market.access``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from core.errors import NotFound
from core.filtering import apply_filters
from core.permissions import Role, role_of
from market.access import purchaser_owns, tender_visible_q
from market.filters import NoticeFilterSet, TenderFilterSet
from market.models import Notice, Objection, Tender, TenderAttachment


def tender_list(*, user: Any, params: Any = None) -> QuerySet[Tender]:
    """The tenders ``user`` may see, narrowed by the listing's filters (``TenderFilterSet``)."""
    visible = Tender.objects.filter(tender_visible_q(user)).select_related("purchaser", "profile")
    return apply_filters(TenderFilterSet, params, visible, user=user)


def tender_get(*, user: Any, tender_id: int) -> Tender:
    tender = tender_list(user=user).prefetch_related("attachments").filter(pk=tender_id).first()
    if tender is None:
        raise NotFound("No such tender.", "招标项目不存在。")
    return tender


def notice_list(*, tender_id: int | None = None, params: Any = None) -> QuerySet[Notice]:
    """Every notice (notices exist only for published tenders, so all are public), narrowed by the
    listing's filters (``NoticeFilterSet``)."""
    qs = Notice.objects.select_related("tender")
    if tender_id is not None:
        qs = qs.filter(tender_id=tender_id)
    return apply_filters(NoticeFilterSet, params, qs)


def objection_list(*, user: Any, tender: Tender) -> QuerySet[Objection]:
    """The tender's purchaser, operators and supervisors see every objection; an agency its own."""
    qs = tender.objections.select_related("organisation")
    role = role_of(user)
    if role in (Role.OPERATOR, Role.SUPERVISOR) or purchaser_owns(user, tender):
        return qs
    if role == Role.AGENCY:
        return qs.filter(organisation_id=user.organisation_id)
    return qs.none()


def attachment_files_in_use(digests: set[str]) -> set[str]:
    """Which of these attachment digests a tender's attachment row names (storage_gc asks)."""
    return set(TenderAttachment.objects.filter(sha256__in=digests).values_list("sha256", flat=True))
