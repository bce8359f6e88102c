"""``manage.py demo_load`` itself: runs again, keys, password, failures, the lots; each test loads afresh."""

from __future__ import annotations

import stat
from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError
from knox.models import AuthToken

from accounts.models import Organisation, User
from agencies import pki
from agencies.models import (
    Certificate,
    ServiceEvaluation,
)
from bidding import crypto, methods
from bidding.client import main as client_main
from bidding.models import Bid, BidStatus, EvaluationRecord, OpeningRecord
from core import clock
from core.models import AuditEntry
from demo.management.commands import demo_load
from market.choices import Method, TenderStatus
from market.models import Objection, Tender
from procurement.services.timeline import run_due_steps
from tests.demo.helpers import load, replay_commands, sealed_file, stored_bids

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def real_clock() -> None:
    """The command runs against the real clock, as it does on a demo server (conftest freezes it)."""
    clock.reset()


@pytest.fixture(autouse=True)
def key_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo keys go to the test's own directory, never into the repository's var/."""
    directory = tmp_path / "demo-keys"
    monkeypatch.setenv("AGORA_DEMO_KEY_DIR", str(directory))
    return directory


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """The sealed bids go to the test's own media root, never into the repository's var/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


def test_password_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_DEMO_PASSWORD", "another-demo-pass-42")
    output = load()
    assert "another-demo-pass-42" in output
    assert User.objects.get(username="operator").check_password("another-demo-pass-42")


def test_missing_ca_is_a_clear_error(settings, tmp_path: Path, key_dir: Path, media: Path) -> None:  # type: ignore[no-untyped-def]
    settings.AGORA_CA_KEY_FILE = tmp_path / "no-ca" / "ca-key.pem"
    settings.AGORA_CA_CERT_FILE = tmp_path / "no-ca" / "ca-cert.pem"
    with pytest.raises(CommandError, match=r"python manage\.py ca_init"):
        load()
    assert not Organisation.objects.exists() and not AuditEntry.objects.exists()
    assert not key_dir.exists() and not stored_bids(media)


def test_keys_from_an_earlier_run_are_reused(key_dir: Path) -> None:
    key_dir.mkdir()
    earlier: dict[str, pki.PrivateKey] = {
        "agency1": Ed25519PrivateKey.generate(),
        "purchaser1": ec.generate_private_key(ec.SECP256R1()),
    }
    for username, key in earlier.items():
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        (key_dir / f"{username}.key.pem").write_bytes(pem)
        (key_dir / f"{username}.key.pem").chmod(0o644)  # left readable by an older run: tightened
    load()
    for username, key in earlier.items():
        cert = Certificate.objects.get(organisation__users__username=username, revoked_at__isnull=True)
        assert cert.fingerprint == pki.public_key_fingerprint(key.public_key())
        assert stat.S_IMODE((key_dir / f"{username}.key.pem").stat().st_mode) == 0o600


def test_a_key_of_the_wrong_type_stops_the_load(key_dir: Path) -> None:
    key_dir.mkdir()
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (key_dir / "operator.key.pem").write_bytes(pem)  # an opening-key holder needs P-256
    with pytest.raises(CommandError, match=r"operator\.key\.pem"):
        load()
    assert not Organisation.objects.exists() and not Certificate.objects.exists()


def test_the_story_follows_whoever_the_lots_choose(monkeypatch: pytest.MonkeyPatch) -> None:
    """The optimal-price and lottery results are drawn by lot, differently on every load: the story
    reads each winner from its tender. Here agency12, which bid on all four, comes first in each."""

    def favour(evaluate: Callable[..., methods.Outcome]) -> Callable[..., methods.Outcome]:
        def favoured(bids: list[methods.ValidBid], **kwargs: Any) -> methods.Outcome:
            outcome = evaluate(bids, **kwargs)
            uscc = Organisation.objects.get(users__username="agency12").uscc
            first = [b.bid for b in bids if b.agency == uscc and b.bid in outcome.ranking]
            outcome.ranking = first + [pk for pk in outcome.ranking if pk not in first]
            return outcome

        return favoured

    monkeypatch.setattr(methods, "optimal_price", favour(methods.optimal_price))
    monkeypatch.setattr(methods, "lottery_draw", favour(methods.lottery_draw))
    load()
    agency12 = Organisation.objects.get(users__username="agency12")
    tenders = {key: Tender.objects.get(title=spec.title) for key, spec in demo_load.TENDERS.items()}
    for key, state in (("T03", "contracted"), ("T06", "awarded"), ("T24", "completed")):
        assert (tenders[key].winner, tenders[key].status) == (agency12, state), key
    assert ServiceEvaluation.objects.get(tender=tenders["T24"]).agency.organisation == agency12
    # agency12 usually objects to T06's draw; having won it, another bidder does.
    objection = Objection.objects.get(tender=tenders["T06"])
    assert objection.organisation != agency12 and objection.upheld is False
    # T08's first candidate is set aside after the runner-up's objection is upheld.
    assert tenders["T08"].status == TenderStatus.EVALUATING
    assert Objection.objects.get(tender=tenders["T08"]).organisation != agency12
    assert Bid.objects.get(tender=tenders["T08"], agency=agency12).status == BidStatus.REJECTED


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_printed_ceremony_opens_the_live_tender(live_server, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The demo users run the summary's commands, as printed, against the running site."""
    output = load()
    tender = Tender.objects.filter(status=TenderStatus.PUBLISHED).order_by("bid_deadline").first()
    assert tender is not None and tender.opening_ends_at is None
    monkeypatch.chdir(tmp_path)  # the token files go to the demo user's directory

    def run(argv: list[str]) -> int:
        argv = [live_server.url if arg == "http://127.0.0.1:8000" else arg for arg in argv]
        if "--server" not in argv:
            argv = [*argv, "--server", live_server.url]
        return client_main(argv)

    commands = replay_commands(output)
    shares = [argv for argv in commands if argv[0] == "share"]
    holders = {argv[argv.index("--token-file") + 1].removesuffix(".token") for argv in shares}
    logins = [argv for argv in commands if argv[0] == "login" and argv[argv.index("--username") + 1] in holders]
    assert len(logins) == len(shares) == 2
    for argv in logins:
        assert run(argv) == 0
    assert AuthToken.objects.count() == 2

    clock.freeze(tender.bid_deadline + timedelta(seconds=30))  # the deadline has passed
    try:
        run_due_steps()
        tender.refresh_from_db()
        assert tender.status == TenderStatus.OPENING
        for argv in shares:
            assert run(argv) == 0
        opening = OpeningRecord.objects.get(tender=tender)
        assert [row["result"] for row in opening.record["bids"]] == ["opened"] * Bid.objects.filter(
            tender=tender
        ).count()
        out = StringIO()
        call_command("opening_verify", str(tender.pk), stdout=out)
        assert "opening record verified" in out.getvalue()
        # When the window ends, the opened tender is evaluated by its method (the lowest price, for
        # this one) at once, and its candidates are publicised.
        assert tender.opening_ends_at is not None and tender.method == Method.LOWEST_PRICE
        clock.freeze(tender.opening_ends_at)
        run_due_steps()
        tender.refresh_from_db()
        assert tender.status == TenderStatus.PUBLICITY
        evaluation = EvaluationRecord.objects.get(tender=tender)
        prices = dict(Bid.objects.filter(tender=tender).values_list("pk", "price"))
        assert evaluation.record["ranking"] == sorted(prices, key=lambda pk: prices[pk])
        assert tender.winner == Bid.objects.get(pk=evaluation.record["ranking"][0]).agency
        _bidder_lock_replay(output, live_server)
    finally:
        clock.reset()


def _bidder_lock_replay(output: str, live_server: Any) -> None:
    """The tender the demo seals under the bidder's lock: each agency runs the printed `login` and `release`
    commands after the deadline; with the holders' shares the bids open, none counted as withdrawn."""
    from bidding.client import steps
    from procurement.services.opening import opening_share_fetch, opening_submit_share

    locked = Tender.objects.get(status=TenderStatus.PUBLISHED, profile__name=demo_load.BIDDER_LOCK_PROFILE)
    bids = Bid.objects.filter(tender=locked, status=BidStatus.SUBMITTED)
    assert bids.exists() and all(bid.layer_public for bid in bids)
    commands = replay_commands(output)
    releases = [argv for argv in commands if argv[0] == "release"]
    agencies = {argv[argv.index("--token-file") + 1].removesuffix(".token") for argv in releases}
    assert len(releases) == len(agencies) == bids.count()
    argv_with = lambda argv: [live_server.url if a == "http://127.0.0.1:8000" else a for a in argv]  # noqa: E731
    for argv in commands:
        if argv[0] == "login" and argv[argv.index("--username") + 1] in agencies:
            assert client_main([*argv_with(argv), "--server", live_server.url]) == 0
    clock.freeze(locked.bid_deadline + timedelta(seconds=30))
    run_due_steps()
    for argv in releases:
        assert client_main(argv_with(argv)) == 0
    for username in (locked.created_by.username, "operator"):
        holder = User.objects.get(username=username)
        mine = opening_share_fetch(actor=holder, tender_id=locked.pk)
        key = demo_load.agency_demo.demo_key(demo_load.agency_demo.key_directory(), username, pki.KEY_P256)
        share = steps.unwrap_holder_share(wrapped=mine["wrapped"], context=mine["context"], private_key=key)
        opening_submit_share(actor=holder, tender_id=locked.pk, share=share)
    record = OpeningRecord.objects.get(tender=locked).record
    assert record["policy"] == "threshold_and_bidder"
    assert [row["result"] for row in record["bids"]] == ["opened"] * bids.count()


def test_a_failed_load_leaves_no_sealed_bids(media: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: demo_load.Loader) -> None:
        assert Bid.objects.exists() and stored_bids(media)
        raise CommandError("stop")

    monkeypatch.setattr(demo_load.Loader, "check", refuse)
    with pytest.raises(CommandError, match="stop"):
        load()
    assert not Bid.objects.exists() and not stored_bids(media)


def test_check_refuses_altered_bids_and_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader's own check catches a sealed file or an opening record that is not what was signed."""
    present = demo_load.Loader.present

    def present_then_alter(self: demo_load.Loader) -> None:
        present(self)
        bid = Bid.objects.filter(tender__status=TenderStatus.PUBLISHED).first()
        assert bid is not None
        sealed_file(bid).write_bytes(crypto.SEAL_MAGIC + bytes(200))
        opening = OpeningRecord.objects.get(tender_id=self.tenders["T01"])
        OpeningRecord.objects.filter(pk=opening.pk).update(record={**opening.record, "title": "改过的标题"})

    monkeypatch.setattr(demo_load.Loader, "present", present_then_alter)
    with pytest.raises(CommandError, match="went off script") as refused:
        load()
    assert "sealed file missing or altered" in str(refused.value)
    assert "T01 opening" in str(refused.value) and "does not verify" in str(refused.value)
    assert not Bid.objects.exists()
