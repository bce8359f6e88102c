"""The demo story as ``manage.py demo_load`` tells it: loaded once for this module, then checked."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from accounts.choices import OrganisationKind
from accounts.models import ROLE_OF_KIND, Organisation, User
from accounts.uscc import uscc_is_valid
from agencies import pki
from agencies.ca import platform_ca
from agencies.choices import AdmissionStatus, CertificatePurpose, CreditList, EvaluationStatus, ListEntryStatus
from agencies.credit import evaluation_average_kind
from agencies.eligibility import admission_status_at, agency_is_barred, agency_is_qualified
from agencies.models import (
    LOCAL,
    AdmissionDecision,
    Agency,
    Certificate,
    CreditEvent,
    CreditListEntry,
    Qualification,
    ServiceEvaluation,
)
from agencies.selectors import list_entries_public
from bidding import crypto, lottery, protocol
from bidding.models import Bid, BidStatus, CommitteeScore, EvaluationRecord, KeyHolderRole, KeyShare, OpeningRecord
from bidding.selectors import received_bid_count
from bidding.services.evaluation import VALID as VALID_BIDS
from core import clock
from core.audit import audit_verify
from core.clock import format_local
from core.models import AuditEntry
from core.permissions import Role
from market.choices import Method, NoticeKind, TenderStatus
from market.models import Notice, Objection, Tender
from search.service import external_backend
from tests.demo.helpers import load, replay_commands, sealed_file, stored_bids

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Story:
    output: str
    key_dir: Path
    media: Path
    clock_drift: timedelta  # how far the platform clock was from real time when the command finished


@pytest.fixture(scope="module")
def story(django_db_setup, django_db_blocker, tmp_path_factory, ca_files) -> Iterator[Story]:  # type: ignore[no-untyped-def]
    """The story, loaded once for the module inside a transaction rolled back at its end: the tests
    here only read it (each one in its own savepoint, as usual), and the next module finds the
    database empty. The settings and environment are the ones conftest gives each test, set here
    for the whole module, with the keys and sealed bids in the module's own directory."""
    root = tmp_path_factory.mktemp("demo-story")
    key_dir, media = root / "demo-keys", root / "media"
    key_file, cert_file = ca_files
    test_settings = override_settings(
        MEDIA_ROOT=media,
        AGORA_CA_KEY_FILE=key_file,
        AGORA_CA_CERT_FILE=cert_file,
        AGORA_CA_KEY_PASSWORD="",
        AGORA_SEARCH_BACKEND="database",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    with pytest.MonkeyPatch.context() as env, test_settings, django_db_blocker.unblock():
        env.setenv("AGORA_DEMO_KEY_DIR", str(key_dir))
        env.delenv("AGORA_DEMO_PASSWORD", raising=False)
        external_backend.cache_clear()
        clock.reset()  # the command runs against the real clock, as on a demo server
        with transaction.atomic():
            output = load()
            drift = clock.now() - timezone.now()
            yield Story(output, key_dir, media, drift)
            transaction.set_rollback(True)
    external_backend.cache_clear()


@pytest.fixture(autouse=True)
def _story_settings(story: Story, _test_settings, settings) -> None:  # type: ignore[no-untyped-def]
    """Each test reads the module's sealed bids, on the real clock (conftest freezes it)."""
    settings.MEDIA_ROOT = story.media
    clock.reset()


@pytest.fixture
def key_dir(story: Story) -> Path:
    return story.key_dir


@pytest.fixture
def media(story: Story) -> Path:
    return story.media


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


KEY_HOLDERS = ["operator", "supervisor", "purchaser1", "purchaser2", "purchaser3"]


OPEN_STATES = [TenderStatus.PUBLISHED, TenderStatus.OPENING, TenderStatus.EVALUATING, TenderStatus.SUSPENDED]


def agency(username: str) -> Agency:
    return Agency.objects.select_related("organisation").get(organisation__users__username=username)


def test_organisations_users_and_their_codes() -> None:
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
        # The demo's operator is set up as a real centre's: admin staff in the operators group, not a superuser.
        assert not user.is_superuser
        assert user.is_staff == (user.username == "operator")
        assert user.groups.filter(name="operators").exists() == (user.username == "operator")
    assert User.objects.get(username="agency7").check_password("agora-demo-2026")


def test_tenders_cover_every_state_on_the_demo_profile(story: Story) -> None:
    output = story.output
    assert Tender.objects.count() == 24
    states = Counter(Tender.objects.values_list("status", flat=True))
    missing = [state for state in EVERY_STATE if not states[state]]
    assert not missing, f"no demo tender in {missing}"
    assert set(Tender.objects.values_list("profile__name", flat=True)) == {"demo", "demo-bidder-lock"}
    # The one tender under the bidder's lock: every bid on it carries the agency's own layer key.
    locked = Tender.objects.get(profile__name="demo-bidder-lock")
    assert locked.rules_snapshot["opening_policy"] == "threshold_and_bidder"
    assert locked.bids.exists() and not locked.bids.filter(layer_public="").exists()  # type: ignore[attr-defined]
    assert len(set(Tender.objects.values_list("method", flat=True))) == 5
    assert "agora-demo-2026" in output and "DEMO" in output

    # The tenders still open for bids close in the future, each with enough bids standing to open.
    for tender in Tender.objects.filter(status=TenderStatus.PUBLISHED):
        assert tender.bid_deadline > timezone.now() + timedelta(minutes=10)
        assert received_bid_count(tender) >= tender.min_bids
    assert Tender.objects.get(contract_late=True).status == TenderStatus.CONTRACTED
    # The command leaves the platform clock on real time.
    assert abs(story.clock_drift) < timedelta(seconds=5)


def test_audit_trail_intact_afterwards() -> None:
    result = audit_verify()
    assert result.ok, result.reason
    assert result.checked == AuditEntry.objects.count() > 100


def test_agencies_registered_qualified_and_reviewed() -> None:
    agencies = Agency.objects.select_related("organisation")
    assert agencies.count() == 12
    assert Counter(agencies.values_list("status", flat=True)) == {
        AdmissionStatus.ADMITTED: 10,
        AdmissionStatus.RETURNED: 1,
        AdmissionStatus.APPLIED: 1,
    }
    now = clock.now()
    today = now.astimezone(LOCAL).date()
    for item in agencies:
        # Registered through the service: the agency's own user applied, and it was audited.
        member = item.organisation.users.get()
        assert member.role == Role.AGENCY and member.username.startswith("agency")
        first = item.decisions.first()
        assert first is not None and (first.action, first.decided_by) == ("apply", member)
        assert AuditEntry.objects.filter(action="agency.register", object_id=str(item.pk)).exists()
        qualifications = list(item.qualifications.all())
        assert qualifications, item
        assert all(q.valid_until >= today and q.issuer and q.number for q in qualifications)
        assert any(agency_is_qualified(item, q.category) for q in qualifications)
    # One qualification runs out within days (still counting today).
    soon = Qualification.objects.filter(valid_until__lte=today + timedelta(days=7))
    assert soon.count() == 1 and soon.get().counts_at(now)

    returned, applied = agency("agency11"), agency("agency10")
    assert returned.status == AdmissionStatus.RETURNED and returned.status_reason
    step = returned.decisions.last()
    assert step is not None and step.action == "return" and step.decided_by == User.objects.get(username="operator")
    assert applied.status == AdmissionStatus.APPLIED and applied.decisions.count() == 1
    admitted = agencies.filter(status=AdmissionStatus.ADMITTED)
    assert (
        not AdmissionDecision.objects.filter(agency__in=admitted, action="admit")
        .exclude(decided_by__username="operator")
        .exists()
    )

    # Only admitted agencies bid, each admitted and qualified for the tender's category when its bid came in.
    for bid in Bid.objects.select_related("agency", "tender"):
        item = Agency.objects.get(organisation=bid.agency)
        assert admission_status_at(item, bid.received_at) == AdmissionStatus.ADMITTED, bid
        assert agency_is_qualified(item, bid.tender.category, at=bid.received_at), bid
    assert not Bid.objects.filter(agency__agency__in=[returned, applied]).exists()


def test_certificates_and_demo_keys(story: Story, key_dir: Path) -> None:
    output = story.output
    now = clock.now()
    ca_certificate = platform_ca().certificate
    expected_files = set()

    def key_of(username: str) -> object:
        path = key_dir / f"{username}.key.pem"
        assert path.is_file(), path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        expected_files.add(path.name)
        return serialization.load_pem_private_key(path.read_bytes(), password=None)

    def check(cert: Certificate, key: object) -> None:
        assert cert.status_at(now) == "valid"
        x509 = pki.certificate_load(cert.pem.encode())
        pki.certificate_check(ca_certificate, x509, at=now)
        assert pki.certificate_uscc(x509) == cert.organisation.uscc
        public = key.public_key()  # type: ignore[attr-defined]
        assert pki.public_key_fingerprint(public) == cert.fingerprint == pki.public_key_fingerprint(x509)

    for item in Agency.objects.select_related("organisation"):
        username = item.organisation.users.get().username
        signing = Certificate.objects.filter(organisation=item.organisation, purpose=CertificatePurpose.SIGNING)
        if item.status != AdmissionStatus.ADMITTED:
            assert not signing.exists() and not (key_dir / f"{username}.key.pem").exists()
            continue
        assert signing.count() == 1, username
        cert = signing.get()
        assert cert.holder is None and cert.key_kind == pki.KEY_ED25519
        key = key_of(username)
        assert isinstance(key, Ed25519PrivateKey)
        check(cert, key)

    for username in KEY_HOLDERS:
        holder = User.objects.get(username=username)
        cert = Certificate.objects.get(holder=holder, purpose=CertificatePurpose.KEY_HOLDER)
        assert cert.organisation == holder.organisation and cert.key_kind == pki.KEY_P256
        key = key_of(username)
        assert isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)
        check(cert, key)

    # The bidder's-lock tender: each bidding agency's client keeps its bid's own key beside its signing key.
    for bid in Bid.objects.filter(tender__profile__name="demo-bidder-lock").select_related("agency", "tender"):
        path = key_dir / f"{bid.agency.users.get().username}-{bid.tender.reference}.layer-key.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert json.loads(path.read_text())["layer_public"] == bid.layer_public
        expected_files.add(path.name)

    assert Certificate.objects.count() == 15
    assert {path.name for path in key_dir.iterdir()} == expected_files
    assert stat.S_IMODE(key_dir.stat().st_mode) & 0o077 == 0
    assert "PRIVATE KEY" not in output and str(key_dir) in output


def test_service_evaluations_and_their_credit_events() -> None:
    completed = Tender.objects.filter(status=TenderStatus.COMPLETED)
    assert completed.count() >= 6
    for tender in completed:
        # The purchaser rated the agency that won and served the tender.
        assert tender.winner is not None
        evaluation = ServiceEvaluation.objects.get(tender=tender)
        assert evaluation.agency.organisation == tender.winner
        assert evaluation.submitted_by.organisation_id == tender.purchaser_id
    statuses = Counter(ServiceEvaluation.objects.values_list("status", flat=True))
    assert statuses[EvaluationStatus.APPROVED] >= 4
    assert statuses[EvaluationStatus.REJECTED] == 1 and statuses[EvaluationStatus.PENDING] == 1

    for evaluation in ServiceEvaluation.objects.select_related("credit_event__kind", "moderated_by"):
        if evaluation.status == EvaluationStatus.APPROVED:
            event = evaluation.credit_event
            assert event is not None and event.agency_id == evaluation.agency_id
            assert (event.source_type, event.source_id) == ("agencies.serviceevaluation", str(evaluation.pk))
            assert event.kind.code == evaluation_average_kind(evaluation.average)
            assert event.points == event.kind.points and event.counts_at(clock.now())
            assert evaluation.moderated_by is not None and evaluation.moderated_by.role == Role.OPERATOR
        else:
            assert evaluation.credit_event is None
            assert not CreditEvent.objects.filter(source_id=str(evaluation.pk), source_type__contains="evaluation")
        if evaluation.status == EvaluationStatus.REJECTED:
            assert evaluation.moderation_note

    # The platform's own credit events for the contracts: one for each completion within the agreed
    # date, and one for the late contract, which the supervisor annulled (it stays on record).
    for tender in Tender.objects.filter(contracted_at__isnull=False):
        events = CreditEvent.objects.filter(source_type="market.tender", source_id=str(tender.pk))
        assert set(events.values_list("agency__organisation", flat=True)) <= {tender.winner_id}
        assert tender.service_due_at is not None and tender.service_due_at > tender.contracted_at
        on_time = events.filter(kind__code="award_completed_on_time")
        if tender.status == TenderStatus.COMPLETED:
            assert tender.closed_at is not None and tender.closed_at <= tender.service_due_at
            assert on_time.count() == 1 and on_time.get().recorded_by is None
        else:
            assert not on_time.exists()
        late = events.filter(kind__code="late_contract")
        assert late.count() == int(tender.contract_late)
        if tender.contract_late:
            event = late.get()
            assert event.recorded_by is None and event.annulled_at is not None and event.annul_reason
            assert event.annulled_by is not None and event.annulled_by.role == Role.SUPERVISOR
    assert Tender.objects.filter(contract_late=True).count() == 1


def test_black_and_red_lists_in_force() -> None:
    black = list_entries_public(list_kind=CreditList.BLACK, scope="current")
    red = list_entries_public(list_kind=CreditList.RED, scope="current")
    assert black.count() == 2
    assert red.count() == 5

    for entry in black:
        listed = entry.agency
        assert listed.status == AdmissionStatus.ADMITTED
        assert agency_is_barred(listed.organisation, "bid")
        # Decided on a serious violation the supervisor recorded, within the law's range for it.
        assert entry.source_event is not None and entry.source_event.kind.code in ("collusion", "false_materials")
        recorder, decider = entry.source_event.recorded_by, entry.decided_by
        assert recorder is not None and recorder.role == Role.SUPERVISOR
        assert decider is not None and decider.role == Role.SUPERVISOR
        assert entry.document_number.startswith("江公管信〔")
        assert entry.subject_uscc == listed.organisation.uscc and "bid" in entry.restricted_actions
        assert entry.starts_at is not None and entry.ends_at is not None
        assert timedelta(days=365) <= entry.ends_at - entry.starts_at <= timedelta(days=3 * 366)
        assert entry.status == ListEntryStatus.IN_FORCE
        # A barred agency has no bid standing on a tender that is still going.
        assert not Bid.objects.filter(agency=listed.organisation, tender__status__in=OPEN_STATES).exists()

    for entry in red:
        listed = entry.agency
        assert listed.status == AdmissionStatus.ADMITTED and not agency_is_barred(listed.organisation, "bid")
        assert entry.document_number.startswith("江公管信〔") and entry.incentives
        assert listed.credit_events.filter(kind__code="commendation").exists()
    assert not set(black.values_list("agency", flat=True)) & set(red.values_list("agency", flat=True))

    # Every agency bidding on an open tender may bid.
    for bid in Bid.objects.filter(tender__status=TenderStatus.PUBLISHED).select_related("agency"):
        assert not agency_is_barred(bid.agency, "bid"), bid

    # History: a black-list entry revoked (信用修复) and a dismissed red-list proposal, kept on record.
    revoked = CreditListEntry.objects.get(status=ListEntryStatus.REVOKED)
    assert revoked.list_kind == CreditList.BLACK and revoked.revoked_at and revoked.closing_reason
    dismissed = CreditListEntry.objects.get(status=ListEntryStatus.DISMISSED)
    assert dismissed.list_kind == CreditList.RED and dismissed.closing_reason
    assert list_entries_public(scope="history").count() == 8
    assert not CreditListEntry.objects.filter(status=ListEntryStatus.PROPOSED).exists()


# --- the bids and their openings ------------------------------------------------------------------


PAST_THE_OPENING = [
    TenderStatus.OPENING,
    TenderStatus.EVALUATING,
    TenderStatus.PUBLICITY,
    TenderStatus.AWARDED,
    TenderStatus.CONTRACTED,
    TenderStatus.COMPLETED,
]


def test_the_bids_are_sealed_signed_and_received(media: Path) -> None:
    ca = platform_ca().certificate
    bids = Bid.objects.select_related("tender", "agency", "certificate", "submitted_by")
    assert bids.count() >= 50
    assert set(stored_bids(media)) == set(bids.values_list("ciphertext_digest", flat=True))
    for bid in bids:
        # The sealed envelope is stored at its content address; nothing of the bid is readable in it.
        data = sealed_file(bid).read_bytes()
        assert hashlib.sha256(data).hexdigest() == bid.ciphertext_digest and len(data) == bid.ciphertext_size
        assert data.startswith(crypto.SEAL_MAGIC) and "报价单".encode() not in data
        # Signed by the agency with its own signing certificate, submitted by its own user.
        cert = bid.certificate
        assert cert is not None and cert.purpose == CertificatePurpose.SIGNING and cert.organisation_id == bid.agency_id
        payload = protocol.submission_payload(
            tender=bid.tender.reference,
            agency=bid.agency.uscc,
            digest=bid.ciphertext_digest,
            certificate=cert.serial,
            layer_public=bid.layer_public,
        )
        crypto.verify(pki.certificate_load(cert.pem.encode()), payload, bytes(bid.signature))
        assert bid.submitted_by is not None and bid.submitted_by.organisation_id == bid.agency_id
        assert bid.received_at < bid.tender.bid_deadline
        # The platform's receipt verifies with the published CA certificate and names this upload.
        protocol.receipt_verify(bid.receipt, base64.b64encode(bytes(bid.receipt_signature)).decode(), ca)
        assert bid.receipt["bid"] == bid.pk and bid.receipt["digest"] == bid.ciphertext_digest
        assert (bid.receipt["tender"], bid.receipt["agency"]) == (bid.tender.reference, bid.agency.uscc)
    assert AuditEntry.objects.filter(action="bid.submit").count() == bids.count()


def test_every_tender_past_its_deadline_had_its_opening(media: Path) -> None:
    ca = platform_ca().certificate
    reached = Tender.objects.filter(opening_ends_at__isnull=False).select_related("created_by")
    started = set(AuditEntry.objects.filter(action="tender.start_opening").values_list("object_id", flat=True))
    assert {str(pk) for pk in reached.values_list("pk", flat=True)} == started
    assert set(OpeningRecord.objects.values_list("tender_id", flat=True)) == set(reached.values_list("pk", flat=True))
    for tender in Tender.objects.filter(status__in=PAST_THE_OPENING):
        assert tender in reached, tender
    assert reached.count() >= 15

    for tender in reached:
        opening = OpeningRecord.objects.get(tender=tender)
        record = opening.record
        signature = base64.b64encode(bytes(opening.signature)).decode()
        assert protocol.opening_record_verify(record, signature, ca) == opening.digest
        notice = Notice.objects.get(tender=tender, kind=NoticeKind.OPENING_RECORD)
        assert notice.data["digest"] == opening.digest and notice.data["record"] == record
        # Opened within the decryption window, by the purchaser's and the trading centre's shares.
        assert tender.opening_ends_at is not None
        assert tender.bid_deadline <= opening.created_at < tender.opening_ends_at
        assert {share["holder"] for share in record["shares"]} == {tender.created_by.username, "operator"}
        assert not KeyShare.objects.filter(opening_key__tender=tender).exclude(submitted_share=b"").exists()
        # One row per bid, every one opened with a valid signature, its price in the Bid row.
        bids = {bid.pk: bid for bid in Bid.objects.filter(tender=tender).select_related("agency")}
        assert sorted(row["bid"] for row in record["bids"]) == sorted(bids)
        for row in record["bids"]:
            bid = bids[row["bid"]]
            assert (row["result"], row["signature"], row["uscc"]) == ("opened", "valid", bid.agency.uscc)
            assert bid.status != BidStatus.SUBMITTED and bid.opened_at == opening.created_at
            # Opened and valid: a bid rejected since was set aside by the evaluation, with its reason.
            assert bid.status != BidStatus.REJECTED or bid.result_reason.startswith("评审否决："), bid
            assert bid.price is not None and Decimal(row["price"]) == bid.price <= tender.budget
            assert row["duration_days"] == bid.duration_days and bid.duration_days

    # The price methods' results follow from the opened prices.
    for tender in Tender.objects.filter(method=Method.LOWEST_PRICE, winner__isnull=False):
        prices = dict(Bid.objects.filter(tender=tender).values_list("agency_id", "price"))
        assert prices[tender.winner_id] == min(prices.values()), tender
    # A tender that failed for want of bids never opened; one that failed at evaluation did.
    assert Tender.objects.filter(status=TenderStatus.FAILED, opening_ends_at__isnull=True).count() == 1
    assert Tender.objects.filter(status=TenderStatus.FAILED, opening_ends_at__isnull=False).count() == 1

    completed = reached.filter(status=TenderStatus.COMPLETED).first()
    assert completed is not None
    out = StringIO()
    call_command("opening_verify", completed.reference, stdout=out)
    assert "opening record verified" in out.getvalue()


# --- the evaluations ------------------------------------------------------------------------------


PAST_THE_RESULT = [TenderStatus.PUBLICITY, TenderStatus.AWARDED, TenderStatus.CONTRACTED, TenderStatus.COMPLETED]


def standing(tender: Tender) -> str:
    """Where the tender stands, or stood when it was suspended."""
    return tender.suspended_from if tender.status == TenderStatus.SUSPENDED else tender.status


def check_ranking(tender: Tender, evaluation: EvaluationRecord) -> None:
    """The record's ranking is what the tender's method makes of the published figures."""
    record, details, draw = evaluation.record, evaluation.record["details"], evaluation.record["draw"]
    ranking = record["ranking"]
    rows = {row["bid"]: row for row in record["bids"]}
    assert [pk for pk, row in sorted(rows.items(), key=lambda item: item[1]["rank"] or 0) if row["rank"]] == ranking
    price = {pk: Decimal(row["price"]) for pk, row in rows.items()}
    if tender.method == Method.OPEN_TENDER:
        # Five members or more, an odd number, each on a sheet covering every ranked bid; the
        # recorded sheets are the published ones; the highest mean wins.
        members = details["members"]
        assert len(members) >= tender.profile.committee_min_members and len(members) % 2 == 1
        assert len(members) == 5
        sheets = CommitteeScore.objects.filter(tender=tender, round=record["round"])
        assert set(sheets.values_list("member_code", flat=True)) == set(members)
        assert sheets.count() == len(members) * len(ranking)
        for code, sheet in members.items():
            assert set(sheet) == {str(pk) for pk in ranking}
            for pk, score in sheet.items():
                assert sheets.get(member_code=code, bid_id=int(pk)).score == Decimal(score)
        means = {
            pk: (sum(Decimal(sheet[str(pk)]) for sheet in members.values()) / len(members)).quantize(Decimal("0.01"))
            for pk in ranking
        }
        assert {int(pk): Decimal(total) for pk, total in details["totals"].items()} == means
        assert [means[pk] for pk in ranking] == sorted(means.values(), reverse=True)
    elif tender.method == Method.LOWEST_PRICE:
        assert [price[pk] for pk in ranking] == sorted(price[pk] for pk in ranking)
    elif tender.method == Method.OPTIMAL_PRICE:
        base = details["base_percent"]
        assert base in (95, 96, 97, 98) and draw["choices"]["base"]["chosen"] == base
        # The mean of the prices (one highest and one lowest dropped from five or more) times
        # the base, to the cent, is the reference; the closest price wins.
        prices = sorted(price[pk] for pk in ranking)
        used = prices[1:-1] if len(prices) >= 5 else prices
        assert [Decimal(p) for p in details["prices_used"]] == used
        reference = Decimal(details["reference_price"])
        assert abs(reference - sum(used) * base / (100 * len(used))) <= Decimal("0.005")
        distances = [abs(price[pk] - reference) for pk in ranking]
        assert distances == sorted(distances)
    elif tender.method == Method.LOTTERY:
        # The registrations in the order the verifiable lottery drew them.
        assert [rows[pk]["digest"] for pk in ranking] == draw["order"]
    else:
        assert tender.method == Method.DIRECT and len(ranking) == 1 and details["reason"]


def test_every_tender_past_its_opening_was_evaluated_by_its_method() -> None:
    ca = platform_ca().certificate
    evaluated = Tender.objects.filter(opening_ends_at__isnull=False).exclude(status=TenderStatus.OPENING)
    assert evaluated.count() >= 14
    assert set(EvaluationRecord.objects.values_list("tender_id", flat=True)) == set(
        evaluated.values_list("pk", flat=True)
    )
    assert set(evaluated.values_list("method", flat=True)) == set(Method.values)
    for tender in evaluated.select_related("profile"):
        records = list(EvaluationRecord.objects.filter(tender=tender).order_by("round"))
        assert [evaluation.round for evaluation in records] == list(range(1, len(records) + 1)), tender
        opening = OpeningRecord.objects.get(tender=tender)
        for evaluation in records:
            record = evaluation.record
            # Signed by the platform: anyone verifies it with the published CA certificate.
            payload = crypto.signed_payload(record)
            crypto.verify(ca, payload, bytes(evaluation.signature))
            assert hashlib.sha256(payload).hexdigest() == evaluation.digest
            signature = base64.b64encode(bytes(evaluation.signature)).decode()
            assert protocol.evaluation_record_verify(record, signature, ca) == evaluation.digest
            assert (record["tender"], record["method"]) == (tender.reference, tender.method)
            assert record["opening_record_digest"] == opening.digest
            # A draw recomputes from what was published; the lottery methods always draw.
            if tender.method in (Method.LOTTERY, Method.OPTIMAL_PRICE):
                assert record["draw"] is not None, tender
            if record["draw"] is not None:
                assert record["draw"]["commitment"] and lottery.check(record["draw"]) == []
            # Who concluded it: the clock for the price and lottery methods, people otherwise.
            entry = AuditEntry.objects.get(action="tender.evaluation_record", object_id=str(evaluation.pk))
            if tender.method in (Method.LOWEST_PRICE, Method.OPTIMAL_PRICE, Method.LOTTERY):
                assert entry.actor is None
            elif tender.method == Method.DIRECT:
                assert entry.actor is not None and entry.actor.organisation_id == tender.purchaser_id
            else:
                assert entry.actor is not None and entry.actor.role == Role.OPERATOR
            if record["result"] == "failed":
                assert tender.status == TenderStatus.FAILED and not record["ranking"]
            else:
                check_ranking(tender, evaluation)

        last = records[-1]
        if standing(tender) in PAST_THE_RESULT:
            # The result stands: the winner is the first of the ranking, publicised with this record.
            assert last.record["result"] == "publicity"
            assert tender.winner == Bid.objects.get(pk=last.record["ranking"][0]).agency
            notice = Notice.objects.filter(tender=tender, kind=NoticeKind.CANDIDATES).latest("pk")
            assert notice.data["digest"] == last.digest
        if tender.status in (TenderStatus.AWARDED, TenderStatus.CONTRACTED, TenderStatus.COMPLETED):
            winners = Bid.objects.filter(tender=tender, status=BidStatus.WINNER)
            assert list(winners.values_list("agency", flat=True)) == [tender.winner_id]

    # Every method's result is on show: publicised, and past it.
    for method in Method.values:
        assert evaluated.filter(method=method, status__in=PAST_THE_RESULT).exists(), method
    # A tender evaluated again: an objection to its result was upheld, and its first candidate set aside.
    again = Tender.objects.get(status=TenderStatus.EVALUATING)
    objection = Objection.objects.get(tender=again)
    assert objection.kind == "result" and objection.upheld is True
    first = Bid.objects.get(pk=EvaluationRecord.objects.get(tender=again).record["ranking"][0])
    assert first.status == BidStatus.REJECTED and first.result_reason.startswith("评审否决：")
    assert Bid.objects.filter(tender=again, status__in=VALID_BIDS).count() >= again.min_bids
    # A tender that failed at its evaluation: the committee set every bid aside.
    failed = Tender.objects.get(status=TenderStatus.FAILED, opening_ends_at__isnull=False)
    assert EvaluationRecord.objects.get(tender=failed).record["result"] == "failed"
    assert set(Bid.objects.filter(tender=failed).values_list("status", flat=True)) == {BidStatus.REJECTED}


def test_objections_to_a_result_come_from_bidders_that_did_not_win() -> None:
    objections = Objection.objects.filter(kind="result").select_related("tender")
    assert objections.count() == 2
    for objection in objections:
        tender = objection.tender
        first = EvaluationRecord.objects.filter(tender=tender).order_by("round").first()
        assert first is not None
        won = Bid.objects.get(pk=first.record["ranking"][0]).agency_id
        assert objection.organisation_id != won
        assert Bid.objects.filter(tender=tender, agency_id=objection.organisation_id).exists()


def test_tenders_open_for_bids_have_standing_sealed_bids_and_no_record(media: Path) -> None:
    open_for_bids = Tender.objects.filter(status=TenderStatus.PUBLISHED)
    assert open_for_bids.count() == 3
    for tender in open_for_bids:
        assert tender.opening_ends_at is None and not OpeningRecord.objects.filter(tender=tender).exists()
        bids = list(Bid.objects.filter(tender=tender))
        assert len(bids) >= tender.min_bids
        for bid in bids:
            assert bid.status == BidStatus.SUBMITTED and bid.price is None and bid.opened_at is None
            assert sealed_file(bid).is_file() and bid.certificate_id is not None
        assert not KeyShare.objects.filter(opening_key__tender=tender, submitted_at__isnull=False).exists()


def test_the_summary_says_how_to_replay_an_opening(story: Story, key_dir: Path) -> None:
    output = story.output
    tender = Tender.objects.filter(status=TenderStatus.PUBLISHED).order_by("bid_deadline").first()
    assert tender is not None
    holders = dict(KeyShare.objects.filter(opening_key__tender=tender).values_list("role", "holder__username"))
    window = tender.profile.decryption_window
    assert f"tender id {tender.pk} ({tender.reference})" in output
    assert f"decryption window is {window.total_seconds() / 60:g} minutes" in output
    assert format_local(tender.bid_deadline) in output and format_local(tender.bid_deadline + window) in output
    commands = replay_commands(output)
    for username in (holders[KeyHolderRole.PURCHASER], holders[KeyHolderRole.TRADING_CENTRE]):
        assert (key_dir / f"{username}.key.pem").is_file()
        login = ["login", "--server", "http://127.0.0.1:8000", "--username", username, "--password", "agora-demo-2026"]
        assert [*login, "--out", f"{username}.token"] in commands
        share = ["share", "--server", "http://127.0.0.1:8000", "--token-file", f"{username}.token"]
        assert [*share, "--tender", str(tender.pk), "--key", f"{key_dir}/{username}.key.pem"] in commands
    assert f"manage.py opening_verify {tender.pk}" in output
    for other in Tender.objects.filter(status=TenderStatus.PUBLISHED).exclude(pk=tender.pk):
        assert f" id {other.pk} " in output


def counts() -> dict[str, int]:
    return {
        "organisations": Organisation.objects.count(),
        "users": User.objects.count(),
        "tenders": Tender.objects.count(),
        "bids": Bid.objects.count(),
        "notices": Notice.objects.count(),
        "objections": Objection.objects.count(),
        "agencies": Agency.objects.count(),
        "qualifications": Qualification.objects.count(),
        "certificates": Certificate.objects.count(),
        "evaluations": ServiceEvaluation.objects.count(),
        "credit_events": CreditEvent.objects.count(),
        "list_entries": CreditListEntry.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


# Last: it runs the command again (on the loaded story, in this test's savepoint).
def test_second_run_changes_nothing(key_dir: Path, media: Path) -> None:
    before = counts()
    keys = {path.name: path.read_bytes() for path in key_dir.iterdir()}
    sealed = stored_bids(media)
    assert len(sealed) == Bid.objects.count()
    output = load()
    assert "already loaded" in output
    assert counts() == before
    assert {path.name: path.read_bytes() for path in key_dir.iterdir()} == keys
    assert stored_bids(media) == sealed
