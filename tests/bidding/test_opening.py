"""The opening ceremony: holders submit shares after the deadline, the key is rebuilt in memory,
every bid is decrypted and checked, and the signed opening record is published and verifiable."""

from __future__ import annotations

import base64
import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from agencies.ca import platform_ca
from agencies.services import credit, lists
from bidding import crypto, protocol
from bidding.models import Bid, KeyShare, OpeningRecord
from core import clock
from core.models import AuditEntry
from market.choices import TenderStatus
from market.models import Notice
from procurement.services.timeline import run_due_steps
from tests.bidding.test_submission import post
from tests.conftest import client_for
from tests.dba import append_only_triggers_off
from tests.factories import HOLDER_KEYS, admitted_agency, bid_envelope, objection_fields, signing_key


def submit_bid(member, tender, price="98000.00", *, sign_with=None, seal_as=None):
    """The agency's client end to end (tests.factories.bid_envelope), uploaded through the API."""
    envelope, cert, signature = bid_envelope(member, tender, price, sign_with=sign_with, seal_as=seal_as)
    response = post(member, tender, envelope, cert, signature)
    assert response.status_code == 201, response.json()
    return Bid.objects.get(pk=response.json()["id"])


def holder_submits(tender, holder):
    """A key holder's client: fetch the wrapped share, decrypt it locally, submit it."""
    client = client_for(holder)
    mine = client.get(f"/api/tenders/{tender.pk}/opening/share/").json()
    share = crypto.unwrap_share(
        wrapped=base64.b64decode(mine["wrapped"]),
        holder_private_key=HOLDER_KEYS[holder.username],
        associated=mine["context"],
    )
    return client.post(
        f"/api/tenders/{tender.pk}/opening/share/", {"share": base64.b64encode(share).decode()}, format="json"
    )


@pytest.fixture
def tender(world):
    return world.in_state(TenderStatus.PUBLISHED)


def enough_bids(world, tender):
    """The tender opens only with its minimum number of bids (three for an open tender)."""
    return [submit_bid(world.agency, tender)] + [
        submit_bid(admitted_agency(world.operator), tender) for _ in range(tender.min_bids - 1)
    ]


def at_deadline(tender):
    clock.freeze(tender.bid_deadline)
    run_due_steps()
    tender.refresh_from_db()
    assert tender.status == TenderStatus.OPENING


def test_the_whole_ceremony(world, tender):
    agencies = [world.agency] + [admitted_agency(world.operator) for _ in range(2)]
    bids = [submit_bid(a, tender, p) for a, p in zip(agencies, ["98000.00", "91000.50", "99500"], strict=True)]
    at_deadline(tender)
    first = holder_submits(tender, world.purchaser)
    assert first.status_code == 200 and first.json() == {
        "tender": tender.reference,
        "shares_submitted": 1,
        "threshold": 2,
        "opened": False,
    }
    assert not OpeningRecord.objects.filter(tender=tender).exists()
    second = holder_submits(tender, world.supervisor)
    assert second.json()["opened"] is True
    for bid, price in zip(bids, ["98000.00", "91000.50", "99500.00"], strict=True):
        bid.refresh_from_db()
        assert (bid.status, bid.price, bid.signature_status) == ("opened", Decimal(price), "valid")
    published = client_for(world.agency).get(f"/api/tenders/{tender.pk}/opening/record/").json()
    record = published["record"]
    assert [row["uscc"] for row in record["bids"]] == [a.organisation.uscc for a in agencies]
    assert [row["price"] for row in record["bids"]] == ["98000.00", "91000.50", "99500.00"]
    assert all(row["result"] == "opened" and row["signature"] == "valid" for row in record["bids"])
    # Anyone verifies it with the published CA certificate alone.
    digest = protocol.opening_record_verify(record, published["signature"], platform_ca().certificate)
    assert digest == published["digest"]
    tampered = {**record, "bids": [{**record["bids"][0], "price": "1.00"}, *record["bids"][1:]]}
    with pytest.raises(crypto.CryptoError):
        protocol.opening_record_verify(tampered, published["signature"], platform_ca().certificate)
    notice = Notice.objects.get(tender=tender, kind="opening_record")
    assert notice.data["digest"] == digest and "91000.50" in notice.body
    assert AuditEntry.objects.filter(action="tender.opening_record", after__digest=digest).count() == 1
    # The key did its work; the submitted shares are gone from the database.
    assert all(bytes(s.submitted_share) == b"" for s in KeyShare.objects.filter(opening_key__tender=tender))
    late = holder_submits(tender, world.operator)
    assert (late.status_code, late.json()["code"]) == (409, "already_opened")


def test_opening_verify_command(world, tender, tmp_path):
    enough_bids(world, tender)
    at_deadline(tender)
    holder_submits(tender, world.purchaser)
    holder_submits(tender, world.operator)
    out = io.StringIO()
    ca = tmp_path / "ca.pem"
    ca.write_bytes(client_for(world.agency).get("/api/public/ca/").content)
    call_command("opening_verify", tender.reference, "--ca", str(ca), stdout=out)
    assert "opening record verified" in out.getvalue() and "3 bids, 3 valid" in out.getvalue()
    # A record changed in the database (by someone who can switch its triggers off) no longer verifies.
    notice = Notice.objects.get(tender=tender, kind="opening_record")
    data = {**notice.data, "record": {**notice.data["record"], "title": "改过的标题"}}
    append_only_triggers_off(Notice)
    Notice.objects.filter(pk=notice.pk).update(data=data)
    with pytest.raises(CommandError, match="does NOT verify"):
        call_command("opening_verify", tender.reference, stdout=io.StringIO())


def test_shares_only_after_the_deadline_only_from_holders_only_once(world, tender):
    enough_bids(world, tender)
    early = holder_submits_raw(tender, world.purchaser, b"x")
    assert (early.status_code, early.json()["code"]) == (409, "opening_not_started")
    at_deadline(tender)
    stranger = client_for(world.agency).get(f"/api/tenders/{tender.pk}/opening/share/")
    assert (stranger.status_code, stranger.json()["code"]) == (403, "forbidden")
    from tests.factories import holder_key, user

    outsider = user("purchaser")
    holder_key(outsider)
    not_holder = holder_submits_raw(tender, outsider, b"x")
    assert (not_holder.status_code, not_holder.json()["code"]) == (403, "not_a_key_holder")
    assert holder_submits(tender, world.purchaser).status_code == 200
    again = holder_submits(tender, world.purchaser)
    assert (again.status_code, again.json()["code"]) == (409, "share_already_submitted")
    assert not OpeningRecord.objects.filter(tender=tender).exists()


def holder_submits_raw(tender, holder, raw: bytes):
    return client_for(holder).post(
        f"/api/tenders/{tender.pk}/opening/share/", {"share": base64.b64encode(raw).decode()}, format="json"
    )


def test_a_share_from_another_holder_is_refused_and_changes_nothing(world, tender):
    enough_bids(world, tender)
    at_deadline(tender)
    theirs = client_for(world.supervisor).get(f"/api/tenders/{tender.pk}/opening/share/").json()
    share = crypto.unwrap_share(
        wrapped=base64.b64decode(theirs["wrapped"]),
        holder_private_key=HOLDER_KEYS[world.supervisor.username],
        associated=theirs["context"],
    )
    response = holder_submits_raw(tender, world.purchaser, share)
    assert (response.status_code, response.json()["code"]) == (400, "shares_invalid")
    assert not KeyShare.objects.filter(opening_key__tender=tender, submitted_at__isnull=False).exists()


def test_bad_bids_are_rejected_with_their_reason(world, tender):
    good = submit_bid(world.agency, tender)
    forged = submit_bid(
        admitted_agency(world.operator), tender, sign_with=signing_key(admitted_agency(world.operator))[0]
    )
    misbound = submit_bid(admitted_agency(world.operator), tender, seal_as="91350100M000100Y43")
    barred_member = admitted_agency(world.operator)
    barred = submit_bid(barred_member, tender)
    altered = submit_bid(admitted_agency(world.operator), tender)
    # Black-listed after submitting, in force at the deadline.
    event = credit.credit_event_record(
        actor=world.supervisor, agency_id=barred_member.organisation.agency.pk, kind="bribery", reason="行贿"
    )
    lists.list_entry_decide(
        actor=world.supervisor,
        entry_id=event.list_entries.get().pk,
        document_number="江公管信〔2026〕11号",
        ends_at=clock.now() + timedelta(days=400),
    )
    # Someone with access to the storage changes a stored bid file.
    path = Path(settings.MEDIA_ROOT) / "bids" / altered.ciphertext_digest[:2] / altered.ciphertext_digest
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    at_deadline(tender)
    holder_submits(tender, world.purchaser)
    holder_submits(tender, world.supervisor)
    rows = {row["bid"]: row for row in OpeningRecord.objects.get(tender=tender).record["bids"]}
    assert rows[good.pk]["result"] == "opened"
    assert (rows[forged.pk]["result"], rows[forged.pk]["signature"]) == ("rejected", "invalid")
    assert "解密" in rows[misbound.pk]["reason"] and rows[misbound.pk]["result"] == "rejected"
    assert "黑名单" in rows[barred.pk]["reason"]
    assert "摘要不符" in rows[altered.pk]["reason"]
    statuses = dict(Bid.objects.filter(tender=tender).values_list("pk", "status"))
    assert statuses[good.pk] == "opened" and statuses[forged.pk] == statuses[barred.pk] == "rejected"


def test_one_share_opens_nothing(world, tender):
    enough_bids(world, tender)
    at_deadline(tender)
    holder_submits(tender, world.purchaser)
    assert not OpeningRecord.objects.filter(tender=tender).exists()
    assert set(Bid.objects.filter(tender=tender).values_list("status", flat=True)) == {"submitted"}


def test_objections_at_the_opening_are_recorded_with_their_answers(world, tender):
    enough_bids(world, tender)
    client = client_for(world.agency)
    early = client.post(
        f"/api/tenders/{tender.pk}/objections/",
        objection_fields(world.agency, tender, "opening", "开标时间有误"),
        format="json",
    )
    assert (early.status_code, early.json()["code"]) == (409, "invalid_state")
    at_deadline(tender)
    raised = client.post(
        f"/api/tenders/{tender.pk}/objections/",
        objection_fields(world.agency, tender, "opening", "第二份投标文件递交时间有疑问"),
        format="json",
    )
    assert raised.status_code == 201, raised.json()
    tender.refresh_from_db()
    assert tender.status == TenderStatus.OPENING  # answered on the spot: the opening goes on
    outsider = admitted_agency(world.operator)
    refused = client_for(outsider).post(
        f"/api/tenders/{tender.pk}/objections/", objection_fields(outsider, tender, "opening", "异议"), format="json"
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "not_a_bidder")
    answer = client_for(world.purchaser).post(
        f"/api/objections/{raised.json()['id']}/answer/",
        {"answer": "经核对回执，递交时间早于截止时间，异议不成立。", "upheld": False},
        format="json",
    )
    assert answer.status_code == 200 and answer.json()["status"] == "answered"
    tender.refresh_from_db()
    assert tender.status == TenderStatus.OPENING
    assert AuditEntry.objects.filter(action__in=["objection.raise", "objection.answer"]).count() == 2


def test_the_offline_check_needs_only_the_two_downloads(world, tender, tmp_path):
    """bidding/offline_verify.py runs as a plain script, outside the project, on the two public downloads."""
    import json
    import shutil
    import subprocess
    import sys

    enough_bids(world, tender)
    at_deadline(tender)
    holder_submits(tender, world.purchaser)
    holder_submits(tender, world.operator)
    anonymous = APIClient()
    (tmp_path / "record.json").write_bytes(anonymous.get(f"/api/tenders/{tender.pk}/opening/record/").content)
    (tmp_path / "ca.pem").write_bytes(anonymous.get("/api/public/ca/").content)
    script = shutil.copy(Path(settings.BASE_DIR) / "bidding" / "offline_verify.py", tmp_path / "check.py")

    def run():
        # -I: isolated, so nothing of this project is importable; only the standard library and cryptography.
        return subprocess.run(
            [sys.executable, "-I", script, "record.json", "ca.pem"], cwd=tmp_path, capture_output=True, text=True
        )

    ok = run()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith(f"VERIFIED {tender.reference}")
    published = json.loads((tmp_path / "record.json").read_text())
    published["record"]["bids"][0]["price"] = "1.00"
    (tmp_path / "record.json").write_text(json.dumps(published, ensure_ascii=False))
    changed = run()
    assert changed.returncode == 1 and "NOT VERIFIED" in changed.stdout
