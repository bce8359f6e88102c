"""The tender's generic move: run a django-fsm transition with a clear refusal, save, audit.

The time-driven steps that decide *which* move is due live in the workflow layer
(``procurement.services.timeline``), since they reach into bidding and evaluation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django_fsm import TransitionNotAllowed

from core.audit import audit_record
from core.errors import ApplicationError
from market import guards
from market.choices import TenderStatus
from market.models import Tender


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
