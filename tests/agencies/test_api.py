"""The agencies API as users meet it: the role × action matrix for every agencies and credit
action, the public directory, and the API schema."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from agencies.choices import CreditList
from agencies.services import certificates, credit, lists
from core import clock
from core.permissions import MATRIX, Action
from market.choices import TenderStatus
from tests.agencies.helpers import agencies_state, holder_csr, signing_csr
from tests.bidding.test_submission import EXPECTED as BIDDING_EXPECTED
from tests.conftest import client_for
from tests.factories import admitted_agency, applied_agency
from tests.market.test_api import EXPECTED as MARKET_EXPECTED

ROLES = ["purchaser", "agency", "supervisor", "operator", None]

EXPECTED = {
    Action.AGENCY_MANAGE_OWN: {"agency"},
    Action.AGENCY_VIEW_ALL: {"operator", "supervisor"},
    Action.AGENCY_REVIEW: {"operator"},
    Action.CERTIFICATE_REQUEST: {"agency"},
    Action.CERTIFICATE_REVOKE_ANY: {"operator"},
    Action.KEY_HOLDER_REGISTER: {"purchaser", "supervisor", "operator"},
    Action.CREDIT_EVENT_RECORD: {"supervisor"},
    Action.CREDIT_VIEW_ALL: {"supervisor", "operator"},
    Action.CREDIT_LIST_PROPOSE: {"supervisor"},
    Action.CREDIT_LIST_DECIDE: {"supervisor"},
    Action.EVALUATION_SUBMIT: {"purchaser"},
    Action.EVALUATION_MODERATE: {"operator"},
}


def _other_agency_certificate(world):
    other = admitted_agency(world.operator)
    _key, csr = signing_csr(other.organisation)
    return certificates.certificate_request(actor=other, csr=csr)


def _proposal(world):
    agency = world.agency.organisation.agency
    return lists.list_entry_propose(
        actor=world.supervisor, agency_id=agency.pk, list_kind=CreditList.RED, reason="守信"
    )


def _evaluation(world):
    tender = world.in_state(TenderStatus.COMPLETED)
    return credit.evaluation_submit(
        actor=world.purchaser,
        tender_id=tender.pk,
        scores={"quality": 5, "timeliness": 5, "attitude": 4, "fees": 4, "conduct": 5},
    )


def _scores(tender_id):
    return {"tender": tender_id, "quality": 5, "timeliness": 4, "attitude": 5, "fees": 4, "conduct": 5}


# action -> (set-up giving (url, payload maker taking the acting user), method, success status)
ENDPOINTS = {
    Action.AGENCY_MANAGE_OWN: (
        lambda w: ("/api/agencies/me/", lambda u: {"contact_phone": "0792-8888888"}),
        "patch",
        200,
    ),
    Action.AGENCY_VIEW_ALL: (lambda w: ("/api/agencies/", None), "get", 200),
    Action.AGENCY_REVIEW: (
        lambda w: (f"/api/agencies/{applied_agency().organisation.agency.pk}/admit/", lambda u: {"reason": "材料齐全"}),
        "post",
        200,
    ),
    Action.CERTIFICATE_REQUEST: (
        lambda w: ("/api/agencies/me/certificates/", lambda u: {"csr": signing_csr(w.agency.organisation)[1]}),
        "post",
        201,
    ),
    Action.CERTIFICATE_REVOKE_ANY: (
        lambda w: (
            f"/api/certificates/{_other_agency_certificate(w).serial}/revoke/",
            lambda u: {"reason": "key_compromise", "note": "私钥泄露"},
        ),
        "post",
        200,
    ),
    Action.KEY_HOLDER_REGISTER: (lambda w: ("/api/keys/", lambda u: {"csr": holder_csr(u)[1]}), "post", 201),
    Action.CREDIT_EVENT_RECORD: (
        lambda w: (
            "/api/credit/events/",
            lambda u: {"agency": w.agency.organisation.agency.pk, "kind": "commendation", "reason": "市级表彰"},
        ),
        "post",
        201,
    ),
    Action.CREDIT_VIEW_ALL: (lambda w: ("/api/credit/list-entries/", None), "get", 200),
    Action.CREDIT_LIST_PROPOSE: (
        lambda w: (
            "/api/credit/list-entries/",
            lambda u: {"agency": w.agency.organisation.agency.pk, "list": "red", "reason": "守信记录良好"},
        ),
        "post",
        201,
    ),
    Action.CREDIT_LIST_DECIDE: (
        lambda w: (
            f"/api/credit/list-entries/{_proposal(w).pk}/decide/",
            lambda u: {"document_number": "江公管信〔2026〕1号"},
        ),
        "post",
        200,
    ),
    Action.EVALUATION_SUBMIT: (
        lambda w: ("/api/credit/evaluations/", (lambda t: lambda u: _scores(t.pk))(w.in_state(TenderStatus.COMPLETED))),
        "post",
        201,
    ),
    Action.EVALUATION_MODERATE: (
        lambda w: (f"/api/credit/evaluations/{_evaluation(w).pk}/approve/", lambda u: {}),
        "post",
        200,
    ),
}


def test_every_agencies_action_has_an_expectation_and_an_endpoint():
    assert set(EXPECTED) == set(ENDPOINTS)
    # Together with the market and bidding tables, every action of the platform is specified and tested.
    assert set(EXPECTED) | set(MARKET_EXPECTED) | set(BIDDING_EXPECTED) == set(MATRIX)
    assert not set(EXPECTED) & set(MARKET_EXPECTED)


def test_the_matrix_is_the_expected_table():
    assert {a: {r.value for r in MATRIX[a]} for a in EXPECTED} == EXPECTED


@pytest.mark.parametrize("role", ROLES, ids=[r or "anonymous" for r in ROLES])
@pytest.mark.parametrize("action", list(EXPECTED), ids=[a.value for a in EXPECTED])
def test_permission_matrix_through_the_api(world, action, role):
    setup, method, ok_status = ENDPOINTS[action]
    url, payload = setup(world)
    actor = world.by_role(role) if role else None
    client = client_for(actor) if actor else APIClient()
    before = agencies_state()
    response = getattr(client, method)(url, payload(actor) if payload and actor else {}, format="json")
    body = response.json()
    if role in EXPECTED[action]:
        assert response.status_code == ok_status, body
        return
    if role is None:
        assert (response.status_code, body["code"]) == (401, "not_authenticated")
    elif action == Action.CERTIFICATE_REVOKE_ANY:
        # Revocation is open to a certificate's owner; for anyone else that certificate does not exist.
        assert (response.status_code, body["code"]) == (404, "not_found")
    else:
        assert (response.status_code, body["code"]) == (403, "forbidden")
    assert body["detail"] and body["detail_zh"]
    assert agencies_state() == before


def test_public_directory_shows_score_and_list_status(world):
    org = world.agency.organisation
    applied = applied_agency()  # not admitted: not in the directory
    credit.credit_event_record(actor=world.supervisor, agency_id=org.agency.pk, kind="commendation", reason="表彰")
    response = APIClient().get("/api/public/agencies/")
    assert response.status_code == 200
    rows = {row["uscc"]: row for row in response.json()["results"]}
    assert applied.organisation.uscc not in rows
    mine = rows[org.uscc]
    assert list(mine) == [
        "name",
        "uscc",
        "service_categories",
        "region",
        "score",
        "list_status",
        "status",
        "admitted_at",
    ]
    assert mine["score"] == 105 and mine["list_status"] is None and mine["name"] == org.name

    entry = lists.list_entry_propose(
        actor=world.supervisor, agency_id=org.agency.pk, list_kind="black", reason="串通投标"
    )
    lists.list_entry_decide(
        actor=world.supervisor,
        entry_id=entry.pk,
        document_number="江公管信〔2026〕9号",
        ends_at=clock.now() + timedelta(days=400),
    )
    detail = APIClient().get(f"/api/public/agencies/{org.uscc}/").json()
    assert detail["list_status"] == "black"
    black = APIClient().get("/api/public/agencies/", {"list": "black"}).json()["results"]
    assert [row["uscc"] for row in black] == [org.uscc]


def test_public_directory_page_is_one_query_whatever_its_size(world, django_assert_max_num_queries):
    for _ in range(5):
        admitted_agency(world.operator)
    with django_assert_max_num_queries(3):
        response = APIClient().get("/api/public/agencies/")
    assert response.status_code == 200 and len(response.json()["results"]) >= 6


def test_the_api_schema_builds_without_warnings(db):
    out = StringIO()
    call_command("spectacular", "--fail-on-warn", stdout=out)
    assert "/api/public/credit-lists/" in out.getvalue()
    assert "/api/agencies/me/certificates/" in out.getvalue()


def test_public_pages_show_the_directory_and_the_lists(world, client):
    org = world.agency.organisation
    entry = lists.list_entry_propose(actor=world.supervisor, agency_id=org.agency.pk, list_kind="red", reason="守信")
    lists.list_entry_decide(actor=world.supervisor, entry_id=entry.pk, document_number="江公管信〔2026〕7号")
    directory = client.get("/agencies/")
    assert directory.status_code == 200 and org.name in directory.content.decode()
    page = client.get("/credit-lists/").content.decode()
    assert "江公管信〔2026〕7号" in page and org.uscc in page
