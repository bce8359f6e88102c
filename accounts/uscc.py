"""The unified social credit code (统一社会信用代码, USCC) of GB 32100-2015.

Every organisation in China, company, public institution, government body, law firm, carries one
18-character code::

    position  1     registration authority (登记管理部门代码): 1 机构编制, 3 司法行政, 5 民政,
                    9 工商/市场监管, Y 其他 …
    position  2     organisation category within that authority (机构类别代码), e.g. 91 企业, 12 事业单位
    positions 3-8   administrative division code of the registering office (登记管理机关行政区划码, GB/T 2260)
    positions 9-17  organisation code (主体标识码, GB 11714)
    position  18    check character (校验码)

All characters come from a 31-character alphabet: the digits and the capital letters without
I, O, Z, S and V (which are too easily confused with 1, 0, 2, 5 and U). The check character is
``31 - (Σ value(cᵢ) × wᵢ mod 31)`` over the first 17 characters, 31 written as ``0``.

Pure functions only: no database, no Django.
"""

from __future__ import annotations

# The code alphabet; a character's value is its index.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {char: value for value, char in enumerate(ALPHABET)}
# Weight of each of the first 17 positions: 3**i mod 31 for i = 0..16.
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18

# Registration authorities are allocated from the code alphabet itself (1-9, Y, and later letters
# such as A and N for newer registries), so any alphabet character is accepted in position 1;
# the set of authorities actually in use grows, and a whitelist would reject new, valid codes.
REGISTRATION_AUTHORITIES = frozenset(ALPHABET)


def uscc_check_char(first17: str) -> str:
    """The check character (position 18) for the first 17 characters of a code.

    Raises ``ValueError`` unless ``first17`` is exactly 17 characters of the code alphabet
    (upper case).
    """
    if len(first17) != LENGTH - 1 or any(char not in VALUES for char in first17):
        raise ValueError("expected 17 characters of the USCC alphabet (0-9 and A-Y without I, O, S, V, Z)")
    total = sum(VALUES[char] * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def uscc_is_valid(code: str) -> bool:
    """True when ``code`` is a well-formed USCC whose check character is right.

    Checks: 18 characters, all from the code alphabet (upper case only), a registration-authority
    character in position 1, six digits (the region code) in positions 3-8, and the check
    character. Whether the code was actually issued is a question for the registry, not this
    function.
    """
    if not isinstance(code, str) or len(code) != LENGTH:
        return False
    if any(char not in VALUES for char in code):
        return False
    if code[0] not in REGISTRATION_AUTHORITIES:
        return False
    region = code[2:8]
    if not (region.isascii() and region.isdigit()):
        return False
    return uscc_check_char(code[:17]) == code[17]
