"""The verifiable lottery (bidding.lottery): anyone holding the published draw can recompute it,
and any change to the published figures is caught. Plain functions: no database."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bidding import lottery
from bidding.methods import Draw, ValidBid

TENDER = "ZB-2026-0001"
REVEAL = hashlib.sha256(b"the tender's committed secret").digest()  # 32 bytes
SEED = hashlib.sha256(b"a fixed seed").digest()
T0 = datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("Asia/Shanghai"))


def digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


DIGESTS = [digest(f"bid-{i}") for i in range(6)]


def published(*, reveal: bytes = REVEAL, digests: list[str] = DIGESTS, tender: str = TENDER, choices=None) -> dict:
    """A draw as the platform publishes it (``Draw.seeded``), with optional choices as the optimal
    price method adds them."""
    bids = [
        ValidBid(bid=i, agency=f"agency-{i}", price=Decimal("100.00"), received_at=T0, digest=d)
        for i, d in enumerate(digests)
    ]
    draw = Draw(tender=tender, reveal=reveal.hex(), commitment=lottery.commitment(reveal))
    seed, record = draw.seeded(bids)
    if choices:
        record["choices"] = {
            label: {"options": list(options), "chosen": lottery.choose(seed, label, options)}
            for label, options in choices.items()
        }
    return record


# -- commitment ---------------------------------------------------------------------------------


def test_commitment_is_the_documented_sha256_in_64_hex_chars():
    value = lottery.commitment(REVEAL)
    assert len(value) == 64 and set(value) <= set("0123456789abcdef")
    assert value == hashlib.sha256(b"agora-lottery-commit-v1\x00" + REVEAL).hexdigest()


def test_different_reveals_have_different_commitments():
    assert lottery.commitment(bytes(32)) != lottery.commitment(b"\x00" * 31 + b"\x01")


@pytest.mark.parametrize("length", [0, 16, 31, 33, 64])
def test_commitment_refuses_a_reveal_that_is_not_32_bytes(length):
    with pytest.raises(ValueError):
        lottery.commitment(b"\x07" * length)


# -- the seed -----------------------------------------------------------------------------------


def test_seed_is_sha256_of_the_canonical_json_of_its_inputs():
    # Written out from the module docstring, not from the code: keys sorted, no spaces, digests sorted.
    text = (
        '{"algorithm":"agora-draw-v1","digests":' + json.dumps(sorted(DIGESTS), separators=(",", ":")) + ","
        '"reveal":"' + REVEAL.hex() + '","tender":"' + TENDER + '"}'
    )
    assert lottery.seed(tender=TENDER, reveal=REVEAL.hex(), digests=DIGESTS) == hashlib.sha256(text.encode()).digest()


def test_seed_changes_when_any_digest_changes():
    base = lottery.seed(tender=TENDER, reveal=REVEAL.hex(), digests=DIGESTS)
    for i in range(len(DIGESTS)):
        changed = [*DIGESTS[:i], digest(f"resubmitted-{i}"), *DIGESTS[i + 1 :]]
        assert lottery.seed(tender=TENDER, reveal=REVEAL.hex(), digests=changed) != base


def test_seed_changes_with_the_reveal_and_with_the_tender():
    base = lottery.seed(tender=TENDER, reveal=REVEAL.hex(), digests=DIGESTS)
    assert lottery.seed(tender=TENDER, reveal=bytes(32).hex(), digests=DIGESTS) != base
    assert lottery.seed(tender="ZB-2026-0002", reveal=REVEAL.hex(), digests=DIGESTS) != base


def test_seed_changes_when_a_bid_is_added_or_left_out():
    base = lottery.seed(tender=TENDER, reveal=REVEAL.hex(), digests=DIGESTS)
    assert lottery.seed(tender=TENDER, reveal=REVEAL.hex(), digests=DIGESTS[:-1]) != base
    assert lottery.seed(tender=TENDER, reveal=REVEAL.hex(), digests=[*DIGESTS, digest("late")]) != base


@given(st.permutations(DIGESTS))
def test_seed_does_not_depend_on_the_order_of_the_digests(shuffled):
    assert lottery.seed(tender=TENDER, reveal=REVEAL.hex(), digests=shuffled) == lottery.seed(
        tender=TENDER, reveal=REVEAL.hex(), digests=DIGESTS
    )


# -- the stream ---------------------------------------------------------------------------------


def test_stream_numbers_follow_the_documented_formula():
    # below(2^64) rejects nothing (2^64 is its own multiple), so it returns the raw numbers:
    # the first 8 bytes, big endian, of SHA-256(seed ‖ label ‖ i as 8 bytes big endian).
    stream = lottery.Stream(SEED, "order")
    for i in range(5):
        raw = hashlib.sha256(SEED + b"order" + i.to_bytes(8, "big")).digest()[:8]
        assert stream.below(1 << 64) == int.from_bytes(raw, "big")


@given(seed=st.binary(min_size=32, max_size=32), n=st.integers(min_value=1, max_value=1 << 64))
def test_below_is_always_in_range(seed, n):
    stream = lottery.Stream(seed, "x")
    assert all(0 <= stream.below(n) < n for _ in range(5))


@pytest.mark.parametrize("n", [0, -1, -100])
def test_below_refuses_n_under_one(n):
    with pytest.raises(ValueError):
        lottery.Stream(SEED, "order").below(n)


def test_below_one_is_always_zero():
    stream = lottery.Stream(SEED, "order")
    assert {stream.below(1) for _ in range(50)} == {0}


def test_below_three_is_roughly_uniform():
    # Expected 2000 each; the standard deviation is about 37, so ±200 is more than 5σ. The seed is
    # fixed, so this is deterministic, not flaky.
    stream = lottery.Stream(SEED, "uniformity")
    counts = Counter(stream.below(3) for _ in range(6000))
    assert set(counts) == {0, 1, 2}
    assert all(1800 <= c <= 2200 for c in counts.values()), counts


def test_streams_with_different_labels_differ():
    a, b = lottery.Stream(SEED, "order"), lottery.Stream(SEED, "base")
    assert [a.below(1000) for _ in range(10)] != [b.below(1000) for _ in range(10)]


# -- order and choose ---------------------------------------------------------------------------


@given(seed=st.binary(min_size=32, max_size=32), items=st.lists(st.integers(), max_size=30))
def test_order_is_a_permutation_of_its_input(seed, items):
    drawn = lottery.order(seed, items)
    assert sorted(drawn) == sorted(items)


@given(seed=st.binary(min_size=32, max_size=32), items=st.lists(st.text(), max_size=20))
def test_order_is_the_same_for_the_same_seed(seed, items):
    assert lottery.order(seed, items) == lottery.order(seed, list(items))


def test_order_does_not_change_its_input():
    items = list(range(8))
    lottery.order(SEED, items)
    assert items == list(range(8))


def test_order_of_two_items_swaps_when_the_first_number_is_even():
    # Fisher–Yates on two items: place 1 swaps with place below(2). 2^64 is a multiple of 2, so no
    # number is rejected and below(2) is the first raw number of the "order" stream modulo 2.
    for k in range(8):
        seed = hashlib.sha256(f"two-{k}".encode()).digest()
        first = int.from_bytes(hashlib.sha256(seed + b"order" + bytes(8)).digest()[:8], "big")
        expected = ["b", "a"] if first % 2 == 0 else ["a", "b"]
        assert lottery.order(seed, ["a", "b"]) == expected


def test_different_seeds_give_different_orders():
    # Six fixed seeds over eight items (8! = 40320 orders): each seed gives its own order.
    items = list(range(8))
    seeds = [hashlib.sha256(f"seed-{k}".encode()).digest() for k in range(6)]
    assert len({tuple(lottery.order(s, items)) for s in seeds}) == len(seeds)


def test_order_of_no_items_or_one_item():
    assert lottery.order(SEED, []) == []
    assert lottery.order(SEED, ["only"]) == ["only"]


def test_choose_picks_one_of_the_options_deterministically():
    options = (95, 96, 97, 98)
    picks = [lottery.choose(hashlib.sha256(f"c-{k}".encode()).digest(), "base", options) for k in range(40)]
    assert set(picks) <= set(options)
    assert len(set(picks)) > 1  # forty seeds do not all land on the same base
    assert picks == [lottery.choose(hashlib.sha256(f"c-{k}".encode()).digest(), "base", options) for k in range(40)]


# -- recompute and check ------------------------------------------------------------------------


def test_a_published_draw_verifies():
    draw = published()
    assert lottery.check(draw) == []
    again = lottery.recompute(draw)
    assert again["seed"] == draw["seed"] and again["order"] == draw["order"]
    assert sorted(again["order"]) == sorted(DIGESTS)


def test_a_published_draw_with_a_choice_verifies():
    draw = published(choices={"base": (95, 96, 97, 98)})
    assert lottery.check(draw) == []
    assert lottery.recompute(draw)["choices"]["base"] == draw["choices"]["base"]["chosen"]


def test_a_reveal_that_does_not_match_the_commitment_is_refused():
    draw = published()
    draw["reveal"] = bytes(32).hex()
    with pytest.raises(ValueError, match="commitment"):
        lottery.recompute(draw)
    with pytest.raises(ValueError):
        lottery.check(draw)


def test_a_reveal_of_the_wrong_length_is_refused():
    draw = published()
    draw["reveal"] = REVEAL.hex()[:-2]
    with pytest.raises(ValueError):
        lottery.check(draw)


def test_a_swapped_order_is_a_problem():
    draw = published()
    draw["order"][0], draw["order"][1] = draw["order"][1], draw["order"][0]
    assert any("order" in p for p in lottery.check(draw))


def test_a_changed_seed_is_a_problem():
    draw = published()
    draw["seed"] = hashlib.sha256(b"another seed").hexdigest()
    assert any("seed" in p for p in lottery.check(draw))


def test_a_changed_choice_is_a_problem():
    draw = published(choices={"base": (95, 96, 97, 98)})
    chosen = draw["choices"]["base"]["chosen"]
    draw["choices"]["base"]["chosen"] = 95 if chosen != 95 else 98
    assert any("base" in p for p in lottery.check(draw))


def test_a_digest_left_out_is_a_problem():
    # Leaving a bid out of the published digests changes the seed, so the published seed and
    # order no longer recompute.
    draw = published()
    draw["digests"] = draw["digests"][1:]
    assert lottery.check(draw) != []


def test_an_unknown_algorithm_is_refused():
    draw = published()
    draw["algorithm"] = "agora-draw-v0"
    with pytest.raises(ValueError, match="algorithm"):
        lottery.recompute(draw)


@pytest.mark.parametrize("spelling", [REVEAL.hex().upper(), " ".join(f"{b:02x}" for b in REVEAL)])
def test_one_committed_secret_gives_only_one_verifiable_seed(spelling):
    # Another spelling of the same secret would match the commitment but give another seed: the
    # platform could pick among them. Only 64 lower-case hex digits are accepted.
    assert bytes.fromhex(spelling) == REVEAL
    with pytest.raises(ValueError, match="lower-case"):
        lottery.seed(tender=TENDER, reveal=spelling, digests=DIGESTS)
    with pytest.raises(ValueError, match="lower-case"):
        lottery.check({**published(), "reveal": spelling})


def test_a_draw_without_a_commitment_proves_nothing():
    with pytest.raises(ValueError, match="commitment"):
        lottery.check({**published(), "commitment": None})


# -- the stand-alone verifier -------------------------------------------------------------------


def run_verifier(tmp_path: Path, record: dict) -> subprocess.CompletedProcess[str]:
    """Copy lottery.py out of the project and run it in isolated mode, as a member of the public would."""
    script = tmp_path / "lottery.py"
    shutil.copy(Path(lottery.__file__), script)
    (tmp_path / "evaluation.json").write_text(json.dumps({"record": record}), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-I", str(script), "evaluation.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_verifies_a_good_draw(tmp_path):
    draw = published(choices={"base": (95, 96, 97, 98)})
    result = run_verifier(tmp_path, {"tender": TENDER, "draw": draw})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERIFIED" in result.stdout and "NOT VERIFIED" not in result.stdout
    assert draw["seed"] in result.stdout and draw["order"][0] in result.stdout


def test_cli_rejects_a_tampered_order(tmp_path):
    draw = published()
    draw["order"] = list(reversed(draw["order"]))
    result = run_verifier(tmp_path, {"tender": TENDER, "draw": draw})
    assert result.returncode == 1
    assert "NOT VERIFIED" in result.stdout


def test_cli_rejects_a_reveal_that_does_not_match_its_commitment(tmp_path):
    draw = published()
    draw["reveal"] = bytes(32).hex()
    result = run_verifier(tmp_path, {"tender": TENDER, "draw": draw})
    assert result.returncode == 1
    assert "NOT VERIFIED" in result.stdout


def test_cli_says_when_no_lots_were_drawn(tmp_path):
    result = run_verifier(tmp_path, {"tender": TENDER, "draw": None})
    assert result.returncode == 1
    assert "no lots" in result.stdout
