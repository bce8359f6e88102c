"""The API as a user meets it: the role × action matrix, error shapes, visibility, auth, uploads."""

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from core import clock
from core.permissions import MATRIX, Action
from market.choices import TenderStatus as S
from market.models import TenderAttachment
from tests.conftest import client_for
from tests.factories import objection_fields, objection_signed, tender_data
from tests.market.helpers import world_state

ROLES = ["purchaser", "agency", "supervisor", "operator", None]

# The permission matrix as the issue states it: which roles may take each action. The rest,
# and anonymous callers, are refused. This table is the specification the endpoints are held to.
EXPECTED = {
    Action.TENDER_CREATE: {"purchaser"},
    Action.TENDER_EDIT: {"purchaser"},
    Action.TENDER_SUBMIT: {"purchaser"},
    Action.TENDER_APPROVE: {"operator"},
    Action.TENDER_RETURN: {"operator"},
    Action.TENDER_AMEND: {"purchaser"},
    Action.TENDER_CANCEL: {"purchaser"},
    Action.TENDER_SUSPEND: {"supervisor"},
    Action.TENDER_RESUME: {"supervisor"},
    Action.TENDER_RECORD_RESULT: {"operator"},
    Action.TENDER_RECORD_CONTRACT: {"purchaser"},
    Action.TENDER_COMPLETE: {"purchaser"},
    Action.TENDER_DIRECT_PICK: {"purchaser"},
    Action.TENDER_VIEW_UNPUBLISHED: {"operator", "supervisor"},
    Action.OBJECTION_RAISE: {"agency"},
    Action.OBJECTION_ANSWER: {"purchaser"},
    Action.AUDIT_READ: {"operator", "supervisor"},
}


def _iso(dt):
    return dt.isoformat()


def _create_payload():
    data = tender_data()
    return {**{k: str(v) for k, v in data.items() if k != "bid_deadline"}, "bid_deadline": _iso(data["bid_deadline"])}


def _objection(world):

    tender = world.in_state(S.PUBLISHED)
    return tender, objection_signed(actor=world.agency, tender_id=tender.pk, kind="documents", text="异议")


def _foreign_pending():
    """A tender awaiting review that belongs to some other purchaser (one's own is always visible)."""
    from market.services import tenders as market_tenders
    from tests.factories import user

    owner = user("purchaser")
    tender = market_tenders.tender_create(actor=owner, data=tender_data())
    market_tenders.tender_submit(actor=owner, tender_id=tender.pk)
    return tender.pk, f"/api/tenders/{tender.pk}/"


def _scored(world):
    """An open tender under evaluation with the committee's sheets in: ready to conclude."""
    from bidding.models import Bid

    tender = world.in_state(S.EVALUATING)
    world.committee_scores(tender, {b.pk: 80 for b in Bid.objects.filter(tender=tender, status="opened")})
    return tender.pk, f"/api/tenders/{tender.pk}/evaluation/conclude/"


def _direct(world):
    """A direct selection under evaluation, waiting for the purchaser's pick."""
    from bidding.models import Bid

    tender = world.in_state(
        S.EVALUATING, method="direct", budget="200000.00", bond_amount="0", direct_reason="应急抢险，时间紧迫"
    )
    bid = Bid.objects.filter(tender=tender, status="opened").first()
    world.direct_pick_payload = {"bid": bid.pk, "reason": "该机构熟悉现场"}
    return tender.pk, f"/api/tenders/{tender.pk}/evaluation/pick/"


# action -> (set-up giving (tender id, url), method, payload, success status)
ENDPOINTS = {
    Action.TENDER_CREATE: (lambda w: (None, "/api/tenders/"), "post", _create_payload, 201),
    Action.TENDER_EDIT: (
        lambda w: (t := w.in_state(S.DRAFT)).pk and (t.pk, f"/api/tenders/{t.pk}/"),
        "patch",
        lambda: {"title": "新标题"},
        200,
    ),
    Action.TENDER_SUBMIT: (S.DRAFT, "submit", dict, 200),
    Action.TENDER_APPROVE: (S.PENDING_REVIEW, "approve", dict, 200),
    Action.TENDER_RETURN: (S.PENDING_REVIEW, "return", lambda: {"reason": "材料不全"}, 200),
    Action.TENDER_AMEND: (S.PUBLISHED, "amend", lambda: {"title": "澄清", "body": "内容"}, 200),
    Action.TENDER_CANCEL: (S.PUBLISHED, "cancel", lambda: {"reason": "终止"}, 200),
    Action.TENDER_SUSPEND: (S.PUBLISHED, "suspend", lambda: {"reason": "投诉"}, 200),
    Action.TENDER_RESUME: (S.SUSPENDED, "resume", lambda: {"ruling": "恢复"}, 200),
    Action.TENDER_RECORD_RESULT: (lambda w: _scored(w), "post", None, 200),
    Action.TENDER_DIRECT_PICK: (lambda w: _direct(w), "post", None, 200),
    Action.TENDER_RECORD_CONTRACT: (S.AWARDED, "record-contract", lambda: {"contract_reference": "HT-1"}, 200),
    Action.TENDER_COMPLETE: (S.CONTRACTED, "complete", dict, 200),
    Action.TENDER_VIEW_UNPUBLISHED: (lambda w: _foreign_pending(), "get", None, 200),
    Action.OBJECTION_RAISE: (S.PUBLISHED, "objections", lambda: {"kind": "documents", "text": "资格条件不合理"}, 201),
    Action.OBJECTION_ANSWER: (
        lambda w: (lambda t, o: (t.pk, f"/api/objections/{o.pk}/answer/"))(*_objection(w)),
        "post",
        lambda: {"answer": "已答复", "upheld": False},
        200,
    ),
    Action.AUDIT_READ: (lambda w: (None, "/api/audit/"), "get", None, 200),
}


# The tender, objection and audit actions are checked here; tests/agencies/test_api.py checks the rest
# and that the two tables together cover the whole matrix.
MARKET_ACTIONS = {a for a in MATRIX if a.value.split(".")[0] in {"tender", "objection", "audit"}}


def test_every_action_has_an_expectation_and_an_endpoint():
    assert set(EXPECTED) == MARKET_ACTIONS == set(ENDPOINTS)


def test_the_matrix_is_the_expected_table():
    assert {a: {r.value for r in MATRIX[a]} for a in MARKET_ACTIONS} == EXPECTED


@pytest.mark.parametrize("role", ROLES, ids=[r or "anonymous" for r in ROLES])
@pytest.mark.parametrize("action", list(EXPECTED), ids=[a.value for a in EXPECTED])
def test_permission_matrix_through_the_api(world, action, role):
    setup, verb, payload, ok_status = ENDPOINTS[action]
    if isinstance(setup, str):  # a tender state and an action path
        tender = world.in_state(setup)
        tender_id, url, method = tender.pk, f"/api/tenders/{tender.pk}/{verb}/", "post"
    else:
        tender_id, url = setup(world)
        method = verb
    if action == Action.TENDER_DIRECT_PICK:
        payload = lambda: world.direct_pick_payload  # noqa: E731
    if action == Action.OBJECTION_RAISE:  # signed with the agency's key, whoever sends it
        payload = lambda: objection_fields(world.agency, tender, "documents", "资格条件不合理")  # noqa: E731
    client = client_for(world.by_role(role)) if role else APIClient()
    body = payload() if payload else None  # made first: signing an objection certifies the agency's key
    before = world_state(tender_id)
    response = getattr(client, method)(url, body, format="json")
    if role in EXPECTED[action]:
        assert response.status_code == ok_status, response.json()
        return
    if action == Action.TENDER_VIEW_UNPUBLISHED:
        # An unpublished tender simply does not exist for those who may not see it.
        assert response.status_code == 404 and response.json()["code"] == "not_found"
        return
    body = response.json()
    if role is None:
        assert (response.status_code, body["code"]) == (401, "not_authenticated")
    else:
        assert (response.status_code, body["code"]) == (403, "forbidden")
    assert body["detail"] and body["detail_zh"]
    assert world_state(tender_id) == before


def test_purchaser_sees_own_draft_but_not_anothers(world):
    from tests.factories import user

    mine = world.in_state(S.DRAFT)
    other = client_for(user("purchaser"))
    assert client_for(world.purchaser).get(f"/api/tenders/{mine.pk}/").status_code == 200
    assert other.get(f"/api/tenders/{mine.pk}/").status_code == 404
    assert mine.pk not in [t["id"] for t in other.get("/api/tenders/").json()["results"]]


def test_public_lists_only_published_tenders(world, api):
    published = world.in_state(S.PUBLISHED)
    draft = world.in_state(S.DRAFT)
    ids = [t["id"] for t in api.get("/api/tenders/").json()["results"]]
    assert published.pk in ids and draft.pk not in ids
    assert api.get(f"/api/tenders/{draft.pk}/").status_code == 404
    detail = api.get(f"/api/tenders/{published.pk}/").json()
    assert detail["status"] == "published" and detail["accepting_bids"] is True


def test_accepting_bids_follows_the_clock_not_the_stored_state(world, api):
    tender = world.in_state(S.PUBLISHED)
    clock.freeze(tender.bid_deadline)
    detail = api.get(f"/api/tenders/{tender.pk}/").json()
    assert detail["accepting_bids"] is False


def test_filters_on_the_public_list(world, api):
    a = world.in_state(S.PUBLISHED, method="lowest_price", bid_deadline=clock.now() + timedelta(days=30))
    b = world.in_state(S.PUBLISHED, category="surveying")
    rows = api.get("/api/tenders/", {"method": "lowest_price"}).json()["results"]
    assert [r["id"] for r in rows] == [a.pk]
    rows = api.get("/api/tenders/", {"category": "surveying"}).json()["results"]
    assert [r["id"] for r in rows] == [b.pk]


def test_notices_are_public(world, api):
    tender = world.in_state(S.PUBLISHED)
    rows = api.get(f"/api/tenders/{tender.pk}/notices/").json()["results"]
    assert [r["kind"] for r in rows] == ["tender"]
    assert tender.reference in rows[0]["body"]
    assert api.get("/api/notices/", {"kind": "tender"}).json()["results"][0]["id"] == rows[0]["id"]


def test_validation_error_shape_and_nothing_created(world):
    before = world_state()
    response = client_for(world.purchaser).post("/api/tenders/", {"title": "", "budget": "abc"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "budget" in body["fields"] and body["detail_zh"]
    assert world_state() == before


def test_bad_region_is_refused_with_the_field(world):
    before = world_state()
    response = client_for(world.purchaser).post(
        "/api/tenders/", {**_create_payload(), "region": "990000"}, format="json"
    )
    assert response.status_code == 400
    assert "region" in response.json()["fields"]
    assert world_state() == before


def test_state_refusal_is_409_with_code(world):
    tender = world.in_state(S.PUBLISHED)
    before = world_state(tender.pk)
    response = client_for(world.purchaser).post(f"/api/tenders/{tender.pk}/submit/", {}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state")
    assert world_state(tender.pk) == before


def test_create_edit_submit_through_the_api(world):
    client = client_for(world.purchaser)
    created = client.post("/api/tenders/", _create_payload(), format="json").json()
    assert created["status"] == "draft" and created["reference"].startswith("ZB2026")
    assert created["min_bids"] == 3 and created["profile"] == "national"
    edited = client.patch(f"/api/tenders/{created['id']}/", {"budget": "600000.00"}, format="json").json()
    assert edited["budget"] == "600000.00"
    submitted = client.post(f"/api/tenders/{created['id']}/submit/", {}, format="json").json()
    assert submitted["status"] == "pending_review"


def test_token_authentication(world, api):
    world.purchaser.set_password("a-long-password-1")
    world.purchaser.save()
    token = api.post(
        "/api/auth/token/", {"username": world.purchaser.username, "password": "a-long-password-1"}, format="json"
    ).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = api.get("/api/me/").json()
    assert me["role"] == "purchaser" and "tender.create" in me["actions"]
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token nonsense")
    assert bad.get("/api/me/").status_code == 401


def test_session_login_page_and_csrf(world):
    world.purchaser.set_password("a-long-password-1")
    world.purchaser.save()
    browser = Client(enforce_csrf_checks=True)
    assert browser.get("/accounts/login/").status_code == 200
    refused = browser.post("/accounts/login/", {"username": world.purchaser.username, "password": "a-long-password-1"})
    assert refused.status_code == 403  # no CSRF token
    page = browser.get("/accounts/login/")
    token = page.cookies["csrftoken"].value
    ok = browser.post(
        "/accounts/login/",
        {"username": world.purchaser.username, "password": "a-long-password-1", "csrfmiddlewaretoken": token},
    )
    assert ok.status_code == 302
    assert browser.get("/").status_code == 200


def test_schema_and_docs_are_served(api):
    schema = api.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/tenders/" in schema.content
    assert api.get("/api/docs/").status_code == 200


def test_home_page_lists_published_tenders(world, api):
    tender = world.in_state(S.PUBLISHED)
    page = Client().get("/")
    assert tender.title in page.content.decode()


# --- attachments -------------------------------------------------------------------------------------------


def _files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_attachment_is_stored_content_addressed(world):
    tender = world.in_state(S.DRAFT)
    response = client_for(world.purchaser).post(
        f"/api/tenders/{tender.pk}/attachments/", {"file": io.BytesIO(b"%PDF-1.7 tender documents")}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    (stored,) = _files()
    assert stored.name == body["sha256"] and stored.read_bytes() == b"%PDF-1.7 tender documents"
    download = APIClient().get(f"/api/tenders/{tender.pk}/attachments/{body['id']}/")
    assert download.status_code == 404  # the draft is not public yet
    mine = client_for(world.purchaser).get(f"/api/tenders/{tender.pk}/attachments/{body['id']}/")
    assert b"".join(mine.streaming_content) == b"%PDF-1.7 tender documents"


def test_too_large_attachment_leaves_no_row_and_no_file(world, settings):
    settings.AGORA_ATTACHMENT_MAX_BYTES = 1000
    tender = world.in_state(S.DRAFT)
    before = world_state(tender.pk)
    upload = io.BytesIO(b"x" * 1001)
    upload.name = "big.pdf"
    response = client_for(world.purchaser).post(
        f"/api/tenders/{tender.pk}/attachments/", {"file": upload}, format="multipart"
    )
    assert (response.status_code, response.json()["code"]) == (413, "too_large")
    assert TenderAttachment.objects.count() == 0 and _files() == []
    assert world_state(tender.pk) == before


def test_attachment_to_a_published_tender_is_refused_and_leaves_nothing(world):
    tender = world.in_state(S.PUBLISHED)
    before = world_state(tender.pk)
    upload = io.BytesIO(b"late addition")
    upload.name = "late.pdf"
    response = client_for(world.purchaser).post(
        f"/api/tenders/{tender.pk}/attachments/", {"file": upload}, format="multipart"
    )
    assert (response.status_code, response.json()["code"]) == (409, "not_a_draft")
    assert TenderAttachment.objects.count() == 0 and _files() == []
    assert world_state(tender.pk) == before
