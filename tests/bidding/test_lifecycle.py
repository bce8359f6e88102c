"""A whole tender lifecycle for every selection method, through the API, with the agencies' and the
key holders' command-line client against a live server: publication, sealed bids, the opening
ceremony, evaluation by method, publicity, award, contract, completion, rating and credit; and the
result checked by anyone with ``verify-result``."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agencies.credit import agency_score
from agencies.models import CreditEvent
from bidding.models import Bid, EvaluationRecord
from core import clock
from market.models import Notice, Tender
from procurement.services.timeline import run_due_steps
from tests.bidding.test_client import Agency, holder_share_argv, live
from tests.conftest import client_for
from tests.factories import admitted_agency, tender_data

# method -> the bidders' prices (the lottery's price is the purchaser's, the budget)
PRICES = {
    "open_tender": ["98000.00", "97000.00", "99000.00"],
    "lowest_price": ["98000.00", "96500.00", "99000.00"],
    "optimal_price": ["98000.00", "96500.00", "99000.00", "90000.00", "100000.00"],
    "lottery": ["200000.00", "200000.00", "200000.00"],
    "direct": ["180000.00", "185000.00"],
}


def _create(world, method: str) -> Tender:
    data = tender_data(method=method)
    if method in ("lottery", "direct"):
        data |= {"budget": Decimal("200000.00"), "bond_amount": Decimal("0")}
    if method == "direct":
        data["direct_reason"] = "汛期抢险，需立即开展现场测绘"
    payload = {k: (v.isoformat() if k == "bid_deadline" else str(v)) for k, v in data.items()}
    purchaser, operator = client_for(world.purchaser), client_for(world.operator)
    created = purchaser.post("/api/tenders/", payload, format="json")
    assert created.status_code == 201, created.json()
    tender_id = created.json()["id"]
    assert purchaser.post(f"/api/tenders/{tender_id}/submit/", {}, format="json").status_code == 200
    approved = operator.post(f"/api/tenders/{tender_id}/approve/", {}, format="json")
    assert approved.status_code == 200, approved.json()
    return Tender.objects.get(pk=tender_id)


def _to(moment) -> None:
    clock.freeze(moment)
    run_due_steps()


@live
@pytest.mark.parametrize("method", list(PRICES))
def test_a_whole_lifecycle_through_the_api_with_the_client(world, live_server, run, tmp_path, method):
    tender = _create(world, method)
    notice = Notice.objects.get(tender=tender, kind="tender")
    assert ("lottery" in notice.data and notice.data["lottery"] is not None) == (
        method != "open_tender" and method != "direct"
    )

    # The agencies make keys and certificates, build, sign, seal and submit with the client.
    members = [world.agency] + [admitted_agency(world.operator) for _ in PRICES[method][1:]]
    agencies = [Agency(run, live_server.url, m, tmp_path / f"agency{i}").setup() for i, m in enumerate(members)]
    for agency, price in zip(agencies, PRICES[method], strict=True):
        code, _, err = agency.submit(tender, agency.build(tender, price=price))
        assert code == 0, err

    # The deadline; the key holders open the bids with the client; the decryption window ends.
    _to(tender.bid_deadline)
    for holder in (world.purchaser, world.supervisor):
        code, _, err = run(*holder_share_argv(live_server, tmp_path, holder, tender))
        assert code == 0, err
    tender.refresh_from_db()
    _to(tender.opening_ends_at)
    tender.refresh_from_db()

    # Evaluation by the method.
    bids = list(Bid.objects.filter(tender=tender).order_by("received_at"))
    assert [b.signature_status for b in bids] == ["valid"] * len(bids)  # every bid opened and verified
    if method == "open_tender":
        assert tender.status == "evaluating"
        operator = client_for(world.operator)
        scores = dict(zip((b.pk for b in bids), ("88", "92.5", "79"), strict=True))
        for n in range(5):
            sheet = {
                "member_code": f"ZJ{n:03d}",
                "member_name": f"评委{n}",
                "scores": {str(k): v for k, v in scores.items()},
            }
            assert (
                operator.post(f"/api/tenders/{tender.pk}/evaluation/scores/", sheet, format="json").status_code == 201
            )
        concluded = operator.post(f"/api/tenders/{tender.pk}/evaluation/conclude/", {}, format="json")
        assert concluded.status_code == 200, concluded.json()
        expected_winner = max(scores, key=lambda k: Decimal(scores[k]))
    elif method == "direct":
        assert tender.status == "evaluating"
        picked = client_for(world.purchaser).post(
            f"/api/tenders/{tender.pk}/evaluation/pick/",
            {"bid": bids[1].pk, "reason": "曾承担本流域测绘"},
            format="json",
        )
        assert picked.status_code == 200, picked.json()
        expected_winner = bids[1].pk
    elif method == "lowest_price":
        expected_winner = min(bids, key=lambda b: b.price).pk
    else:  # optimal price and lottery: whatever the published draw decides
        expected_winner = None
    tender.refresh_from_db()
    assert tender.status == "publicity"
    record = EvaluationRecord.objects.get(tender=tender).record
    if expected_winner is not None:
        assert record["ranking"][0] == expected_winner
    winner_bid = Bid.objects.get(pk=record["ranking"][0])
    assert tender.winner_id == winner_bid.agency_id

    # Anyone checks the result: signature, opening record, and the draw from the notice's commitment.
    code, out, err = run("verify-result", "--server", live_server.url, "--tender", tender.pk)
    assert code == 0, err
    assert "signature valid" in out and "builds on the published opening record" in out
    assert ("Draw recomputed" in out) == (method in ("lowest_price", "optimal_price", "lottery"))

    # Publicity ends with no objection: the award notice; the purchaser records the contract and completion.
    _to(tender.publicity_ends_at)
    assert Notice.objects.filter(tender=tender, kind="award").exists()
    purchaser = client_for(world.purchaser)
    contract = purchaser.post(
        f"/api/tenders/{tender.pk}/record-contract/", {"contract_reference": "HT-1"}, format="json"
    )
    assert contract.status_code == 200 and contract.json()["contract_late"] is False
    assert purchaser.post(f"/api/tenders/{tender.pk}/complete/", {}, format="json").status_code == 200
    rating = {"quality": 5, "timeliness": 5, "attitude": 4, "fees": 4, "conduct": 5, "comment": "成果质量高"}
    rated = purchaser.post("/api/credit/evaluations/", {"tender": tender.pk, **rating}, format="json")
    assert rated.status_code == 201, rated.json()
    moderated = client_for(world.operator).post(
        f"/api/credit/evaluations/{rated.json()['id']}/approve/", {}, format="json"
    )
    assert moderated.status_code == 200

    # The winner's own view: its bid won, and its credit shows the completion and the good rating.
    served = winner_bid.agency.agency
    assert sorted(CreditEvent.objects.filter(agency=served).values_list("kind__code", flat=True)) == [
        "award_completed_on_time",
        "good_service_evaluation",
    ]
    assert agency_score(served, clock.now()) == 100 + 2 + 3
    member = winner_bid.agency.users.get()
    own = client_for(member).get(f"/api/tenders/{tender.pk}/bids/").json()
    assert [b["status"] for b in (own["results"] if isinstance(own, dict) else own)] == ["winner"]
    others = Bid.objects.filter(tender=tender).exclude(pk=winner_bid.pk)
    assert set(others.values_list("status", flat=True)) <= {"unsuccessful"}
