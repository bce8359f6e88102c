"""``manage.py demo_load``: the demo world it builds, built only through the services."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from agencies.uscc import uscc_is_valid
from bidding.models import Bid
from core import clock
from core.audit import audit_verify
from core.models import AuditEntry
from market.choices import OrganisationKind, TenderStatus
from market.models import ROLE_OF_KIND, Notice, Objection, Organisation, Tender, User

pytestmark = pytest.mark.django_db

EVERY_STATE = [
    TenderStatus.DRAFT,
    TenderStatus.PENDING_REVIEW,
    TenderStatus.PUBLISHED,
    TenderStatus.OPENING,
    TenderStatus.EVALUATING,
    TenderStatus.PUBLICITY,
    TenderStatus.AWARDED,
    TenderStatus.CONTRACTED,
    TenderStatus.COMPLETED,
    TenderStatus.SUSPENDED,
    TenderStatus.FAILED,
    TenderStatus.CANCELLED,
]


@pytest.fixture(autouse=True)
def real_clock() -> None:
    """The command runs against the real clock, as it does on a demo server (conftest freezes it)."""
    clock.reset()


def load() -> str:
    out = StringIO()
    call_command("demo_load", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "organisations": Organisation.objects.count(),
        "users": User.objects.count(),
        "tenders": Tender.objects.count(),
        "bids": Bid.objects.count(),
        "notices": Notice.objects.count(),
        "objections": Objection.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def test_organisations_users_and_their_codes() -> None:
    load()
    kinds = Counter(Organisation.objects.values_list("kind", flat=True))
    assert kinds == {
        OrganisationKind.TRADING_CENTRE: 1,
        OrganisationKind.SUPERVISORY_DEPARTMENT: 1,
        OrganisationKind.PURCHASER: 3,
        OrganisationKind.AGENCY: 12,
    }
    for org in Organisation.objects.all():
        assert uscc_is_valid(org.uscc), (org.name, org.uscc)
        assert org.uscc[2:8] == org.region, "the code's region is where the organisation is registered"
        assert org.users.exists() and org.contact_name and org.contact_phone

    expected = (
        {"operator", "supervisor"} | {f"purchaser{i}" for i in range(1, 4)} | {f"agency{i}" for i in range(1, 13)}
    )
    assert set(User.objects.values_list("username", flat=True)) == expected
    for user in User.objects.select_related("organisation"):
        assert user.role == ROLE_OF_KIND[user.organisation.kind], user.username
        assert user.is_superuser == user.is_staff == (user.username == "operator")
    assert User.objects.get(username="agency7").check_password("agora-demo-2026")


def test_tenders_cover_every_state_on_the_demo_profile() -> None:
    output = load()
    assert Tender.objects.count() == 20
    states = Counter(Tender.objects.values_list("status", flat=True))
    missing = [state for state in EVERY_STATE if not states[state]]
    assert not missing, f"no demo tender in {missing}"
    assert set(Tender.objects.values_list("profile__name", flat=True)) == {"demo"}
    assert len(set(Tender.objects.values_list("method", flat=True))) == 5
    assert "agora-demo-2026" in output and "DEMO" in output

    # The tenders still open for bids close in the future, each with enough bids standing to open.
    for tender in Tender.objects.filter(status=TenderStatus.PUBLISHED):
        assert tender.bid_deadline > timezone.now() + timedelta(minutes=10)
        assert tender.received_bid_count() >= tender.min_bids
    assert Tender.objects.get(contract_late=True).status == TenderStatus.CONTRACTED
    # The command leaves the platform clock on real time.
    assert abs(clock.now() - timezone.now()) < timedelta(seconds=5)


def test_second_run_changes_nothing() -> None:
    load()
    before = counts()
    output = load()
    assert "already loaded" in output
    assert counts() == before


def test_audit_trail_intact_afterwards() -> None:
    load()
    result = audit_verify()
    assert result.ok, result.reason
    assert result.checked == AuditEntry.objects.count() > 100


def test_password_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_DEMO_PASSWORD", "another-demo-pass-42")
    output = load()
    assert "another-demo-pass-42" in output
    assert User.objects.get(username="operator").check_password("another-demo-pass-42")
