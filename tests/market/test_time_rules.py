"""The legal time rules at their edges, with the clock moved instead of slept."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core import clock
from core.errors import ApplicationError
from core.models import AuditEntry
from market.choices import TenderStatus as S
from market.models import Notice, Tender
from market.rules import add_working_days
from market.services import tenders as market_tenders
from procurement.services import objections
from procurement.services import tenders as svc
from procurement.services.timeline import run_due_steps
from tests.factories import objection_signed, signing_cert
from tests.market.helpers import world_state

MS = timedelta(milliseconds=1)
CST = ZoneInfo("Asia/Shanghai")


def _fresh(t):
    return Tender.objects.get(pk=t.pk)


# --- publication: minimum notice period ------------------------------------------------------------------


def test_open_tender_deadline_exactly_twenty_days_after_publication_is_accepted(world, frozen_clock):
    tender = world.draft(bid_deadline=frozen_clock + timedelta(days=20))
    market_tenders.tender_submit(actor=world.purchaser, tender_id=tender.pk)
    assert svc.tender_approve(actor=world.operator, tender_id=tender.pk).status == S.PUBLISHED


def test_open_tender_deadline_one_millisecond_short_is_refused(world, frozen_clock):
    tender = world.draft(bid_deadline=frozen_clock + timedelta(days=20) - MS)
    before = world_state(tender.pk)
    with pytest.raises(ApplicationError) as refused:
        market_tenders.tender_submit(actor=world.purchaser, tender_id=tender.pk)
    assert refused.value.code == "deadline_too_early"
    assert "2026-03-22" in refused.value.detail  # the earliest allowed deadline is named
    assert world_state(tender.pk) == before


def test_deadline_rule_is_checked_again_at_publication(world, frozen_clock):
    """Submitted in time, approved a day later: the notice period now falls short, so no publication."""
    tender = world.draft(bid_deadline=frozen_clock + timedelta(days=20))
    market_tenders.tender_submit(actor=world.purchaser, tender_id=tender.pk)
    clock.advance(timedelta(days=1))
    before = world_state(tender.pk)
    with pytest.raises(ApplicationError) as refused:
        svc.tender_approve(actor=world.operator, tender_id=tender.pk)
    assert refused.value.code == "deadline_too_early"
    assert world_state(tender.pk) == before


def test_working_days_skip_the_weekend():
    monday = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
    assert add_working_days(monday, 3) == datetime(2026, 3, 5, 9, 0, tzinfo=CST)  # Thursday
    friday = datetime(2026, 3, 6, 9, 0, tzinfo=CST)
    assert add_working_days(friday, 3) == datetime(2026, 3, 11, 9, 0, tzinfo=CST)  # Mon, Tue, Wed


def test_supermarket_notice_counts_working_days(world, frozen_clock):
    friday = frozen_clock + timedelta(days=4)
    clock.freeze(friday)
    short = world.draft(method="lowest_price", bid_deadline=friday + timedelta(days=5) - MS)
    with pytest.raises(ApplicationError) as refused:
        market_tenders.tender_submit(actor=world.purchaser, tender_id=short.pk)
    assert refused.value.code == "deadline_too_early"
    enough = world.draft(method="lowest_price", bid_deadline=friday + timedelta(days=5))
    assert market_tenders.tender_submit(actor=world.purchaser, tender_id=enough.pk).status == S.PENDING_REVIEW


def test_demo_profile_runs_in_minutes(world, frozen_clock):
    tender = world.draft(profile="demo", bid_deadline=frozen_clock + timedelta(minutes=5))
    market_tenders.tender_submit(actor=world.purchaser, tender_id=tender.pk)
    assert svc.tender_approve(actor=world.operator, tender_id=tender.pk).status == S.PUBLISHED
    late = world.draft(profile="demo", bid_deadline=frozen_clock + timedelta(minutes=5) - MS)
    with pytest.raises(ApplicationError):
        market_tenders.tender_submit(actor=world.purchaser, tender_id=late.pk)


# --- amendments: fifteen days must remain ----------------------------------------------------------------


def test_amendment_exactly_fifteen_days_before_deadline_keeps_it(world):
    tender = world.in_state(S.PUBLISHED)
    deadline = tender.bid_deadline
    clock.freeze(deadline - timedelta(days=15))
    svc.tender_amend(actor=world.purchaser, tender_id=tender.pk, title="澄清公告", body="补充说明")
    assert _fresh(tender).bid_deadline == deadline
    notice = tender.notices.get(kind="amendment")
    assert notice.data["moved_by_rule"] is False


def test_later_amendment_moves_the_deadline_so_fifteen_days_remain(world):
    tender = world.in_state(S.PUBLISHED)
    deadline = tender.bid_deadline
    now = clock.advance(deadline - timedelta(days=15) + MS - clock.now())
    svc.tender_amend(actor=world.purchaser, tender_id=tender.pk, title="变更公告", body="技术参数调整")
    assert _fresh(tender).bid_deadline == now + timedelta(days=15)
    notice = tender.notices.get(kind="amendment")
    assert notice.data["moved_by_rule"] is True
    assert "顺延" in notice.body


def test_amendment_cannot_bring_the_deadline_forward(world):
    tender = world.in_state(S.PUBLISHED)
    before = world_state(tender.pk)
    with pytest.raises(ApplicationError) as refused:
        svc.tender_amend(
            actor=world.purchaser,
            tender_id=tender.pk,
            title="t",
            body="b",
            new_deadline=tender.bid_deadline - timedelta(hours=1),
        )
    assert refused.value.code == "deadline_earlier"
    assert world_state(tender.pk) == before


def test_amendment_one_millisecond_after_the_deadline_is_refused_before_the_clock_runs(world):
    tender = world.in_state(S.PUBLISHED)
    clock.freeze(tender.bid_deadline + MS)
    assert _fresh(tender).status == S.PUBLISHED  # the clock command has not run
    with pytest.raises(ApplicationError) as refused:
        svc.tender_amend(actor=world.purchaser, tender_id=tender.pk, title="t", body="b")
    assert refused.value.code == "invalid_state"
    assert tender.notices.filter(kind="amendment").count() == 0


# --- objections to the documents: until ten days before the deadline ---------------------------------------


def test_objection_exactly_at_the_cutoff_is_accepted_and_suspends(world):
    tender = world.in_state(S.PUBLISHED)
    clock.freeze(tender.bid_deadline - timedelta(days=10))
    objection = objection_signed(
        actor=world.agency, tender_id=tender.pk, kind="documents", text="资格条件排斥潜在投标人"
    )
    fresh = _fresh(tender)
    assert (fresh.status, fresh.suspended_from) == (S.SUSPENDED, S.PUBLISHED)
    assert objection.reply_due_at == clock.now() + timedelta(days=3)
    assert tender.notices.filter(kind="suspension").exists()


def test_objection_one_millisecond_after_the_cutoff_is_refused(world):
    tender = world.in_state(S.PUBLISHED)
    clock.freeze(tender.bid_deadline - timedelta(days=10) + MS)
    signing_cert(world.agency)  # the agency's key is certified beforehand
    before = world_state(tender.pk)
    with pytest.raises(ApplicationError) as refused:
        objection_signed(actor=world.agency, tender_id=tender.pk, kind="documents", text="异议")
    assert refused.value.code == "objection_too_late"
    assert world_state(tender.pk) == before


def test_answer_resumes_and_moves_the_deadline_by_the_time_suspended(world, frozen_clock):
    tender = world.in_state(S.PUBLISHED)
    deadline = tender.bid_deadline
    clock.freeze(frozen_clock + timedelta(days=1))
    objection = objection_signed(actor=world.agency, tender_id=tender.pk, kind="documents", text="异议")
    clock.advance(timedelta(days=2, hours=3))
    objections.objection_answer(actor=world.purchaser, objection_id=objection.pk, answer="已修改资格条件", upheld=True)
    fresh = _fresh(tender)
    assert fresh.status == S.PUBLISHED
    assert fresh.bid_deadline == deadline + timedelta(days=2, hours=3)
    resumption = tender.notices.get(kind="resumption")
    assert resumption.data["moved"]["bid_deadline"] == fresh.bid_deadline.isoformat()


def test_answer_can_set_a_new_deadline(world, frozen_clock):
    tender = world.in_state(S.PUBLISHED)
    objection = objection_signed(actor=world.agency, tender_id=tender.pk, kind="documents", text="异议")
    new_deadline = frozen_clock + timedelta(days=45)
    objections.objection_answer(
        actor=world.purchaser, objection_id=objection.pk, answer="延期", upheld=True, new_deadline=new_deadline
    )
    assert _fresh(tender).bid_deadline == new_deadline


def test_tender_stays_suspended_while_any_objection_is_pending(world):
    tender = world.in_state(S.PUBLISHED)
    first = objection_signed(actor=world.agency, tender_id=tender.pk, kind="documents", text="一")
    objection_signed(actor=world.agency, tender_id=tender.pk, kind="documents", text="二")
    objections.objection_answer(actor=world.purchaser, objection_id=first.pk, answer="答复一", upheld=False)
    assert _fresh(tender).status == S.SUSPENDED


def test_answering_an_objection_does_not_end_a_supervisors_suspension(world):
    tender = world.in_state(S.PUBLISHED)
    svc.tender_suspend(actor=world.supervisor, tender_id=tender.pk, reason="投诉受理")
    objection = objection_signed(actor=world.agency, tender_id=tender.pk, kind="documents", text="异议")
    objections.objection_answer(actor=world.purchaser, objection_id=objection.pk, answer="答复", upheld=False)
    assert _fresh(tender).status == S.SUSPENDED
    market_tenders.tender_resume(actor=world.supervisor, tender_id=tender.pk, ruling="投诉不成立")
    assert _fresh(tender).status == S.PUBLISHED


def test_supervisor_cannot_resume_over_a_pending_objection(world):
    tender = world.in_state(S.PUBLISHED)
    objection_signed(actor=world.agency, tender_id=tender.pk, kind="documents", text="异议")
    before = world_state(tender.pk)
    with pytest.raises(ApplicationError) as refused:
        market_tenders.tender_resume(actor=world.supervisor, tender_id=tender.pk, ruling="恢复")
    assert refused.value.code == "objection_pending"
    assert world_state(tender.pk) == before


def test_a_passed_deadline_is_not_moved_by_a_later_resumption(world):
    tender = world.in_state(S.OPENING)
    deadline = _fresh(tender).bid_deadline
    window_end = _fresh(tender).opening_ends_at
    svc.tender_suspend(actor=world.supervisor, tender_id=tender.pk, reason="开标异议")
    clock.advance(timedelta(hours=1))
    market_tenders.tender_resume(actor=world.supervisor, tender_id=tender.pk, ruling="继续")
    fresh = _fresh(tender)
    assert fresh.status == S.OPENING
    assert fresh.bid_deadline == deadline  # it had passed when the suspension began
    assert fresh.opening_ends_at == window_end + timedelta(hours=1)


# --- the clock: deadline, decryption window, publicity -----------------------------------------------------


def test_nothing_moves_one_millisecond_before_the_deadline(world):
    tender = world.in_state(S.PUBLISHED)
    for agency in world.agencies:
        world.bid(tender, agency)
    clock.freeze(tender.bid_deadline - MS)
    assert run_due_steps() == 0
    assert _fresh(tender).status == S.PUBLISHED


def test_at_the_deadline_enough_bids_open(world):
    tender = world.in_state(S.PUBLISHED)
    for agency in world.agencies:
        world.bid(tender, agency)
    clock.freeze(tender.bid_deadline)
    assert run_due_steps() == 1
    fresh = _fresh(tender)
    assert fresh.status == S.OPENING
    assert fresh.opening_ends_at == tender.bid_deadline + timedelta(minutes=30)


def test_at_the_deadline_too_few_bids_fail_with_a_notice(world):
    tender = world.in_state(S.PUBLISHED)
    for agency in world.agencies[:2]:
        world.bid(tender, agency)
    clock.freeze(tender.bid_deadline)
    run_due_steps()
    fresh = _fresh(tender)
    assert fresh.status == S.FAILED
    assert fresh.fail_reason == "too_few_bids: 2 < 3"
    failure = tender.notices.get(kind="failure")
    assert failure.data == {"received": 2, "min_bids": 3}


def test_withdrawn_bids_do_not_count(world):
    tender = world.in_state(S.PUBLISHED)
    bids = [world.bid(tender, agency) for agency in world.agencies]
    type(bids[0]).objects.filter(pk=bids[0].pk).update(status="withdrawn")
    clock.freeze(tender.bid_deadline)
    run_due_steps()
    assert _fresh(tender).status == S.FAILED


def test_clock_steps_are_idempotent(world):
    tender = world.in_state(S.PUBLISHED)
    for agency in world.agencies:
        world.bid(tender, agency)
    clock.freeze(tender.bid_deadline)
    assert run_due_steps() == 1
    entries = AuditEntry.objects.count()
    assert run_due_steps() == 0
    assert AuditEntry.objects.count() == entries


@pytest.mark.parametrize("opened", [True, False], ids=["bids-opened", "not-opened"])
def test_decryption_window_edge(world, opened):
    """The window ends the ceremony: opened bids go on to evaluation; bids the holders did not open in
    time count as withdrawn and the tender fails."""
    tender = world.in_state(S.OPENING)
    if opened:
        world.open_bids(tender)
    ends = _fresh(tender).opening_ends_at
    clock.freeze(ends - MS)
    run_due_steps()
    assert _fresh(tender).status == S.OPENING
    clock.freeze(ends)
    run_due_steps()
    assert _fresh(tender).status == (S.EVALUATING if opened else S.FAILED)
    if not opened:
        assert _fresh(tender).fail_reason == "opening_not_completed"
        assert Notice.objects.filter(tender=tender, kind="failure").count() == 1


def test_publicity_edge_then_award_notice(world):
    tender = world.in_state(S.PUBLICITY)
    ends = _fresh(tender).publicity_ends_at
    assert ends == clock.now() + timedelta(days=3)
    clock.freeze(ends - MS)
    run_due_steps()
    assert _fresh(tender).status == S.PUBLICITY
    clock.freeze(ends)
    run_due_steps()
    fresh = _fresh(tender)
    assert fresh.status == S.AWARDED
    assert fresh.contract_due_at == ends + timedelta(days=30)
    assert tender.notices.filter(kind="award").count() == 1


def test_one_pass_catches_up_several_overdue_steps(world):
    """A clock that was down for a week moves a tender through every step that fell due."""
    tender = world.in_state(S.PUBLISHED)
    for agency in world.agencies:
        world.bid(tender, agency)
    clock.freeze(tender.bid_deadline + timedelta(days=7))
    assert run_due_steps() == 2  # opening, then the window's end
    # Nobody opened the bids within the window (the platform was down): the tender fails.
    assert _fresh(tender).status == S.FAILED
    assert _fresh(tender).fail_reason == "opening_not_completed"


def test_upheld_objection_to_the_result_returns_to_evaluation(world):
    tender = world.in_state(S.PUBLICITY)
    objection = objection_signed(actor=world.agency, tender_id=tender.pk, kind="result", text="评分错误")
    assert _fresh(tender).status == S.SUSPENDED
    clock.advance(timedelta(days=1))
    objections.objection_answer(actor=world.purchaser, objection_id=objection.pk, answer="重新评审", upheld=True)
    assert _fresh(tender).status == S.EVALUATING


def test_rejected_objection_to_the_result_extends_publicity(world):
    tender = world.in_state(S.PUBLICITY)
    ends = _fresh(tender).publicity_ends_at
    objection = objection_signed(actor=world.agency, tender_id=tender.pk, kind="result", text="评分错误")
    clock.advance(timedelta(hours=20))
    objections.objection_answer(actor=world.purchaser, objection_id=objection.pk, answer="评分无误", upheld=False)
    fresh = _fresh(tender)
    assert (fresh.status, fresh.publicity_ends_at) == (S.PUBLICITY, ends + timedelta(hours=20))


def test_late_contract_is_flagged(world):
    tender = world.in_state(S.AWARDED)
    due = _fresh(tender).contract_due_at
    clock.freeze(due + MS)
    svc.tender_record_contract(actor=world.purchaser, tender_id=tender.pk, contract_reference="HT-9")
    assert _fresh(tender).contract_late is True


def test_contract_on_the_due_moment_is_on_time(world):
    tender = world.in_state(S.AWARDED)
    clock.freeze(_fresh(tender).contract_due_at)
    svc.tender_record_contract(actor=world.purchaser, tender_id=tender.pk, contract_reference="HT-9")
    assert _fresh(tender).contract_late is False
