"""Evaluation by selection method (bidding.methods, DOMAIN.md "Two procedure families"): who wins
under each method, what is set aside and why, and which lottery decided. Plain functions: no database."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bidding import lottery
from bidding.methods import (
    METHODS,
    Draw,
    EvaluationError,
    ValidBid,
    direct,
    lottery_draw,
    lowest_price,
    open_tender,
    optimal_price,
)

T0 = datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
TENDER = "ZB-2026-0001"
REVEAL = hashlib.sha256(b"the tender's committed secret").hexdigest()  # 32 bytes, in hex
CENT = Decimal("0.01")
BASES = (95, 96, 97, 98)


def digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def bid(n: int, price: str | Decimal, minutes: int = 0, *, envelope: str | None = None) -> ValidBid:
    return ValidBid(
        bid=n,
        agency=f"agency-{n}",
        price=Decimal(price),
        received_at=T0 + timedelta(minutes=minutes),
        digest=digest(envelope or f"envelope-{n}"),
    )


def a_draw(tender: str = TENDER) -> Draw:
    return Draw(tender=tender, reveal=REVEAL, commitment=lottery.commitment(bytes.fromhex(REVEAL)))


def seed_of(tender: str, bids: list[ValidBid]) -> bytes:
    return lottery.seed(tender=tender, reveal=REVEAL, digests=[b.digest for b in bids])


def by_digest(bids: list[ValidBid]) -> dict[str, int]:
    return {b.digest: b.bid for b in bids}


def test_every_method_of_the_domain_table_has_an_evaluation():
    assert set(METHODS) == {"open_tender", "lowest_price", "optimal_price", "lottery", "direct"}


# -- open tender: committee scores --------------------------------------------------------------


def test_open_tender_the_highest_mean_score_wins():
    bids = [bid(1, "90000"), bid(2, "99000"), bid(3, "95000")]
    scores = {
        "a": {1: Decimal(90), 2: Decimal(80), 3: Decimal(70)},
        "b": {1: Decimal(60), 2: Decimal(85), 3: Decimal(70)},
        "c": {1: Decimal(70), 2: Decimal(80), 3: Decimal(95)},
    }
    # Means: bid 1 = 220/3 = 73.33, bid 2 = 245/3 = 81.67, bid 3 = 235/3 = 78.33. Member a alone
    # would pick bid 1 and the cheapest price is bid 1's, but the mean decides.
    outcome = open_tender(bids, scores)
    assert outcome.ranking == [2, 3, 1]
    assert outcome.details["totals"] == {"2": "81.67", "3": "78.33", "1": "73.33"}


def test_open_tender_totals_are_means_to_the_cent():
    bids = [bid(1, "100"), bid(2, "100", 1)]
    # Bid 1: (80.01 + 80.00) / 2 = 80.005, half up to 80.01. Bid 2: (70.10 + 71.21) / 2 = 70.655,
    # half up to 70.66.
    scores = {
        "a": {1: Decimal("80.01"), 2: Decimal("70.10")},
        "b": {1: Decimal("80.00"), 2: Decimal("71.21")},
    }
    assert open_tender(bids, scores).details["totals"] == {"1": "80.01", "2": "70.66"}


def test_open_tender_equal_totals_go_to_the_lower_price():
    # Same scores for both; bid 2 arrived later but is cheaper.
    bids = [bid(1, "98000.00", 0), bid(2, "97999.99", 30)]
    scores = {"a": {1: Decimal(80), 2: Decimal(80)}, "b": {1: Decimal(90), 2: Decimal(90)}}
    assert open_tender(bids, scores).ranking == [2, 1]


def test_open_tender_equal_totals_and_prices_go_to_the_earlier_receipt():
    bids = [bid(1, "98000", 30), bid(2, "98000", 5), bid(3, "98000", 10)]
    scores = {"a": {1: Decimal(80), 2: Decimal(80), 3: Decimal(80)}}
    assert open_tender(bids, scores).ranking == [2, 3, 1]


def test_open_tender_a_member_who_left_a_bid_unscored_is_refused():
    bids = [bid(1, "100"), bid(2, "100")]
    with pytest.raises(EvaluationError) as refused:
        open_tender(bids, {"a": {1: Decimal(80), 2: Decimal(70)}, "b": {1: Decimal(80)}})
    assert refused.value.code == "scores_incomplete"


def test_open_tender_a_score_for_a_bid_that_is_not_valid_is_refused():
    bids = [bid(1, "100"), bid(2, "100")]
    with pytest.raises(EvaluationError) as refused:
        open_tender(bids, {"a": {1: Decimal(80), 2: Decimal(70), 3: Decimal(99)}})
    assert refused.value.code == "scores_incomplete"


def test_open_tender_without_scores_is_refused():
    with pytest.raises(EvaluationError) as refused:
        open_tender([bid(1, "100")], {})
    assert refused.value.code == "no_scores"


# -- lowest price -------------------------------------------------------------------------------


def test_lowest_price_the_lowest_price_wins():
    bids = [bid(1, "100.00"), bid(2, "90.00"), bid(3, "95.50")]
    outcome = lowest_price(bids, floor=None, ceiling=None, draw=None)
    assert outcome.ranking == [2, 3, 1]
    assert outcome.excluded == {}


def test_lowest_price_out_of_range_prices_are_set_aside_with_a_reason():
    bids = [
        bid(1, "79.99"),  # just below the floor: set aside
        bid(2, "80.00"),  # exactly the floor: kept
        bid(3, "100.00"),
        bid(4, "120.00"),  # exactly the ceiling: kept
        bid(5, "120.01"),  # just above the ceiling: set aside
    ]
    outcome = lowest_price(bids, floor=Decimal("80.00"), ceiling=Decimal("120.00"), draw=None)
    assert outcome.ranking == [2, 3, 4]
    assert set(outcome.excluded) == {1, 5}
    assert "79.99" in outcome.excluded[1] and "120.01" in outcome.excluded[5]


def test_lowest_price_with_every_price_out_of_range_ranks_nobody():
    bids = [bid(1, "10"), bid(2, "500")]
    outcome = lowest_price(bids, floor=Decimal(50), ceiling=Decimal(100), draw=a_draw())
    assert outcome.ranking == [] and set(outcome.excluded) == {1, 2}


def test_lowest_price_equal_prices_without_lots_go_to_the_earlier_receipt():
    bids = [bid(1, "90", 20), bid(2, "90", 5), bid(3, "85", 30), bid(4, "90", 10)]
    assert lowest_price(bids, floor=None, ceiling=None, draw=None).ranking == [3, 2, 4, 1]


def test_lowest_price_equal_prices_follow_the_published_draw_order():
    bids = [bid(1, "85", 50), bid(2, "90", 0), bid(3, "90", 1), bid(4, "90", 2), bid(5, "90", 3), bid(6, "99", 4)]
    tied = [b for b in bids if b.price == 90]
    tie_orders = set()
    for k in range(6):
        outcome = lowest_price(bids, floor=None, ceiling=None, draw=a_draw(f"ZB-2026-{k:04}"))
        assert lottery.check(outcome.draw) == []
        place = {d: i for i, d in enumerate(outcome.draw["order"])}
        expected_tie = [b.bid for b in sorted(tied, key=lambda b: place[b.digest])]
        assert outcome.ranking == [1, *expected_tie, 6]
        tie_orders.add(tuple(expected_tie))
    assert len(tie_orders) > 1  # the lottery, not the receipt times, orders the tie


def test_lowest_price_the_draw_is_seeded_from_the_ranked_bids_digests():
    bids = [bid(1, "90"), bid(2, "90"), bid(3, "95")]
    outcome = lowest_price(bids, floor=None, ceiling=None, draw=a_draw())
    assert outcome.draw["seed"] == seed_of(TENDER, bids).hex()
    assert sorted(outcome.draw["order"]) == sorted(b.digest for b in bids)


@given(
    prices=st.lists(st.integers(min_value=1, max_value=10**8), min_size=1, max_size=12, unique=True),
    tender=st.sampled_from(["ZB-1", "ZB-2", "ZB-3"]),
)
def test_lowest_price_without_ties_ignores_the_draw(prices, tender):
    bids = [bid(i, Decimal(p) / 100, -i) for i, p in enumerate(prices, 1)]
    expected = [b.bid for b in sorted(bids, key=lambda b: b.price)]
    assert lowest_price(bids, floor=None, ceiling=None, draw=a_draw(tender)).ranking == expected
    assert lowest_price(bids, floor=None, ceiling=None, draw=None).ranking == expected


@given(prices=st.lists(st.sampled_from(["90.00", "90.01", "95.00"]), min_size=1, max_size=10))
def test_lowest_price_ranks_by_price_then_draw_order(prices):
    bids = [bid(i, p, len(prices) - i) for i, p in enumerate(prices, 1)]
    outcome = lowest_price(bids, floor=None, ceiling=None, draw=a_draw())
    place = {d: i for i, d in enumerate(outcome.draw["order"])}
    assert outcome.ranking == [b.bid for b in sorted(bids, key=lambda b: (b.price, place[b.digest]))]


# -- optimal price ------------------------------------------------------------------------------


def test_optimal_price_with_fewer_than_five_bids_uses_every_price():
    bids = [bid(1, "130"), bid(2, "100"), bid(3, "120"), bid(4, "110")]
    outcome = optimal_price(bids, floor=None, ceiling=None, draw=a_draw())
    assert [Decimal(p) for p in outcome.details["prices_used"]] == [100, 110, 120, 130]


def test_optimal_price_with_five_or_more_bids_drops_exactly_one_highest_and_one_lowest():
    # Two bids share the highest price and two the lowest: only one of each is dropped.
    bids = [bid(1, "100"), bid(2, "100"), bid(3, "90"), bid(4, "90"), bid(5, "95"), bid(6, "97")]
    outcome = optimal_price(bids, floor=None, ceiling=None, draw=a_draw())
    assert [Decimal(p) for p in outcome.details["prices_used"]] == [90, 95, 97, 100]
    # The dropped bids are still candidates: only the mean leaves them out.
    assert sorted(outcome.ranking) == [1, 2, 3, 4, 5, 6]


def test_optimal_price_base_is_drawn_by_the_verifiable_lottery():
    bids = [bid(1, "130"), bid(2, "100"), bid(3, "120"), bid(4, "110")]
    outcome = optimal_price(bids, floor=None, ceiling=None, draw=a_draw())
    base = outcome.details["base_percent"]
    assert base in BASES
    assert base == lottery.choose(seed_of(TENDER, bids), "base", BASES)
    assert base == lottery.choose(bytes.fromhex(outcome.draw["seed"]), "base", BASES)
    assert outcome.draw["choices"]["base"]["chosen"] == base
    assert lottery.check(outcome.draw) == []


def test_optimal_price_four_bids_reference_and_winner():
    # Mean (100 + 110 + 120 + 130) / 4 = 115; reference 115 × base%: 109.25, 110.40, 111.55 or
    # 112.70. Whatever the base, 110 is the closest price (at most 2.70 away; 120 is ≥ 7.30 away).
    bids = [bid(1, "130"), bid(2, "100"), bid(3, "120"), bid(4, "110")]
    outcome = optimal_price(bids, floor=None, ceiling=None, draw=a_draw())
    by_base = {95: Decimal("109.25"), 96: Decimal("110.40"), 97: Decimal("111.55"), 98: Decimal("112.70")}
    assert Decimal(outcome.details["reference_price"]) == by_base[outcome.details["base_percent"]]
    assert outcome.ranking[0] == 4


def test_optimal_price_trimming_changes_the_winner():
    # Used prices 100, 104, 108 (80 and 150 dropped): mean 104, reference 98.80–101.92, so 100 wins
    # for every base (≤ 1.92 away; 104 is ≥ 2.08 away). Without trimming the mean would be 108.40
    # and 104 would win for bases 96–98.
    bids = [bid(1, "150"), bid(2, "104"), bid(3, "80"), bid(4, "108"), bid(5, "100")]
    outcome = optimal_price(bids, floor=None, ceiling=None, draw=a_draw())
    assert Decimal(outcome.details["mean"]) == 104
    base = outcome.details["base_percent"]
    assert Decimal(outcome.details["reference_price"]) == Decimal(104) * base / 100
    assert outcome.ranking[0] == 5


def test_optimal_price_respects_floor_and_ceiling():
    bids = [bid(1, "50"), bid(2, "100"), bid(3, "110"), bid(4, "500")]
    outcome = optimal_price(bids, floor=Decimal(60), ceiling=Decimal(200), draw=a_draw())
    assert set(outcome.excluded) == {1, 4}
    assert sorted(outcome.ranking) == [2, 3]
    assert [Decimal(p) for p in outcome.details["prices_used"]] == [100, 110]


def test_optimal_price_with_no_bid_in_range_ranks_nobody():
    outcome = optimal_price([bid(1, "50")], floor=Decimal(60), ceiling=None, draw=a_draw())
    assert outcome.ranking == [] and set(outcome.excluded) == {1}


@given(prices=st.lists(st.integers(min_value=100, max_value=10**7), min_size=1, max_size=12))
def test_optimal_price_winner_is_closest_to_the_reference(prices):
    bids = [bid(i, Decimal(p) / 100, i) for i, p in enumerate(prices, 1)]
    outcome = optimal_price(bids, floor=None, ceiling=None, draw=a_draw())
    # Independently: trim, average, draw the base from the same seed.
    ordered = sorted(b.price for b in bids)
    used = ordered[1:-1] if len(ordered) >= 5 else ordered
    base = lottery.choose(seed_of(TENDER, bids), "base", BASES)
    exact_reference = sum(used) / len(used) * base / 100
    assert outcome.details["base_percent"] == base
    assert [Decimal(p) for p in outcome.details["prices_used"]] == used
    reference = Decimal(outcome.details["reference_price"])
    assert abs(reference - exact_reference) < CENT  # published to the cent
    assert sorted(outcome.ranking) == [b.bid for b in bids]
    price = {b.bid: b.price for b in bids}
    distances = [abs(price[i] - reference) for i in outcome.ranking]
    assert distances[0] == min(abs(b.price - reference) for b in bids)
    assert distances == sorted(distances)


def test_optimal_price_reference_is_the_unrounded_mean_times_the_base():
    bids = [bid(1, "99.34"), bid(2, "100.17"), bid(3, "90.04"), bid(4, "94.10")]
    # A tender whose draw gives base 96 for these bids.
    tender = next(t for t in (f"ZB-{k}" for k in range(200)) if lottery.choose(seed_of(t, bids), "base", BASES) == 96)
    outcome = optimal_price(bids, floor=None, ceiling=None, draw=a_draw(tender))
    assert outcome.details["base_percent"] == 96
    # Mean 383.65 / 4 = 95.9125; × 0.96 = 92.076 (92.08 to the cent). 94.10 is 2.024 away and
    # 90.04 is 2.036 away, so bid 4 wins. Rounding the mean first (95.91 × 0.96 = 92.0736 → 92.07)
    # makes both 2.03 away and the lower price, bid 3, wins instead.
    assert Decimal(outcome.details["reference_price"]) == (Decimal("95.9125") * 96 / 100).quantize(CENT, ROUND_HALF_UP)
    assert outcome.ranking[0] == 4


# -- lottery ------------------------------------------------------------------------------------


def registrations() -> list[ValidBid]:
    return [bid(n, "1000", n) for n in range(1, 8)]


def test_lottery_ranking_is_the_published_draw_order():
    bids = registrations()
    outcome = lottery_draw(bids, draw=a_draw(), fixed_price=Decimal("50000"))
    assert lottery.check(outcome.draw) == []
    assert outcome.draw["seed"] == seed_of(TENDER, bids).hex()
    assert outcome.ranking == [by_digest(bids)[d] for d in outcome.draw["order"]]
    assert outcome.details["fixed_price"] == "50000"


def test_lottery_prices_play_no_part():
    bids = registrations()
    repriced = [bid(b.bid, str(10 * b.bid), b.bid) for b in bids]
    draw = a_draw()
    assert lottery_draw(repriced, draw=draw, fixed_price=Decimal(1)).ranking == (
        lottery_draw(bids, draw=draw, fixed_price=Decimal(1)).ranking
    )


def test_lottery_same_inputs_give_the_same_ranking():
    bids = registrations()
    first = lottery_draw(bids, draw=a_draw(), fixed_price=Decimal(1))
    again = lottery_draw(list(reversed(bids)), draw=a_draw(), fixed_price=Decimal(1))
    assert again.ranking == first.ranking and again.draw == first.draw


def test_lottery_a_resubmitted_bid_changes_the_seed():
    bids = registrations()
    resubmitted = [*bids[:3], bid(4, "1000", 4, envelope="envelope-4-resubmitted"), *bids[4:]]
    before = lottery_draw(bids, draw=a_draw(), fixed_price=Decimal(1))
    after = lottery_draw(resubmitted, draw=a_draw(), fixed_price=Decimal(1))
    assert after.draw["seed"] != before.draw["seed"]
    assert after.ranking == [by_digest(resubmitted)[d] for d in after.draw["order"]]


def test_lottery_different_tenders_draw_different_winners():
    # Seven registrations, eight tenders: the lottery does not always pick the same agency.
    bids = registrations()
    winners = {lottery_draw(bids, draw=a_draw(f"ZB-{k}"), fixed_price=Decimal(1)).ranking[0] for k in range(8)}
    assert len(winners) > 1


# -- direct selection ---------------------------------------------------------------------------


def test_direct_the_chosen_bid_is_the_ranking():
    bids = [bid(1, "100"), bid(2, "90")]
    outcome = direct(bids, chosen=1, reason="  唯一具备甲级资质的机构  ")
    assert outcome.ranking == [1]
    assert outcome.details["reason"] == "唯一具备甲级资质的机构"


def test_direct_a_bid_that_is_not_valid_is_refused():
    with pytest.raises(EvaluationError) as refused:
        direct([bid(1, "100"), bid(2, "90")], chosen=3, reason="best fit")
    assert refused.value.code == "not_a_valid_bid"


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_direct_without_a_reason_is_refused(reason):
    with pytest.raises(EvaluationError) as refused:
        direct([bid(1, "100")], chosen=1, reason=reason)
    assert refused.value.code == "reason_required"
