"""Jurisdiction rule profiles: the time and method rules as data (``market.RuleProfile`` rows).

The ``national`` profile carries the defaults of the law (招标投标法, 实施条例, 电子招标投标办法);
the ``demo`` profile the same rules in minutes, so a whole lifecycle runs in a few minutes. Both are
created by migration ``market/0002_rule_profiles``; a jurisdiction adds its own in the admin.

A tender is bound by the rules it was published under: publication copies the profile's values
into ``Tender.rules_snapshot``, and every step reads them through :func:`rules_of`, never through
``tender.profile``. Editing a profile therefore changes only tenders published afterwards; before
publication (draft, review) a tender follows its profile as it is now.
This module holds that accessor and the calculations on a set of rules.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, get_type_hints

from core.clock import LOCAL_TZ
from market.choices import LOTTERY_METHODS, SUPERMARKET_METHODS

if TYPE_CHECKING:
    from market.models import RuleProfile, Tender


@dataclass(frozen=True)
class Rules:
    """The values of one rule profile, as a tender is bound by them."""

    name: str
    open_tender_min_notice: timedelta
    supermarket_min_notice: timedelta
    supermarket_notice_in_working_days: bool
    amendment_cutoff: timedelta
    objection_cutoff: timedelta
    objection_reply_period: timedelta
    decryption_window: timedelta
    publicity_period: timedelta
    contract_period: timedelta
    min_bids: dict[str, int]
    max_bond_ratio: Decimal
    lottery_allowed: bool
    direct_budget_cap: Decimal
    committee_min_members: int
    # A snapshot taken before this rule existed has no value: those tenders were sealed the one way there was.
    opening_policy: str = "threshold"


def rules_from_profile(profile: RuleProfile) -> Rules:
    return Rules(**{f.name: getattr(profile, f.name) for f in fields(Rules)})


def rules_to_json(rules: Rules) -> dict[str, Any]:
    """The snapshot stored on a tender: durations in seconds, amounts as decimal strings."""
    out: dict[str, Any] = {}
    for name, value in asdict(rules).items():
        if isinstance(value, timedelta):
            out[name] = value.total_seconds()
        elif isinstance(value, Decimal):
            out[name] = str(value)
        else:
            out[name] = value
    return out


_DEFAULTS = {f.name for f in fields(Rules) if f.default is not MISSING}


def rules_from_json(data: dict[str, Any]) -> Rules:
    """The inverse of :func:`rules_to_json`, by each field's declared type."""
    values: dict[str, Any] = {}
    for name, kind in get_type_hints(Rules).items():
        if name not in data and name in _DEFAULTS:
            continue
        value = data[name]
        if kind is timedelta:
            value = timedelta(seconds=value)
        elif kind is Decimal:
            value = Decimal(value)
        values[name] = value
    return Rules(**values)


def rules_of(tender: Tender) -> Rules:
    """The rules ``tender`` follows: those it was published under, or its profile's current values
    while it is not yet published."""
    if tender.rules_snapshot:
        return rules_from_json(tender.rules_snapshot)
    return rules_from_profile(tender.profile)


def add_working_days(start: datetime, days: int) -> datetime:
    """``start`` moved forward by ``days`` working days (Monday–Friday, local calendar).

    Public holidays and the weekend days worked in their place (调休) are not modelled yet: a
    jurisdiction that needs them sets a calendar-day period instead.
    """
    local = start.astimezone(LOCAL_TZ)
    remaining = days
    while remaining > 0:
        local += timedelta(days=1)
        if local.weekday() < 5:
            remaining -= 1
    return local


def min_notice_end(profile: Rules, method: str, published_at: datetime) -> datetime:
    """The earliest bid deadline allowed for a tender published at ``published_at``."""
    if method in SUPERMARKET_METHODS:
        if profile.supermarket_notice_in_working_days:
            return add_working_days(published_at, profile.supermarket_min_notice.days)
        return published_at + profile.supermarket_min_notice
    return published_at + profile.open_tender_min_notice


def min_bids_for(profile: Rules, method: str) -> int:
    return int(profile.min_bids.get(method, 3))


def method_is_allowed(profile: Rules, method: str) -> bool:
    return profile.lottery_allowed or method not in LOTTERY_METHODS


def max_bond(profile: Rules, budget: Decimal) -> Decimal:
    return (budget * profile.max_bond_ratio).quantize(Decimal("0.01"))
