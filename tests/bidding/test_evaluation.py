"""Evaluation and award by method (DOMAIN.md methods table): the price and lottery methods evaluate
the moment the opening closes, open tenders by the committee's recorded sheets, direct selections by
the purchaser's pick; the verifiable lottery's secret is committed with the tender notice, sealed to
the opening key and revealed only by the opening; every result is a signed record that anyone can
check; an upheld objection returns the tender to evaluation; contracts and completion become credit."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from agencies.ca import platform_ca
from agencies.credit import agency_score
from agencies.models import CreditEvent
from agencies.services import admission
from bidding import lottery, protocol
from bidding.models import Bid, CommitteeScore, EvaluationRecord, LotteryCommitment
from bidding.services import evaluation
from core import clock
from core.errors import ApplicationError
from market.models import Notice, RuleProfile, Tender
from procurement.services import evaluation as workflow_evaluation
from procurement.services import tenders as svc
from procurement.services.objections import objection_answer
from procurement.services.timeline import run_due_steps
from tests.bidding.test_opening import at_deadline, submit_bid
from tests.bidding.test_opening_keys import _every_stored_value
from tests.conftest import client_for
from tests.factories import admitted_agency, objection_signed, user
from tests.market.helpers import world_state

BUDGET = Decimal("500000.00")


def tender_for(world, method: str, **overrides) -> Tender:
    extra = (
        {"direct_reason": "抢险救灾急需", "budget": Decimal("200000.00"), "bond_amount": 0}
        if method == "direct"
        else {}
    )
    return world.in_state("published", method=method, **(extra | overrides))


def bidders(world, n: int) -> list:
    return [world.agency] + [admitted_agency(world.operator) for _ in range(n - 1)]


def to_evaluation(world, tender: Tender, prices: list[str], members=None) -> list[Bid]:
    """Bids at ``prices`` (in submission order), the deadline, the ceremony, the window's end."""
    members = members or bidders(world, len(prices))
    bids = [submit_bid(m, tender, p) for m, p in zip(members, prices, strict=True)]
    at_deadline(tender)
    world.open_bids(tender)
    tender.refresh_from_db()
    clock.freeze(tender.opening_ends_at)
    run_due_steps()
    tender.refresh_from_db()
    return bids


def latest(tender: Tender) -> EvaluationRecord:
    return EvaluationRecord.objects.filter(tender=tender).latest("round")


def status_of(bids: list[Bid]) -> list[str]:
    return [Bid.objects.get(pk=b.pk).status for b in bids]


def verifies(row: EvaluationRecord) -> bool:
    published = evaluation.published(row)
    digest = protocol.evaluation_record_verify(published["record"], published["signature"], platform_ca().certificate)
    return digest == row.digest


# --- the price methods and the lottery: evaluated when the opening closes -------------------------------------


def test_lowest_price_is_evaluated_when_the_opening_closes(world):
    tender = tender_for(world, "lowest_price", price_floor=Decimal("90000.00"))
    a, b, c, d, e = to_evaluation(world, tender, ["120000.00", "99000.00", "101000.00", "600000.00", "89999.99"])
    assert tender.status == "publicity"
    row = latest(tender)
    record = row.record
    assert verifies(row)
    assert record["ranking"] == [b.pk, c.pk, a.pk]
    assert tender.winner_id == b.agency_id
    reasons = {r["bid"]: r["reason"] for r in record["bids"] if r["result"] == "excluded"}
    assert set(reasons) == {d.pk, e.pk}
    assert "高于最高限价" in reasons[d.pk] and "低于最低限价" in reasons[e.pk]
    assert status_of([a, b, c, d, e]) == ["candidate", "candidate", "candidate", "rejected", "rejected"]
    # The tie-break lottery was drawn over the in-range bids only, and recomputes.
    assert sorted(record["draw"]["digests"]) == sorted(x.ciphertext_digest for x in (a, b, c))
    assert lottery.check(record["draw"]) == []
    notice = Notice.objects.get(tender=tender, kind="candidates")
    assert notice.data["digest"] == row.digest and notice.data["record"] == record
    # Publicity ends with no objection: the first candidate wins, the others are unsuccessful.
    clock.freeze(tender.publicity_ends_at)
    run_due_steps()
    assert status_of([a, b, c]) == ["unsuccessful", "winner", "unsuccessful"]
    assert Tender.objects.get(pk=tender.pk).status == "awarded"


def test_equal_lowest_prices_follow_the_published_draw(world):
    tender = tender_for(world, "lowest_price")
    bids = to_evaluation(world, tender, ["99000.00", "99000.00", "99000.00", "120000.00"])
    record = latest(tender).record
    by_digest = {b.ciphertext_digest: b.pk for b in bids}
    tied_in_draw_order = [by_digest[d] for d in record["draw"]["order"] if by_digest[d] != bids[3].pk]
    assert record["ranking"] == [*tied_in_draw_order, bids[3].pk]


def test_where_lots_are_forbidden_equal_prices_go_to_the_earlier_receipt(world):
    national = RuleProfile.objects.get(name="national")
    fields = {f.name: getattr(national, f.name) for f in RuleProfile._meta.concrete_fields if f.name != "id"}
    RuleProfile.objects.create(**(fields | {"name": "no-lots", "title": "不允许抽签", "lottery_allowed": False}))
    tender = tender_for(world, "lowest_price", profile="no-lots")
    notice = Notice.objects.get(tender=tender, kind="tender")
    assert notice.data["lottery"] is None and not LotteryCommitment.objects.filter(tender=tender).exists()
    bids = to_evaluation(world, tender, ["99000.00", "99000.00", "99000.00"])
    record = latest(tender).record
    assert record["draw"] is None
    assert record["ranking"] == [b.pk for b in bids]  # submitted (received) in this order


def test_the_lottery_secret_is_committed_sealed_and_revealed_only_by_the_opening(world):
    tender = tender_for(world, "lottery")
    committed = LotteryCommitment.objects.get(tender=tender)
    notice = Notice.objects.get(tender=tender, kind="tender")
    assert notice.data["lottery"] == {"algorithm": lottery.ALGORITHM, "commitment": committed.commitment}
    assert committed.commitment in notice.body
    members = bidders(world, 3)
    for m in members:
        submit_bid(m, tender, str(BUDGET))
    at_deadline(tender)
    before_opening = _every_stored_value()
    assert LotteryCommitment.objects.get(tender=tender).reveal == ""
    world.open_bids(tender)
    reveal = LotteryCommitment.objects.get(tender=tender).reveal
    assert lottery.commitment(bytes.fromhex(reveal)) == committed.commitment
    secret = bytes.fromhex(reveal)
    forms = {secret, reveal.encode(), reveal.upper().encode(), base64.b64encode(secret)}
    assert not [v for v in before_opening for f in forms if f in v]


def test_the_lottery_draws_the_winner_in_the_published_order(world):
    tender = tender_for(world, "lottery")
    bids = to_evaluation(world, tender, [str(BUDGET)] * 4)
    record = latest(tender).record
    by_digest = {b.ciphertext_digest: b.pk for b in bids}
    assert record["ranking"] == [by_digest[d] for d in record["draw"]["order"]]
    assert record["draw"]["commitment"] == LotteryCommitment.objects.get(tender=tender).commitment
    assert lottery.check(record["draw"]) == []
    assert Tender.objects.get(pk=tender.pk).winner_id == Bid.objects.get(pk=record["ranking"][0]).agency_id
    # Three candidates are publicised; the fourth is unsuccessful.
    assert sorted(status_of(bids)) == ["candidate"] * 3 + ["unsuccessful"]


def test_an_agency_suspended_after_the_deadline_cannot_be_drawn(world):
    tender = tender_for(world, "lottery")
    members = bidders(world, 4)
    for m in members:
        submit_bid(m, tender, str(BUDGET))
    at_deadline(tender)
    world.open_bids(tender)
    suspended = members[1].organisation
    admission.agency_suspend(actor=world.operator, agency_id=suspended.agency.pk, reason="资质证书被吊销")
    tender.refresh_from_db()
    clock.freeze(tender.opening_ends_at)
    run_due_steps()
    record = latest(tender).record
    row = next(r for r in record["bids"] if r["uscc"] == suspended.uscc)
    assert row["result"] == "excluded" and "评审时不具备资格" in row["reason"]
    assert row["bid"] not in record["ranking"] and row["digest"] not in record["draw"]["digests"]


def test_optimal_price_draws_its_base_and_the_closest_price_wins(world):
    tender = tender_for(world, "optimal_price")
    prices = ["80000.00", "90000.00", "95000.00", "100000.00", "130000.00"]
    bids = to_evaluation(world, tender, prices)
    record = latest(tender).record
    details = record["details"]
    # Five bids: one highest and one lowest are dropped, so 90 000, 95 000 and 100 000 are averaged.
    assert details["prices_used"] == ["90000.00", "95000.00", "100000.00"] and details["sum"] == "285000.00"
    seed = bytes.fromhex(record["draw"]["seed"])
    assert details["base_percent"] == lottery.choose(seed, "base", (95, 96, 97, 98))
    reference = Decimal(95000) * details["base_percent"] / 100
    assert Decimal(details["reference_price"]) == reference
    closest = min(bids, key=lambda b: (abs(Decimal(prices[bids.index(b)]) - reference), prices[bids.index(b)]))
    assert record["ranking"][0] == closest.pk
    assert lottery.check(record["draw"]) == []


def test_too_few_valid_bids_fail_the_tender_with_the_record(world):
    tender = tender_for(world, "lowest_price")
    to_evaluation(world, tender, ["99000.00", "98000.00", "700000.00"])
    assert tender.status == "failed" and tender.fail_reason.startswith("too_few_valid_bids")
    row = latest(tender)
    assert row.record["result"] == "failed" and verifies(row)
    notice = Notice.objects.get(tender=tender, kind="failure")
    assert notice.data["digest"] == row.digest
    assert not Bid.objects.filter(tender=tender, status="candidate").exists()


# --- open tender: the committee's sheets ---------------------------------------------------------------------------


def opened_open_tender(world, prices=("98000.00", "97000.00", "96000.00")):
    tender = tender_for(world, "open_tender")
    bids = to_evaluation(world, tender, list(prices))
    assert tender.status == "evaluating"
    return tender, bids


def sheet(world, tender, code, scores, **extra):
    return workflow_evaluation.committee_score_record(
        actor=world.operator,
        tender_id=tender.pk,
        member_code=code,
        member_name=f"评委{code}",
        scores={str(k): v for k, v in scores.items()},
        **extra,
    )


def test_the_committee_mean_decides_and_every_sheet_is_published(world):
    tender, (a, b, c) = opened_open_tender(world)
    given = [
        {a.pk: "90", b.pk: "85.5", c.pk: "70"},
        {a.pk: "80", b.pk: "88", c.pk: "75"},
        {a.pk: "85", b.pk: "86", c.pk: "72"},
        {a.pk: "82", b.pk: "84", c.pk: "71"},
        {a.pk: "88", b.pk: "87", c.pk: "73"},
    ]
    for n, scores in enumerate(given, 1):
        sheet(world, tender, f"ZJ{n}", scores, breakdown={str(a.pk): {"技术": 50, "商务": 30}})
    workflow_evaluation.evaluation_conclude(actor=world.operator, tender_id=tender.pk)
    row = latest(tender)
    means = {bid.pk: sum(Decimal(s[bid.pk]) for s in given) / 5 for bid in (a, b, c)}
    assert row.record["ranking"] == sorted(means, key=lambda k: -means[k])
    assert {k: Decimal(v) for k, v in row.record["details"]["totals"].items()} == {str(k): v for k, v in means.items()}
    assert {k: Decimal(v) for k, v in row.record["details"]["members"]["ZJ1"].items()} == {
        str(k): Decimal(v) for k, v in given[0].items()
    }
    assert CommitteeScore.objects.get(tender=tender, member_code="ZJ1", bid=a).breakdown == {"技术": 50, "商务": 30}
    assert Tender.objects.get(pk=tender.pk).status == "publicity" and verifies(row)


def test_equal_totals_go_to_the_lower_price(world):
    tender, (a, b, c) = opened_open_tender(world, ("98000.00", "97000.00", "99000.00"))
    world.committee_scores(tender, {a.pk: 80, b.pk: 80, c.pk: 80})
    workflow_evaluation.evaluation_conclude(actor=world.operator, tender_id=tender.pk)
    assert latest(tender).record["ranking"] == [b.pk, a.pk, c.pk]


@pytest.mark.parametrize("members", [4, 6])
def test_the_committee_needs_an_odd_number_of_at_least_five(world, members):
    tender, bids = opened_open_tender(world)
    world.committee_scores(tender, {b.pk: 80 for b in bids}, members=members)
    before = world_state(tender.pk)
    with pytest.raises(ApplicationError) as refused:
        workflow_evaluation.evaluation_conclude(actor=world.operator, tender_id=tender.pk)
    assert (refused.value.status, refused.value.code) == (409, "committee_incomplete")
    assert world_state(tender.pk) == before


@pytest.mark.parametrize(
    ("mangle", "code"),
    [
        (lambda s: dict(list(s.items())[:-1]), "scores_incomplete"),
        (lambda s: s | {"999999": "80"}, "scores_incomplete"),
        (lambda s: {k: "100.01" for k in s}, "invalid_score"),
        (lambda s: {k: "-1" for k in s}, "invalid_score"),
        (lambda s: {k: "80.555" for k in s}, "invalid_score"),
        (lambda s: {k: "很好" for k in s}, "invalid_score"),
        (lambda s: {"第一名": "80"}, "invalid"),
    ],
    ids=["missing-bid", "extra-bid", "over-100", "negative", "three-decimals", "not-a-number", "not-a-bid-id"],
)
def test_a_bad_sheet_is_refused_and_records_nothing(world, mangle, code):
    tender, bids = opened_open_tender(world)
    before = world_state(tender.pk)
    with pytest.raises(ApplicationError) as refused:
        sheet(world, tender, "ZJ1", mangle({str(b.pk): "80" for b in bids}))
    assert (refused.value.status, refused.value.code) == (400, code)
    assert world_state(tender.pk) == before


def test_a_sheet_is_recorded_once_and_never_overwritten(world):
    tender, bids = opened_open_tender(world)
    sheet(world, tender, "ZJ1", {b.pk: "80" for b in bids})
    before = world_state(tender.pk)
    with pytest.raises(ApplicationError) as refused:
        sheet(world, tender, "ZJ1", {b.pk: "99" for b in bids})
    assert (refused.value.status, refused.value.code) == (409, "sheet_already_recorded")
    assert world_state(tender.pk) == before
    assert set(CommitteeScore.objects.filter(tender=tender).values_list("score", flat=True)) == {Decimal(80)}


def test_the_committee_sets_a_bid_aside_before_scoring(world):
    tender, (a, b, c, d) = opened_open_tender(world, ("98000.00", "97000.00", "96000.00", "95000.00"))
    workflow_evaluation.evaluation_disqualify(
        actor=world.operator, tender_id=tender.pk, bid_id=c.pk, reason="未按要求提供业绩证明"
    )
    with pytest.raises(ApplicationError) as refused:
        sheet(world, tender, "ZJ1", {x.pk: "80" for x in (a, b, c, d)})
    assert refused.value.code == "scores_incomplete"
    world.committee_scores(tender, {a.pk: 90, b.pk: 80, d.pk: 70})
    with pytest.raises(ApplicationError) as late:
        workflow_evaluation.evaluation_disqualify(
            actor=world.operator, tender_id=tender.pk, bid_id=a.pk, reason="迟来的否决"
        )
    assert late.value.code == "sheets_recorded"
    workflow_evaluation.evaluation_conclude(actor=world.operator, tender_id=tender.pk)
    record = latest(tender).record
    assert record["ranking"] == [a.pk, b.pk, d.pk]
    assert next(r for r in record["bids"] if r["bid"] == c.pk)["reason"] == "评审否决：未按要求提供业绩证明"


# --- direct selection --------------------------------------------------------------------------------------------


def test_the_purchaser_picks_a_direct_selection_through_the_api(world):
    tender = tender_for(world, "direct")
    assert tender.min_bids == 1
    a, b = to_evaluation(world, tender, ["150000.00", "160000.00"])
    assert tender.status == "evaluating"
    url = f"/api/tenders/{tender.pk}/evaluation/pick/"
    stranger = user("purchaser")
    before = world_state(tender.pk)
    assert client_for(stranger).post(url, {"bid": b.pk, "reason": "熟悉现场"}, format="json").status_code == 404
    refused = client_for(world.operator).post(f"/api/tenders/{tender.pk}/evaluation/conclude/", {}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (409, "purchaser_picks")
    no_reason = client_for(world.purchaser).post(url, {"bid": b.pk, "reason": " "}, format="json")
    assert (no_reason.status_code, no_reason.json()["code"], list(no_reason.json()["fields"])) == (
        400,
        "invalid",
        ["reason"],
    )
    foreign = client_for(world.purchaser).post(url, {"bid": 10**9, "reason": "熟悉现场"}, format="json")
    assert (foreign.status_code, foreign.json()["code"]) == (400, "not_a_valid_bid")
    assert world_state(tender.pk) == before
    picked = client_for(world.purchaser).post(url, {"bid": b.pk, "reason": "该机构承担过同类抢险项目"}, format="json")
    assert picked.status_code == 200, picked.json()
    record = latest(tender).record
    assert record["ranking"] == [b.pk] and record["details"]["reason"] == "该机构承担过同类抢险项目"
    assert status_of([a, b]) == ["unsuccessful", "candidate"]


# --- objections, rounds, reading --------------------------------------------------------------------------------


def test_an_upheld_objection_returns_the_tender_to_evaluation_and_a_new_round(world):
    tender = tender_for(world, "lowest_price")
    members = bidders(world, 4)
    a, b, c, d = to_evaluation(world, tender, ["99000.00", "98000.00", "97000.00", "96000.00"], members)
    first = latest(tender)
    assert first.record["ranking"] == [d.pk, c.pk, b.pk, a.pk]
    objection = objection_signed(actor=members[2], tender_id=tender.pk, kind="result", text="第一候选人业绩造假")
    objection_answer(actor=world.purchaser, objection_id=objection.pk, answer="经核实，异议成立", upheld=True)
    tender.refresh_from_db()
    assert (tender.status, tender.winner_id) == ("evaluating", None)
    workflow_evaluation.evaluation_disqualify(
        actor=world.operator, tender_id=tender.pk, bid_id=d.pk, reason="业绩证明材料虚假"
    )
    workflow_evaluation.evaluation_conclude(actor=world.operator, tender_id=tender.pk)
    second = latest(tender)
    assert second.round == 2 and second.record["ranking"] == [c.pk, b.pk, a.pk]
    assert Tender.objects.get(pk=tender.pk).winner_id == c.agency_id
    # The first round stays on record; both are public.
    body = client_for(None).get(f"/api/tenders/{tender.pk}/evaluation/").json()
    assert [r["digest"] for r in body["records"]] == [first.digest, second.digest]
    assert "sheets" not in body


def test_a_new_round_with_too_few_left_fails_and_names_no_winner(world):
    tender = tender_for(world, "lowest_price")
    members = bidders(world, 3)
    a, b, c = to_evaluation(world, tender, ["99000.00", "98000.00", "97000.00"], members)
    objection = objection_signed(actor=members[0], tender_id=tender.pk, kind="result", text="第一候选人资质过期")
    objection_answer(actor=world.purchaser, objection_id=objection.pk, answer="异议成立", upheld=True)
    workflow_evaluation.evaluation_disqualify(
        actor=world.operator, tender_id=tender.pk, bid_id=c.pk, reason="资质证书已过期"
    )
    workflow_evaluation.evaluation_conclude(actor=world.operator, tender_id=tender.pk)
    tender.refresh_from_db()
    assert (tender.status, tender.winner_id) == ("failed", None)
    assert latest(tender).record["result"] == "failed"
    assert status_of([a, b, c]) == ["unsuccessful", "unsuccessful", "rejected"]


def test_staff_follow_the_sheets_the_public_does_not(world, api):
    tender, bids = opened_open_tender(world)
    sheet(world, tender, "ZJ7", {b.pk: "80" for b in bids})
    public = api.get(f"/api/tenders/{tender.pk}/evaluation/").json()
    assert public["round"] == 1 and "sheets" not in public and len(public["valid_bids"]) == 3
    staff = client_for(world.supervisor).get(f"/api/tenders/{tender.pk}/evaluation/").json()
    assert staff["sheets"] == ["ZJ7"]
    refused = client_for(world.agency).post(
        f"/api/tenders/{tender.pk}/evaluation/scores/",
        {"member_code": "ZJ8", "member_name": "冒名", "scores": {str(b.pk): "100" for b in bids}},
        format="json",
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")


def test_the_offline_check_verifies_an_evaluation_record(world, tmp_path):
    tender = tender_for(world, "lottery")
    to_evaluation(world, tender, [str(BUDGET)] * 3)
    published = evaluation.published(latest(tender))
    record = tmp_path / "evaluation.json"
    record.write_text(json.dumps(published, ensure_ascii=False))
    ca = tmp_path / "ca.pem"
    ca.write_bytes(Path(settings.AGORA_CA_CERT_FILE).read_bytes())
    for name in ("offline_verify.py", "lottery.py"):
        (tmp_path / name).write_bytes((Path(__file__).parents[2] / "bidding" / name).read_bytes())
    ok = subprocess.run(
        [sys.executable, "-I", "offline_verify.py", "evaluation.json", "ca.pem"], cwd=tmp_path, capture_output=True
    )
    assert ok.returncode == 0 and b"VERIFIED" in ok.stdout, ok.stdout + ok.stderr
    drawn = subprocess.run([sys.executable, "-I", "lottery.py", "evaluation.json"], cwd=tmp_path, capture_output=True)
    assert drawn.returncode == 0 and b"VERIFIED draw" in drawn.stdout, drawn.stdout + drawn.stderr
    published["record"]["draw"]["order"].reverse()
    record.write_text(json.dumps(published, ensure_ascii=False))
    for argv in (["offline_verify.py", "evaluation.json", "ca.pem"], ["lottery.py", "evaluation.json"]):
        bad = subprocess.run([sys.executable, "-I", *argv], cwd=tmp_path, capture_output=True)
        assert bad.returncode == 1 and b"NOT VERIFIED" in bad.stdout, argv


# --- contract and completion: credit -------------------------------------------------------------------------------


def test_a_late_contract_costs_the_winner_credit(world):
    tender = world.in_state("awarded")
    served = tender.winner.agency
    clock.freeze(tender.contract_due_at + timedelta(milliseconds=1))
    svc.tender_record_contract(actor=world.purchaser, tender_id=tender.pk, contract_reference="HT-9")
    event = CreditEvent.objects.get(agency=served)
    assert (event.kind.code, event.points, event.source_id) == ("late_contract", -3, str(tender.pk))
    assert Tender.objects.get(pk=tender.pk).contract_late
    assert agency_score(served, clock.now()) == 100 - 3


def test_a_contract_on_its_last_moment_is_not_late(world):
    tender = world.in_state("awarded")
    clock.freeze(tender.contract_due_at)
    svc.tender_record_contract(actor=world.purchaser, tender_id=tender.pk, contract_reference="HT-9")
    assert not CreditEvent.objects.filter(agency=tender.winner.agency).exists()


def test_completion_after_the_agreed_date_earns_nothing(world):
    tender = world.in_state("awarded")
    due = clock.now() + timedelta(days=60)
    svc.tender_record_contract(
        actor=world.purchaser, tender_id=tender.pk, contract_reference="HT-9", service_due_at=due
    )
    clock.freeze(due + timedelta(milliseconds=1))
    svc.tender_complete(actor=world.purchaser, tender_id=tender.pk)
    assert not CreditEvent.objects.filter(agency=tender.winner.agency).exists()


def test_completion_by_the_agreed_date_earns_credit(world):
    tender = world.in_state("awarded")
    due = clock.now() + timedelta(days=60)
    svc.tender_record_contract(
        actor=world.purchaser, tender_id=tender.pk, contract_reference="HT-9", service_due_at=due
    )
    clock.freeze(due)
    svc.tender_complete(actor=world.purchaser, tender_id=tender.pk)
    event = CreditEvent.objects.get(agency=tender.winner.agency)
    assert (event.kind.code, event.points) == ("award_completed_on_time", 2)


def test_an_agreed_date_in_the_past_is_refused(world):
    tender = world.in_state("awarded")
    before = world_state(tender.pk)
    response = client_for(world.purchaser).post(
        f"/api/tenders/{tender.pk}/record-contract/",
        {"contract_reference": "HT-9", "service_due_at": clock.now().isoformat()},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert world_state(tender.pk) == before
