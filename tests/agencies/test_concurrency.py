"""Agencies' writes at the same moment, in real threads with their own connections, on both
databases: exactly one wins, the other gets a clear 409, and the trail stays intact."""

from __future__ import annotations

import pytest

from accounts.models import Organisation
from agencies.models import Agency, CreditListEntry
from agencies.services import admission, lists, registration
from core.audit import audit_verify
from core.errors import ApplicationError
from core.models import AuditEntry
from tests.accounts.test_uscc import VALID
from tests.factories import World, applied_agency
from tests.market.test_concurrency import race

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _register(username: str):
    return lambda: registration.agency_register(
        username=username,
        password="a-long-enough-Passw0rd",
        name=f"江州{username}咨询有限公司",
        uscc=VALID[0],
        region="360402",
        legal_representative="李四",
        service_categories=["audit"],
    )


def test_two_registrations_of_one_code_exactly_one_wins():
    results = race(_register("first"), _register("second"))
    wins = [r for r in results if isinstance(r, Agency)]
    refusals = [r for r in results if isinstance(r, ApplicationError)]
    assert len(wins) == 1 and len(refusals) == 1, results
    assert (refusals[0].status, refusals[0].code) in {(409, "uscc_registered"), (409, "already_registered")}
    assert Organisation.objects.filter(uscc=VALID[0]).count() == 1
    assert AuditEntry.objects.filter(action="agency.register").count() == 1
    assert audit_verify().ok


def test_admit_and_return_at_once_exactly_one_decides():
    world = World()
    agency = applied_agency().organisation.agency
    results = race(
        lambda: admission.agency_admit(actor=world.operator, agency_id=agency.pk),
        lambda: admission.agency_return(actor=world.operator, agency_id=agency.pk, reason="材料不全"),
    )
    assert sum(isinstance(r, Agency) for r in results) == 1, results
    refusal = next(r for r in results if isinstance(r, ApplicationError))
    assert (refusal.status, refusal.code) == (409, "invalid_state")
    assert agency.decisions.count() == 2  # the application and exactly one decision
    assert audit_verify().ok


def test_two_supervisors_decide_one_proposal_once():
    world = World()
    agency = world.agency.organisation.agency
    entry = lists.list_entry_propose(actor=world.supervisor, agency_id=agency.pk, list_kind="red", reason="守信")
    decide = lambda: lists.list_entry_decide(  # noqa: E731
        actor=world.supervisor, entry_id=entry.pk, document_number="江公管信〔2026〕5号"
    )
    results = race(decide, decide)
    assert sum(isinstance(r, CreditListEntry) for r in results) == 1, results
    assert AuditEntry.objects.filter(action="credit_list.decide").count() == 1
    assert audit_verify().ok
