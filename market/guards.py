"""Named guard functions for the tender state machine (django-fsm ``conditions=``).

Each guard asks the clock itself, so a rule holds at the moment of use whether or not the clock
command has run. Each carries its refusal, so a refused transition says which rule refused it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core import clock
from core.errors import ApplicationError
from market import rules
from market.choices import Method
from market.rules import rules_of

Explain = Callable[[Any], ApplicationError]


def guard(explain: Explain) -> Callable[[Callable[[Any], bool]], Callable[[Any], bool]]:
    def decorate(fn: Callable[[Any], bool]) -> Callable[[Any], bool]:
        fn.explain = explain  # type: ignore[attr-defined]
        return fn

    return decorate


def _earliest(t: Any) -> str:
    return clock.format_local(rules.min_notice_end(rules_of(t), t.method, clock.now()))


@guard(
    lambda t: ApplicationError(
        "deadline_too_early",
        f"The bid deadline must be no earlier than {_earliest(t)} under the '{rules_of(t).name}' rules.",
        f"投标截止时间不得早于 {_earliest(t)}（{rules_of(t).name} 规则）。",
    )
)
def deadline_far_enough(tender: Any) -> bool:
    """Publication now leaves at least the profile's minimum notice period before the deadline."""
    return bool(tender.bid_deadline >= rules.min_notice_end(rules_of(tender), tender.method, clock.now()))


@guard(
    lambda t: ApplicationError(
        "method_not_allowed",
        f"The '{rules_of(t).name}' rules do not allow selection by lot.",
        f"“{rules_of(t).name}”规则不允许以抽签方式选取。",
    )
)
def method_allowed(tender: Any) -> bool:
    return rules.method_is_allowed(rules_of(tender), tender.method)


@guard(
    lambda t: ApplicationError(
        "bond_too_high",
        f"The bid bond may be at most {rules.max_bond(rules_of(t), t.budget)} (2% of the budget).",
        f"投标保证金不得超过 {rules.max_bond(rules_of(t), t.budget)} 元（预算的2%）。",
    )
)
def bond_within_limit(tender: Any) -> bool:
    return bool(tender.bond_amount <= rules.max_bond(rules_of(tender), tender.budget))


@guard(
    lambda t: ApplicationError(
        "direct_not_allowed",
        f"Direct selection needs a budget of at most {rules_of(t).direct_budget_cap} and a written reason.",
        f"直接选取要求预算不超过 {rules_of(t).direct_budget_cap} 元并写明理由。",
    )
)
def direct_selection_justified(tender: Any) -> bool:
    if tender.method != Method.DIRECT:
        return True
    return bool(tender.budget <= rules_of(tender).direct_budget_cap and tender.direct_reason.strip())


@guard(
    lambda t: ApplicationError("deadline_not_reached", "The bid deadline has not passed yet.", "投标截止时间尚未到达。")
)
def deadline_passed(tender: Any) -> bool:
    return bool(clock.now() >= tender.bid_deadline)


@guard(lambda t: ApplicationError("deadline_passed", "The bid deadline has passed.", "投标截止时间已过。"))
def before_deadline(tender: Any) -> bool:
    return bool(clock.now() < tender.bid_deadline)


@guard(
    lambda t: ApplicationError("decryption_window_open", "The decryption window has not ended.", "解密时间尚未结束。")
)
def decryption_window_over(tender: Any) -> bool:
    return tender.opening_ends_at is not None and clock.now() >= tender.opening_ends_at


@guard(lambda t: ApplicationError("bids_not_opened", "The bids have not been opened.", "投标文件尚未解密开启。"))
def bids_opened(tender: Any) -> bool:
    return tender.opened_at is not None


@guard(lambda t: ApplicationError("bids_opened", "The bids have been opened.", "投标文件已解密开启。"))
def bids_not_opened(tender: Any) -> bool:
    return tender.opened_at is None


@guard(lambda t: ApplicationError("publicity_not_over", "The publicity period has not ended.", "公示期尚未结束。"))
def publicity_over(tender: Any) -> bool:
    return tender.publicity_ends_at is not None and clock.now() >= tender.publicity_ends_at


@guard(
    lambda t: ApplicationError("objection_pending", "An objection is still waiting for its answer.", "尚有异议未答复。")
)
def no_pending_objection(tender: Any) -> bool:
    return not tender.has_pending_objection()


def explain_refusal(tender: Any, conditions: list[Callable[[Any], bool]]) -> ApplicationError | None:
    """The refusal of the first guard in ``conditions`` that does not hold, if any."""
    for condition in conditions:
        if not condition(tender):
            return condition.explain(tender)  # type: ignore[attr-defined, no-any-return]
    return None
