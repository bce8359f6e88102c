"""The verifiable lottery (可验证抽签, DOMAIN.md "verifiable lottery"): anyone can recompute a draw.

Standard library only, so this file also runs on its own, copied anywhere, to check a published
draw: ``python lottery.py evaluation.json`` (the record served at
``/api/tenders/<id>/evaluation/``). Exit status 0 when the draw recomputes, 1 when it does not.

The algorithm, ``agora-draw-v1``:

1. **Commitment.** When a tender whose method draws lots is published, the platform picks a
   secret ``reveal`` of 32 random bytes and publishes, with the tender notice,
   ``commitment = SHA-256("agora-lottery-commit-v1" ‖ 0x00 ‖ reveal)``. The reveal itself is
   sealed to the tender's opening key, so nobody, operators included, can read it before the
   opening rebuilds that key; nobody can therefore steer the draw by choosing when or what to
   submit.
2. **Seed.** At the draw, ``seed = SHA-256(canonical JSON of {"algorithm", "tender", "reveal"
   (hex), "digests" (the SHA-256 of every valid bid's envelope, sorted)})``, canonical meaning
   keys sorted, no spaces, UTF-8. Every valid bidder's own ciphertext goes into the seed.
3. **Numbers.** The ``i``-th number of the stream named ``label`` is the first 8 bytes, big
   endian, of ``SHA-256(seed ‖ label ‖ i as 8 bytes big endian)``. A number below ``n`` is drawn
   by rejection: numbers at or above the largest multiple of ``n`` below 2^64 are skipped, so
   every outcome is exactly equally likely.
   Sorting and the one spelling of the reveal make the seed a function of the facts alone.
4. **Order.** The valid bids, sorted by digest, are shuffled by Fisher–Yates from the last place
   down, place ``i`` swapping with a number below ``i + 1`` drawn from the stream ``"order"``.
   A choice among options (the optimal-price base) is one number from the stream named after it.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Sequence
from typing import Any, TypeVar

ALGORITHM = "agora-draw-v1"
COMMIT_PREFIX = b"agora-lottery-commit-v1\x00"
REVEAL_LENGTH = 32
# A reveal is written one way only: 64 lower-case hex digits. Accepting other spellings of the same
# secret (upper case, spaces) would give the platform several seeds to choose from for one commitment.
_REVEAL_HEX = re.compile(r"[0-9a-f]{64}")

T = TypeVar("T")


def commitment(reveal: bytes) -> str:
    """The hex SHA-256 published with the tender notice for a 32-byte secret ``reveal``."""
    if len(reveal) != REVEAL_LENGTH:
        raise ValueError(f"a reveal is {REVEAL_LENGTH} bytes")
    return hashlib.sha256(COMMIT_PREFIX + reveal).hexdigest()


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def seed_input(*, tender: str, reveal: str, digests: Sequence[str]) -> dict[str, Any]:
    """What the seed hashes: the tender, the revealed secret (64 lower-case hex digits, the only
    spelling accepted) and the sorted bid digests."""
    if not isinstance(reveal, str) or not _REVEAL_HEX.fullmatch(reveal):
        raise ValueError("a reveal is written as 64 lower-case hex digits")
    return {"algorithm": ALGORITHM, "tender": tender, "reveal": reveal, "digests": sorted(digests)}


def seed(*, tender: str, reveal: str, digests: Sequence[str]) -> bytes:
    return hashlib.sha256(_canonical(seed_input(tender=tender, reveal=reveal, digests=digests))).digest()


class Stream:
    """The numbers of one named stream of a seed (step 3 above)."""

    def __init__(self, seed: bytes, label: str) -> None:
        self.seed, self.label, self.counter = seed, label.encode(), 0

    def below(self, n: int) -> int:
        """A uniformly drawn integer in ``[0, n)``."""
        if not 1 <= n <= 1 << 64:
            raise ValueError("n must be between 1 and 2**64")
        limit = (1 << 64) - (1 << 64) % n
        while True:
            block = hashlib.sha256(self.seed + self.label + self.counter.to_bytes(8, "big")).digest()
            self.counter += 1
            value = int.from_bytes(block[:8], "big")
            if value < limit:
                return value % n


def order(seed: bytes, items: Sequence[T]) -> list[T]:
    """The draw order of ``items`` (step 4): a Fisher–Yates shuffle driven by the ``order`` stream."""
    drawn = list(items)
    stream = Stream(seed, "order")
    for i in range(len(drawn) - 1, 0, -1):
        j = stream.below(i + 1)
        drawn[i], drawn[j] = drawn[j], drawn[i]
    return drawn


def choose(seed: bytes, label: str, options: Sequence[T]) -> T:
    """One of ``options``, drawn from the stream ``label``."""
    return options[Stream(seed, label).below(len(options))]


def recompute(draw: dict[str, Any]) -> dict[str, Any]:
    """Recompute a published draw (the ``draw`` object of an evaluation record): check the reveal
    against the commitment, rebuild the seed from the digests, and return the order (of digests)
    and every choice. Raises ``ValueError`` when the reveal does not match its commitment."""
    if draw.get("algorithm") != ALGORITHM:
        raise ValueError(f"unknown algorithm {draw.get('algorithm')!r}")
    reveal = draw["reveal"]
    seed_input(tender=draw["tender"], reveal=reveal, digests=[])  # refuses any other spelling of the secret
    if not draw.get("commitment"):
        raise ValueError("the draw names no commitment: without one it proves nothing")
    if commitment(bytes.fromhex(reveal)) != draw["commitment"]:
        raise ValueError("the revealed secret does not match the commitment published with the tender notice")
    s = seed(tender=draw["tender"], reveal=reveal, digests=draw["digests"])
    result: dict[str, Any] = {"seed": s.hex(), "order": order(s, sorted(draw["digests"]))}
    for label, spec in sorted(draw.get("choices", {}).items()):
        result.setdefault("choices", {})[label] = choose(s, label, spec["options"])
    return result


def check(draw: dict[str, Any]) -> list[str]:
    """The differences between a published draw and its recomputation (empty when it holds)."""
    again = recompute(draw)
    problems = []
    if again["seed"] != draw.get("seed"):
        problems.append(f"seed is {again['seed']}, published {draw.get('seed')}")
    if again["order"] != draw.get("order"):
        problems.append("the order differs from the published order")
    for label, value in again.get("choices", {}).items():
        if value != draw["choices"][label].get("chosen"):
            problems.append(f"choice {label!r} is {value!r}, published {draw['choices'][label].get('chosen')!r}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: lottery.py evaluation.json", file=sys.stderr)
        return 2
    with open(argv[0], "rb") as f:
        published = json.load(f)
    record = published.get("record", published)
    draw = record.get("draw")
    if not draw:
        print(f"{record.get('tender')}: this evaluation drew no lots")
        return 1
    try:
        problems = check(draw)
    except (ValueError, KeyError) as exc:
        print(f"NOT VERIFIED: {exc}")
        return 1
    if problems:
        print("NOT VERIFIED: " + "; ".join(problems))
        return 1
    print(f"VERIFIED draw of {draw['tender']}: seed {draw['seed']}")
    print(f"  commitment {draw['commitment']} (compare it with the one in the tender notice)")
    for place, digest in enumerate(draw["order"], 1):
        print(f"  {place}. {digest}")
    for label, spec in sorted(draw.get("choices", {}).items()):
        print(f"  {label}: {spec['chosen']} of {spec['options']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
