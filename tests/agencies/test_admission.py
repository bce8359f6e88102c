"""Admission (入驻审核) as a state machine: every decision from every state, by role, with reasons."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agencies.models import Agency
from agencies.services import admission
from core import clock
from core.models import AuditEntry
from tests.agencies.helpers import agencies_state
from tests.conftest import client_for
from tests.factories import applied_agency

STATES = ["applied", "admitted", "returned", "suspended", "removed"]
DECISIONS = {
    # decision: (states it is allowed from, resulting state)
    "admit": ({"applied"}, "admitted"),
    "return": ({"applied"}, "returned"),
    "suspend": ({"admitted"}, "suspended"),
    "reinstate": ({"suspended"}, "admitted"),
    "remove": ({"applied", "admitted", "suspended"}, "removed"),
}


def agency_in(state: str, operator) -> Agency:
    member = applied_agency()
    agency = member.organisation.agency
    steps = {
        "applied": [],
        "admitted": [admission.agency_admit],
        "returned": [admission.agency_return],
        "suspended": [admission.agency_admit, admission.agency_suspend],
        "removed": [admission.agency_admit, admission.agency_remove],
    }[state]
    for step in steps:
        step(actor=operator, agency_id=agency.pk, reason="测试准备")
    agency.refresh_from_db()
    assert agency.status == state
    return agency


CASES = [(d, s) for d in DECISIONS for s in STATES]


@pytest.mark.parametrize(("decision", "state"), CASES, ids=[f"{d}-from-{s}" for d, s in CASES])
def test_every_decision_from_every_state(world, decision, state):
    agency = agency_in(state, world.operator)
    allowed, target = DECISIONS[decision]
    client = client_for(world.operator)
    before = agencies_state()
    response = client.post(f"/api/agencies/{agency.pk}/{decision}/", {"reason": "审核意见：材料需补正"}, format="json")
    body = response.json()
    if state not in allowed:
        assert (response.status_code, body["code"]) == (409, "invalid_state")
        assert body["detail_zh"]
        assert agencies_state() == before
        return
    assert response.status_code == 200, body
    assert body["status"] == target and body["status_reason"] == "审核意见：材料需补正"
    last = body["decisions"][-1]
    assert (last["action"], last["from_status"], last["to_status"]) == (decision, state, target)
    assert last["decided_by"] == world.operator.username
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry.action == f"agency.{decision}" and entry.after["status"] == target
    # The agency sees the decision and its reason on its own profile.
    member = agency.organisation.users.get()
    mine = client_for(member).get("/api/agencies/me/").json()
    assert (mine["status"], mine["status_reason"]) == (target, "审核意见：材料需补正")


@pytest.mark.parametrize("decision", ["return", "suspend", "reinstate", "remove"])
def test_refusing_decisions_need_a_reason(world, decision):
    state = next(iter(DECISIONS[decision][0]))
    agency = agency_in(state, world.operator)
    before = agencies_state()
    response = client_for(world.operator).post(
        f"/api/agencies/{agency.pk}/{decision}/", {"reason": "  "}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "reason_required")
    assert agencies_state() == before


@pytest.mark.parametrize("role", ["purchaser", "agency", "supervisor"])
@pytest.mark.parametrize("decision", list(DECISIONS))
def test_only_operators_decide(world, role, decision):
    agency = agency_in(next(iter(DECISIONS[decision][0])), world.operator)
    before = agencies_state()
    response = client_for(world.by_role(role)).post(
        f"/api/agencies/{agency.pk}/{decision}/", {"reason": "x"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert agencies_state() == before


def test_no_admission_without_a_qualification_valid_today(world):
    member = applied_agency()
    agency = member.organisation.agency
    # Its only qualification's last day was yesterday.
    q = agency.qualifications.get()
    q.valid_until = (clock.now() - timedelta(days=2)).date()
    q.save()
    before = agencies_state()
    response = client_for(world.operator).post(f"/api/agencies/{agency.pk}/admit/", {}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "no_valid_qualification")
    assert agencies_state() == before


def test_a_returned_agency_fixes_and_reapplies(world):
    agency = agency_in("returned", world.operator)
    member = agency.organisation.users.get()
    client = client_for(member)
    response = client.post("/api/agencies/me/reapply/", {"note": "已补充资质证书"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "applied"
    assert response.json()["decisions"][-1]["reason"] == "已补充资质证书"
    again = client.post("/api/agencies/me/reapply/", {}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")
    admitted = client_for(world.operator).post(f"/api/agencies/{agency.pk}/admit/", {}, format="json")
    assert admitted.json()["status"] == "admitted"


def test_operators_see_the_review_queue(world):
    waiting = applied_agency().organisation.agency
    rows = client_for(world.operator).get("/api/agencies/", {"status": "applied"}).json()["results"]
    assert [row["id"] for row in rows] == [waiting.pk]
    detail = client_for(world.supervisor).get(f"/api/agencies/{waiting.pk}/").json()
    assert detail["qualifications"][0]["counts_now"] is True
