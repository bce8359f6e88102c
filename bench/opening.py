"""Opening benchmark (issue point 9): open N sealed bids of 1 MB through the real code path and print the time
beside the bare cryptographic work on the same files, measured in the same run.

    .venv/bin/python bench/opening.py [--bids N] [--size BYTES] [--repeat R] [--bare-runs K] [--profile] [--plain]
                                      [--debug] [--keep] [--database-url URL]

What is measured (see bench/README.md, "Opening"):

- **A, the real path**: the second key holder's ``opening_submit_share`` call. It meets the threshold, so inside it
  the key is rebuilt, every standing bid is read, decrypted and checked, the bid rows are updated and the opening
  record is built, signed, stored, published as a notice and chained into the audit trail. Runs once per setup.
- **B, the bare work**: for each stored envelope: read it into a reused buffer, ``crypto.open_sealed_into`` into
  another reused buffer, then ``protocol.bid_verify`` (SHA-256 of the documents, Ed25519 verify of the inner
  signature) with the agency's public key loaded beforehand. No database. **B+** is B plus the SHA-256 of the
  envelope checked against the receipt digest (a check the opening makes, beyond decrypt + hash + verify).
- **C, the crypto as ``_open_one`` does it, no database**: ``Path.read_bytes``, SHA-256 of the envelope against
  the receipt digest, ``crypto.open_sealed`` (fresh buffers), ``pki.certificate_load`` of the PEM, ``bid_verify``.
  A − C is the platform's own overhead (database, rows, record); C − B is what the crypto steps cost beyond the bare
  minimum.
- **Steps of A**: timers around the names bidding/services/opening.py calls (``agency_may``, ``crypto.open_sealed``,
  ``Bid.save`` …), patched inside that module while A runs and restored afterwards (``--plain``: none);
  ``--profile`` adds one more round with A under cProfile.

Setup (not timed) goes through the real services: agencies register, add a qualification, are admitted by the
operator and get a signing certificate; the three key holders register their keys; a tender is published (its
opening key split among the holders); each agency's client builds a bid with ``os.urandom`` documents, seals it and
submits it with ``bid_submit``; the clock moves to the deadline and ``run_due_steps`` opens the tender; the
first holder submits its share. All files are read once before any timing (warm page cache), and B/C runs are
interleaved around A. With ``--repeat R`` a new tender is published and bid on R times (same agencies) and the
medians of A and B are reported.

Everything lives in a temporary directory (SQLite database, media root, CA) that is removed at the end unless
``--keep``. ``DATABASE_URL`` from the environment is ignored so that a developer's database is never touched;
``--database-url`` runs against PostgreSQL instead, and must name an empty, throwaway database.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import functools
import gc
import hashlib
import io
import os
import pstats
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchenv import django_setup, result_write  # noqa: E402 - bench/ is the script's own directory

# A Monday morning in Jiangzhou, as in the tests: the platform clock is frozen, and moved, from here.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
PASSWORD = "bench-password-123"
GOAL = 1.3


def configure(tmp: Path, *, database_url: str | None, debug: bool) -> None:
    """Django on a throwaway database (bench/benchenv.py), with its own CA, migrated."""
    django_setup(
        tmp,
        database_url=database_url,
        debug=debug,
        environment={
            "AGORA_CA_KEY_FILE": str(tmp / "ca" / "ca-key.pem"),
            "AGORA_CA_CERT_FILE": str(tmp / "ca" / "ca-cert.pem"),
            "AGORA_CA_KEY_PASSWORD": "",
        },
    )

    from django.conf import settings
    from django.core.management import call_command

    from agencies.ca import ca_create_files
    from core import clock

    clock.freeze(T0)
    ca_create_files(
        key_file=Path(settings.AGORA_CA_KEY_FILE), cert_file=Path(settings.AGORA_CA_CERT_FILE), name="Agora Bench CA"
    )
    call_command("migrate", verbosity=0)


# --- setup: people, agencies, a tender, bids ----------------------------------------------------------------------


@dataclass
class Bidder:
    member: Any  # market.models.User
    uscc: str
    key: Any  # Ed25519 private key, kept by the agency's client
    serial: str


@dataclass
class Staff:
    purchaser: Any
    operator: Any
    supervisor: Any
    holder_keys: dict[str, Any]


_seq = iter(range(1, 10**9))


def _uscc(n: int) -> str:
    from accounts.uscc import uscc_check_char

    first17 = f"91360100{n:09d}"
    return first17 + uscc_check_char(first17)


def make_staff() -> Staff:
    from cryptography.hazmat.primitives.asymmetric import ec

    from accounts.models import ROLE_OF_KIND, Organisation, User
    from agencies import pki
    from agencies.services import certificates

    people = {}
    keys = {}
    for kind, role in ROLE_OF_KIND.items():
        if role == "agency":
            continue
        n = next(_seq)
        org = Organisation.objects.create(kind=kind, name=f"{kind}-{n}", uscc=_uscc(n), region="360102")
        member = User.objects.create_user(username=f"{role}-{n}", password=PASSWORD, organisation=org, role=role)
        # The holder's client makes a P-256 key and registers it (CSR → certificate); the platform sees the cert.
        key = ec.generate_private_key(ec.SECP256R1())
        csr = pki.csr_make(key, pki.Subject(organisation_name=org.name, uscc=org.uscc, username=member.username))
        certificates.key_holder_register(actor=member, csr=csr)
        people[role], keys[member.username] = member, key
    return Staff(people["purchaser"], people["operator"], people["supervisor"], keys)


def make_bidder(operator: Any) -> Bidder:
    """An agency through the real services: register, add a qualification, be admitted, get a signing certificate."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from agencies import pki
    from agencies.services import admission, certificates, registration
    from core import clock
    from market.choices import Category

    n = next(_seq)
    agency = registration.agency_register(
        username=f"agency-{n}",
        password=PASSWORD,
        name=f"江州市第{n}咨询有限公司",
        uscc=_uscc(n),
        region="360102",
        legal_representative="张三",
        service_categories=[Category.COST_CONSULTING],
    )
    member = agency.organisation.users.get()
    registration.qualification_add(
        actor=member,
        data={
            "category": Category.COST_CONSULTING,
            "kind": "工程造价咨询企业资质",
            "grade": "甲级",
            "number": f"甲{n:06d}",
            "issuer": "江西省住房和城乡建设厅",
            "valid_from": None,
            "valid_until": (clock.now() + timedelta(days=3650)).date(),
        },
    )
    admission.agency_admit(actor=operator, agency_id=agency.pk)
    key = ed25519.Ed25519PrivateKey.generate()
    org = agency.organisation
    cert = certificates.certificate_request(
        actor=member, csr=pki.csr_make(key, pki.Subject(organisation_name=org.name, uscc=org.uscc))
    )
    return Bidder(member, org.uscc, key, cert.serial)


def publish_tender(staff: Staff) -> Any:
    from core import clock
    from market.choices import Category, Method
    from market.models import Tender
    from market.services import tenders as market_tenders
    from procurement.services import tenders as svc

    data = {
        "title": "江州市第一中学教学楼改造工程造价咨询服务",
        "description": "全过程造价咨询。",
        "method": Method.OPEN_TENDER,
        "category": Category.COST_CONSULTING,
        "region": "360102",
        "budget": Decimal("500000.00"),
        "bid_deadline": clock.now() + timedelta(days=30),
        "bond_amount": Decimal("5000.00"),
        "qualification_requirements": "具有造价咨询资质。",
    }
    tender = market_tenders.tender_create(actor=staff.purchaser, data=data)
    market_tenders.tender_submit(actor=staff.purchaser, tender_id=tender.pk)
    svc.tender_approve(actor=staff.operator, tender_id=tender.pk)
    return Tender.objects.get(pk=tender.pk)


def submit_bid(bidder: Bidder, tender: Any, public: bytes, size: int, i: int) -> None:
    """The agency's client: bid form + one document of ``size`` random bytes, inner signature, seal, outer signature,
    then the server's real ``bid_submit`` (spool, fsync, place, row, signed receipt, audit)."""
    from bidding.client.steps import build_sealed_bid
    from bidding.services.submission import bid_submit

    form = {
        "tender": tender.reference,
        "agency": bidder.uscc,
        "price": f"{90000 + i}.00",
        "duration_days": 40,
        "commitments": [],
    }
    sealed = build_sealed_bid(
        form=form,
        documents=[("投标文件.pdf", os.urandom(size))],
        certificate=bidder.serial,
        private_key=bidder.key,
        opening_public=public,
    )
    bid_submit(
        actor=bidder.member,
        tender_id=tender.pk,
        stream=io.BytesIO(sealed.envelope),
        certificate_serial=bidder.serial,
        signature=sealed.signature,
    )


def holder_share(staff: Staff, holder: Any, tender: Any) -> str:
    """A key holder's client: fetch the wrapped share, decrypt it locally; the base64 share it would submit."""
    from bidding.client.steps import unwrap_holder_share
    from procurement.services.opening import opening_share_fetch

    mine = opening_share_fetch(actor=holder, tender_id=tender.pk)
    return unwrap_holder_share(
        wrapped=mine["wrapped"], context=mine["context"], private_key=staff.holder_keys[holder.username]
    )


@dataclass
class Item:
    """One stored envelope and what opening it needs, read from the rows before any timing."""

    path: Path
    digest: str
    associated: dict[str, str]
    pem: bytes
    public_key: Any


@dataclass
class Round:
    tender: Any
    second_holder: Any
    second_share: str
    private_key: bytes  # rebuilt here from both shares, for the bare-work runs only
    items: list[Item]
    setup_seconds: float


def prepare_round(staff: Staff, bidders: list[Bidder], size: int) -> Round:

    from agencies import pki
    from bidding import crypto, protocol
    from bidding.models import Bid, BidStatus, OpeningKey
    from core import clock, storage
    from market.choices import TenderStatus
    from procurement.services.opening import opening_submit_share
    from procurement.services.timeline import run_due_steps

    started = time.perf_counter()
    tender = publish_tender(staff)
    if tender.min_bids > len(bidders):
        raise SystemExit(f"the tender needs at least {tender.min_bids} bids; use --bids {tender.min_bids} or more")
    opening_key = OpeningKey.objects.get(tender=tender)
    public = bytes.fromhex(opening_key.public_key)
    for i, bidder in enumerate(bidders):
        submit_bid(bidder, tender, public, size, i)
    clock.freeze(tender.bid_deadline)
    run_due_steps()
    tender.refresh_from_db()
    if tender.status != TenderStatus.OPENING:
        raise SystemExit(f"the tender is {tender.status}, not opening, after the deadline")
    first = holder_share(staff, staff.purchaser, tender)
    second = holder_share(staff, staff.supervisor, tender)
    answer = opening_submit_share(actor=staff.purchaser, tender_id=tender.pk, share=first)
    if answer["opened"] or answer["shares_submitted"] != 1:
        raise SystemExit(f"unexpected answer to the first share: {answer}")
    private_key = crypto.combine_shares(
        [(1, base64.b64decode(first)), (2, base64.b64decode(second))],
        t=opening_key.threshold,
        expected_public=public,
    )
    items = []
    for bid in (
        Bid.objects.select_related("agency", "certificate")
        .filter(tender=tender, status=BidStatus.SUBMITTED)
        .order_by("received_at", "id")
    ):
        pem = bid.certificate.pem.encode()
        items.append(
            Item(
                path=storage.stored_path("bids", bid.ciphertext_digest),
                digest=bid.ciphertext_digest,
                associated=protocol.sealed_context(tender=tender.reference, agency=bid.agency.uscc),
                pem=pem,
                public_key=pki.certificate_load(pem).public_key(),
            )
        )
    if len(items) != len(bidders):
        raise SystemExit(f"{len(items)} standing bids, expected {len(bidders)}")
    return Round(tender, staff.supervisor, second, private_key, items, time.perf_counter() - started)


# --- the timed parts ----------------------------------------------------------------------------------------------


def warm(items: list[Item]) -> None:
    for item in items:
        item.path.read_bytes()


def bare_work(rnd: Round, *, envelope_digest: bool = False) -> None:
    """B: read, decrypt, hash, verify; reused buffers, keys loaded beforehand, no database. With
    ``envelope_digest`` (B+), also the SHA-256 of the envelope checked against the receipt digest, as the opening
    does to tell a stored file that is not the one receipted."""
    from bidding import crypto, protocol

    largest = max(item.path.stat().st_size for item in rnd.items)
    envelope, plain = bytearray(largest), bytearray(largest)
    view = memoryview(envelope)
    for item in rnd.items:
        with open(item.path, "rb", buffering=0) as f:
            length = f.readinto(envelope)
        if envelope_digest and hashlib.sha256(view[:length]).hexdigest() != item.digest:
            raise SystemExit(f"{item.path} does not match its digest")
        plaintext = crypto.open_sealed_into(
            envelope=view[:length], recipient_private=rnd.private_key, associated=item.associated, out=plain
        )
        protocol.bid_verify(plaintext, item.public_key)


def crypto_as_opened(rnd: Round) -> None:
    """C: the cryptographic steps of bidding.services.opening._open_one, in its way, without the database."""
    from agencies import pki
    from bidding import crypto, protocol

    for item in rnd.items:
        envelope = item.path.read_bytes()
        if hashlib.sha256(envelope).hexdigest() != item.digest:
            raise SystemExit(f"{item.path} does not match its digest")
        plaintext = crypto.open_sealed(envelope=envelope, recipient_private=rnd.private_key, associated=item.associated)
        protocol.bid_verify(plaintext, pki.certificate_load(item.pem))


def real_path(rnd: Round, profiler: cProfile.Profile | None = None) -> None:
    """A: the share that meets the threshold, through procurement.services.opening.opening_submit_share."""
    from procurement.services import opening as workflow_opening

    if profiler is not None:
        profiler.enable()
    try:
        answer = workflow_opening.opening_submit_share(
            actor=rnd.second_holder, tender_id=rnd.tender.pk, share=rnd.second_share
        )
    finally:
        if profiler is not None:
            profiler.disable()
    if not answer["opened"]:
        raise SystemExit(f"the second share did not open the bids: {answer}")


def check_opened(rnd: Round) -> None:
    from bidding.models import BidStatus, OpeningRecord

    statuses = dict(_status_counts(rnd.tender))
    opened = statuses.get(BidStatus.OPENED, 0)
    if opened != len(rnd.items) or not OpeningRecord.objects.filter(tender=rnd.tender).exists():
        raise SystemExit(f"FAILED: {opened} of {len(rnd.items)} bids opened ({statuses}); the benchmark is void")


def _status_counts(tender: Any) -> list[tuple[str, int]]:
    from django.db.models import Count

    from bidding.models import Bid

    return list(Bid.objects.filter(tender=tender).values("status").annotate(n=Count("id")).values_list("status", "n"))


# The steps of bidding.services.opening timed inside A: (key, where, what). "per bid" steps run in _open_one or
# _open_bids for every bid; "once" steps run once per opening.
STEPS = (
    ("read", "per bid", "reading the envelope (readinto a reused buffer: counted in _open_one)"),
    ("sha256", "per bid", "hashlib.sha256 of the envelope against the receipt digest (reader thread, overlapped)"),
    ("open_sealed", "per bid", "crypto.open_sealed_into: X25519, HKDF, AES-GCM (a reused buffer)"),
    ("certificate_load", "per bid", "pki.certificate_load of the signing certificate's PEM"),
    ("bid_verify", "per bid", "protocol.bid_verify: manifest, SHA-256 of the documents, Ed25519"),
    ("agency_may", "once", "agencies.eligibility.agencies_may(orgs, BID, at=deadline): 3 queries for all bids"),
    ("_open_one", "per bid", "the rest of _Opener.open (waiting for the reader; below 0 when hashing overlaps)"),
    ("bid_save", "once", "_record_results: one executemany UPDATE for every bid"),
    ("combine_shares", "once", "crypto.combine_shares: the key rebuilt"),
    ("record", "once", "to_jsonable + crypto.sign of the record"),
    ("notice_publish", "once", "notice_publish of the record"),
    ("audit_record", "once", "audit_record (share and record entries)"),
)


class _Proxy:
    """A module seen through a few replaced attributes; everything else is the module's own."""

    def __init__(self, target: Any, **overrides: Any) -> None:
        self._target = target
        self.__dict__.update(overrides)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


class StepTimers:
    """Timers around the steps of bidding.services.opening while A runs (perf_counter, about a microsecond per
    call, about a dozen calls per bid): monkeypatched names inside that module only, restored afterwards. The code
    that runs is the real code; only the names it calls are wrapped."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = dict.fromkeys((key for key, _, _ in STEPS), 0.0)
        self._undo: list[Callable[[], None]] = []

    def _timer(self, key: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        spent, clock_ = self.spent, time.perf_counter

        def timed_call(*args: Any, **kwargs: Any) -> Any:
            started = clock_()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[key] += clock_() - started

        return timed_call

    def _set(self, owner: Any, name: str, value: Any) -> None:
        if name in vars(owner):
            old = vars(owner)[name]
            self._undo.append(lambda: setattr(owner, name, old))
        else:
            self._undo.append(lambda: delattr(owner, name))
        setattr(owner, name, value)

    def __enter__(self) -> StepTimers:
        import bidding.services.opening as op

        t = self._timer
        timed_read = t("read", Path.read_bytes)

        class TimedPath(type(Path())):  # type: ignore[misc]
            def read_bytes(self) -> bytes:
                return timed_read(self)  # type: ignore[no-any-return]

        self._set(op, "Path", TimedPath)
        self._set(op, "hashlib", _Proxy(op.hashlib, sha256=t("sha256", op.hashlib.sha256)))
        self._set(
            op,
            "crypto",
            _Proxy(
                op.crypto,
                open_sealed=t("open_sealed", op.crypto.open_sealed),
                open_sealed_into=t("open_sealed", op.crypto.open_sealed_into),
                combine_shares=t("combine_shares", op.crypto.combine_shares),
                sign=t("record", op.crypto.sign),
            ),
        )
        self._set(op, "pki", _Proxy(op.pki, certificate_load=t("certificate_load", op.pki.certificate_load)))
        self._set(op, "protocol", _Proxy(op.protocol, bid_verify=t("bid_verify", op.protocol.bid_verify)))
        self._set(op, "agencies_may", t("agency_may", op.agencies_may))
        self._set(op._Opener, "open", t("_open_one", op._Opener.open))
        self._set(op, "to_jsonable", t("record", op.to_jsonable))
        self._set(op, "notice_publish", t("notice_publish", op.notice_publish))
        self._set(op, "audit_record", t("audit_record", op.audit_record))
        self._set(op, "_record_results", t("bid_save", op._record_results))
        return self

    def __exit__(self, *exc: object) -> None:
        while self._undo:
            self._undo.pop()()

    def steps(self) -> dict[str, float]:
        """Each step's own time: _open_one without the steps timed inside it; the record's digest is in sha256
        (one 1 MB-or-less hash, negligible beside N envelopes)."""
        own = dict(self.spent)
        inner = ("read", "sha256", "open_sealed", "certificate_load", "bid_verify", "agency_may")
        own["_open_one"] -= sum(own[key] for key in inner)
        return own


@dataclass
class Timing:
    wall: float
    cpu: float
    faults: int  # minor page faults: fresh large buffers the kernel must map and zero


def timed(fn: Callable[[], None]) -> Timing:
    gc.collect()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Timing(wall, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults)


def discard_files(rnd: Round) -> None:
    for item in rnd.items:
        item.path.unlink(missing_ok=True)


# --- reporting ----------------------------------------------------------------------------------------------------


def maxrss_mb() -> float:
    # Linux reports kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _label(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    if filename == "~":
        return name
    path = Path(filename)
    try:
        short = str(path.relative_to(ROOT))
    except ValueError:
        parts = path.parts
        short = "/".join(parts[parts.index("site-packages") + 1 :]) if "site-packages" in parts else path.name
    return f"{short}:{line}({name})"


def _find(stats: dict[Any, Any], suffix: str, name: str) -> tuple[str, int, str] | None:
    for func in stats:
        if func[2] == name and func[0].endswith(suffix):
            return func
    return None


def print_callees(stats: dict[Any, Any], parent: tuple[str, int, str] | None, total: float, limit: int = 14) -> None:
    """The direct callees of ``parent`` by cumulative time spent in them when called from it."""
    if parent is None:
        return
    rows = []
    for func, (_cc, _nc, _tt, _ct, callers) in stats.items():
        if parent in callers:
            _cc, nc, _tt, ct = callers[parent]
            rows.append((ct, nc, func))
    own = stats[parent][2]
    print(f"  {_label(parent)}  cumulative {stats[parent][3]:.3f} s, own code {own:.3f} s")
    for ct, nc, func in sorted(rows, reverse=True)[:limit]:
        print(f"    {ct:8.3f} s {100 * ct / total:5.1f}%  {nc:6d} calls  {_label(func)}")


def report_profile(profiler: cProfile.Profile, n: int) -> None:
    ps = pstats.Stats(profiler)
    stats = ps.stats  # type: ignore[attr-defined]
    top = _find(stats, "bidding/services/opening.py", "opening_submit_share_locked")
    total = stats[top][3] if top else ps.total_tt  # type: ignore[attr-defined]
    print(f"\ncProfile of A ({n} bids; the profiler slows Python code far more than the C crypto, so read shares,")
    print(f"not seconds): total {total:.3f} s")
    print_callees(stats, top, total)
    print_callees(stats, _find(stats, "bidding/services/opening.py", "_open_bids"), total)
    print_callees(stats, _find(stats, "bidding/services/opening.py", "_open_one"), total)
    print_callees(stats, _find(stats, "agencies/eligibility.py", "agency_may"), total)
    print("\n  top functions by cumulative time:")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    for line in out.getvalue().splitlines():
        if line.strip() and not line.lstrip().startswith(("Ordered by", "List reduced", "function calls")):
            print("   ", line.replace(str(ROOT) + "/", ""))
    print("\n  top functions by own time:")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    for line in out.getvalue().splitlines():
        if line.strip() and not line.lstrip().startswith(("Ordered by", "List reduced", "function calls")):
            print("   ", line.replace(str(ROOT) + "/", ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bids", type=int, default=1000, help="bids to open (at least the tender's minimum, 3)")
    parser.add_argument("--size", type=int, default=1024 * 1024, help="bytes of document per bid (default 1 MiB)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds (a new tender each), medians reported")
    parser.add_argument("--bare-runs", type=int, default=3, help="runs of B and of C per round, around A")
    parser.add_argument("--profile", action="store_true", help="one more round with A under cProfile, not timed")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and print its path")
    parser.add_argument("--plain", action="store_true", help="time A without the step timers (no step table)")
    parser.add_argument("--debug", action="store_true", help="run with DEBUG on (Django then logs every query)")
    parser.add_argument(
        "--database-url", help="PostgreSQL URL of an empty, throwaway database (default: a temporary SQLite file)"
    )
    parser.add_argument("--json", help="also write the headline figures to this file (bench/run.py reads it)")
    args = parser.parse_args(argv)
    if args.bids < 1 or args.size < 1 or args.repeat < 1 or args.bare_runs < 1:
        parser.error("--bids, --size, --repeat and --bare-runs must be positive")
    if args.repeat + args.profile > 20:
        # Each round moves the frozen clock 30 days on; the signing certificates are valid for 730.
        parser.error("at most 20 rounds (--repeat, plus one for --profile)")

    tmp = Path(tempfile.mkdtemp(prefix="agora-bench-opening-"))
    try:
        configure(tmp, database_url=args.database_url, debug=args.debug)
        from django.db import connection

        started = time.perf_counter()
        staff = make_staff()
        bidders = [make_bidder(staff.operator) for _ in range(args.bids)]
        agencies_seconds = time.perf_counter() - started
        print(
            f"opening benchmark: {args.bids} bids × {args.size:,} bytes, {connection.vendor}, "
            f"DEBUG {'on' if args.debug else 'off'}, {os.cpu_count()} CPUs"
        )
        print(f"setup: {args.bids} agencies registered, admitted and certified in {agencies_seconds:.1f} s")

        a_runs: list[Timing] = []
        bare_runs: dict[str, list[Timing]] = {"B": [], "B+": [], "C": []}
        phase_runs: list[dict[str, float]] = []
        rss_before_a = rss_after_a = 0.0
        for r in range(args.repeat):
            rnd = prepare_round(staff, bidders, args.size)
            print(
                f"round {r + 1}: tender published, {args.bids} bids submitted, first share in"
                f" ({rnd.setup_seconds:.1f} s)"
            )
            warm(rnd.items)
            bare = {
                "B": functools.partial(bare_work, rnd),
                "B+": functools.partial(bare_work, rnd, envelope_digest=True),
                "C": functools.partial(crypto_as_opened, rnd),
            }
            before = (args.bare_runs + 1) // 2
            round_runs: dict[str, list[Timing]] = {kind: [] for kind in bare}
            for _ in range(before):
                for kind, fn in bare.items():
                    round_runs[kind].append(timed(fn))
            rss_before_a = maxrss_mb()
            if args.plain:
                a = timed(functools.partial(real_path, rnd))
            else:
                with StepTimers() as timers:
                    a = timed(functools.partial(real_path, rnd))
                steps = timers.steps()
                steps["rest"] = a.wall - sum(steps.values())
                phase_runs.append(steps)
            rss_after_a = maxrss_mb()
            check_opened(rnd)
            for _ in range(args.bare_runs - before):
                for kind, fn in bare.items():
                    round_runs[kind].append(timed(fn))
            a_runs.append(a)
            for kind, runs in round_runs.items():
                bare_runs[kind] += runs
            print(
                f"  A {a.wall:.3f} s | "
                + " | ".join(f"{kind} {' '.join(f'{t.wall:.3f}' for t in runs)} s" for kind, runs in round_runs.items())
            )
            print(
                f"  minor page faults: A {a.faults}, "
                + ", ".join(f"{kind} {runs[-1].faults}" for kind, runs in round_runs.items())
            )
            discard_files(rnd)

        n = args.bids
        a_med = statistics.median(t.wall for t in a_runs)
        a_cpu = statistics.median(t.cpu for t in a_runs)
        med = {kind: statistics.median(t.wall for t in runs) for kind, runs in bare_runs.items()}
        cpu = {kind: statistics.median(t.cpu for t in runs) for kind, runs in bare_runs.items()}
        b_med, bplus_med, c_med = med["B"], med["B+"], med["C"]
        ratio = a_med / b_med
        print()
        head = ("bids", "size", "A real", "B bare", "B+ bare", "C crypto", "A/B", "goal", "A/B+", "A/C")
        print("{:>6} {:>10} {:>8} {:>8} {:>8} {:>8} {:>6} {:>6} {:>6} {:>6}".format(*head))
        print(
            f"{n:>6} {args.size:>10,} {a_med:>8.3f} {b_med:>8.3f} {bplus_med:>8.3f} {c_med:>8.3f} {ratio:>6.2f}"
            f" {'≤ ' + str(GOAL):>6} {a_med / bplus_med:>6.2f} {a_med / c_med:>6.2f}"
        )
        print(
            f"seconds, wall clock: medians of {len(a_runs)} A run(s) and {len(bare_runs['B'])} runs of B, B+ and C."
            f" CPU seconds: A {a_cpu:.3f}, B {cpu['B']:.3f}, B+ {cpu['B+']:.3f}, C {cpu['C']:.3f}"
            f" (A/B {a_cpu / cpu['B']:.2f})"
        )
        print(
            f"per bid: A {1000 * a_med / n:.2f} ms, B {1000 * b_med / n:.2f} ms, B+ {1000 * bplus_med / n:.2f} ms,"
            f" C {1000 * c_med / n:.2f} ms; platform overhead A−C {1000 * (a_med - c_med) / n:.2f} ms/bid"
        )
        if phase_runs:
            print(f"\nA step by step (timers around the steps inside A; medians of {len(phase_runs)} round(s)):")
            for key, where, what in (*STEPS, ("rest", "once", "the rest: queries for the tender, bids and shares,")):
                value = statistics.median(p[key] for p in phase_runs)
                share = 100 * value / a_med
                print(f"  {value:7.3f} s {1000 * value / n:6.3f} ms/bid {share:5.1f}% of A  {where:8} {what}")
            print(f"{'':43}rows of the record, commit, and the timers themselves")
        print(f"memory high-water (ru_maxrss): {rss_before_a:.0f} MB before A, {rss_after_a:.0f} MB after A")
        print(f"verdict: A/B = {ratio:.2f} {'meets' if ratio <= GOAL else 'MISSES'} the goal of ≤ {GOAL}")
        what = f"opening {n} x {args.size // 1024} KiB bids, {connection.vendor}"
        cpu_ratio = a_cpu / cpu["B"]
        result_write(
            args.json,
            "opening",
            [
                {
                    "figure": f"{what}: A, wall",
                    "value": a_med,
                    "unit": "s",
                    "ceiling": b_med,
                    "ceiling_name": "B, bare crypto (s)",
                    "ratio": ratio,
                    "goal": f"A/B <= {GOAL}",
                    "met": ratio <= GOAL,
                },
                {
                    "figure": f"{what}: A, CPU",
                    "value": a_cpu,
                    "unit": "CPU s",
                    "ceiling": cpu["B"],
                    "ceiling_name": "B, bare crypto (CPU s)",
                    "ratio": cpu_ratio,
                    "goal": f"A/B <= {GOAL}",
                    "met": cpu_ratio <= GOAL,
                },
            ],
            bids=n,
            size=args.size,
            rounds=len(a_runs),
        )

        if args.profile:
            rnd = prepare_round(staff, bidders, args.size)
            warm(rnd.items)
            profiler = cProfile.Profile()
            real_path(rnd, profiler)
            check_opened(rnd)
            report_profile(profiler, n)
            discard_files(rnd)
        if args.keep:
            print(f"\nkept: {tmp}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
