"""The demo story's data, read from the files in ``demo/data/`` (TOML): who takes part, what they
tender, and how the results come out where people decide them. ``manage.py demo_load`` turns it
into calls to the services; edit the files, not the command, to change who and what is in the story.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"


@cache
def read(name: str) -> dict[str, Any]:
    """One data file, parsed (``organisations``, ``tenders``, ``agencies``, ``results``, ``events``)."""
    with (DATA / f"{name}.toml").open("rb") as data:
        return tomllib.load(data)


@dataclass(frozen=True)
class OrgSpec:
    username: str
    kind: str
    name: str
    uscc_prefix: str  # registration authority + organisation category (positions 1-2 of the USCC)
    region: str
    contact: str  # surname first, one character
    phone: str


@dataclass(frozen=True)
class TenderSpec:
    purchaser: str  # username of the purchaser's user
    title: str
    method: str
    category: str
    budget: str
    bond: str
    description: str
    qualification: str = ""
    direct_reason: str = ""
    # A rule profile other than the demo's (the demo makes "demo-bidder-lock": the demo's rules with the bidder's lock).
    profile: str = ""


@dataclass(frozen=True)
class QualificationSpec:
    category: str
    kind: str
    grade: str
    number: str
    issuer: str
    issued_days_ago: int
    valid_days: int  # from today to valid_until

    def data(self, today: date) -> dict[str, Any]:
        """The form ``registration.qualification_add`` takes, dated from ``today``."""
        return {
            "category": self.category,
            "kind": self.kind,
            "grade": self.grade,
            "number": self.number,
            "issuer": self.issuer,
            "valid_from": today - timedelta(days=self.issued_days_ago),
            "valid_until": today + timedelta(days=self.valid_days),
        }


@dataclass(frozen=True)
class AgencyProfile:
    legal_representative: str
    categories: tuple[str, ...]
    address: str
    introduction: str
    qualifications: tuple[QualificationSpec, ...]


def organisations() -> list[OrgSpec]:
    return [OrgSpec(**row) for row in read("organisations")["organisation"]]


def tenders() -> dict[str, TenderSpec]:
    data = read("tenders")
    common = data["agency_market_qualification"]
    return {
        key: TenderSpec(
            purchaser=row["purchaser"],
            title=row["title"],
            method=row["method"],
            category=row["category"],
            budget=row["budget"],
            bond=row["bond"],
            description=row["description"],
            qualification=(common if row.get("agency_market") else "") + row.get("qualification", ""),
            direct_reason=row.get("direct_reason", ""),
            profile=row.get("profile", ""),
        )
        for key, row in data["tenders"].items()
    }


def expected_states() -> dict[str, str]:
    return {key: row["expected"] for key, row in read("tenders")["tenders"].items()}


def service_days() -> dict[str, int]:
    return {key: row["service_days"] for key, row in read("tenders")["tenders"].items() if "service_days" in row}


def agency_profiles() -> dict[str, AgencyProfile]:
    return {
        username: AgencyProfile(
            legal_representative=row["legal_representative"],
            categories=tuple(row["categories"]),
            address=row["address"],
            introduction=row["introduction"],
            qualifications=tuple(QualificationSpec(**q) for q in row["qualifications"]),
        )
        for username, row in read("agencies")["agencies"].items()
    }


SCORE_NAMES = ("quality", "timeliness", "attitude", "fees", "conduct")
MODERATION = {"approve": True, "reject": False, "pending": None}


def evaluations() -> dict[str, tuple[tuple[int, int, int, int, int], str, bool | None]]:
    """Service evaluations: scores (in :data:`SCORE_NAMES` order), comment, and the trading centre's
    decision (True approve, False reject, None leave pending)."""
    result: dict[str, tuple[tuple[int, int, int, int, int], str, bool | None]] = {}
    for key, row in read("results")["evaluations"].items():
        quality, timeliness, attitude, fees, conduct = (int(row[name]) for name in SCORE_NAMES)
        scores = (quality, timeliness, attitude, fees, conduct)
        result[key] = (scores, row["comment"], MODERATION[row["moderation"]])
    return result


def by_tender(table: str) -> dict[str, Any]:
    """A table of ``results.toml`` keyed by tender (rankings, price_order, pick_reasons)."""
    return dict(read("results")[table])


def disqualified() -> dict[str, dict[int, str]]:
    return {key: {int(n): reason for n, reason in row.items()} for key, row in read("results")["disqualified"].items()}


def experts() -> list[tuple[str, str]]:
    return [(row["number"], row["name"]) for row in read("results")["experts"]]
