"""The platform's one time source.

Domain code never calls ``timezone.now()``; it asks :func:`now`. Tests (and the demo) move this
clock with :func:`freeze` / :func:`advance` / :func:`reset` instead of sleeping. In production the
clock is simply the server's clock: every time rule (a deadline, a cut-off) is decided by it.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

# The platform's time zone: working days are counted, and times are shown, on the calendar and the
# clock of the place that runs the tenders. Times are stored and compared in UTC.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")

_lock = threading.Lock()
_frozen: datetime | None = None


def now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    frozen = _frozen
    return frozen if frozen is not None else timezone.now()


def freeze(at: datetime) -> None:
    """Stop the clock at ``at`` (must be timezone-aware). For tests and tooling only."""
    if timezone.is_naive(at):
        raise ValueError("the clock only holds timezone-aware times")
    global _frozen
    with _lock:
        _frozen = at


def advance(delta: timedelta) -> datetime:
    """Move a frozen clock forward (freezing it at the current time first if needed)."""
    global _frozen
    with _lock:
        _frozen = (_frozen if _frozen is not None else timezone.now()) + delta
        return _frozen


def reset() -> None:
    """Go back to the real server clock."""
    global _frozen
    with _lock:
        _frozen = None


def format_local(dt: datetime) -> str:
    """A time as people at the trading centre read it (local calendar and clock)."""
    return dt.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
