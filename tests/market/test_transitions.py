"""Every actor-driven transition, tried from every state: allowed exactly where DOMAIN.md allows it,
refused everywhere else with `invalid_state` (409) and nothing changed."""

import pytest

from bidding.models import Bid
from core.errors import ApplicationError
from market.choices import FINAL_STATUSES, TenderStatus
from market.services import tenders as market_tenders
from procurement.services import evaluation as workflow_evaluation
from procurement.services import tenders as svc
from tests.market.helpers import world_state

S = TenderStatus
ALL = list(S)

# action -> (who, call, the states it is allowed from, the state it leads to)
ACTIONS = {
    "edit": (
        "purchaser",
        lambda w, t: market_tenders.tender_update_draft(actor=w.purchaser, tender_id=t.pk, data={"title": "新标题"}),
        {S.DRAFT},
        S.DRAFT,
    ),
    "submit": (
        "purchaser",
        lambda w, t: market_tenders.tender_submit(actor=w.purchaser, tender_id=t.pk),
        {S.DRAFT},
        S.PENDING_REVIEW,
    ),
    "return": (
        "operator",
        lambda w, t: market_tenders.tender_return(actor=w.operator, tender_id=t.pk, reason="材料不全"),
        {S.PENDING_REVIEW},
        S.DRAFT,
    ),
    "approve": (
        "operator",
        lambda w, t: svc.tender_approve(actor=w.operator, tender_id=t.pk),
        {S.PENDING_REVIEW},
        S.PUBLISHED,
    ),
    "amend": (
        "purchaser",
        lambda w, t: svc.tender_amend(actor=w.purchaser, tender_id=t.pk, title="澄清", body="澄清内容"),
        {S.PUBLISHED},
        S.PUBLISHED,
    ),
    "suspend": (
        "supervisor",
        lambda w, t: svc.tender_suspend(actor=w.supervisor, tender_id=t.pk, reason="投诉"),
        {S.PUBLISHED, S.OPENING, S.EVALUATING, S.PUBLICITY},
        S.SUSPENDED,
    ),
    "resume": (
        "supervisor",
        lambda w, t: market_tenders.tender_resume(actor=w.supervisor, tender_id=t.pk, ruling="投诉不成立"),
        {S.SUSPENDED},
        S.PUBLISHED,
    ),
    "conclude_evaluation": (
        "operator",
        lambda w, t: workflow_evaluation.evaluation_conclude(actor=w.operator, tender_id=t.pk),
        {S.EVALUATING},
        S.PUBLICITY,
    ),
    "fail_evaluation": (
        "operator",
        lambda w, t: svc.tender_fail_evaluation(actor=w.operator, tender_id=t.pk, reason="无有效投标"),
        {S.EVALUATING},
        S.FAILED,
    ),
    "record_contract": (
        "purchaser",
        lambda w, t: svc.tender_record_contract(actor=w.purchaser, tender_id=t.pk, contract_reference="HT-1"),
        {S.AWARDED},
        S.CONTRACTED,
    ),
    "complete": (
        "purchaser",
        lambda w, t: svc.tender_complete(actor=w.purchaser, tender_id=t.pk),
        {S.CONTRACTED},
        S.COMPLETED,
    ),
    "cancel": (
        "purchaser",
        lambda w, t: svc.tender_cancel(actor=w.purchaser, tender_id=t.pk, reason="需求变更"),
        set(ALL) - FINAL_STATUSES,
        S.CANCELLED,
    ),
}

CASES = [(name, state) for name in ACTIONS for state in ALL]


@pytest.mark.parametrize(("name", "state"), CASES, ids=[f"{n}-from-{s}" for n, s in CASES])
def test_transition_by_state(world, name, state):
    _, call, allowed_from, target = ACTIONS[name]
    tender = world.in_state(state)
    assert tender.status == state
    if name == "conclude_evaluation" and state == S.EVALUATING:
        # The committee's sheets come first (their own tests are in tests/bidding/test_evaluation.py).
        world.committee_scores(tender, {b.pk: 80 for b in Bid.objects.filter(tender=tender, status="opened")})
    if state in allowed_from:
        result = call(world, tender)
        assert result.status == target
        return
    assert world.agencies  # bidders exist before the snapshot, so only the call itself is measured
    before = world_state(tender.pk)
    with pytest.raises(ApplicationError) as refused:
        call(world, tender)
    assert refused.value.status == 409
    assert refused.value.code in {"invalid_state", "not_a_draft", "not_evaluating"}
    assert world_state(tender.pk) == before


@pytest.mark.parametrize("name", list(ACTIONS))
@pytest.mark.parametrize("role", ["purchaser", "agency", "supervisor", "operator"])
def test_transition_by_role(world, name, role):
    who, call, allowed_from, _ = ACTIONS[name]
    if role == who:
        return  # the allowed role is exercised by test_transition_by_state
    tender = world.in_state(sorted(allowed_from)[0])
    actor = world.by_role(role)

    class Impersonated:
        def __getattr__(self, attr):
            if attr in ("purchaser", "operator", "supervisor"):
                return actor
            return getattr(world, attr)

    before = world_state(tender.pk)
    with pytest.raises(ApplicationError) as refused:
        call(Impersonated(), tender)
    assert (refused.value.status, refused.value.code) == (403, "forbidden")
    assert world_state(tender.pk) == before


def test_purchaser_cannot_touch_another_purchasers_tender(world):
    from tests.factories import user

    other = user("purchaser")
    tender = world.in_state(S.DRAFT)
    before = world_state(tender.pk)
    for call in (
        lambda: market_tenders.tender_submit(actor=other, tender_id=tender.pk),
        lambda: svc.tender_cancel(actor=other, tender_id=tender.pk, reason="x"),
        lambda: market_tenders.tender_update_draft(actor=other, tender_id=tender.pk, data={"title": "x"}),
    ):
        with pytest.raises(ApplicationError) as refused:
            call()
        assert refused.value.status == 404
    assert world_state(tender.pk) == before


@pytest.mark.parametrize("reason", ["", "   "])
def test_cancel_needs_a_reason(world, reason):
    tender = world.in_state(S.PUBLISHED)
    before = world_state(tender.pk)
    with pytest.raises(ApplicationError) as refused:
        svc.tender_cancel(actor=world.purchaser, tender_id=tender.pk, reason=reason)
    assert refused.value.code == "reason_required"
    assert world_state(tender.pk) == before


def test_cancelling_a_public_tender_publishes_a_termination_notice(world):
    tender = world.in_state(S.PUBLISHED)
    svc.tender_cancel(actor=world.purchaser, tender_id=tender.pk, reason="预算调整")
    kinds = list(tender.notices.order_by("id").values_list("kind", flat=True))
    assert kinds == ["tender", "cancellation"]
    assert "预算调整" in tender.notices.get(kind="cancellation").body


def test_cancelling_a_draft_publishes_nothing(world):
    tender = world.in_state(S.CANCELLED)
    assert tender.cancel_reason == "项目取消"
    assert not tender.notices.exists()


def test_returned_tender_shows_the_reason_and_can_be_resubmitted(world):
    tender = world.in_state(S.PENDING_REVIEW)
    market_tenders.tender_return(actor=world.operator, tender_id=tender.pk, reason="预算依据不足")
    tender.refresh_from_db()
    assert (tender.status, tender.return_reason) == (S.DRAFT, "预算依据不足")
    market_tenders.tender_submit(actor=world.purchaser, tender_id=tender.pk)
    tender.refresh_from_db()
    assert (tender.status, tender.return_reason) == (S.PENDING_REVIEW, "")


def test_status_cannot_be_set_directly(world):
    tender = world.in_state(S.DRAFT)
    with pytest.raises(AttributeError):
        tender.status = S.PUBLISHED


def test_bond_above_two_percent_is_refused_at_submission(world):
    tender = world.draft(bond_amount="10000.01")  # budget 500,000 → at most 10,000
    before = world_state(tender.pk)
    with pytest.raises(ApplicationError) as refused:
        market_tenders.tender_submit(actor=world.purchaser, tender_id=tender.pk)
    assert refused.value.code == "bond_too_high"
    assert world_state(tender.pk) == before


def test_direct_selection_needs_reason_and_budget_under_cap(world):
    from datetime import timedelta

    from core import clock

    far = clock.now() + timedelta(days=30)
    no_reason = world.draft(method="direct", budget="100000", bond_amount="0", bid_deadline=far)
    with pytest.raises(ApplicationError) as refused:
        market_tenders.tender_submit(actor=world.purchaser, tender_id=no_reason.pk)
    assert refused.value.code == "direct_not_allowed"
    too_big = world.draft(
        method="direct", budget="300000.01", bond_amount="0", bid_deadline=far, direct_reason="应急抢险"
    )
    with pytest.raises(ApplicationError):
        market_tenders.tender_submit(actor=world.purchaser, tender_id=too_big.pk)
    ok = world.draft(method="direct", budget="300000", bond_amount="0", bid_deadline=far, direct_reason="应急抢险")
    assert market_tenders.tender_submit(actor=world.purchaser, tender_id=ok.pk).status == S.PENDING_REVIEW


def test_lottery_refused_where_the_profile_forbids_it(world):
    from market.models import RuleProfile

    RuleProfile.objects.filter(name="national").update(lottery_allowed=False)
    tender = world.draft(method="lottery")
    with pytest.raises(ApplicationError) as refused:
        market_tenders.tender_submit(actor=world.purchaser, tender_id=tender.pk)
    assert refused.value.code == "method_not_allowed"


def test_min_bids_cannot_go_below_the_profile(world):
    from core.models import AuditEntry

    before = AuditEntry.objects.count()
    with pytest.raises(ApplicationError) as refused:
        world.draft(min_bids=2)
    assert refused.value.code == "min_bids_too_low"
    assert AuditEntry.objects.count() == before
