"""The agencies' time-driven steps, run by ``manage.py clock`` beside the tenders' ones.

Every answer the platform gives reads the dates directly (a list entry is in force between its
dates whatever its stored status says), so these steps only keep the stored status and the
proposals current; running them late or twice changes nothing else.
"""

from __future__ import annotations

import logging

from agencies.services.lists import list_entries_catch_up, red_rules_run

log = logging.getLogger(__name__)


def run_credit_steps() -> int:
    """One pass: list entries follow their dates; the red-list rule proposes where it holds."""
    done = 0
    for step in (list_entries_catch_up, red_rules_run):
        try:
            done += step()
        except Exception:
            log.exception("clock: %s failed; will retry next pass", step.__name__)
    return done
