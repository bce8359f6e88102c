"""Evaluation by selection method (DOMAIN.md, the methods table): one pure function per method.

No ORM and no clock: each function takes the valid bids (what the opening read from them) and
the method's own inputs, and returns an :class:`Outcome`: the ranking, best first, the bids it
set aside and why, and the figures that justify the ranking, ready to publish.
``bidding.services.evaluation`` gathers the inputs, runs the tender's function and records it.

Ties, where the table is silent: after a method's own tie-break, a lower price, then an earlier
receipt, then the lower bid number decide, so every ranking is total and reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bidding import lottery

CENT = Decimal("0.01")
# The optimal-price base is drawn from these percentages (DOMAIN.md).
OPTIMAL_BASES = (95, 96, 97, 98)
# With at least this many bids, one highest and one lowest price are dropped before the mean.
OPTIMAL_TRIM_FROM = 5


class EvaluationError(ValueError):
    """The method's inputs do not allow a ranking (a missing score, a choice not among the bids)."""

    def __init__(self, code: str, detail: str, detail_zh: str) -> None:
        super().__init__(detail)
        self.code, self.detail, self.detail_zh = code, detail, detail_zh


@dataclass(frozen=True)
class ValidBid:
    """A bid the opening found valid: who, what it offered, when it arrived, its envelope digest."""

    bid: int
    agency: str
    price: Decimal
    received_at: datetime
    digest: str


@dataclass
class Draw:
    """A verifiable lottery's inputs for one tender (see :mod:`bidding.lottery`). ``reveal`` is the
    secret committed to with the tender notice; ``commitment`` is what was published."""

    tender: str
    reveal: str
    commitment: str | None
    choices: dict[str, dict[str, Any]] = field(default_factory=dict)

    def seeded(self, bids: Sequence[ValidBid]) -> tuple[bytes, dict[str, Any]]:
        digests = sorted(b.digest for b in bids)
        seed = lottery.seed(tender=self.tender, reveal=self.reveal, digests=digests)
        published = {
            **lottery.seed_input(tender=self.tender, reveal=self.reveal, digests=digests),
            "commitment": self.commitment,
            "seed": seed.hex(),
            "order": lottery.order(seed, digests),
        }
        return seed, published


@dataclass
class Outcome:
    """``ranking``: bid ids, best first. ``excluded``: bid id → why it was set aside.
    ``details``: the published figures (JSON-ready). ``draw``: the lottery, when one was drawn."""

    ranking: list[int]
    excluded: dict[int, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    draw: dict[str, Any] | None = None


def _tiebreak(bid: ValidBid) -> tuple[Decimal, datetime, int]:
    return (bid.price, bid.received_at, bid.bid)


def _in_range(
    bids: Sequence[ValidBid], floor: Decimal | None, ceiling: Decimal | None
) -> tuple[list[ValidBid], dict[int, str]]:
    kept, excluded = [], {}
    for b in bids:
        if floor is not None and b.price < floor:
            excluded[b.bid] = f"报价 {b.price} 低于最低限价 {floor}"
        elif ceiling is not None and b.price > ceiling:
            excluded[b.bid] = f"报价 {b.price} 高于最高限价 {ceiling}"
        else:
            kept.append(b)
    return kept, excluded


def _draw_positions(draw: Draw | None, bids: Sequence[ValidBid]) -> tuple[dict[int, int], dict[str, Any] | None]:
    """Each bid's place in the lottery order (its tie-break), or none when no lottery is drawn."""
    if draw is None or not bids:
        return {}, None
    _seed, published = draw.seeded(bids)
    place = {digest: i for i, digest in enumerate(published["order"])}
    return {b.bid: place[b.digest] for b in bids}, published


def open_tender(bids: Sequence[ValidBid], scores: Mapping[str, Mapping[int, Decimal]]) -> Outcome:
    """公开招标（综合评估）: every committee member scores every valid bid; a bid's total is the mean
    of the members' scores (to the cent); the highest total wins; ties go to the lower price, then
    the earlier receipt. ``scores`` maps each member to ``{bid id: score}``."""
    if not scores:
        raise EvaluationError("no_scores", "The committee has recorded no scores.", "评标委员会尚未评分。")
    ids = {b.bid for b in bids}
    for member, given in scores.items():
        if set(given) != ids:
            raise EvaluationError(
                "scores_incomplete",
                f"Member {member} must score every valid bid, and only those.",
                f"评委 {member} 须对每一份有效投标评分（且仅限有效投标）。",
            )
    totals = {
        b.bid: (sum((Decimal(scores[m][b.bid]) for m in scores), Decimal(0)) / len(scores)).quantize(
            CENT, ROUND_HALF_UP
        )
        for b in bids
    }
    ranked = sorted(bids, key=lambda b: (-totals[b.bid], *_tiebreak(b)))
    return Outcome(
        ranking=[b.bid for b in ranked],
        details={
            "rule": "highest mean committee score; ties: lower price, then earlier receipt",
            "members": {m: {str(k): str(v) for k, v in sorted(given.items())} for m, given in sorted(scores.items())},
            "totals": {str(b.bid): str(totals[b.bid]) for b in ranked},
        },
    )


def lowest_price(
    bids: Sequence[ValidBid], *, floor: Decimal | None, ceiling: Decimal | None, draw: Draw | None
) -> Outcome:
    """竞价选取-最低价: the lowest valid price within ``[floor, ceiling]`` wins; equal prices are
    ordered by the verifiable lottery (or, where the rules forbid lots and ``draw`` is None, by the
    earlier receipt)."""
    kept, excluded = _in_range(bids, floor, ceiling)
    place, published = _draw_positions(draw, kept)
    ranked = sorted(kept, key=lambda b: (b.price, place.get(b.bid, 0), b.received_at, b.bid))
    return Outcome(
        ranking=[b.bid for b in ranked],
        excluded=excluded,
        details={
            "rule": "lowest price within [floor, ceiling]; ties: "
            + ("verifiable lottery order" if draw else "earlier receipt"),
            "floor": None if floor is None else str(floor),
            "ceiling": None if ceiling is None else str(ceiling),
        },
        draw=published,
    )


def optimal_price(bids: Sequence[ValidBid], *, floor: Decimal | None, ceiling: Decimal | None, draw: Draw) -> Outcome:
    """竞价选取-优价: with five or more valid prices the highest and the lowest are dropped; the rest
    are averaged; the average times a base drawn by lot from 95–98%, rounded half up to the cent
    once, is the reference price (published "mean" is for reading only); the price closest to it
    wins (ties: lower price, then earlier receipt)."""
    kept, excluded = _in_range(bids, floor, ceiling)
    if not kept:
        return Outcome(ranking=[], excluded=excluded, details={"rule": "optimal price: no bid within range"})
    prices = sorted(b.price for b in kept)
    used = prices[1:-1] if len(prices) >= OPTIMAL_TRIM_FROM else prices
    total = sum(used, Decimal(0))
    seed, published = draw.seeded(kept)
    base = lottery.choose(seed, "base", OPTIMAL_BASES)
    published["choices"] = {"base": {"options": list(OPTIMAL_BASES), "chosen": base}}
    # Rounded once, at the end: rounding the mean first could move the reference by a cent and
    # change the winner.
    reference = (total * base / (100 * len(used))).quantize(CENT, ROUND_HALF_UP)
    ranked = sorted(kept, key=lambda b: (abs(b.price - reference), *_tiebreak(b)))
    return Outcome(
        ranking=[b.bid for b in ranked],
        excluded=excluded,
        details={
            "rule": "closest to mean × drawn base (one highest and one lowest dropped when ≥ 5 bids); "
            "ties: lower price, then earlier receipt",
            "floor": None if floor is None else str(floor),
            "ceiling": None if ceiling is None else str(ceiling),
            "prices_used": [str(p) for p in used],
            "sum": str(total),
            "mean": str((total / len(used)).quantize(Decimal("0.0001"), ROUND_HALF_UP)),
            "base_percent": base,
            "reference_price": str(reference),
            "distance": {str(b.bid): str(abs(b.price - reference)) for b in ranked},
        },
        draw=published,
    )


def lottery_draw(bids: Sequence[ValidBid], *, draw: Draw, fixed_price: Decimal) -> Outcome:
    """随机选取: the purchaser fixed the price; the winner (and the reserves after it) are the
    valid registrations in the verifiable lottery's order. The prices in the bids play no part."""
    place, published = _draw_positions(draw, bids)
    ranked = sorted(bids, key=lambda b: place[b.bid])
    return Outcome(
        ranking=[b.bid for b in ranked],
        details={"rule": "verifiable lottery order among valid registrations", "fixed_price": str(fixed_price)},
        draw=published,
    )


def direct(bids: Sequence[ValidBid], *, chosen: int, reason: str) -> Outcome:
    """直接选取: the purchaser picks one eligible agency's valid bid, with a written reason (the
    budget cap and the reason for the method itself were checked at publication)."""
    if chosen not in {b.bid for b in bids}:
        raise EvaluationError(
            "not_a_valid_bid", "Pick one of the valid bids of this tender.", "请从本项目的有效投标中选择。"
        )
    if not reason.strip():
        raise EvaluationError("reason_required", "A direct selection needs a written reason.", "直接选取须写明理由。")
    return Outcome(ranking=[chosen], details={"rule": "picked by the purchaser", "reason": reason.strip()})


# The evaluation function of each method, for the service and the docs.
METHODS: dict[str, Callable[..., Outcome]] = {
    "open_tender": open_tender,
    "lowest_price": lowest_price,
    "optimal_price": optimal_price,
    "lottery": lottery_draw,
    "direct": direct,
}
