"""The opening, evaluation and search endpoints that used to be documented as a bare `object`:
each real response, along a tender's whole way through them, matches the committed schema, and
the signed records still verify after passing through their output serializers."""

import base64

import pytest

from agencies.ca import platform_ca
from bidding import crypto, protocol
from bidding.models import OpeningKey
from market.choices import TenderStatus as S
from tests.api.openapi_check import assert_matches
from tests.bidding.test_evaluation import tender_for, to_evaluation
from tests.conftest import client_for
from tests.factories import HOLDER_KEYS

T = "/api/tenders/{id}/"


def _holders(tender):
    key = OpeningKey.objects.get(tender=tender)
    return [share.holder for share in key.shares.select_related("holder")[: key.threshold]]


def test_the_opening_ceremony_and_its_record(world):
    tender = world.in_state(S.OPENING)
    for holder in _holders(tender):
        client = client_for(holder)
        mine = client.get(f"/api/tenders/{tender.pk}/opening/share/").json()
        assert_matches(mine, T + "opening/share/", "get")
        raw = crypto.unwrap_share(
            wrapped=base64.b64decode(mine["wrapped"]),
            holder_private_key=HOLDER_KEYS[holder.username],
            associated=mine["context"],
        )
        done = client.post(
            f"/api/tenders/{tender.pk}/opening/share/", {"share": base64.b64encode(raw).decode()}, format="json"
        )
        assert done.status_code == 200, done.json()
        assert_matches(done.json(), T + "opening/share/", "post")
    assert done.json()["opened"] is True

    signed = client_for(None).get(f"/api/tenders/{tender.pk}/opening/record/").json()
    assert_matches(signed, T + "opening/record/", "get")
    # Verbatim: the record as served still verifies against its digest and the platform's signature.
    digest = protocol.opening_record_verify(signed["record"], signed["signature"], platform_ca().certificate)
    assert digest == signed["digest"]
    assert len(signed["record"]["bids"]) == 3


def test_scoring_disqualifying_and_concluding(world):
    tender = tender_for(world, "open_tender")
    bids = to_evaluation(world, tender, ["150000.00", "160000.00", "170000.00"])
    assert tender.status == S.EVALUATING
    staff, public = client_for(world.supervisor), client_for(None)
    for client in (staff, public):
        assert_matches(client.get(f"/api/tenders/{tender.pk}/evaluation/").json(), T + "evaluation/", "get")

    operator = client_for(world.operator)
    out = operator.post(
        f"/api/tenders/{tender.pk}/evaluation/disqualify/", {"bid": bids[2].pk, "reason": "资质证书过期"}, format="json"
    )
    assert out.status_code == 200, out.json()
    assert_matches(out.json(), T + "evaluation/disqualify/", "post")
    for n in range(1, 6):
        sheet = operator.post(
            f"/api/tenders/{tender.pk}/evaluation/scores/",
            {
                "member_code": f"ZJ{n}",
                "member_name": f"评委{n}",
                "scores": {str(bids[0].pk): "90", str(bids[1].pk): "80"},
            },
            format="json",
        )
        assert sheet.status_code == 201, sheet.json()
        assert_matches(sheet.json(), T + "evaluation/scores/", "post", 201)
    staff_view = staff.get(f"/api/tenders/{tender.pk}/evaluation/").json()
    assert staff_view["sheets"] == [f"ZJ{n}" for n in range(1, 6)]
    assert_matches(staff_view, T + "evaluation/", "get")

    concluded = operator.post(f"/api/tenders/{tender.pk}/evaluation/conclude/", {}, format="json")
    assert concluded.status_code == 200, concluded.json()
    view = concluded.json()
    assert_matches(view, T + "evaluation/conclude/", "post")
    record = view["records"][-1]
    assert (
        protocol.evaluation_record_verify(record["record"], record["signature"], platform_ca().certificate)
        == (record["digest"])
    )


def test_a_direct_pick(world):
    tender = tender_for(world, "direct")
    _, chosen = to_evaluation(world, tender, ["150000.00", "160000.00"])
    picked = client_for(world.purchaser).post(
        f"/api/tenders/{tender.pk}/evaluation/pick/", {"bid": chosen.pk, "reason": "承担过同类项目"}, format="json"
    )
    assert picked.status_code == 200, picked.json()
    assert_matches(picked.json(), T + "evaluation/pick/", "post")
    assert picked.json()["records"][-1]["record"]["ranking"] == [chosen.pk]


@pytest.mark.parametrize("listing", ["tenders", "notices", "agencies", "credit-lists"])
def test_every_public_listing(world, listing):
    world.in_state(S.AWARDED)
    page = client_for(None).get(f"/api/search/{listing}/", {"q": "江州"} if listing != "credit-lists" else {}).json()
    assert_matches(page, f"/api/search/{listing}/", "get")
    if listing in ("tenders", "notices", "agencies"):
        assert page["results"], page


def test_search_health_for_the_public_and_for_staff(world):
    for user in (None, world.supervisor):
        response = client_for(user).get("/api/search/health/")
        assert response.status_code == 200
        assert_matches(response.json(), "/api/search/health/", "get")
