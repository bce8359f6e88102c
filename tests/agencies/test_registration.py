"""Registration, profile and qualifications through the API, and the bad input that changes nothing."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import User
from agencies.models import Agency, Qualification
from core import clock
from core.models import AuditEntry
from tests.accounts.test_uscc import VALID
from tests.agencies.helpers import agencies_state
from tests.conftest import client_for
from tests.factories import applied_agency, qualification_data

LOCAL = ZoneInfo("Asia/Shanghai")


def _registration(**overrides):
    data = {
        "username": "jzzj",
        "password": "a-long-enough-Passw0rd",
        "name": "江州正衡工程造价咨询有限公司",
        "uscc": VALID[0],
        "region": "360402",
        "legal_representative": "李正衡",
        "service_categories": ["cost_consulting", "engineering_consulting"],
        "contact_name": "王敏",
        "contact_phone": "0792-8123456",
    }
    data.update(overrides)
    return data


def test_an_agency_registers_and_waits_for_review(db):
    response = APIClient().post("/api/agencies/register/", _registration(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["uscc"], body["name"]) == ("applied", VALID[0], "江州正衡工程造价咨询有限公司")
    assert body["service_categories"] == ["cost_consulting", "engineering_consulting"]
    member = User.objects.get(username="jzzj")
    assert member.role == "agency" and member.check_password("a-long-enough-Passw0rd")
    assert [d["to_status"] for d in body["decisions"]] == ["applied"]
    me = client_for(member).get("/api/agencies/me/").json()
    assert me["status"] == "applied" and me["legal_representative"] == "李正衡"
    assert AuditEntry.objects.filter(action="agency.register").count() == 1


def _corruptions(code: str):
    """Every single-character change of a valid code to another alphabet character, a sample of each position."""
    from accounts.uscc import ALPHABET

    for i in range(18):
        replacement = next(c for c in ALPHABET if c != code[i])
        yield code[:i] + replacement + code[i + 1 :]


@pytest.mark.parametrize(
    "uscc", [*_corruptions(VALID[1]), "91350100M000100Y4", "91350100M000100Y43X", "9135O100M000100Y43"]
)
def test_an_invalid_uscc_is_refused_and_nothing_is_created(db, uscc):
    before = agencies_state()
    response = APIClient().post("/api/agencies/register/", _registration(uscc=uscc), format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_uscc" and "uscc" in body["fields"] and body["detail_zh"]
    assert agencies_state() == before


@pytest.mark.parametrize(
    ("overrides", "code", "status"),
    [
        ({"password": "short"}, "weak_password", 400),
        ({"service_categories": []}, "invalid", 400),
        ({"service_categories": ["astrology"]}, "invalid", 400),
        ({"region": "999999"}, "invalid", 400),
        ({"legal_representative": " "}, "invalid", 400),
    ],
)
def test_bad_registration_is_refused_and_nothing_is_created(db, overrides, code, status):
    before = agencies_state()
    response = APIClient().post("/api/agencies/register/", _registration(**overrides), format="json")
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert agencies_state() == before


def test_a_registered_code_or_username_cannot_register_again(db):
    assert APIClient().post("/api/agencies/register/", _registration(), format="json").status_code == 201
    before = agencies_state()
    again = APIClient().post("/api/agencies/register/", _registration(username="other"), format="json")
    assert (again.status_code, again.json()["code"]) == (409, "uscc_registered")
    taken = APIClient().post("/api/agencies/register/", _registration(uscc=VALID[1], name="另一家公司"), format="json")
    assert (taken.status_code, taken.json()["code"]) == (409, "username_taken")
    assert agencies_state() == before


def test_the_agency_edits_its_profile_but_not_its_registry_facts(db):
    member = applied_agency()
    client = client_for(member)
    ok = client.patch(
        "/api/agencies/me/", {"contact_phone": "0792-1111111", "service_categories": ["audit"]}, format="json"
    )
    assert ok.status_code == 200
    assert ok.json()["contact_phone"] == "0792-1111111" and ok.json()["service_categories"] == ["audit"]
    assert AuditEntry.objects.filter(action="agency.update_profile").count() == 1
    before = agencies_state()
    bad = client.patch("/api/agencies/me/", {"service_categories": ["nonsense"]}, format="json")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid")
    # Unknown fields (uscc, name) are not part of the profile input: they are ignored, never applied.
    client.patch("/api/agencies/me/", {"uscc": VALID[2]}, format="json")
    assert Agency.objects.get(organisation=member.organisation).organisation.uscc == member.organisation.uscc
    assert agencies_state()["agencies"] == before["agencies"]


def _qualification_form(**overrides):
    data = qualification_data(**overrides)
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items() if v is not None}


def test_a_qualification_with_its_scan_is_stored_content_addressed(db):
    member = applied_agency()
    scan = b"%PDF-1.4 qualification scan"
    form = _qualification_form() | {"file": io.BytesIO(scan)}
    form["file"].name = "资质证书.pdf"
    response = client_for(member).post("/api/agencies/me/qualifications/", form, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    q = Qualification.objects.get(pk=body["id"])
    assert body["counts_now"] is True and body["file_name"] == "资质证书.pdf"
    stored = Path(settings.MEDIA_ROOT) / "qualifications" / q.file_sha256[:2] / q.file_sha256
    assert stored.read_bytes() == scan


def test_an_expired_qualification_is_refused_and_nothing_changes(db):
    member = applied_agency()
    before = agencies_state()
    yesterday = (clock.now().astimezone(LOCAL) - timedelta(days=1)).date()
    response = client_for(member).post(
        "/api/agencies/me/qualifications/", _qualification_form(valid_until=yesterday), format="json"
    )
    body = response.json()
    assert (response.status_code, body["code"]) == (400, "qualification_expired")
    assert "valid_until" in body["fields"] and body["detail_zh"]
    assert agencies_state() == before


def test_an_oversized_scan_is_refused_and_leaves_no_file(db, settings):
    settings.AGORA_QUALIFICATION_MAX_BYTES = 1024
    member = applied_agency()
    before = agencies_state()
    form = _qualification_form() | {"file": io.BytesIO(b"x" * 2048)}
    form["file"].name = "big.pdf"
    response = client_for(member).post("/api/agencies/me/qualifications/", form, format="multipart")
    assert (response.status_code, response.json()["code"]) == (413, "too_large")
    assert agencies_state() == before
    media = Path(settings.MEDIA_ROOT)
    assert not list(media.rglob("*")) or all(p.is_dir() for p in media.rglob("*"))


def test_a_qualification_stops_counting_at_midnight_after_its_last_day_by_itself(db):
    member = applied_agency()
    last_day = date(2026, 6, 30)
    q = Qualification.objects.create(
        agency=member.organisation.agency,
        category="audit",
        kind="审计资质",
        number="SJ-1",
        issuer="江西省财政厅",
        valid_until=last_day,
        added_at=clock.now(),
    )
    midnight = datetime.combine(last_day + timedelta(days=1), time(), LOCAL)
    assert q.counts_at(midnight - timedelta(milliseconds=1))
    assert not q.counts_at(midnight)
    clock.freeze(midnight)
    listed = client_for(member).get("/api/agencies/me/qualifications/").json()
    assert {row["number"]: row["counts_now"] for row in listed}["SJ-1"] is False


def test_a_withdrawn_qualification_stays_on_record_but_stops_counting(db):
    member = applied_agency()
    q = member.organisation.agency.qualifications.get()
    client = client_for(member)
    response = client.post(f"/api/agencies/me/qualifications/{q.pk}/withdraw/")
    assert response.status_code == 200 and response.json()["counts_now"] is False
    assert Qualification.objects.filter(pk=q.pk).exists()
    again = client.post(f"/api/agencies/me/qualifications/{q.pk}/withdraw/")
    assert (again.status_code, again.json()["code"]) == (409, "already_withdrawn")


def test_an_agency_cannot_touch_another_agencys_qualification(db):
    owner, other = applied_agency(), applied_agency()
    q = owner.organisation.agency.qualifications.get()
    before = agencies_state()
    response = client_for(other).post(f"/api/agencies/me/qualifications/{q.pk}/withdraw/")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert agencies_state() == before
