"""Credit: events and the score at their date edges, the configurable table, service evaluations
and their moderation into credit events."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agencies.credit import agency_score, policy
from agencies.models import CreditEvent, CreditEventKind, ServiceEvaluation
from agencies.services import credit
from core import clock
from core.errors import ApplicationError
from market.choices import TenderStatus
from tests.agencies.helpers import agencies_state
from tests.conftest import client_for
from tests.factories import user

SCORES = {"quality": 5, "timeliness": 5, "attitude": 4, "fees": 5, "conduct": 5}


def _agency(world):
    return world.agency.organisation.agency


def test_score_is_base_plus_unexpired_points_at_the_edges(world):
    agency = _agency(world)
    t0 = clock.now()
    event = credit.credit_event_record(
        actor=world.supervisor, agency_id=agency.pk, kind="late_contract", reason="逾期签约", evidence="HT-2026-9"
    )
    kind = CreditEventKind.objects.get(code="late_contract")
    assert event.points == kind.points == -3
    assert event.expires_at == t0 + timedelta(days=kind.validity_days)
    assert agency_score(agency, t0 - timedelta(milliseconds=1)) == 100
    assert agency_score(agency, t0) == 97
    assert agency_score(agency, event.expires_at - timedelta(milliseconds=1)) == 97
    assert agency_score(agency, event.expires_at) == 100  # expired on its date, nobody acting


def test_changing_the_table_never_rewrites_recorded_events(world):
    agency = _agency(world)
    credit.credit_event_record(actor=world.supervisor, agency_id=agency.pk, kind="commendation", reason="市级表彰")
    CreditEventKind.objects.filter(code="commendation").update(points=50)
    assert agency_score(agency, clock.now()) == 105
    credit.credit_event_record(actor=world.supervisor, agency_id=agency.pk, kind="commendation", reason="省级表彰")
    assert agency_score(agency, clock.now()) == 155
    policy_row = policy()
    policy_row.base_score = 80
    policy_row.save()
    assert agency_score(agency, clock.now()) == 135


def test_an_annulled_event_stops_counting_from_then_and_stays_on_record(world):
    agency = _agency(world)
    event = credit.credit_event_record(
        actor=world.supervisor, agency_id=agency.pk, kind="malicious_objection", reason="恶意异议"
    )
    clock.advance(timedelta(days=1))
    client = client_for(world.supervisor)
    response = client.post(f"/api/credit/events/{event.pk}/annul/", {"reason": "复核后撤销"}, format="json")
    assert response.status_code == 200 and response.json()["counts_now"] is False
    assert agency_score(agency, clock.now()) == 100
    assert agency_score(agency, clock.now() - timedelta(hours=1)) == 95  # the past stays the past
    assert CreditEvent.objects.filter(pk=event.pk).exists()
    again = client.post(f"/api/credit/events/{event.pk}/annul/", {"reason": "再次"}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "already_annulled")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"kind": "no_such_kind", "reason": "x"}, "unknown_event_kind"),
        ({"kind": "commendation", "reason": " "}, "invalid"),
        ({"kind": "commendation", "reason": "x", "occurred_at": "2030-01-01T00:00:00+08:00"}, "occurred_in_future"),
    ],
)
def test_bad_events_are_refused_and_change_nothing(world, payload, code):
    before = agencies_state()
    response = client_for(world.supervisor).post(
        "/api/credit/events/", {"agency": _agency(world).pk, **payload}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (400, code)
    assert agencies_state() == before


def test_an_agency_sees_its_own_events_only(world):
    from tests.factories import admitted_agency

    other = admitted_agency(world.operator)
    credit.credit_event_record(actor=world.supervisor, agency_id=_agency(world).pk, kind="commendation", reason="表彰")
    credit.credit_event_record(
        actor=world.supervisor, agency_id=other.organisation.agency.pk, kind="late_contract", reason="逾期"
    )
    mine = client_for(world.agency).get("/api/credit/events/").json()["results"]
    assert [row["kind"] for row in mine] == ["commendation"]
    summary = client_for(world.agency).get("/api/agencies/me/credit/").json()
    assert summary["score"] == 105 and [e["kind"] for e in summary["events"]] == ["commendation"]
    assert client_for(world.purchaser).get("/api/credit/events/").json()["results"] == []


def _completed(world):
    tender = world.in_state(TenderStatus.COMPLETED)
    assert tender.winner_id is not None
    return tender


def test_the_purchaser_rates_the_completed_service_and_the_operator_approves_it(world):
    tender = _completed(world)
    served = tender.winner.agency
    response = client_for(world.purchaser).post(
        "/api/credit/evaluations/", {"tender": tender.pk, **SCORES, "comment": "服务专业"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["average"], body["agency"]) == ("pending", 4.8, served.pk)
    # Completing on time counted (+2, the table's default); the rating, pending moderation, does not yet.
    completed = CreditEvent.objects.get(agency=served)
    assert (completed.kind.code, completed.points, completed.source_id) == (
        "award_completed_on_time",
        2,
        str(tender.pk),
    )
    assert agency_score(served, clock.now()) == 100 + 2
    approved = client_for(world.operator).post(f"/api/credit/evaluations/{body['id']}/approve/", {}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    event = CreditEvent.objects.get(pk=approved.json()["credit_event"])
    assert (event.kind.code, event.points, event.agency_id) == ("good_service_evaluation", 3, served.pk)
    assert (event.source_type, event.source_id) == ("agencies.serviceevaluation", str(body["id"]))
    assert agency_score(served, clock.now()) == 100 + 2 + 3
    # The agency sees approved evaluations about it.
    member = served.organisation.users.get()
    assert [row["id"] for row in client_for(member).get("/api/credit/evaluations/").json()["results"]] == [body["id"]]


@pytest.mark.parametrize(
    ("scores", "kind", "points"),
    [
        ({"quality": 2, "timeliness": 2, "attitude": 3, "fees": 3, "conduct": 2}, "poor_service_evaluation", -3),
        ({"quality": 3, "timeliness": 4, "attitude": 3, "fees": 4, "conduct": 3}, "fair_service_evaluation", 0),
        ({"quality": 4, "timeliness": 4, "attitude": 4, "fees": 4, "conduct": 4}, "good_service_evaluation", 3),
    ],
)
def test_the_average_decides_the_kind_of_event(world, scores, kind, points):
    tender = _completed(world)
    evaluation = credit.evaluation_submit(actor=world.purchaser, tender_id=tender.pk, scores=scores)
    approved = credit.evaluation_moderate(actor=world.operator, evaluation_id=evaluation.pk, approve=True)
    assert approved.credit_event is not None
    assert (approved.credit_event.kind.code, approved.credit_event.points) == (kind, points)


def test_a_rejected_evaluation_never_counts(world):
    tender = _completed(world)
    evaluation = credit.evaluation_submit(actor=world.purchaser, tender_id=tender.pk, scores=SCORES)
    client = client_for(world.operator)
    no_note = client.post(f"/api/credit/evaluations/{evaluation.pk}/reject/", {}, format="json")
    assert (no_note.status_code, no_note.json()["code"]) == (400, "reason_required")
    rejected = client.post(f"/api/credit/evaluations/{evaluation.pk}/reject/", {"reason": "与项目无关"}, format="json")
    assert rejected.json()["status"] == "rejected" and rejected.json()["credit_event"] is None
    # Only the on-time completion counts; the rejected rating left no event.
    kinds = CreditEvent.objects.filter(agency=tender.winner.agency).values_list("kind__code", flat=True)
    assert list(kinds) == ["award_completed_on_time"]
    again = client.post(f"/api/credit/evaluations/{evaluation.pk}/approve/", {}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "already_moderated")


def test_evaluations_only_for_ones_own_completed_tender_once(world):
    contracted = world.in_state(TenderStatus.CONTRACTED)
    client = client_for(world.purchaser)
    before = agencies_state()
    early = client.post("/api/credit/evaluations/", {"tender": contracted.pk, **SCORES}, format="json")
    assert (early.status_code, early.json()["code"]) == (409, "not_completed")
    tender = _completed(world)
    stranger = client_for(user("purchaser")).post(
        "/api/credit/evaluations/", {"tender": tender.pk, **SCORES}, format="json"
    )
    assert (stranger.status_code, stranger.json()["code"]) == (404, "not_found")
    out_of_range = client.post("/api/credit/evaluations/", {"tender": tender.pk, **SCORES, "fees": 6}, format="json")
    assert out_of_range.status_code == 400 and "fees" in out_of_range.json()["fields"]
    assert agencies_state()["evaluations"] == before["evaluations"]
    assert client.post("/api/credit/evaluations/", {"tender": tender.pk, **SCORES}, format="json").status_code == 201
    twice = client.post("/api/credit/evaluations/", {"tender": tender.pk, **SCORES}, format="json")
    assert (twice.status_code, twice.json()["code"]) == (409, "already_evaluated")
    assert ServiceEvaluation.objects.filter(tender=tender).count() == 1


def test_the_service_checks_scores_even_without_the_api(world):
    tender = _completed(world)
    with pytest.raises(ApplicationError) as refused:
        credit.evaluation_submit(actor=world.purchaser, tender_id=tender.pk, scores={**SCORES, "conduct": 0})
    assert refused.value.code == "invalid" and "conduct" in refused.value.fields


def test_the_credit_table_is_public(api, db):
    rows = {row["code"]: row for row in api.get("/api/public/credit-event-kinds/").json()}
    assert rows["collusion"]["serious"] is True and rows["collusion"]["black_min_years"] == 1
    assert rows["contract_nonperformance"]["black_max_years"] == 5
    assert rows["commendation"]["points"] > 0 > rows["late_contract"]["points"]


def test_history_cannot_be_bulk_deleted_either(world):
    from agencies.models import CreditListEntry
    from agencies.services import lists

    agency = _agency(world)
    credit.credit_event_record(actor=world.supervisor, agency_id=agency.pk, kind="collusion", reason="串通投标")
    assert CreditListEntry.objects.filter(agency=agency).count() == 1  # the automatic proposal
    lists.list_entry_propose(actor=world.supervisor, agency_id=agency.pk, list_kind="red", reason="守信")
    for queryset in (CreditEvent.objects.all(), CreditListEntry.objects.filter(agency=agency)):
        with pytest.raises(PermissionError):
            queryset.delete()
    assert CreditEvent.objects.count() == 1 and CreditListEntry.objects.count() == 2
