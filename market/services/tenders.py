"""The tender as its purchaser and the operators drive it inside the market: create, edit,
submit, return, and the suspension and resumption steps. Flows that reach into bidding or
agencies (publication, the time-driven steps, contract and completion) are the workflow's:
``procurement.services``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from core import clock
from core.audit import audit_record
from core.clock import format_local as _fmt
from core.errors import ApplicationError
from core.errors import require_reason as _require_reason
from core.permissions import Action, require
from market import rules
from market.access import require_own_tender
from market.choices import NoticeKind, TenderStatus
from market.locks import lock_tender
from market.models import RuleProfile, Tender
from market.services.notices import notice_publish
from market.services.transitions import tender_move, tender_snapshot

# Fields a purchaser sets on a draft.
EDITABLE_FIELDS = (
    "title",
    "description",
    "method",
    "category",
    "region",
    "budget",
    "price_floor",
    "bid_deadline",
    "min_bids",
    "bond_amount",
    "qualification_requirements",
    "direct_reason",
)


def _validate(tender: Tender) -> None:
    try:
        tender.full_clean(exclude=["reference", "status", "created_by", "purchaser", "profile"])
    except ValidationError as exc:
        raise ApplicationError(
            "invalid", "The tender has invalid fields.", "项目信息有误。", fields=exc.message_dict
        ) from None
    if tender.price_floor is not None and tender.price_floor > tender.budget:
        raise ApplicationError(
            "invalid",
            "The price floor cannot exceed the budget (the ceiling).",
            "最低限价不得高于预算（最高限价）。",
            fields={"price_floor": [f"<= {tender.budget}"]},
        )
    floor = rules.min_bids_for(rules.rules_of(tender), tender.method)
    if tender.min_bids < floor:
        raise ApplicationError(
            "min_bids_too_low",
            f"At least {floor} bids are required for this method.",
            f"该方式至少需要 {floor} 份投标。",
            fields={"min_bids": [f">= {floor}"]},
        )


def _profile(name: str | None) -> RuleProfile:
    name = name or settings.AGORA_DEFAULT_PROFILE
    try:
        return RuleProfile.objects.get(name=name)
    except RuleProfile.DoesNotExist:
        raise ApplicationError(
            "unknown_profile", f"No rule profile named '{name}'.", f"不存在名为“{name}”的规则配置。"
        ) from None


def tender_create(*, actor: User, data: dict[str, Any], profile_name: str | None = None) -> Tender:
    """A purchaser creates a draft tender for its own organisation."""
    require(actor, Action.TENDER_CREATE)
    profile = _profile(profile_name)
    fields = {k: v for k, v in data.items() if k in EDITABLE_FIELDS}
    if fields.get("min_bids") is None:
        fields["min_bids"] = rules.min_bids_for(rules.rules_from_profile(profile), fields.get("method", ""))
    with transaction.atomic():
        tender = Tender(
            purchaser=actor.organisation,
            created_by=actor,
            profile=profile,
            reference=f"TMP-{uuid.uuid4().hex[:28]}",
            **fields,
        )
        _validate(tender)
        tender.save()
        tender.reference = f"ZB{clock.now().astimezone(clock.LOCAL_TZ):%Y}{tender.pk:06d}"
        tender.save(update_fields=["reference"])
        audit_record(actor=actor, action="tender.create", obj=tender, after=tender_snapshot(tender))
    return tender


def tender_update_draft(*, actor: User, tender_id: int, data: dict[str, Any]) -> Tender:
    """A purchaser edits its own draft (only drafts can be edited; published facts never change)."""
    require(actor, Action.TENDER_EDIT)
    with transaction.atomic():
        tender = lock_tender(tender_id)
        require_own_tender(actor, tender)
        if tender.status != TenderStatus.DRAFT:
            raise ApplicationError(
                "not_a_draft",
                "Only a draft can be edited; publish an amendment instead.",
                "只有草稿可以修改；已发布项目请发布变更公告。",
                status=409,
            )
        before = tender_snapshot(tender)
        for key, value in data.items():
            if key in EDITABLE_FIELDS:
                setattr(tender, key, value)
        _validate(tender)
        tender.save()
        audit_record(actor=actor, action="tender.edit", obj=tender, before=before, after=tender_snapshot(tender))
    return tender


def tender_submit(*, actor: User, tender_id: int) -> Tender:
    """Draft → pending review. The publication rules are checked now too, so problems show early."""
    require(actor, Action.TENDER_SUBMIT)
    with transaction.atomic():
        tender = lock_tender(tender_id)
        require_own_tender(actor, tender)
        tender_move(
            tender,
            tender.submit,
            actor=actor,
            action="tender.submit",
            changes={"submitted_at": clock.now(), "return_reason": ""},
        )
    return tender


def tender_return(*, actor: User, tender_id: int, reason: str) -> Tender:
    """An operator returns a submitted tender to its purchaser with the reason."""
    require(actor, Action.TENDER_RETURN)
    reason = _require_reason(reason, "Returning a tender", "退回项目")
    with transaction.atomic():
        tender = lock_tender(tender_id)
        tender_move(
            tender,
            tender.return_to_draft,
            actor=actor,
            action="tender.return",
            changes={"return_reason": reason},
            note={"reason": reason},
        )
    return tender


def suspend_locked(tender: Tender, *, actor: User, cause: str, kind: str) -> None:
    """Suspend a tender the caller has locked (objection or complaint accepted), with its notice."""
    from_state = tender.status
    suspended_at = clock.now()
    tender_move(
        tender,
        tender.suspend,
        actor=actor,
        action="tender.suspend",
        note={"cause": cause},
        changes={"suspended_from": from_state, "suspended_at": suspended_at, "suspension_cause": kind},
    )
    notice_publish(
        tender=tender,
        kind=NoticeKind.SUSPENSION,
        title=f"{tender.title} 暂停公告",
        actor=actor,
        body=f"因{cause}，本项目自 {_fmt(suspended_at)} 起暂停。\nThe procedure is suspended: {cause}.",
        data={"from": from_state, "cause": cause},
    )


def resume_locked(
    tender: Tender, *, actor: User, ruling: str, to: str | None = None, new_deadline: datetime | None = None
) -> None:
    """Resume a suspended tender the caller has locked.

    Every deadline still ahead when the suspension began moves later by the time spent suspended,
    unless the ruling sets a new bid deadline; the resumption notice lists the dates.
    """
    assert tender.suspended_at is not None
    now = clock.now()
    target = to or tender.suspended_from
    paused = now - tender.suspended_at
    changes: dict[str, Any] = {}
    for field in Tender.SHIFTABLE_DEADLINES:
        value = getattr(tender, field)
        if value is not None and value > tender.suspended_at:
            changes[field] = value + paused
    if new_deadline is not None:
        if target != TenderStatus.PUBLISHED:
            raise ApplicationError(
                "invalid",
                "A new bid deadline only applies while bids are open.",
                "只有投标期内可以重新确定投标截止时间。",
            )
        if new_deadline <= now:
            raise ApplicationError(
                "deadline_in_past", "The new deadline must be in the future.", "新的截止时间必须晚于当前时间。"
            )
        changes["bid_deadline"] = new_deadline
    moved = {field: value.isoformat() for field, value in changes.items()}
    changes |= {"suspended_from": "", "suspended_at": None, "suspension_cause": ""}
    if target == TenderStatus.EVALUATING:
        changes["winner"] = None  # back under evaluation (an upheld objection): no candidate stands yet
    tender_move(
        tender,
        tender.resume,
        target,
        actor=actor,
        action="tender.resume",
        changes=changes,
        note={"ruling": ruling, "paused_seconds": paused.total_seconds()},
    )
    dates = "".join(f"\n{field}: {_fmt(datetime.fromisoformat(v))}" for field, v in moved.items())
    notice_publish(
        tender=tender,
        kind=NoticeKind.RESUMPTION,
        title=f"{tender.title} 恢复公告",
        actor=actor,
        body=f"{ruling}\n本项目恢复进行，暂停期间 {paused} 顺延，新的时间如下：{dates or '（无变化）'}",
        data={"to": target, "moved": moved, "paused_seconds": paused.total_seconds()},
    )


def tender_resume(*, actor: User, tender_id: int, ruling: str, new_deadline: datetime | None = None) -> Tender:
    """A supervisor rules and the procedure resumes where it left off."""
    require(actor, Action.TENDER_RESUME)
    ruling = _require_reason(ruling, "Resuming a tender", "恢复项目")
    with transaction.atomic():
        tender = lock_tender(tender_id)
        if tender.status != TenderStatus.SUSPENDED:
            raise ApplicationError(
                "invalid_state", "Only a suspended tender can be resumed.", "只有暂停的项目可以恢复。", status=409
            )
        if tender.has_pending_objection():
            raise ApplicationError(
                "objection_pending", "An objection is still waiting for its answer.", "尚有异议未答复。", status=409
            )
        resume_locked(tender, actor=actor, ruling=ruling, new_deadline=new_deadline)
    return tender
