"""The tender's workflow steps that cross apps or depend on time: publication (the opening key,
the lottery commitment and the notice), amendment, suspension by complaint, failure at evaluation,
contract and completion with their credit events, and cancellation. Each runs the time-driven steps
now due first, under the tender's row lock."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from accounts.models import User
from agencies.locks import lock_agency
from agencies.models import Agency
from agencies.services.credit import event_record_locked
from bidding.services.evaluation import lottery_commit, lottery_notice_data
from bidding.services.opening import opening_secrets_erase_locked
from bidding.services.opening_keys import opening_key_create, opening_key_notice_data
from core import clock
from core.audit import audit_record
from core.clock import format_local as _fmt
from core.errors import ApplicationError
from core.errors import require_reason as _require_reason
from core.permissions import Action, require
from market.access import require_own_tender
from market.choices import FINAL_STATUSES, NoticeKind, TenderStatus
from market.locks import lock_tender
from market.models import Tender
from market.rules import rules_from_profile, rules_of, rules_to_json
from market.services.notices import notice_publish
from market.services.tenders import suspend_locked
from market.services.transitions import tender_move, tender_snapshot
from procurement.services.timeline import tender_catch_up


def tender_approve(*, actor: User, tender_id: int) -> Tender:
    """An operator approves: the tender is published with its notice. The deadline rule is checked
    against the publication time, now."""
    require(actor, Action.TENDER_APPROVE)
    with transaction.atomic():
        tender = lock_tender(tender_id)
        # The tender is bound from now on by the rules as they stand (market.rules.rules_of); the
        # audit entry records them, so a supervisor sees what the tender was published under.
        bound = rules_to_json(rules_from_profile(tender.profile))
        tender_move(
            tender,
            tender.approve,
            actor=actor,
            action="tender.approve",
            changes={"published_at": clock.now(), "rules_snapshot": bound},
            note={"rules": bound},
        )
        # The opening key is made now and its public half goes out with the notice (DOMAIN.md, bids §2).
        opening_key = opening_key_create(tender=tender, actor=actor)
        # A method that draws lots commits to its secret now; the commitment goes out with the notice.
        committed = lottery_commit(tender=tender, opening_key=opening_key, actor=actor)
        lots = f"\n抽签承诺值（SHA-256，开标后揭示）：{committed.commitment}" if committed else ""
        notice_publish(
            tender=tender,
            kind=NoticeKind.TENDER,
            title=f"{tender.title} 招标公告",
            actor=actor,
            body=(
                f"项目编号：{tender.reference}\n采购人：{tender.purchaser.name}\n"
                f"选取方式：{tender.get_method_display()}\n服务类别：{tender.get_category_display()}\n"
                f"预算金额：{tender.budget} 元\n投标保证金：{tender.bond_amount} 元\n"
                f"投标截止及开标时间：{_fmt(tender.bid_deadline)}\n"
                f"资格要求：{tender.qualification_requirements or '无'}\n"
                f"开标公钥（投标文件须以此加密）：{opening_key.public_key}{lots}\n\n{tender.description}"
            ),
            data={
                "reference": tender.reference,
                "bid_deadline": tender.bid_deadline.isoformat(),
                "budget": str(tender.budget),
                "method": tender.method,
                "category": tender.category,
                "region": tender.region,
                "min_bids": tender.min_bids,
                "opening_key": opening_key_notice_data(opening_key),
                "lottery": lottery_notice_data(tender),
                "price_floor": None if tender.price_floor is None else str(tender.price_floor),
            },
        )
    return tender


def tender_amend(*, actor: User, tender_id: int, title: str, body: str, new_deadline: datetime | None = None) -> Tender:
    """A purchaser publishes an amendment or clarification (变更/澄清公告).

    An amendment later than the cut-off before the deadline (15 days by law) moves the deadline
    so that the full cut-off remains (招标投标法 §23). The deadline never moves earlier.
    """
    require(actor, Action.TENDER_AMEND)
    if not (title or "").strip() or not (body or "").strip():
        raise ApplicationError(
            "invalid",
            "An amendment needs a title and a body.",
            "变更公告须有标题和正文。",
            fields={"title": ["required"], "body": ["required"]},
        )
    with transaction.atomic():
        tender = lock_tender(tender_id)
        require_own_tender(actor, tender)
        tender_catch_up(tender)
        if tender.status != TenderStatus.PUBLISHED:
            raise ApplicationError(
                "invalid_state",
                "Only a tender open for bids can be amended.",
                "只有投标期内的项目可以变更。",
                status=409,
            )
        now = clock.now()
        before = tender_snapshot(tender)
        old_deadline = tender.bid_deadline
        deadline = old_deadline
        if new_deadline is not None:
            if new_deadline < old_deadline:
                raise ApplicationError(
                    "deadline_earlier", "An amendment cannot bring the deadline forward.", "变更不得提前投标截止时间。"
                )
            deadline = new_deadline
        earliest = now + rules_of(tender).amendment_cutoff
        moved_by_rule = deadline < earliest
        if moved_by_rule:
            deadline = earliest
        tender.bid_deadline = deadline
        tender.save()
        audit_record(actor=actor, action="tender.amend", obj=tender, before=before, after=tender_snapshot(tender))
        extra = ""
        if deadline != old_deadline:
            extra = f"\n投标截止及开标时间由 {_fmt(old_deadline)} 变更为 {_fmt(deadline)}。"
            if moved_by_rule:
                extra += "（变更距截止时间不足法定期限，截止时间相应顺延。）"
        notice_publish(
            tender=tender,
            kind=NoticeKind.AMENDMENT,
            title=title,
            body=body + extra,
            actor=actor,
            data={
                "old_deadline": old_deadline.isoformat(),
                "new_deadline": deadline.isoformat(),
                "moved_by_rule": moved_by_rule,
            },
        )
    return tender


def tender_suspend(*, actor: User, tender_id: int, reason: str) -> Tender:
    """A supervisor accepts a complaint (投诉) and suspends the procedure."""
    require(actor, Action.TENDER_SUSPEND)
    reason = _require_reason(reason, "Suspending a tender", "暂停项目")
    with transaction.atomic():
        tender = lock_tender(tender_id)
        tender_catch_up(tender)
        suspend_locked(tender, actor=actor, cause=reason, kind="complaint")
        # Shares and bidders' keys exist only while the tender is in its opening; they come in again on resumption.
        opening_secrets_erase_locked(tender, resumable=True, actor=actor)
    return tender


def tender_fail_evaluation(*, actor: User, tender_id: int, reason: str) -> Tender:
    """No valid bid (or fewer valid than the minimum): the tender fails (废标)."""
    require(actor, Action.TENDER_RECORD_RESULT)
    reason = _require_reason(reason, "Failing a tender", "废标")
    with transaction.atomic():
        tender = lock_tender(tender_id)
        tender_catch_up(tender)
        tender_move(
            tender,
            tender.fail_no_valid_bid,
            actor=actor,
            action="tender.fail_no_valid_bid",
            changes={"fail_reason": reason, "closed_at": clock.now(), "winner": None},
            note={"reason": reason},
        )
        notice_publish(
            tender=tender,
            kind=NoticeKind.FAILURE,
            title=f"{tender.title} 废标公告",
            actor=actor,
            body=f"{reason}\nThe tender failed: no valid bid.",
            data={"reason": reason},
        )
    return tender


def _winner_credit_locked(tender: Tender, *, kind: str, reason: str) -> None:
    """Record a credit event the platform itself saw for the tender's winning agency (the caller
    holds the tender's lock; the agency row is locked after it, in the one lock order)."""
    agency_id = (
        Agency.objects.filter(organisation_id=tender.winner_id).values_list("pk", flat=True).first()
        if tender.winner_id is not None
        else None
    )
    if agency_id is None:
        return  # a winner with no agency profile (imported history): nothing to score
    event_record_locked(lock_agency(agency_id), actor=None, kind_code=kind, reason=reason, source=tender)


def tender_record_contract(
    *, actor: User, tender_id: int, contract_reference: str, service_due_at: datetime | None = None
) -> Tender:
    """The purchaser records the signed contract, and the completion date it agrees if it states
    one. A contract recorded after the contract period (30 days by law) is late: it is flagged, and
    the winning agency gets a ``late_contract`` credit event."""
    require(actor, Action.TENDER_RECORD_CONTRACT)
    contract_reference = _require_reason(contract_reference, "A contract record", "合同登记")
    with transaction.atomic():
        tender = lock_tender(tender_id)
        require_own_tender(actor, tender)
        tender_catch_up(tender)
        now = clock.now()
        if service_due_at is not None and service_due_at <= now:
            raise ApplicationError(
                "invalid",
                "The agreed completion date must be in the future.",
                "约定完成时间须晚于当前时间。",
                fields={"service_due_at": ["in the past"]},
            )
        late = tender.contract_due_at is not None and now > tender.contract_due_at
        tender_move(
            tender,
            tender.record_contract,
            actor=actor,
            action="tender.record_contract",
            changes={
                "contracted_at": now,
                "contract_reference": contract_reference,
                "contract_late": late,
                "service_due_at": service_due_at,
            },
            note={"contract_reference": contract_reference, "late": late},
        )
        if late:
            assert tender.contract_due_at is not None
            _winner_credit_locked(
                tender,
                kind="late_contract",
                reason=(
                    f"{tender.reference} 合同于 {_fmt(now)} 登记，晚于应签订期限 {_fmt(tender.contract_due_at)}"
                    f"（合同编号 {contract_reference}）"
                ),
            )
    return tender


def tender_complete(*, actor: User, tender_id: int) -> Tender:
    """The purchaser confirms the service was completed. Completion by the contract's agreed date
    (or with no date agreed) is on time: the agency gets an ``award_completed_on_time`` credit
    event. The purchaser then rates the service (``/api/tenders/{id}/evaluation/`` of agencies)."""
    require(actor, Action.TENDER_COMPLETE)
    with transaction.atomic():
        tender = lock_tender(tender_id)
        require_own_tender(actor, tender)
        now = clock.now()
        on_time = tender.service_due_at is None or now <= tender.service_due_at
        tender_move(
            tender,
            tender.complete,
            actor=actor,
            action="tender.complete",
            changes={"closed_at": now},
            note={"on_time": on_time},
        )
        if on_time:
            due = f"，约定完成时间 {_fmt(tender.service_due_at)}" if tender.service_due_at else ""
            _winner_credit_locked(
                tender,
                kind="award_completed_on_time",
                reason=f"{tender.reference} 于 {_fmt(now)} 完成履约{due}",
            )
    return tender


def tender_cancel(*, actor: User, tender_id: int, reason: str) -> Tender:
    """The purchaser terminates its tender (终止) with a reason; once public, a notice says so."""
    require(actor, Action.TENDER_CANCEL)
    reason = _require_reason(reason, "Cancelling a tender", "终止项目")
    with transaction.atomic():
        tender = lock_tender(tender_id)
        require_own_tender(actor, tender)
        tender_catch_up(tender)
        if tender.status in FINAL_STATUSES:
            raise ApplicationError(
                "invalid_state",
                f"The tender is already {tender.status}; nothing moves from a final state.",
                "项目已处于终结状态，不能再变更。",
                status=409,
            )
        was_public = tender.published_at is not None
        tender_move(
            tender,
            tender.cancel,
            actor=actor,
            action="tender.cancel",
            changes={"cancel_reason": reason, "closed_at": clock.now()},
            note={"reason": reason},
        )
        opening_secrets_erase_locked(tender, resumable=False, actor=actor)
        if was_public:
            notice_publish(
                tender=tender,
                kind=NoticeKind.CANCELLATION,
                title=f"{tender.title} 终止公告",
                actor=actor,
                body=f"终止原因：{reason}\nThe tender is terminated.",
                data={"reason": reason},
            )
    return tender
