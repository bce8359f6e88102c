"""Jurisdiction rule profiles: the time and method rules as data (``market.RuleProfile`` rows).

The ``national`` profile carries the defaults of the law (招标投标法, 实施条例, 电子招标投标办法);
the ``demo`` profile the same rules in minutes, so a whole lifecycle runs in a few minutes. Both are
created by migration ``market/0002_rule_profiles``; a jurisdiction adds its own in the admin.
This module holds the calculations on a profile.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from core.clock import LOCAL_TZ
from market.choices import LOTTERY_METHODS, SUPERMARKET_METHODS

if TYPE_CHECKING:
    from market.models import RuleProfile


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


def min_notice_end(profile: RuleProfile, method: str, published_at: datetime) -> datetime:
    """The earliest bid deadline allowed for a tender published at ``published_at``."""
    if method in SUPERMARKET_METHODS:
        if profile.supermarket_notice_in_working_days:
            return add_working_days(published_at, profile.supermarket_min_notice.days)
        return published_at + profile.supermarket_min_notice
    return published_at + profile.open_tender_min_notice


def min_bids_for(profile: RuleProfile, method: str) -> int:
    return int(profile.min_bids.get(method, 3))


def method_is_allowed(profile: RuleProfile, method: str) -> bool:
    return profile.lottery_allowed or method not in LOTTERY_METHODS


def max_bond(profile: RuleProfile, budget: Decimal) -> Decimal:
    return (budget * profile.max_bond_ratio).quantize(Decimal("0.01"))
