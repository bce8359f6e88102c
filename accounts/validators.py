import re

from django.core.exceptions import ValidationError

# Province-level prefixes of GB/T 2260 administrative division codes.
PROVINCE_PREFIXES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)
_REGION = re.compile(r"^\d{6}$")


def region_code_is_valid(code: str) -> bool:
    """A six-digit administrative division code (行政区划代码) whose province prefix exists."""
    return bool(_REGION.match(code or "")) and code[:2] in PROVINCE_PREFIXES


def validate_region_code(code: str) -> None:
    if not region_code_is_valid(code):
        raise ValidationError(
            "Not a valid administrative division code (6 digits, existing province). 行政区划代码无效。"
        )
