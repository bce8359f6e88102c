"""One pass of the platform's clock: every time-driven step of every app, in one place.

Tenders (``procurement.services.timeline``), credit-list entries and the red-list rule
(``agencies.clock``), and search documents whose content changes with time
(``search.indexing.refresh_due``). It also chains any audit entry left pending by a crash between a
commit and its chaining (``core.audit.audit_chain``), and erases opening secrets a tender out of its opening still holds
(``stray_secrets_erase``). Each step is idempotent, so two clocks at once, or a pass
repeated after a crash, do no harm."""

from __future__ import annotations

from dataclasses import dataclass

from agencies.clock import run_credit_steps
from core.audit import audit_chain
from procurement.services.timeline import run_due_steps, stray_secrets_erase
from search.indexing import refresh_due


@dataclass(frozen=True)
class Pass:
    transitions: int
    credit_steps: int
    search_refreshes: int

    @property
    def total(self) -> int:
        return self.transitions + self.credit_steps + self.search_refreshes

    def __str__(self) -> str:
        return (
            f"clock: {self.transitions} transition(s), {self.credit_steps} credit step(s), "
            f"{self.search_refreshes} search refresh(es)"
        )


def clock_pass() -> Pass:
    """Run every due step once."""
    audit_chain()
    moved = run_due_steps()
    stray_secrets_erase()
    return Pass(moved, run_credit_steps(), refresh_due())
