"""The unified social credit code check (GB 32100-2015)."""

from __future__ import annotations

import pytest

from accounts.uscc import ALPHABET, uscc_check_char, uscc_is_valid

# Codes as published on business licences. Each check character was computed by hand; the first:
#
#   91350100M000100Y4|3, values (0-9, A=10 … M=21 … Y=30, skipping I O S V Z):
#   9·1 + 1·3 + 3·9 + 5·27 + 0·19 + 1·26 + 0·16 + 0·17 + 21·20 + 0·29 + 0·25 + 0·13 + 1·8 + 0·24
#   + 0·10 + 30·30 + 4·28 = 9 + 3 + 27 + 135 + 26 + 420 + 8 + 900 + 112 = 1640
#   1640 mod 31 = 1640 - 52·31 = 28;  31 - 28 = 3  → "3" ✓
#
#   914403001922038216: sum = 831, 831 mod 31 = 25, 31 - 25 = 6 → "6" ✓
#   91330100799655058B: sum = 1384, 1384 mod 31 = 20, 31 - 20 = 11 → "B" ✓
VALID = ["91350100M000100Y43", "914403001922038216", "91330100799655058B"]

# 911100001000013427 circulates as an example but does not pass the check:
#   9·1 + 1·3 + 1·9 + 1·27 + 1·20 (pos. 9) + 1·24 (pos. 14) + 3·10 + 4·30 + 2·28 = 298
#   298 mod 31 = 19, 31 - 19 = 12 → "C", not "7".
NOT_CHECKSUMMED = "911100001000013427"
BASE = VALID[0]


@pytest.mark.parametrize("code", VALID)
def test_published_codes_are_valid(code: str) -> None:
    assert uscc_is_valid(code)
    assert uscc_check_char(code[:17]) == code[17]


def test_a_circulating_example_with_a_wrong_check_character_is_rejected() -> None:
    assert not uscc_is_valid(NOT_CHECKSUMMED)
    assert uscc_check_char(NOT_CHECKSUMMED[:17]) == "C"
    assert uscc_is_valid(NOT_CHECKSUMMED[:17] + "C")


def test_a_sum_divisible_by_31_gives_check_zero() -> None:
    # "1" + 16 zeros sums to 1; raising position 2 by 10 adds 30: 1 + 3·10 = 31 ≡ 0 → check 31 → "0".
    first17 = "1A" + "0" * 15
    assert uscc_check_char(first17) == "0"
    assert uscc_is_valid(first17 + "0")


@pytest.mark.parametrize("position", range(18))
def test_every_single_character_change_is_rejected(position: int) -> None:
    # Weights are powers of 3 modulo the prime 31, never 0, so any one substituted character
    # changes the weighted sum modulo 31 and the check no longer fits.
    for char in ALPHABET:
        if char == BASE[position]:
            continue
        corrupted = BASE[:position] + char + BASE[position + 1 :]
        assert not uscc_is_valid(corrupted), corrupted


@pytest.mark.parametrize(
    "code",
    [
        BASE.lower(),
        "91350100m000100Y43",  # one lower-case letter
        BASE[:17],  # short
        BASE + "3",  # long
        "",
        "91350100M000100I43",  # I is not in the alphabet
        "91350100M000100O43",  # nor O
        " 91350100M000100Y43",
    ],
)
def test_malformed_codes_are_rejected(code: str) -> None:
    assert not uscc_is_valid(code)


def test_region_must_be_six_digits_even_with_a_fitting_check_character() -> None:
    first17 = "913501A0M000100Y4"  # a letter inside the region code (positions 3-8)
    assert not uscc_is_valid(first17 + uscc_check_char(first17))


def test_check_char_refuses_bad_input() -> None:
    for bad in ["", BASE[:16], BASE, BASE[:16].lower() + "3", "91350100M000100I4"]:
        with pytest.raises(ValueError):
            uscc_check_char(bad)
