"""The deadline rush as it happens (speed issue, point 3): 200 agencies' clients upload at once over HTTP to the
production server (gunicorn, sync workers) on PostgreSQL, against the real clock, around a real deadline.

- 130 upload in the last seconds before it;
- 20 of them retry at the same moment with the same idempotency key (a client that timed out);
- 20 upload, withdraw (signed) and upload a new envelope;
- 20 fire a few milliseconds after the deadline;
- 10 fire within a few milliseconds of it, on either side.

Afterwards every accepted bid is stored exactly once, with its file, received before the deadline, and its signed
receipt verifies; every upload that arrived late is refused with ``deadline_passed`` and left nothing; the audit
chain is intact; and at the opening every standing bid decrypts and its signature verifies. Whatever makes the rush
faster must keep this test passing. Bounded: about a minute; every wait has a timeout.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from django.conf import settings
from django.db import connection
from django.utils import timezone

from bidding import protocol
from bidding.client import steps
from bidding.client.api import Api, ApiError, ClientError, Upload
from bidding.models import Bid
from core import clock, storage
from core.audit import audit_verify
from market.choices import TenderStatus
from market.models import Tender
from procurement.services.timeline import run_due_steps
from tests.deploy.probe import gunicorn, production_env
from tests.deploy.test_serve_prod import _free_port
from tests.factories import SIGNING_CERTS, World, admitted_agency, api_token, bid_envelope

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a test on PostgreSQL (CI's second run): SQLite serializes every writer, which this is not about",
    ),
]

ON_TIME, RETRYING, RESUBMITTING, LATE, AT_THE_WIRE = 130, 20, 20, 20, 10
AGENCIES = ON_TIME + RESUBMITTING + LATE + AT_THE_WIRE  # the retrying ones are among the on-time ones
LEAD = 9.0  # seconds from the end of the setup to the deadline


@dataclass
class Submitter:
    kind: str
    member: Any
    token: str
    fire_at: float  # offset from the deadline, in seconds
    envelopes: list[tuple[bytes, str]] = field(default_factory=list)  # (envelope, submission signature)
    answers: list[tuple[str, Any, float]] = field(default_factory=list)  # (what, answer or error, when sent)


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def test_two_hundred_agencies_at_the_deadline_over_http(tmp_path):
    world = World()
    tender = world.in_state(TenderStatus.PUBLISHED)
    kinds = (
        ["retrying"] * RETRYING
        + ["on_time"] * (ON_TIME - RETRYING)
        + ["resubmitting"] * RESUBMITTING
        + ["late"] * LATE
        + ["at_the_wire"] * AT_THE_WIRE
    )
    submitters = []
    for n, kind in enumerate(kinds):
        member = admitted_agency(world.operator)
        fire_at = {
            "late": 0.001 + 0.0015 * (n % LATE),  # 1 to 30 ms after
            "at_the_wire": -0.005 + 0.001 * (n % AT_THE_WIRE),  # from 5 ms before to 4 ms after
            "resubmitting": -LEAD + 1.5 + 0.05 * (n % RESUBMITTING),  # early: three requests to make
        }.get(kind, -5.0 + 0.025 * (n % 120))  # spread over the last 5 to 2 seconds
        submitters.append(Submitter(kind, member, api_token(member), fire_at))
    for s in submitters:
        envelope, _cert, signature = bid_envelope(s.member, tender, f"{90000 + len(s.envelopes)}.00")
        s.envelopes.append((envelope, signature))
        if s.kind == "resubmitting":
            envelope, _cert, signature = bid_envelope(s.member, tender, "88000.00")
            s.envelopes.append((envelope, signature))

    # From here on the real clock, which the server in the other process reads too (the setup ran at the tests'
    # frozen T0): the deadline is LEAD seconds from now.
    clock.reset()
    deadline = timezone.now() + timedelta(seconds=LEAD)
    Tender.objects.filter(pk=tender.pk).update(bid_deadline=deadline)
    port = _free_port()
    env = production_env(
        tmp_path,
        DATABASE_URL=_database_url(),
        PORT=str(port),
        GUNICORN_WORKERS="4",
        GUNICORN_ACCESS_LOG="/dev/null",
        AGORA_MEDIA_ROOT=str(settings.MEDIA_ROOT),
        AGORA_CA_KEY_FILE=str(settings.AGORA_CA_KEY_FILE),
        AGORA_CA_CERT_FILE=str(settings.AGORA_CA_CERT_FILE),
        # Plain HTTP on the loopback, as behind the proxy: the client talks to gunicorn directly.
        AGORA_SSL_REDIRECT="0",
    )
    bid_files = tmp_path / "bids"
    bid_files.mkdir()
    server = gunicorn(env, tmp_path / "gunicorn.log")
    try:
        ca = x509.load_pem_x509_certificate(Path(settings.AGORA_CA_CERT_FILE).read_bytes())
        deadline_mono = time.monotonic() + (deadline - timezone.now()).total_seconds()
        assert deadline_mono - time.monotonic() > 3, "the setup took too long: no time left before the deadline"
        threads = [
            threading.Thread(target=_act, args=(s, tender, port, deadline_mono, bid_files), daemon=True)
            for s in submitters
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=LEAD + 60)
        assert not any(t.is_alive() for t in threads), "a submitter did not finish"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)

    _check_the_rush(submitters, tender, deadline, ca)
    _check_the_opening(world, tender, submitters)


def _act(s: Submitter, tender: Tender, port: int, deadline_mono: float, bid_files: Path) -> None:
    """One agency's client: wait for its moment, then do what its kind does."""
    api = Api(f"http://127.0.0.1:{port}", s.token, timeout=30)
    paths = []
    for i, (envelope, _sig) in enumerate(s.envelopes):
        path = bid_files / f"{s.member.username}-{i}.sealed"
        path.write_bytes(envelope)
        paths.append(path)

    def submit(i: int, key: str) -> None:
        _envelope, signature = s.envelopes[i]
        fields = {"certificate": SIGNING_CERTS[s.member.username][1].serial, "signature": signature}
        fields["idempotency_key"] = key
        sent = time.monotonic() - deadline_mono
        try:
            status, answer = api.post_multipart(
                f"/api/tenders/{tender.pk}/bids/", fields, [Upload(field="file", path=str(paths[i]), filename="bid")]
            )
            s.answers.append((f"submit{i}:{status}", answer, sent))
        except (ApiError, ClientError) as exc:
            s.answers.append((f"submit{i}", exc, sent))

    time.sleep(max(0.0, deadline_mono + s.fire_at - time.monotonic()))
    if s.kind == "retrying":
        twin = threading.Thread(target=submit, args=(0, "rush"))
        twin.start()
        submit(0, "rush")
        twin.join(timeout=60)
    elif s.kind == "resubmitting":
        submit(0, "first")
        answer = s.answers[-1][1]
        bid_id = answer["id"]
        key, cert = SIGNING_CERTS[s.member.username]
        signature = steps.withdrawal_signature(
            tender=tender.reference,
            agency=s.member.organisation.uscc,
            bid=bid_id,
            digest=answer["receipt"]["digest"],
            certificate=cert.serial,
            private_key=key,
        )
        withdrawn = api.post_json(f"/api/bids/{bid_id}/withdraw/", {"certificate": cert.serial, "signature": signature})
        s.answers.append((f"withdraw:{withdrawn['status']}", withdrawn, time.monotonic() - deadline_mono))
        submit(1, "second")
    else:
        submit(0, "once")


def _accepted(s: Submitter) -> list[dict[str, Any]]:
    return [a for what, a, _ in s.answers if what.startswith("submit") and isinstance(a, dict)]


def _check_the_rush(submitters: list[Submitter], tender: Tender, deadline, ca) -> None:  # type: ignore[no-untyped-def]
    for s in submitters:
        errors = [(what, a) for what, a, _ in s.answers if isinstance(a, Exception)]
        refused = [a for _, a in errors if isinstance(a, ApiError) and a.code == "deadline_passed"]
        # The only refusal anyone meets is the deadline: no 5xx, no lost connection, no other error.
        assert len(refused) == len(errors), (s.kind, [(w, getattr(a, "code", a)) for w, a in errors])
        for answer in _accepted(s):
            receipt = answer["receipt"]
            protocol.receipt_verify(receipt, answer["receipt_signature"], ca)
            digest = receipt["digest"]
            assert digest in {hashlib.sha256(e).hexdigest() for e, _ in s.envelopes}
            assert receipt["agency"] == s.member.organisation.uscc and receipt["tender"] == tender.reference
        if s.kind == "late":
            assert not _accepted(s) and len(refused) == 1, (s.fire_at, s.answers)
        if s.kind in ("on_time", "retrying"):
            assert len(refused) == 0, (s.kind, s.fire_at, s.answers)
        if s.kind == "retrying":
            first, second = _accepted(s)
            assert first["id"] == second["id"] and first["receipt"] == second["receipt"]
            assert sorted(what for what, *_ in s.answers) == ["submit0:200", "submit0:201"]
        if s.kind == "resubmitting":
            assert [what for what, *_ in s.answers] == ["submit0:201", "withdraw:withdrawn", "submit1:201"]

        bids = list(Bid.objects.filter(tender=tender, agency=s.member.organisation).order_by("id"))
        assert [b.pk for b in bids] == sorted({a["id"] for a in _accepted(s)}), "each accepted bid stored once"
        for bid in bids:
            assert bid.received_at < deadline
            path = storage.stored_path("bids", bid.ciphertext_digest)
            assert hashlib.sha256(path.read_bytes()).hexdigest() == bid.ciphertext_digest
        expected = {"resubmitting": ["withdrawn", "submitted"]}.get(s.kind, ["submitted"] * len(bids))
        assert [b.status for b in bids] == expected, s.kind

    # Late ones were refused; at the wire both outcomes happen, each for its own reason.
    wire = [s for s in submitters if s.kind == "at_the_wire"]
    assert all(len(s.answers) == 1 for s in wire)
    standing = Bid.objects.filter(tender=tender, status="submitted").count()
    assert standing == ON_TIME + RESUBMITTING + sum(1 for s in wire if _accepted(s))
    assert len(list(Path(settings.MEDIA_ROOT, "bids").rglob("*"))) >= standing
    assert audit_verify().ok


def _check_the_opening(world: World, tender: Tender, submitters: list[Submitter]) -> None:
    run_due_steps()
    assert Tender.objects.get(pk=tender.pk).status == TenderStatus.OPENING
    world.open_bids(tender)
    bids = Bid.objects.filter(tender=tender)
    opened = bids.filter(status="opened")
    assert opened.count() == bids.exclude(status="withdrawn").count() > 0
    assert set(opened.values_list("signature_status", flat=True)) == {"valid"}
    assert audit_verify().ok
