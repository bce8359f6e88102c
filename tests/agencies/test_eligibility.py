"""The barring function (agency_may) for every admission state and every black-list entry state,
answered for the moment asked about, at its edges (±1 ms)."""

from datetime import datetime, time, timedelta

import pytest

from agencies.choices import AdmissionStatus
from agencies.eligibility import (
    admission_status_at,
    agency_has_incentive,
    agency_is_barred,
    agency_is_qualified,
    agency_may,
)
from agencies.models import LOCAL, Agency
from agencies.services import admission, registration
from agencies.services.lists import (
    list_entries_catch_up,
    list_entry_decide,
    list_entry_dismiss,
    list_entry_propose,
    list_entry_revoke,
)
from core import clock
from market.choices import Category
from tests.conftest import client_for
from tests.factories import admitted_agency, applied_agency, qualification_data, valid_uscc

MS = timedelta(milliseconds=1)
DAY = timedelta(days=1)
ACTIONS = ["register", "bid", "be_drawn"]


def _agency(user) -> Agency:
    return Agency.objects.get(pk=user.organisation.agency.pk)


def _in_state(world, state: str):
    """An agency user whose agency was brought to ``state`` by the trading centre's services."""
    op = world.operator
    if state in (AdmissionStatus.ADMITTED, AdmissionStatus.SUSPENDED, "reinstated", "removed_after_admission"):
        member = admitted_agency(op)
    else:
        member = applied_agency()
    agency_id = member.organisation.agency.pk
    if state == AdmissionStatus.RETURNED:
        admission.agency_return(actor=op, agency_id=agency_id, reason="材料不全")
    elif state == AdmissionStatus.SUSPENDED:
        admission.agency_suspend(actor=op, agency_id=agency_id, reason="投诉核查中")
    elif state == "reinstated":
        admission.agency_suspend(actor=op, agency_id=agency_id, reason="投诉核查中")
        admission.agency_reinstate(actor=op, agency_id=agency_id, reason="核查完毕")
    elif state == AdmissionStatus.REMOVED:
        admission.agency_remove(actor=op, agency_id=agency_id, reason="不再符合条件")
    elif state == "removed_after_admission":
        admission.agency_remove(actor=op, agency_id=agency_id, reason="严重违规")
    return member


STATES = {
    AdmissionStatus.APPLIED: AdmissionStatus.APPLIED,
    AdmissionStatus.ADMITTED: AdmissionStatus.ADMITTED,
    AdmissionStatus.RETURNED: AdmissionStatus.RETURNED,
    AdmissionStatus.SUSPENDED: AdmissionStatus.SUSPENDED,
    AdmissionStatus.REMOVED: AdmissionStatus.REMOVED,
    "reinstated": AdmissionStatus.ADMITTED,
    "removed_after_admission": AdmissionStatus.REMOVED,
}


def _black(
    world, agency, *, starts_at=None, ends_at=None, restricted_actions=None, document_number="江州财采〔2026〕1号"
):
    entry = list_entry_propose(actor=world.supervisor, agency_id=agency.pk, list_kind="black", reason="提供虚假材料")
    return list_entry_decide(
        actor=world.supervisor,
        entry_id=entry.pk,
        document_number=document_number,
        starts_at=starts_at,
        ends_at=ends_at or (starts_at or clock.now()) + timedelta(days=365),
        restricted_actions=restricted_actions,
    )


# --- admission state × action ----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("state", list(STATES))
def test_admission_state_decides_bid_and_be_drawn_but_not_register(world, state, action):
    member = _in_state(world, state)
    agency = _agency(member)
    assert agency.status == STATES[state]
    assert admission_status_at(agency, clock.now()) == STATES[state]

    verdict = agency_may(agency, action)

    if action == "register" or STATES[state] == AdmissionStatus.ADMITTED:
        assert verdict
        assert verdict.allowed is True
        assert verdict.code == "allowed"
        assert verdict.entry_id is None
        assert not agency_is_barred(agency, action)
    else:
        assert not verdict
        assert verdict.code == "agency_not_admitted"
        assert verdict.detail and verdict.detail_zh
        assert verdict.entry_id is None
        assert agency_is_barred(agency, action)


def test_before_it_first_applied_an_agency_had_no_admission_state(world, frozen_clock):
    agency = _agency(world.agency)
    assert admission_status_at(agency, frozen_clock - MS) is None
    assert not agency_may(agency, "bid", frozen_clock - MS)
    assert agency_may(agency, "register", frozen_clock - MS)


# --- black-list entry states -----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
def test_a_proposed_entry_bars_nothing(world, action):
    agency = _agency(world.agency)
    list_entry_propose(actor=world.supervisor, agency_id=agency.pk, list_kind="black", reason="举报")
    assert agency_may(agency, action)


@pytest.mark.parametrize("action", ACTIONS)
def test_a_dismissed_entry_bars_nothing(world, frozen_clock, action):
    agency = _agency(world.agency)
    entry = list_entry_propose(actor=world.supervisor, agency_id=agency.pk, list_kind="black", reason="举报")
    list_entry_dismiss(actor=world.supervisor, entry_id=entry.pk, reason="证据不足")
    assert agency_may(agency, action)
    assert agency_may(agency, action, frozen_clock + timedelta(days=100))


@pytest.mark.parametrize("action", ACTIONS)
def test_a_decided_entry_bars_from_its_start_exactly(world, frozen_clock, action):
    agency = _agency(world.agency)
    start = frozen_clock + DAY
    entry = _black(world, agency, starts_at=start)
    assert entry.status == "decided"

    assert agency_may(agency, action)  # now: decided, not started
    assert agency_may(agency, action, start - MS)
    verdict = agency_may(agency, action, start)
    assert not verdict
    assert (verdict.code, verdict.entry_id) == ("agency_black_listed", entry.pk)

    # Without anyone acting: the clock reaches the start, the catch-up step has not run.
    clock.freeze(start - MS)
    assert agency_may(agency, action)
    clock.freeze(start)
    assert not agency_may(agency, action)


@pytest.mark.parametrize("action", ACTIONS)
def test_an_entry_in_force_bars_every_restricted_action(world, action):
    agency = _agency(world.agency)
    entry = _black(world, agency, document_number="江州财采〔2026〕5号")

    verdict = agency_may(agency, action)

    assert not verdict
    assert verdict.allowed is False
    assert verdict.code == "agency_black_listed"
    assert verdict.entry_id == entry.pk
    assert verdict.detail_zh
    assert "江州财采〔2026〕5号" in verdict.detail
    assert "江州财采〔2026〕5号" in verdict.detail_zh
    assert entry.ends_at.date().isoformat() in verdict.detail
    assert agency_is_barred(agency, action)


@pytest.mark.parametrize("action", ACTIONS)
def test_an_entry_stops_barring_at_its_end_exactly(world, frozen_clock, action):
    agency = _agency(world.agency)
    end = frozen_clock + 10 * DAY
    _black(world, agency, ends_at=end)

    assert not agency_may(agency, action, end - MS)
    assert agency_may(agency, action, end)

    clock.freeze(end - MS)
    assert not agency_may(agency, action)
    clock.freeze(end)
    assert agency_may(agency, action)  # before the catch-up step ran
    list_entries_catch_up()
    assert agency_may(agency, action)
    # The past is unchanged.
    assert not agency_may(agency, action, end - MS)


@pytest.mark.parametrize("action", ACTIONS)
def test_a_revoked_entry_stops_barring_from_its_revocation(world, frozen_clock, action):
    agency = _agency(world.agency)
    entry = _black(world, agency)
    revoked_at = clock.advance(timedelta(hours=3))
    list_entry_revoke(actor=world.supervisor, entry_id=entry.pk, reason="信用修复")

    assert agency_may(agency, action)
    assert agency_may(agency, action, revoked_at)
    verdict = agency_may(agency, action, revoked_at - MS)
    assert not verdict
    assert verdict.entry_id == entry.pk


def test_an_entry_restricting_only_bid_bars_only_bid(world):
    agency = _agency(world.agency)
    entry = _black(world, agency, restricted_actions=["bid"])
    assert entry.restricted_actions == ["bid"]

    verdict = agency_may(agency, "bid")
    assert not verdict
    assert (verdict.code, verdict.entry_id) == ("agency_black_listed", entry.pk)
    assert agency_may(agency, "register")
    assert agency_may(agency, "be_drawn")


def test_an_entry_on_another_agency_bars_nothing_here(world):
    other = _agency(admitted_agency(world.operator))
    _black(world, other)
    agency = _agency(world.agency)
    assert all(agency_may(agency, action) for action in ACTIONS)


def test_a_red_entry_bars_nothing(world):
    agency = _agency(world.agency)
    entry = list_entry_propose(actor=world.supervisor, agency_id=agency.pk, list_kind="red", reason="守信")
    list_entry_decide(actor=world.supervisor, entry_id=entry.pk, document_number="江州财采〔2026〕3号")
    assert all(agency_may(agency, action) for action in ACTIONS)


def test_not_admitted_is_reported_before_black_listed(world):
    """A suspended, black-listed agency: bidding is refused for not being admitted; registering
    for the black list."""
    member = _in_state(world, AdmissionStatus.SUSPENDED)
    agency = _agency(member)
    entry = _black(world, agency)
    assert agency_may(agency, "bid").code == "agency_not_admitted"
    register = agency_may(agency, "register")
    assert (register.code, register.entry_id) == ("agency_black_listed", entry.pk)


# --- the moment asked about ---------------------------------------------------------------------------------


def test_a_past_moment_is_answered_for_that_moment(world, frozen_clock):
    agency = _agency(world.agency)  # admitted at T0
    suspended_at = clock.advance(timedelta(hours=1))
    admission.agency_suspend(actor=world.operator, agency_id=agency.pk, reason="投诉核查中")

    assert agency_may(agency, "bid").code == "agency_not_admitted"
    assert agency_may(agency, "bid", frozen_clock)
    assert agency_may(agency, "be_drawn", suspended_at - MS)
    assert not agency_may(agency, "be_drawn", suspended_at)

    reinstated_at = clock.advance(timedelta(hours=1))
    admission.agency_reinstate(actor=world.operator, agency_id=agency.pk, reason="核查完毕")
    assert agency_may(agency, "bid")
    assert not agency_may(agency, "bid", reinstated_at - MS)
    assert agency_may(agency, "bid", frozen_clock + timedelta(minutes=30))


def test_a_past_black_listing_is_answered_for_that_moment(world, frozen_clock):
    agency = _agency(world.agency)  # admitted at T0
    decided_at = clock.advance(timedelta(hours=1))
    entry = _black(world, agency)
    clock.advance(timedelta(hours=1))
    list_entry_revoke(actor=world.supervisor, entry_id=entry.pk, reason="信用修复")
    assert agency_may(agency, "bid")
    assert agency_may(agency, "bid", decided_at).code == "agency_black_listed"
    # Before the decision (and its start) the entry did not bar anything.
    assert agency_may(agency, "bid", decided_at - MS)
    assert agency_may(agency, "bid", frozen_clock)


# --- the subject: Agency, Organisation or USCC -------------------------------------------------------------


def test_agency_may_by_uscc_and_by_organisation(world):
    agency = _agency(world.agency)
    org = agency.organisation
    for subject in (agency, org, org.uscc):
        assert agency_may(subject, "bid"), subject
    entry = _black(world, agency, restricted_actions=["bid"])
    for subject in (agency, org, org.uscc):
        verdict = agency_may(subject, "bid")
        assert (verdict.code, verdict.entry_id) == ("agency_black_listed", entry.pk), subject
        assert agency_may(subject, "be_drawn"), subject
        assert agency_is_barred(subject, "bid")


def test_by_organisation_and_uscc_not_admitted(world):
    member = _in_state(world, AdmissionStatus.APPLIED)
    org = member.organisation
    for subject in (org, org.uscc):
        assert agency_may(subject, "bid").code == "agency_not_admitted"
        assert agency_may(subject, "register")


def test_an_unknown_uscc_may_register_but_not_bid(db):
    unknown = valid_uscc(987_654_321, prefix="91110000")
    assert agency_may(unknown, "register")
    for action in ("bid", "be_drawn"):
        verdict = agency_may(unknown, action)
        assert not verdict
        assert verdict.code == "not_an_agency"
        assert verdict.detail and verdict.detail_zh
        assert verdict.entry_id is None


def test_a_non_agency_organisation_may_not_bid(world):
    verdict = agency_may(world.purchaser.organisation, "bid")
    assert verdict.code == "not_an_agency"


def test_an_unknown_action_is_an_error(world):
    with pytest.raises(ValueError):
        agency_may(_agency(world.agency), "sing")


# --- re-applying while black-listed -------------------------------------------------------------------------


def test_a_removed_agency_black_listed_for_register_cannot_reapply(world):
    member = _in_state(world, "removed_after_admission")
    agency = _agency(member)
    entry = _black(world, agency)
    decisions = agency.decisions.count()

    response = client_for(member).post("/api/agencies/me/reapply/", {"note": "已整改"}, format="json")

    assert response.status_code == 403, response.content
    body = response.json()
    assert body["code"] == "agency_black_listed"
    assert body["detail_zh"]
    assert _agency(member).status == AdmissionStatus.REMOVED
    assert agency.decisions.count() == decisions

    # Once the entry is revoked, it may apply again.
    list_entry_revoke(actor=world.supervisor, entry_id=entry.pk, reason="信用修复")
    response = client_for(member).post("/api/agencies/me/reapply/", {"note": "已整改"}, format="json")
    assert response.status_code == 200, response.content
    assert _agency(member).status == AdmissionStatus.APPLIED


def test_a_removed_agency_black_listed_only_for_bid_may_reapply(world):
    member = _in_state(world, AdmissionStatus.REMOVED)
    _black(world, _agency(member), restricted_actions=["bid"])
    response = client_for(member).post("/api/agencies/me/reapply/", {}, format="json")
    assert response.status_code == 200, response.content
    assert _agency(member).status == AdmissionStatus.APPLIED


def test_a_black_listed_applicant_cannot_be_admitted(world):
    member = _in_state(world, AdmissionStatus.APPLIED)
    _black(world, _agency(member))
    response = client_for(world.operator).post(
        f"/api/agencies/{_agency(member).pk}/admit/", {"reason": ""}, format="json"
    )
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "agency_black_listed"
    assert _agency(member).status == AdmissionStatus.APPLIED


# --- qualifications -----------------------------------------------------------------------------------------


def _qualification(member, category=Category.AUDIT, **overrides):
    return registration.qualification_add(actor=member, data=qualification_data(category=category, **overrides))


def test_a_qualification_counts_through_the_whole_of_its_last_day_beijing_time(world, frozen_clock):
    member = world.agency
    agency = _agency(member)
    last_day = frozen_clock.astimezone(LOCAL).date() + timedelta(days=10)
    _qualification(member, valid_until=last_day)
    midnight_after = datetime.combine(last_day + DAY, time(), LOCAL)

    assert agency_is_qualified(agency, Category.AUDIT)
    assert agency_is_qualified(agency, Category.AUDIT, midnight_after - MS)
    assert not agency_is_qualified(agency, Category.AUDIT, midnight_after)
    # Not qualified for a category it holds nothing for.
    assert not agency_is_qualified(agency, Category.LEGAL)

    # Nobody acts: only the clock moves.
    clock.freeze(midnight_after - MS)
    assert agency_is_qualified(agency, Category.AUDIT)
    clock.freeze(midnight_after)
    assert not agency_is_qualified(agency, Category.AUDIT)
    # 16:00 UTC on the last day is already the next day in Beijing.
    assert midnight_after.astimezone(LOCAL).hour == 0
    assert agency_is_qualified(agency, Category.COST_CONSULTING)  # the factory's, valid for a year


def test_a_qualification_counts_from_its_first_day(world, frozen_clock):
    member = world.agency
    agency = _agency(member)
    first_day = frozen_clock.astimezone(LOCAL).date() + timedelta(days=3)
    _qualification(member, valid_from=first_day, valid_until=first_day + timedelta(days=30))
    start = datetime.combine(first_day, time(), LOCAL)
    assert not agency_is_qualified(agency, Category.AUDIT)
    assert not agency_is_qualified(agency, Category.AUDIT, start - MS)
    assert agency_is_qualified(agency, Category.AUDIT, start)


def test_a_withdrawn_qualification_stops_counting(world, frozen_clock):
    member = world.agency
    agency = _agency(member)
    q = _qualification(member)
    withdrawn_at = clock.advance(timedelta(hours=2))
    registration.qualification_withdraw(actor=member, qualification_id=q.pk)

    assert not agency_is_qualified(agency, Category.AUDIT)
    assert not agency_is_qualified(agency, Category.AUDIT, withdrawn_at)
    assert agency_is_qualified(agency, Category.AUDIT, withdrawn_at - MS)
    assert not agency_is_qualified(agency, Category.AUDIT, withdrawn_at + timedelta(days=30))


def test_another_valid_qualification_keeps_the_category_counting(world):
    member = world.agency
    agency = _agency(member)
    first = _qualification(member)
    _qualification(member)
    registration.qualification_withdraw(actor=member, qualification_id=first.pk)
    assert agency_is_qualified(agency, Category.AUDIT)


# --- red-list incentives --------------------------------------------------------------------------------------


def test_a_decided_red_entry_in_force_grants_its_incentives(world, frozen_clock):
    agency = _agency(world.agency)
    entry = list_entry_propose(actor=world.supervisor, agency_id=agency.pk, list_kind="red", reason="守信记录良好")
    assert not agency_has_incentive(agency, "badge")  # a proposal grants nothing

    start = frozen_clock + DAY
    entry = list_entry_decide(
        actor=world.supervisor,
        entry_id=entry.pk,
        document_number="江州财采〔2026〕4号",
        starts_at=start,
        incentives=["bond_waiver", "badge"],
    )
    end = entry.ends_at
    assert end == start + timedelta(days=365)

    assert not agency_has_incentive(agency, "bond_waiver")
    assert not agency_has_incentive(agency, "bond_waiver", start - MS)
    assert agency_has_incentive(agency, "bond_waiver", start)
    assert agency_has_incentive(agency, "badge", start)
    assert not agency_has_incentive(agency, "scoring_bonus", start)
    assert agency_has_incentive(agency, "bond_waiver", end - MS)
    assert not agency_has_incentive(agency, "bond_waiver", end)

    clock.freeze(start)
    assert agency_has_incentive(agency, "bond_waiver")
    revoked_at = clock.advance(DAY)
    list_entry_revoke(actor=world.supervisor, entry_id=entry.pk, reason="不再符合条件")
    assert not agency_has_incentive(agency, "bond_waiver")
    assert agency_has_incentive(agency, "bond_waiver", revoked_at - MS)


def test_default_red_incentives_come_from_the_policy(world):
    agency = _agency(world.agency)
    entry = list_entry_propose(actor=world.supervisor, agency_id=agency.pk, list_kind="red", reason="守信记录良好")
    list_entry_decide(actor=world.supervisor, entry_id=entry.pk, document_number="江州财采〔2026〕4号")
    assert agency_has_incentive(agency, "badge")
    assert agency_has_incentive(agency, "bond_waiver")
    assert not agency_has_incentive(agency, "scoring_bonus")


def test_a_black_entry_grants_no_incentive(world):
    agency = _agency(world.agency)
    _black(world, agency)
    assert not any(agency_has_incentive(agency, i) for i in ("badge", "bond_waiver", "scoring_bonus"))


def test_the_batch_answer_is_the_single_answer_for_every_agency(world):
    """agencies_may (the opening's batch form) agrees with agency_may for each state it can meet."""
    from agencies.eligibility import agencies_may
    from agencies.services.credit import credit_event_record
    from agencies.services.lists import add_years

    admitted = admitted_agency(world.operator).organisation
    suspended = admitted_agency(world.operator).organisation
    admission.agency_suspend(actor=world.operator, agency_id=suspended.agency.pk, reason="暂停")
    applied = applied_agency().organisation
    barred = admitted_agency(world.operator).organisation
    event = credit_event_record(actor=world.supervisor, agency_id=barred.agency.pk, kind="collusion", reason="串标")
    list_entry_decide(
        actor=world.supervisor,
        entry_id=event.list_entries.get().pk,
        document_number="江公管信〔2026〕2号",
        ends_at=add_years(clock.now(), 1),
    )
    orgs = [admitted, suspended, applied, barred]
    for action in ("bid", "register", "be_drawn"):
        for at in (clock.now(), clock.now() - timedelta(hours=1)):
            batch = agencies_may([o.pk for o in orgs], action, at)
            assert {o.pk: (v.allowed, v.code) for o, v in ((o, batch[o.pk]) for o in orgs)} == {
                o.pk: (agency_may(o, action, at).allowed, agency_may(o, action, at).code) for o in orgs
            }
