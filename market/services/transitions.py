"""Running a django-fsm transition with a clear refusal, and the tender's time-driven steps."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django_fsm import TransitionNotAllowed

from core import clock
from core.audit import audit_record
from core.errors import ApplicationError
from market import guards
from market.choices import NoticeKind, TenderStatus
from market.models import Tender
from market.rules import format_local as _fmt
from market.services.notices import notice_publish


def tender_snapshot(tender: Tender) -> dict[str, Any]:
    """The fields an audit entry records before and after a change."""
    return {
        "status": tender.status,
        "title": tender.title,
        "method": tender.method,
        "category": tender.category,
        "region": tender.region,
        "budget": tender.budget,
        "bond_amount": tender.bond_amount,
        "min_bids": tender.min_bids,
        "bid_deadline": tender.bid_deadline,
        "opening_ends_at": tender.opening_ends_at,
        "publicity_ends_at": tender.publicity_ends_at,
        "contract_due_at": tender.contract_due_at,
        "suspended_from": tender.suspended_from,
        "winner": tender.winner_id,
    }


def apply_transition(tender: Tender, method: Callable[..., Any], *args: Any) -> Any:
    """Call a transition method; turn django-fsm's refusal into the rule that refused."""
    try:
        return method(*args)
    except TransitionNotAllowed:
        meta = method._django_fsm  # type: ignore[attr-defined]
        name = method.__name__
        if not meta.has_transition(tender.status):
            raise ApplicationError(
                "invalid_state",
                f"A tender in state '{tender.status}' cannot {name.replace('_', ' ')}.",
                f"处于“{TenderStatus(tender.status).label}”状态的项目不能执行此操作（{name}）。",
                status=409,
            ) from None
        refusal = guards.explain_refusal(tender, meta.get_transition(tender.status).conditions)
        raise (
            refusal
            or ApplicationError("transition_refused", f"'{name}' is not allowed now.", "当前不允许此操作。", status=409)
        ) from None


def tender_move(
    tender: Tender,
    transition: Callable[..., Any],
    *args: Any,
    actor: Any,
    action: str,
    changes: Mapping[str, Any] | None = None,
    note: Mapping[str, Any] | None = None,
) -> None:
    """One step of a tender the caller has locked: run the transition, set the fields that go with
    it, save, and append the audit entry (state before, state after plus ``note``)."""
    before = tender_snapshot(tender)
    apply_transition(tender, transition, *args)
    for field, value in (changes or {}).items():
        setattr(tender, field, value)
    tender.save()
    audit_record(
        actor=actor, action=action, obj=tender, before=before, after=tender_snapshot(tender) | dict(note or {})
    )


def tender_catch_up(tender: Tender) -> int:
    """Run every time-driven step now due for a tender the caller has locked. Returns how many ran.

    Called by the clock and at the start of every service that acts on a tender, so a rule that
    depends on time holds at the moment of use, whether or not the clock has run. Safe to call
    twice: a step that has run no longer matches.
    """
    moved = 0
    while True:
        now = clock.now()
        if tender.status == TenderStatus.PUBLISHED and now >= tender.bid_deadline:
            if guards.has_min_bids(tender):
                # The opening time equals the bid deadline (招标投标法 §34).
                ends = tender.bid_deadline + tender.profile.decryption_window
                tender_move(
                    tender,
                    tender.start_opening,
                    actor=None,
                    action="tender.start_opening",
                    changes={"opening_ends_at": ends},
                )
            else:
                received = tender.received_bid_count()
                tender_move(
                    tender,
                    tender.fail_too_few_bids,
                    actor=None,
                    action="tender.fail_too_few_bids",
                    changes={"fail_reason": f"too_few_bids: {received} < {tender.min_bids}", "closed_at": now},
                )
                notice_publish(
                    tender=tender,
                    kind=NoticeKind.FAILURE,
                    title=f"{tender.title} 流标公告",
                    body=(
                        f"截至投标截止时间 {_fmt(tender.bid_deadline)}，本项目递交投标文件 {received} 份，"
                        f"少于 {tender.min_bids} 份，本次招标失败（流标）。采购人可依法重新招标。\n"
                        f"Tender failed: {received} bid(s) received by the deadline, fewer than {tender.min_bids}."
                    ),
                    data={"received": received, "min_bids": tender.min_bids},
                )
        elif tender.status == TenderStatus.OPENING and guards.decryption_window_over(tender):
            if guards.bids_opened(tender):
                tender_move(tender, tender.close_opening, actor=None, action="tender.close_opening")
                # Imported here: the evaluation service builds on this module's steps.
                from bidding.services.evaluation import evaluation_on_entry

                evaluation_on_entry(tender)
            else:
                assert tender.opening_ends_at is not None  # decryption_window_over() holds
                # The key holders did not open the bids within the window: not the bidders' fault, so
                # their bids count as withdrawn and the tender fails (电子招标投标办法).
                tender_move(
                    tender,
                    tender.fail_opening,
                    actor=None,
                    action="tender.fail_opening",
                    changes={"fail_reason": "opening_not_completed", "closed_at": now},
                )
                notice_publish(
                    tender=tender,
                    kind=NoticeKind.FAILURE,
                    title=f"{tender.title} 开标失败公告",
                    body=(
                        f"解密时限 {_fmt(tender.opening_ends_at)} 届满，开标密钥持有人未完成解密，投标文件未能开启，"
                        "按撤回处理，本次招标失败。采购人可依法重新招标。\n"
                        "The key holders did not open the bids within the decryption window; the bids count as "
                        "withdrawn and the tender failed."
                    ),
                    data={"reason": "opening_not_completed"},
                )
        elif (
            tender.status == TenderStatus.PUBLICITY
            and guards.publicity_over(tender)
            and guards.no_pending_objection(tender)
        ):
            assert tender.publicity_ends_at is not None  # publicity_over() holds
            contract_due_at = now + tender.profile.contract_period
            tender_move(
                tender,
                tender.award,
                actor=None,
                action="tender.award",
                changes={"awarded_at": now, "contract_due_at": contract_due_at},
            )
            from bidding.services.evaluation import award_bids_locked

            award_bids_locked(tender)
            notice_publish(
                tender=tender,
                kind=NoticeKind.AWARD,
                title=f"{tender.title} 中标（中选）结果公告",
                body=(
                    f"公示期于 {_fmt(tender.publicity_ends_at)} 届满，无未决异议，结果生效。"
                    f"合同应于 {_fmt(contract_due_at)} 前签订。\n"
                    "The publicity period ended with no pending objection; the result stands."
                ),
                data={"contract_due_at": contract_due_at.isoformat()},
            )
        else:
            return moved
        moved += 1
