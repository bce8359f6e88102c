"""The red and black lists (红黑名单): proposal, decision, dates, revocation, the public list.

Time is moved with the platform clock, never slept; every date rule is checked at its edge (±1 ms).
"""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from agencies.choices import ListEntryStatus as L
from agencies.credit import policy
from agencies.eligibility import agency_may
from agencies.models import CreditEvent, CreditListEntry
from agencies.services.credit import credit_event_record
from agencies.services.lists import (
    add_years,
    list_entries_catch_up,
    list_entry_decide,
    list_entry_dismiss,
    list_entry_propose,
    list_entry_revoke,
    red_rules_run,
)
from core import clock
from core.errors import ApplicationError
from core.models import AuditEntry
from tests.conftest import client_for
from tests.factories import admitted_agency

MS = timedelta(milliseconds=1)
DAY = timedelta(days=1)
PUBLIC = "/api/public/credit-lists/"
STAFF = "/api/credit/list-entries/"

# The national data spec's order, as the public list must give it.
PUBLIC_FIELDS = [
    "id",
    "subject_name",
    "subject_uscc",
    "subject_role",
    "list",
    "reason",
    "decision_date",
    "deciding_department",
    "document_number",
    "measures",
    "restricted_actions",
    "incentives",
    "starts_at",
    "ends_at",
    "revoked",
    "revoked_at",
    "closing_reason",
    "status",
]


def _agency_of(user):
    return user.organisation.agency


def _propose(world, agency=None, list_kind="black", reason="多次提供虚假材料"):
    agency = agency or _agency_of(world.agency)
    return list_entry_propose(actor=world.supervisor, agency_id=agency.pk, list_kind=list_kind, reason=reason)


def _decide(world, entry, *, starts_at=None, ends_at=None, document_number="江州财采〔2026〕1号", **extra):
    if ends_at is None and entry.list_kind == "black":
        ends_at = (starts_at or clock.now()) + timedelta(days=365)
    return list_entry_decide(
        actor=world.supervisor,
        entry_id=entry.pk,
        document_number=document_number,
        starts_at=starts_at,
        ends_at=ends_at,
        **extra,
    )


def _black(world, agency=None, *, starts_at=None, ends_at=None, **extra):
    """A black-list entry proposed and decided by the supervisor."""
    return _decide(world, _propose(world, agency), starts_at=starts_at, ends_at=ends_at, **extra)


def _fresh(entry):
    return CreditListEntry.objects.get(pk=entry.pk)


def _row(entry):
    """Every stored field of the entry, to prove a refusal changed nothing."""
    fresh = _fresh(entry)
    return {f.attname: getattr(fresh, f.attname) for f in CreditListEntry._meta.concrete_fields}


def _public_ids(api, **params):
    response = api.get(PUBLIC, params)
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def _post(user, path, data=None):
    client = client_for(user) if user is not None else APIClient()
    return client.post(path, data or {}, format="json")


# --- the lifecycle at its date edges ----------------------------------------------------------------------


def test_status_at_follows_the_dates_to_the_millisecond(world, frozen_clock):
    start, end = frozen_clock + DAY, frozen_clock + DAY + timedelta(days=365)
    entry = _decide(world, _propose(world), starts_at=start, ends_at=end)

    assert entry.status == L.DECIDED
    assert entry.status_at(start - MS) == L.DECIDED
    assert entry.status_at(start) == L.IN_FORCE
    assert entry.status_at(end - MS) == L.IN_FORCE
    assert entry.status_at(end) == L.EXPIRED


def test_catch_up_moves_the_stored_status_at_the_edges_once_each(world, frozen_clock):
    start, end = frozen_clock + DAY, frozen_clock + DAY + timedelta(days=365)
    entry = _decide(world, _propose(world), starts_at=start, ends_at=end)

    def step_at(moment, expected_status, expected_moves):
        clock.freeze(moment)
        audits = AuditEntry.objects.count()
        assert list_entries_catch_up() == expected_moves
        assert _fresh(entry).status == expected_status
        assert AuditEntry.objects.count() == audits + expected_moves
        # Idempotent: a second pass at the same moment changes nothing and writes nothing.
        assert list_entries_catch_up() == 0
        assert _fresh(entry).status == expected_status
        assert AuditEntry.objects.count() == audits + expected_moves

    step_at(start - MS, L.DECIDED, 0)
    step_at(start, L.IN_FORCE, 1)
    last = AuditEntry.objects.order_by("-id").first()
    assert (last.action, last.object_id, last.actor_id) == ("credit_list.in_force", str(entry.pk), None)
    assert (last.before["status"], last.after["status"]) == (L.DECIDED, L.IN_FORCE)

    step_at(end - MS, L.IN_FORCE, 0)
    step_at(end, L.EXPIRED, 1)
    last = AuditEntry.objects.order_by("-id").first()
    assert (last.action, last.object_id) == ("credit_list.expired", str(entry.pk))
    assert (last.before["status"], last.after["status"]) == (L.IN_FORCE, L.EXPIRED)


def test_catch_up_after_a_long_outage_goes_straight_to_expired_in_one_step(world, frozen_clock):
    start, end = frozen_clock + DAY, frozen_clock + 2 * DAY
    entry = _decide(world, _propose(world), starts_at=start, ends_at=end)
    clock.freeze(end + DAY)
    audits = AuditEntry.objects.count()

    assert list_entries_catch_up() == 1
    assert _fresh(entry).status == L.EXPIRED
    assert AuditEntry.objects.count() == audits + 1
    assert list_entries_catch_up() == 0


def test_decision_starting_now_is_in_force_at_once(world, frozen_clock):
    entry = _black(world)
    assert entry.status == L.IN_FORCE
    assert entry.starts_at == frozen_clock
    assert entry.decided_at == frozen_clock
    assert list_entries_catch_up() == 0


# --- revocation (信用修复) --------------------------------------------------------------------------------------


def test_revoke_with_reason_ends_the_entry_but_keeps_it_in_the_public_history(world, frozen_clock, api):
    entry = _black(world)
    agency = _agency_of(world.agency)
    assert not agency_may(agency, "bid")
    revoked_at = clock.advance(timedelta(hours=1))

    response = _post(world.supervisor, f"{STAFF}{entry.pk}/revoke/", {"reason": "已完成信用修复"})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == L.REVOKED
    fresh = _fresh(entry)
    assert fresh.status == L.REVOKED
    assert fresh.revoked_at == revoked_at
    assert fresh.revoked_by == world.supervisor
    assert fresh.closing_reason == "已完成信用修复"
    assert fresh.status_at(revoked_at - MS) == L.IN_FORCE
    assert fresh.status_at(revoked_at) == L.REVOKED
    assert agency_may(agency, "bid")
    assert not agency_may(agency, "bid", revoked_at - MS)
    assert AuditEntry.objects.filter(action="credit_list.revoke", object_id=str(entry.pk)).count() == 1

    assert entry.pk in _public_ids(api, list="black", scope="history")
    assert entry.pk not in _public_ids(api, list="black", scope="current")
    assert entry.pk not in _public_ids(api, list="black")
    row = next(r for r in api.get(PUBLIC, {"scope": "history"}).json()["results"] if r["id"] == entry.pk)
    assert (row["revoked"], row["status"], row["closing_reason"]) == (True, L.REVOKED, "已完成信用修复")
    assert row["revoked_at"] is not None


def test_revoke_needs_a_reason(world):
    entry = _black(world)
    before = _row(entry)
    audits = AuditEntry.objects.count()

    with pytest.raises(ApplicationError) as refused:
        list_entry_revoke(actor=world.supervisor, entry_id=entry.pk, reason="  ")
    assert refused.value.code == "reason_required"

    response = _post(world.supervisor, f"{STAFF}{entry.pk}/revoke/", {"reason": ""})
    assert response.status_code == 400
    assert response.json()["code"] == "reason_required"
    assert _row(entry) == before
    assert AuditEntry.objects.count() == audits


def test_a_decided_entry_not_yet_started_can_be_revoked(world, frozen_clock):
    entry = _decide(world, _propose(world), starts_at=frozen_clock + DAY)
    revoked = list_entry_revoke(actor=world.supervisor, entry_id=entry.pk, reason="认定有误")
    assert revoked.status == L.REVOKED
    # It never came into force.
    assert _fresh(entry).status_at(frozen_clock + 2 * DAY) == L.REVOKED
    assert agency_may(_agency_of(world.agency), "bid", frozen_clock + 2 * DAY)


@pytest.mark.parametrize("catch_up_ran", [True, False])
def test_revoking_an_expired_entry_is_refused_and_changes_nothing(world, frozen_clock, catch_up_ran):
    entry = _black(world, ends_at=frozen_clock + 2 * DAY)
    clock.freeze(frozen_clock + 2 * DAY)  # the end, exactly
    if catch_up_ran:
        list_entries_catch_up()
    before = _row(entry)
    audits = AuditEntry.objects.count()

    response = _post(world.supervisor, f"{STAFF}{entry.pk}/revoke/", {"reason": "信用修复"})

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "invalid_state"
    assert _row(entry) == before
    assert AuditEntry.objects.count() == audits


def test_revoking_a_proposal_is_refused_and_changes_nothing(world):
    entry = _propose(world)
    before = _row(entry)
    audits = AuditEntry.objects.count()

    response = _post(world.supervisor, f"{STAFF}{entry.pk}/revoke/", {"reason": "信用修复"})

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state"
    assert _row(entry) == before
    assert AuditEntry.objects.count() == audits


def test_revoking_twice_is_refused(world):
    entry = _black(world)
    list_entry_revoke(actor=world.supervisor, entry_id=entry.pk, reason="信用修复")
    before = _row(entry)
    with pytest.raises(ApplicationError) as refused:
        list_entry_revoke(actor=world.supervisor, entry_id=entry.pk, reason="再次修复")
    assert (refused.value.code, refused.value.status) == ("invalid_state", 409)
    assert _row(entry) == before


# --- dismissal, and what is never public ----------------------------------------------------------------------


def test_dismiss_a_proposal_with_reason(world, frozen_clock):
    entry = _propose(world)
    response = _post(world.supervisor, f"{STAFF}{entry.pk}/dismiss/", {"reason": "证据不足"})

    assert response.status_code == 200, response.content
    fresh = _fresh(entry)
    assert fresh.status == L.DISMISSED
    assert fresh.dismissed_at == frozen_clock
    assert fresh.closing_reason == "证据不足"
    assert fresh.decided_by == world.supervisor
    assert fresh.status_at(frozen_clock + timedelta(days=1000)) == L.DISMISSED
    assert AuditEntry.objects.filter(action="credit_list.dismiss", object_id=str(entry.pk)).count() == 1
    # A dismissed proposal cannot be decided afterwards.
    with pytest.raises(ApplicationError) as refused:
        _decide(world, entry)
    assert (refused.value.code, refused.value.status) == ("invalid_state", 409)


def test_dismiss_needs_a_reason_and_only_a_proposal_can_be_dismissed(world):
    entry = _propose(world)
    before = _row(entry)
    response = _post(world.supervisor, f"{STAFF}{entry.pk}/dismiss/", {"reason": ""})
    assert response.status_code == 400
    assert response.json()["code"] == "reason_required"
    assert _row(entry) == before

    decided = _black(world, admitted_agency(world.operator).organisation.agency)
    before = _row(decided)
    response = _post(world.supervisor, f"{STAFF}{decided.pk}/dismiss/", {"reason": "不予认定"})
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state"
    assert _row(decided) == before


def test_proposed_and_dismissed_entries_are_never_public(world, api):
    proposed = _propose(world)
    dismissed = _propose(world, admitted_agency(world.operator).organisation.agency)
    list_entry_dismiss(actor=world.supervisor, entry_id=dismissed.pk, reason="证据不足")
    red = _propose(world, list_kind="red", reason="守信")

    for params in ({}, {"list": "black"}, {"list": "red"}, {"scope": "history"}, {"list": "black", "scope": "history"}):
        ids = _public_ids(api, **params)
        assert not ids & {proposed.pk, dismissed.pk, red.pk}, params


# --- nothing is deleted ---------------------------------------------------------------------------------------


def test_list_entries_and_credit_events_are_never_deleted(world):
    entry = _black(world)
    proposal = _propose(world, admitted_agency(world.operator).organisation.agency)
    event = credit_event_record(
        actor=world.supervisor, agency_id=_agency_of(world.agency).pk, kind="late_contract", reason="逾期签订合同"
    )

    for obj in (entry, proposal, event):
        with pytest.raises(PermissionError):
            obj.delete()
    assert CreditListEntry.objects.filter(pk__in=[entry.pk, proposal.pk]).count() == 2
    assert CreditEvent.objects.filter(pk=event.pk).exists()


# --- serious violations propose a black entry; the decision's period follows the kind ------------------------


def _serious(world, kind="collusion"):
    agency = _agency_of(world.agency)
    event = credit_event_record(
        actor=world.supervisor,
        agency_id=agency.pk,
        kind=kind,
        reason="与其他投标人串通投标",
        evidence="江州公安〔2026〕3号",
    )
    entry = CreditListEntry.objects.get(source_event=event)
    return event, entry


def test_a_serious_event_proposes_a_black_entry(world, frozen_clock):
    event, entry = _serious(world)
    assert entry.source_event == event
    assert entry.status == L.PROPOSED
    assert entry.list_kind == "black"
    assert entry.rule == "serious_violation"
    assert entry.proposed_by is None
    assert entry.proposed_at == frozen_clock
    assert entry.agency == _agency_of(world.agency)
    assert "串通投标" in entry.reason
    # A proposal alone bars nothing.
    assert agency_may(entry.agency, "bid")


def test_a_non_serious_event_proposes_nothing(world):
    credit_event_record(
        actor=world.supervisor, agency_id=_agency_of(world.agency).pk, kind="late_contract", reason="逾期签订合同"
    )
    assert not CreditListEntry.objects.exists()


@pytest.mark.parametrize(
    ("kind", "low", "high"),
    [("collusion", 1, 3), ("false_materials", 1, 3), ("contract_nonperformance", 2, 5)],
)
@pytest.mark.parametrize("side", ["short", "long"])
def test_a_period_outside_the_kinds_range_is_refused_and_changes_nothing(world, frozen_clock, kind, low, high, side):
    _event, entry = _serious(world, kind)
    ends_at = add_years(frozen_clock, low) - MS if side == "short" else add_years(frozen_clock, high) + MS
    before = _row(entry)
    audits = AuditEntry.objects.count()

    response = _post(
        world.supervisor,
        f"{STAFF}{entry.pk}/decide/",
        {"document_number": "江州财采〔2026〕7号", "ends_at": ends_at.isoformat()},
    )

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "period_out_of_range"
    assert _row(entry) == before
    assert AuditEntry.objects.count() == audits


@pytest.mark.parametrize(
    ("kind", "low", "high"),
    [("collusion", 1, 3), ("false_materials", 1, 3), ("contract_nonperformance", 2, 5)],
)
@pytest.mark.parametrize("side", ["low", "high"])
def test_a_period_at_either_end_of_the_range_is_decided(world, frozen_clock, kind, low, high, side):
    _event, entry = _serious(world, kind)
    ends_at = add_years(frozen_clock, low if side == "low" else high)
    response = _post(
        world.supervisor,
        f"{STAFF}{entry.pk}/decide/",
        {"document_number": "江州财采〔2026〕7号", "ends_at": ends_at.isoformat()},
    )
    assert response.status_code == 200, response.content
    fresh = _fresh(entry)
    assert fresh.decided_at == frozen_clock
    assert fresh.ends_at == ends_at
    assert fresh.status_at(frozen_clock) == L.IN_FORCE


def test_the_decision_fills_the_national_data_spec_fields(world, frozen_clock):
    _event, entry = _serious(world)
    org = _agency_of(world.agency).organisation
    ends_at = add_years(frozen_clock, 2)

    decided = list_entry_decide(
        actor=world.supervisor, entry_id=entry.pk, document_number=" 江州财采〔2026〕8号 ", ends_at=ends_at
    )

    fresh = _fresh(decided)
    assert fresh.status == L.IN_FORCE
    assert fresh.subject_name == org.name
    assert fresh.subject_uscc == org.uscc
    assert fresh.subject_role == "中介机构"
    assert fresh.deciding_department == world.supervisor.organisation.name
    assert fresh.deciding_department
    assert fresh.document_number == "江州财采〔2026〕8号"
    assert fresh.decided_by == world.supervisor
    assert fresh.decided_at == frozen_clock
    assert fresh.starts_at == frozen_clock
    assert fresh.ends_at == ends_at
    assert fresh.restricted_actions == ["be_drawn", "bid", "register"]
    assert AuditEntry.objects.filter(action="credit_list.decide", object_id=str(entry.pk)).count() == 1


def test_an_explicit_deciding_department_is_kept(world, frozen_clock):
    _event, entry = _serious(world)
    decided = list_entry_decide(
        actor=world.supervisor,
        entry_id=entry.pk,
        document_number="江州财采〔2026〕9号",
        ends_at=add_years(frozen_clock, 1),
        deciding_department="江州市财政局",
    )
    assert _fresh(decided).deciding_department == "江州市财政局"


def test_a_decision_without_a_document_number_is_refused(world, frozen_clock):
    _event, entry = _serious(world)
    before = _row(entry)
    ends = add_years(frozen_clock, 2).isoformat()

    for payload in ({"ends_at": ends}, {"ends_at": ends, "document_number": ""}):
        response = _post(world.supervisor, f"{STAFF}{entry.pk}/decide/", payload)
        assert response.status_code == 400, payload
        assert response.json()["code"]
    with pytest.raises(ApplicationError) as refused:
        list_entry_decide(
            actor=world.supervisor, entry_id=entry.pk, document_number="   ", ends_at=add_years(frozen_clock, 2)
        )
    assert (refused.value.status, refused.value.code) == (400, "document_number_required")
    assert _row(entry) == before


def test_a_black_entry_needs_an_end(world):
    entry = _propose(world)
    before = _row(entry)
    with pytest.raises(ApplicationError) as refused:
        list_entry_decide(actor=world.supervisor, entry_id=entry.pk, document_number="江州财采〔2026〕1号")
    assert refused.value.status == 400
    assert _row(entry) == before


def test_a_start_in_the_past_is_refused(world, frozen_clock):
    entry = _propose(world)
    before = _row(entry)
    starts_at = frozen_clock - timedelta(minutes=1) - MS

    response = _post(
        world.supervisor,
        f"{STAFF}{entry.pk}/decide/",
        {
            "document_number": "江州财采〔2026〕1号",
            "starts_at": starts_at.isoformat(),
            "ends_at": (frozen_clock + timedelta(days=365)).isoformat(),
        },
    )

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "starts_in_past"
    assert _row(entry) == before


def test_a_start_a_minute_ago_is_tolerated(world, frozen_clock):
    entry = _decide(world, _propose(world), starts_at=frozen_clock - timedelta(minutes=1))
    assert entry.status == L.IN_FORCE


# --- the red-list rule ------------------------------------------------------------------------------------------


@pytest.fixture
def easy_red_policy(db):
    rules = policy()
    rules.red_min_evaluations = 0
    rules.red_min_score = 105
    rules.save()
    return rules


def _commend(world, agency, times=1):
    for _ in range(times):
        credit_event_record(actor=world.supervisor, agency_id=agency.pk, kind="commendation", reason="年度表彰")


def test_the_red_rule_proposes_once_for_a_good_record(world, easy_red_policy):
    good = _agency_of(world.agency)
    _commend(world, good)  # 100 + 5 = the threshold exactly
    ordinary = admitted_agency(world.operator).organisation.agency  # 100: below it

    assert red_rules_run() == 1
    entry = CreditListEntry.objects.get()
    assert (entry.agency, entry.list_kind, entry.status) == (good, "red", L.PROPOSED)
    assert entry.rule == "red_threshold"
    assert entry.proposed_by is None
    assert not ordinary.list_entries.exists()

    assert red_rules_run() == 0
    assert CreditListEntry.objects.count() == 1

    # Decided and in force: still nothing more.
    _decide(world, entry)
    assert red_rules_run() == 0
    assert CreditListEntry.objects.count() == 1


def test_the_red_rule_skips_an_agency_with_a_bad_event_in_the_window(world, easy_red_policy):
    agency = _agency_of(world.agency)
    _commend(world, agency, times=3)  # 115
    credit_event_record(actor=world.supervisor, agency_id=agency.pk, kind="late_contract", reason="逾期签订合同")
    # 112: above the threshold, but a bad event in the window.
    assert red_rules_run() == 0
    assert not CreditListEntry.objects.exists()


def test_a_bad_event_before_the_window_does_not_count(world, frozen_clock, easy_red_policy):
    agency = _agency_of(world.agency)
    credit_event_record(
        actor=world.supervisor,
        agency_id=agency.pk,
        kind="late_contract",
        reason="逾期签订合同",
        occurred_at=frozen_clock - timedelta(days=easy_red_policy.red_lookback_days),
    )
    _commend(world, agency)
    assert red_rules_run() == 1


def test_the_red_rule_needs_enough_evaluations_by_default(world):
    agency = _agency_of(world.agency)
    _commend(world, agency, times=3)  # 115 ≥ 110, but no evaluations
    assert red_rules_run() == 0


def test_the_red_rule_proposes_again_after_the_previous_red_entry_expired(world, frozen_clock, easy_red_policy):
    agency = _agency_of(world.agency)
    _commend(world, agency)
    red_rules_run()
    first = CreditListEntry.objects.get()
    _decide(world, first, ends_at=frozen_clock + 10 * DAY)
    clock.freeze(frozen_clock + 10 * DAY)
    assert red_rules_run() == 1
    assert CreditListEntry.objects.filter(agency=agency, list_kind="red", status=L.PROPOSED).count() == 1


# --- the public list ------------------------------------------------------------------------------------------


def test_public_list_shows_only_decided_entries_in_force_in_the_spec_order(world, frozen_clock, api):
    others = [admitted_agency(world.operator).organisation.agency for _ in range(5)]
    in_force = _black(world, others[0], ends_at=frozen_clock + timedelta(days=365))
    expired = _black(world, others[1], ends_at=frozen_clock + DAY)
    future = _decide(world, _propose(world, others[2]), starts_at=frozen_clock + 10 * DAY)
    revoked = _black(world, others[3])
    list_entry_revoke(actor=world.supervisor, entry_id=revoked.pk, reason="信用修复")
    proposed = _propose(world, others[4])
    red = _decide(world, _propose(world, others[0], list_kind="red", reason="守信"))
    clock.freeze(frozen_clock + 2 * DAY)

    response = api.get(PUBLIC, {"list": "black"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == [in_force.pk]
    row = results[0]
    assert list(row.keys()) == PUBLIC_FIELDS
    org = others[0].organisation
    assert row["subject_name"] == org.name
    assert row["subject_uscc"] == org.uscc
    assert row["subject_role"] == "中介机构"
    assert row["list"] == "black"
    assert row["decision_date"] == frozen_clock.date().isoformat()
    assert row["deciding_department"] == world.supervisor.organisation.name
    assert row["document_number"] == "江州财采〔2026〕1号"
    assert row["restricted_actions"] == ["be_drawn", "bid", "register"]
    assert len(row["measures"]) == 3
    assert (row["revoked"], row["revoked_at"], row["status"]) == (False, None, L.IN_FORCE)

    assert _public_ids(api, list="black", scope="current") == {in_force.pk}
    assert _public_ids(api, list="black", scope="history") == {in_force.pk, expired.pk, future.pk, revoked.pk}
    assert _public_ids(api, list="red") == {red.pk}
    assert _public_ids(api) == {in_force.pk, red.pk}
    assert proposed.pk not in _public_ids(api, scope="history")

    history = {r["id"]: r for r in api.get(PUBLIC, {"list": "black", "scope": "history"}).json()["results"]}
    assert history[expired.pk]["status"] == L.EXPIRED
    assert history[future.pk]["status"] == L.DECIDED
    assert history[revoked.pk]["status"] == L.REVOKED
    assert all(list(r.keys()) == PUBLIC_FIELDS for r in history.values())


def test_public_list_reads_the_dates_not_the_stored_status(world, frozen_clock, api):
    """The clock step has not run: the entry's stored status is stale, the answer is not."""
    entry = _black(world, ends_at=frozen_clock + DAY)
    clock.freeze(frozen_clock + DAY)
    assert _fresh(entry).status == L.IN_FORCE
    assert _public_ids(api, list="black") == set()
    future = _decide(
        world, _propose(world, admitted_agency(world.operator).organisation.agency), starts_at=clock.now() + DAY
    )
    clock.advance(DAY)
    assert _fresh(future).status == L.DECIDED
    assert _public_ids(api, list="black") == {future.pk}


@pytest.mark.parametrize("params", [{"scope": "all"}, {"scope": "HISTORY"}, {"list": "grey"}])
def test_public_list_bad_parameters_are_400_with_a_code(api, db, params):
    response = api.get(PUBLIC, params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["detail"] and body["detail_zh"]


def test_an_empty_filter_means_any_as_a_page_form_sends_it(api, world):
    """The pages share this listing's FilterSet; a form's "any" option submits ``list=``."""
    red = _decide(world, _propose(world, admitted_agency(world.operator).organisation.agency, list_kind="red"))
    black = _decide(world, _propose(world, admitted_agency(world.operator).organisation.agency))
    assert _public_ids(api, list="") == {red.pk, black.pk} == _public_ids(api)


# --- who may decide ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["agency", "purchaser", "operator"])
@pytest.mark.parametrize("verb", ["decide", "dismiss", "revoke"])
def test_only_a_supervisor_may_decide_dismiss_or_revoke(world, frozen_clock, role, verb):
    entry = _propose(world) if verb != "revoke" else _black(world)
    before = _row(entry)
    audits = AuditEntry.objects.count()
    payload = {
        "document_number": "江州财采〔2026〕1号",
        "ends_at": (frozen_clock + timedelta(days=365)).isoformat(),
        "reason": "理由",
    }

    response = _post(world.by_role(role), f"{STAFF}{entry.pk}/{verb}/", payload)
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "forbidden"

    response = _post(None, f"{STAFF}{entry.pk}/{verb}/", payload)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"

    assert _row(entry) == before
    assert AuditEntry.objects.count() == audits

    response = _post(world.supervisor, f"{STAFF}{entry.pk}/{verb}/", payload)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("role", ["agency", "purchaser", "operator"])
def test_only_a_supervisor_may_propose(world, role):
    payload = {"agency": _agency_of(world.agency).pk, "list": "black", "reason": "多次违规"}
    assert client_for(world.by_role(role)).post(STAFF, payload, format="json").status_code == 403
    assert APIClient().post(STAFF, payload, format="json").status_code == 401
    assert not CreditListEntry.objects.exists()
    response = client_for(world.supervisor).post(STAFF, payload, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == L.PROPOSED


def test_staff_list_is_for_supervisors_and_operators(world, api):
    _propose(world)
    for role in ("supervisor", "operator"):
        response = client_for(world.by_role(role)).get(STAFF)
        assert response.status_code == 200
        assert len(response.json()["results"]) == 1
    for role in ("agency", "purchaser"):
        assert client_for(world.by_role(role)).get(STAFF).status_code == 403
    assert api.get(STAFF).status_code == 401


def test_a_second_supervisor_proposal_on_the_same_list_waits_for_the_first(world):
    _propose(world)
    with pytest.raises(ApplicationError) as refused:
        _propose(world)
    assert (refused.value.code, refused.value.status) == ("already_proposed", 409)
    assert CreditListEntry.objects.count() == 1


def test_the_red_rule_is_not_blocked_by_unrelated_closed_and_black_entries(world, frozen_clock, easy_red_policy):
    """red_rules_run() proposes for every agency 'that has no red entry pending, decided or in
    force'. An agency whose earlier red entry has expired, and which has a black proposal pending
    (a supervisor's, no bad event), has no open red entry: the rule holds, so it is proposed."""
    agency = _agency_of(world.agency)
    _commend(world, agency)
    red_rules_run()
    old_red = CreditListEntry.objects.get()
    _decide(world, old_red, ends_at=frozen_clock + 10 * DAY)
    clock.freeze(frozen_clock + 10 * DAY)
    list_entries_catch_up()
    assert _fresh(old_red).status == L.EXPIRED
    _propose(world, agency, list_kind="black", reason="待核查的举报")

    assert red_rules_run() == 1
    assert agency.list_entries.filter(list_kind="red", status=L.PROPOSED).count() == 1


def test_a_red_entry_cannot_end_before_it_starts(world, frozen_clock):
    entry = _propose(world, list_kind="red", reason="守信")
    before = _row(entry)
    with pytest.raises(ApplicationError) as refused:
        list_entry_decide(
            actor=world.supervisor,
            entry_id=entry.pk,
            document_number="江州财采〔2026〕2号",
            starts_at=frozen_clock + 10 * DAY,
            ends_at=frozen_clock + 5 * DAY,
        )
    assert refused.value.status == 400
    assert _row(entry) == before


def test_a_black_entry_cannot_end_before_it_starts(world, frozen_clock):
    entry = _propose(world)
    before = _row(entry)
    with pytest.raises(ApplicationError) as refused:
        _decide(world, entry, starts_at=frozen_clock + 10 * DAY, ends_at=frozen_clock + 5 * DAY)
    assert refused.value.code == "period_out_of_range"
    assert _row(entry) == before


def test_a_black_entry_without_a_minimum_cannot_end_when_it_starts(world):
    entry = _propose(world)
    start = clock.now() + DAY
    with pytest.raises(ApplicationError) as refused:
        _decide(world, entry, starts_at=start, ends_at=start)
    assert refused.value.code == "period_out_of_range"
    entry.refresh_from_db()
    assert entry.status == L.PROPOSED and entry.ends_at is None
