"""Who sees which tender, on every surface: the one rule of ``market.access``.

A tender is public once it was published. Before that (a draft, one waiting for review, one
returned, or one cancelled before it was ever published) only its purchaser and the trading
centre's staff see it; search lists public tenders only, whoever asks.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from core.permissions import Role
from market.choices import TenderStatus
from market.models import Tender
from market.services import tenders as market_tenders
from procurement.services import tenders as svc
from tests.conftest import client_for
from tests.factories import bid_envelope, user

ROLES = ("anonymous", "owner", "other_purchaser", Role.AGENCY, Role.OPERATOR, Role.SUPERVISOR)
SURFACES = ("api_detail", "api_list", "page", "home", "search")


def _tenders(world) -> dict[str, Tender]:
    """One tender in each situation that matters, keyed by a name that says whether it was published."""
    made = {
        "draft": world.in_state(TenderStatus.DRAFT, title="草稿项目"),
        "pending_review": world.in_state(TenderStatus.PENDING_REVIEW, title="待审项目"),
        "cancelled_unpublished": world.in_state(TenderStatus.CANCELLED, title="未发布即终止的项目"),
        "published": world.in_state(TenderStatus.PUBLISHED, title="投标中的项目"),
        "suspended": world.in_state(TenderStatus.SUSPENDED, title="暂停的项目"),
        "evaluating": world.in_state(TenderStatus.EVALUATING, title="评标中的项目"),
    }
    returned = world.in_state(TenderStatus.PENDING_REVIEW, title="退回修改的项目")
    made["returned"] = market_tenders.tender_return(actor=world.operator, tender_id=returned.pk, reason="预算有误")
    cancelled = world.in_state(TenderStatus.PUBLISHED, title="发布后终止的项目")
    made["cancelled_published"] = svc.tender_cancel(actor=world.purchaser, tender_id=cancelled.pk, reason="需求变更")
    return made


# Written out, not computed from the code under test: which of the situations above were published.
PUBLISHED = {"published", "suspended", "evaluating", "cancelled_published"}


def _expected(role: str, surface: str, name: str) -> bool:
    if name in PUBLISHED:
        return True
    if surface == "search":
        return False  # the public listing holds public tenders only, whoever asks
    return role in ("owner", Role.OPERATOR, Role.SUPERVISOR)


def _client(world, role: str):
    if role == "anonymous":
        return APIClient()
    member = {
        "owner": world.purchaser,
        "other_purchaser": user(Role.PURCHASER),
        Role.AGENCY: world.agency,
        Role.OPERATOR: world.operator,
        Role.SUPERVISOR: world.supervisor,
    }[role]
    client = client_for(member)
    client.force_login(member)  # the pages use the session
    return client


def _sees(client, surface: str, tender: Tender) -> bool:
    if surface == "api_detail":
        return client.get(f"/api/tenders/{tender.pk}/").status_code == 200
    if surface == "api_list":
        ids = {row["id"] for row in client.get("/api/tenders/", {"page_size": 100}).json()["results"]}
        return tender.pk in ids
    if surface == "page":
        return client.get(f"/tenders/{tender.pk}/").status_code == 200
    if surface == "home":
        tenders_section = client.get("/").content.decode().split("最新公告")[0]  # not the notices' links
        return f'href="/tenders/{tender.pk}/"' in tenders_section
    if surface == "search":
        ids = {row["id"] for row in client.get("/api/search/tenders/", {"size": 50}).json()["results"]}
        return tender.pk in ids
    raise AssertionError(surface)


def test_visibility_matrix(world):
    tenders = _tenders(world)
    seen, expected = {}, {}
    for role in ROLES:
        client = _client(world, role)
        for surface in SURFACES:
            for name, tender in tenders.items():
                seen[role, surface, name] = _sees(client, surface, tender)
                expected[role, surface, name] = _expected(role, surface, name)
    wrong = sorted(key for key in seen if seen[key] != expected[key])
    assert not wrong, f"seen where hidden or hidden where seen (role, surface, tender): {wrong}"


@pytest.mark.parametrize("state", [TenderStatus.DRAFT, TenderStatus.PENDING_REVIEW, TenderStatus.CANCELLED])
def test_bid_submission_to_an_unpublished_tender_is_not_found(world, state):
    tender = world.in_state(state)
    envelope, cert, signature = bid_envelope(world.agency, world.in_state(TenderStatus.PUBLISHED))
    response = client_for(world.agency).post(
        f"/api/tenders/{tender.pk}/bids/",
        {"file": SimpleUploadedFile("bid.agb", envelope), "certificate": cert.serial, "signature": signature},
        format="multipart",
    )
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert not tender.bids.exists()
