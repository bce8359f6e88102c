"""``manage.py demo_load``: a small, realistic demo world for the fictional city of 江州市.

It creates the trading centre, a supervisory department, three purchasers and twelve agencies,
one user for each, and twenty-four tenders spread over every state of the lifecycle. Everything
moves only through the services (``market.services``, ``agencies.services``) and the clocks
(``market.clock``, ``agencies.clock``), exactly as the platform would move it, so every notice,
credit record and audit entry is the real one. Who and what is in the story (the organisations,
agencies, tenders, results where people decide them, and what people write) is data, in
``demo/data/*.toml`` (read by ``demo.story``); this command is the timeline that turns it into
calls to the services.

The agencies register themselves with their qualification certificates (``demo/data/agencies.toml``
holds who they are); the trading centre admits ten, returns one and has one new application waiting.
Each admitted agency holds a bid-signing certificate and each opening-key holder (trading centre,
supervisor, purchasers) a key-holder certificate; the demo plays their clients, so the private
keys are made here and written to the demo key directory (``AGORA_DEMO_KEY_DIR``, default
``var/demo-keys``), never to the database.

The bids are real: each bidding agency's client builds its bid form and documents, signs them with
its demo key, seals them to the tender's published opening key (``bidding.client.steps``, as the
command-line client does) and submits them through
``bidding.services.submission.bid_submit``, which stores the sealed file and signs a receipt.
Whenever the clock moves a tender into its opening, two key holders (its purchaser and the trading
centre) decrypt their shares with their demo keys and submit them within the decryption window,
so every tender past its deadline has its signed opening record.

Each tender is evaluated by its selection method (``bidding.services.evaluation``), into a signed
evaluation record: the lowest-price, optimal-price and lottery tenders by the platform itself the
moment the clock closes their opening; the open tenders by a five-member committee whose score
sheets the trading centre records; the direct selections by the purchaser's pick with its reason.
The lowest-price bids are priced so that the story's order follows; the optimal-price base and the
lottery's order come from verifiable lotteries committed to at publication, so those winners differ
from load to load, and every later step (contracts, ratings, objections) reads them from the tender.

Purchasers rate the agencies that served their completed tenders and the trading centre moderates
the ratings; completing on time earns the winner its credit event, a late contract costs one (here
annulled by the supervisor: the purchaser was late). The supervisor records credit events and
decides the red and black lists: two black-list and five red-list entries are in force at the end,
with a revoked (信用修复) and a dismissed entry for history.

The past part of the story is played on a frozen platform clock starting two and a half hours ago
(the agencies' applications half an hour before the first tender notice); the clock is then put
back to real time, and the tenders still open for bids are published, with real bids, and
deadlines 15-50 minutes ahead, so a running ``manage.py clock`` moves them on live. Their opening
ceremonies are left to the demo users: the summary prints the client commands for the first.

Idempotent: if the demo trading centre exists, the command says so and changes nothing. Meant for
an empty database (the backdated story would otherwise interleave with real audit entries). Needs
the platform CA (``manage.py ca_init``; ``make demo`` runs it first).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
from collections import Counter
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.choices import OrganisationKind
from accounts.models import ROLE_OF_KIND, Organisation, User
from accounts.services import OPERATORS_GROUP
from accounts.uscc import uscc_check_char
from agencies import pki
from agencies.ca import platform_ca
from agencies.choices import AdmissionStatus, CertificatePurpose, CreditList, EvaluationStatus, RestrictedAction
from agencies.clock import run_credit_steps
from agencies.eligibility import agency_may
from agencies.models import LOCAL, Agency, Certificate, CreditEvent, CreditListEntry, Qualification, ServiceEvaluation
from agencies.selectors import list_entries_public
from agencies.services.admission import agency_admit, agency_return
from agencies.services.credit import (
    credit_event_annul,
    credit_event_record,
    evaluation_moderate,
    evaluation_submit,
)
from agencies.services.lists import (
    add_years,
    list_entry_decide,
    list_entry_dismiss,
    list_entry_propose,
    list_entry_revoke,
)
from agencies.services.registration import agency_register, qualification_add
from bidding import crypto, lottery, protocol
from bidding.client import files as client_files
from bidding.client import steps
from bidding.models import Bid, BidStatus, EvaluationRecord, OpeningRecord
from bidding.services import submission
from bidding.services.evaluation import VALID as VALID_BIDS
from core import clock, storage
from core.clock import format_local
from core.errors import ApplicationError
from demo import agencies as agency_demo
from demo import story
from demo.story import OrgSpec, TenderSpec
from market.choices import Category, Method, ObjectionKind, OpeningPolicy, TenderStatus
from market.models import Objection, RuleProfile, Tender
from market.rules import rules_of
from market.services.tenders import tender_create, tender_return, tender_submit
from procurement.services.evaluation import (
    committee_score_record,
    direct_pick,
    evaluation_conclude,
    evaluation_disqualify,
)
from procurement.services.objections import objection_answer, objection_raise
from procurement.services.opening import bid_release, opening_share_fetch, opening_submit_share
from procurement.services.tenders import (
    tender_amend,
    tender_approve,
    tender_cancel,
    tender_complete,
    tender_record_contract,
    tender_suspend,
)
from procurement.services.timeline import run_due_steps

PROFILE = "demo"
# The demo's rules with the bidder's lock (market.choices.OpeningPolicy): made by the loader, as a jurisdiction would
# make its own profile in the admin.
BIDDER_LOCK_PROFILE = "demo-bidder-lock"
# Where `make demo` serves the site (it passes HOST and PORT on as AGORA_DEMO_SERVER), for the printed commands.
DEMO_SERVER = os.environ.get("AGORA_DEMO_SERVER", "http://127.0.0.1:8000")
DEFAULT_PASSWORD = "agora-demo-2026"  # noqa: S105  # nosec B105  # a published demo password, printed by the command

K, M = OrganisationKind, Method

# The story's data: demo/data/*.toml, read by demo.story.
ORGANISATIONS = story.organisations()
CENTRE_NAME = ORGANISATIONS[0].name  # the trading centre: its name tells a loaded database
# The tenders, by key, and the state each must be in when the load finishes (checked before committing).
TENDERS: dict[str, TenderSpec] = story.tenders()
EXPECTED: dict[str, str] = story.expected_states()

# --- the agencies' part of the story (their profiles and qualifications: demo/data/agencies.toml) ---
_AGENCIES = story.read("agencies")
AGENCIES = [spec.username for spec in ORGANISATIONS if spec.kind == K.AGENCY]
RETURNED: str = _AGENCIES["returned"]
APPLIED: str = _AGENCIES["applied"]
ADMITTED = [a for a in AGENCIES if a not in (RETURNED, APPLIED)]
BLACK: list[str] = _AGENCIES["black_list"]
RED: list[str] = _AGENCIES["red_list"]
# The opening-key holders (DOMAIN.md, bids §2): trading centre, supervisor, purchasers.
KEY_HOLDERS = ["operator", "supervisor", "purchaser1", "purchaser2", "purchaser3"]
ADMIT_REASON: str = _AGENCIES["admit_reason"]
RETURN_REASON: str = _AGENCIES["return_reason"]

# --- the results, where people decide them: demo/data/results.toml ----------------------------------
SCORE_NAMES = story.SCORE_NAMES
EVALUATIONS = story.evaluations()
EVALUATION_REJECT_NOTE: str = story.read("results")["evaluation_reject_note"]
RANKINGS: dict[str, list[int]] = story.by_tender("rankings")
PRICE_ORDER: dict[str, list[int]] = story.by_tender("price_order")
EXPERTS = story.experts()
DISQUALIFIED = story.disqualified()
PICK_REASONS: dict[str, str] = story.by_tender("pick_reasons")
# What people write as the story goes (amendments, objections, reasons, contract references): demo/data/events.toml.
EVENTS = story.read("events")
SERVICE_DAYS = story.service_days()
# Where a tender stands once its result is recorded.
AFTER_EVALUATION = (TenderStatus.PUBLICITY, TenderStatus.AWARDED, TenderStatus.CONTRACTED, TenderStatus.COMPLETED)
# The live tender whose opening ceremony the summary tells the demo users how to run.
REPLAY = "T17"


def _draw(*parts: str) -> int:
    """A number fixed by the demo's names, so that every load tells the same story."""
    return int.from_bytes(hashlib.sha256("|".join(("agora-demo", *parts)).encode()).digest()[:8], "big")


def bid_prices(key: str, bidders: list[int]) -> dict[int, Decimal]:
    """Each bidder's price for tender ``key``, in yuan: 80-97% of the budget, to the hundred yuan,
    the same on every load, no two equal. The purchaser fixes the price of a lottery (随机选取):
    every bidder accepts the budget. A lowest-price tender's prices are dealt out in
    :data:`PRICE_ORDER`, lowest first."""
    spec = TENDERS[key]
    budget = Decimal(spec.budget)
    if spec.method == M.LOTTERY:
        return dict.fromkeys(bidders, budget)
    prices: list[Decimal] = []
    for number in bidders:
        permille = 800 + _draw("price", key, f"agency{number}") % 171
        price = (budget * permille / 1000 / 100).to_integral_value(ROUND_DOWN) * 100
        while price in prices:  # no ties: a tie would make the ranking a matter of lots or receipt time
            price -= 100
        prices.append(price)
    if key not in PRICE_ORDER:
        return dict(zip(bidders, prices, strict=True))
    order = PRICE_ORDER[key] + [n for n in bidders if n not in PRICE_ORDER[key]]
    return dict(zip(order, sorted(prices), strict=True))


def committee_scores(key: str, member: str, order: list[int]) -> dict[int, Decimal]:
    """One committee member's scores (0-100, to the cent) for the bids of agencies ``order``, best
    first: the committee agrees on the order, each member's scores lie within 1.5 points of the
    agreed level, and the levels lie at least 4 points apart, so the means keep the order."""
    top = 86 + _draw("top", key) % 7
    step = 4 + _draw("step", key) % 3
    return {
        number: Decimal(top - step * place) + Decimal(_draw("score", key, member, str(number)) % 301 - 150) / 100
        for place, number in enumerate(order)
    }


def offered_days(key: str, number: int) -> int:
    """The service period agency ``number`` offers: the tender's, or up to a fifth shorter for a
    short assignment (a long one follows the works, so it is offered as asked)."""
    days = SERVICE_DAYS[key]
    return days if days > 120 else days - (_draw("days", key, f"agency{number}") % 3) * (days // 10)


def bid_commitments(spec: TenderSpec, days: int) -> list[str]:
    service = Category(spec.category).label.split(" ")[0]
    promises = [
        f"严格按照招标文件规定的服务范围、内容和标准提供{service}服务",
        f"服务期限 {days} 日历天，按采购人要求的时间节点提交成果",
        "拟派项目负责人及主要技术人员在服务期内不更换，确需更换的事先征得采购人书面同意",
        "对采购人提供的资料及服务中知悉的信息严格保密",
    ]
    if spec.method == M.LOTTERY:
        promises.insert(0, "接受采购人确定的服务价格，中选后按该价格签订合同")
    return promises


def bid_documents(
    spec: TenderSpec, reference: str, org: Organisation, leader: str, price: Decimal, days: int, promises: list[str]
) -> list[tuple[str, bytes]]:
    """The two documents the demo bids carry: the price schedule (报价单) and the technical plan."""
    today = clock.now().astimezone(LOCAL).date().isoformat()
    quote = [
        "报价单",
        f"项目编号：{reference}",
        f"项目名称：{spec.title}",
        f"投标人：{org.name}（统一社会信用代码 {org.uscc}）",
        f"投标报价：人民币 {price:,.2f} 元",
        f"服务期限：{days} 日历天",
        "本报价已包含完成本项目全部服务内容所需的人工、差旅、资料、评审配合及税费等一切费用。",
        f"投标人（电子签名）：{org.name}",
        f"日期：{today}",
    ]
    plan = [
        "技术方案",
        f"一、项目理解：{spec.description}",
        f"二、项目组织：成立专项项目组，项目负责人 {leader}，"
        f"配备专业技术人员 {4 + _draw('staff', reference, org.uscc) % 5} 名。",
        "三、工作流程：资料收集与现场踏勘 → 编制工作方案 → 组织实施 → 内部三级复核 → 成果提交及评审配合。",
        "四、质量与进度保障：执行本单位质量管理体系，关键节点向采购人书面报告，成果资料按规定归档。",
        "五、服务承诺：" + "；".join(promises) + "。",
    ]
    return [("报价单.txt", "\n".join(quote).encode()), ("技术方案.txt", "\n".join(plan).encode())]


def _org_code(name: str) -> str:
    """A deterministic 9-character organisation code (GB 11714: 8 digits and their check digit)."""
    body = f"{int(hashlib.sha256(name.encode()).hexdigest(), 16) % 10**8:08d}"
    remainder = 11 - sum(int(d) * w for d, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    return body + {10: "X", 11: "0"}.get(remainder, str(remainder))


def demo_uscc(spec: OrgSpec) -> str:
    first17 = spec.uscc_prefix + spec.region + _org_code(spec.name)
    return first17 + uscc_check_char(first17)


def _minute(dt: datetime) -> datetime:
    return dt.replace(second=0, microsecond=0)


class Loader:
    """Plays the demo story. ``T0`` is two hours before the real start, rounded to the minute; the
    agencies apply from ``T0 - 30 minutes``."""

    def __init__(self, password: str, password_hash: str) -> None:
        self.password = password
        self.password_hash = password_hash
        self.orgs: dict[str, Organisation] = {}
        self.users: dict[str, User] = {}
        self.tenders: dict[str, int] = {}
        self.agency_ids: dict[str, int] = {}
        self.evaluations: dict[str, int] = {}
        self.black_entries: dict[str, int] = {}
        self.new_keys = 0
        # The demo users' clients: each one's private key, read from its demo key file once.
        self.private_keys: dict[str, pki.PrivateKey] = {}
        self.signing_certificates: dict[str, Certificate] = {}
        # The sealed files this load stored (their SHA-256), removed again if the load fails.
        self.sealed: list[str] = []
        self.start = clock.now()
        self.t0 = _minute(self.start) - timedelta(hours=2)
        self.last = self.t0 - timedelta(hours=1)
        self.specs = {spec.username: spec for spec in ORGANISATIONS}

    # --- helpers ------------------------------------------------------------------------------
    def at(self, minutes: float) -> None:
        """Move the frozen clock to ``T0 + minutes`` (never backwards) and run what is due, as
        ``manage.py clock`` would: the tenders' steps and the credit lists' steps."""
        when = self.t0 + timedelta(minutes=minutes)
        assert when >= self.last, "the demo story only moves forward in time"
        self.last = when
        clock.freeze(when)
        run_due_steps()
        self.open_due()
        run_credit_steps()

    def user(self, username: str) -> User:
        return self.users[username]

    def document(self, number: int) -> str:
        """The supervisory department's document number (文号) for a list decision."""
        return f"江公管信〔{clock.now().astimezone(LOCAL).year}〕{number}号"

    def create(self, key: str, deadline: datetime) -> int:
        spec = TENDERS[key]
        data: dict[str, Any] = {
            "title": spec.title,
            "description": spec.description,
            "method": spec.method,
            "category": spec.category,
            "region": self.orgs[spec.purchaser].region,
            "budget": Decimal(spec.budget),
            "bond_amount": Decimal(spec.bond),
            "bid_deadline": deadline,
            "qualification_requirements": spec.qualification,
            "direct_reason": spec.direct_reason,
        }
        if spec.profile == BIDDER_LOCK_PROFILE and not RuleProfile.objects.filter(name=BIDDER_LOCK_PROFILE).exists():
            profile = RuleProfile.objects.get(name=PROFILE)
            profile.pk, profile.name = None, BIDDER_LOCK_PROFILE
            profile.title, profile.opening_policy = "演示规则（投标人解密）", OpeningPolicy.THRESHOLD_AND_BIDDER
            profile.save()
        tender = tender_create(actor=self.user(spec.purchaser), data=data, profile_name=spec.profile or PROFILE)
        self.tenders[key] = tender.pk
        return int(tender.pk)

    @staticmethod
    def layer_key_path(username: str, reference: str) -> Path:
        """Where the agency's client keeps a bid's own key under the bidder's lock (the client's file format)."""
        return agency_demo.key_directory() / f"{username}-{reference}.layer-key.json"

    def publish(self, key: str, deadline: datetime) -> int:
        """Create, submit and approve: the tender notice goes out now."""
        tender_id = self.create(key, deadline)
        tender_submit(actor=self.user(TENDERS[key].purchaser), tender_id=tender_id)
        tender_approve(actor=self.user("operator"), tender_id=tender_id)
        return tender_id

    def private_key(self, username: str, kind: str) -> pki.PrivateKey:
        """The user's demo private key, read from its key file as the user's client reads it."""
        if username not in self.private_keys:
            try:
                self.private_keys[username] = agency_demo.demo_key(agency_demo.key_directory(), username, kind)
            except agency_demo.DemoKeyError as exc:
                raise CommandError(str(exc)) from None
        return self.private_keys[username]

    def signing_certificate(self, username: str) -> Certificate:
        """The agency's valid signing certificate for its demo key."""
        if username not in self.signing_certificates:
            fingerprint = pki.public_key_fingerprint(self.private_key(username, pki.KEY_ED25519).public_key())
            now = clock.now()
            cert = (
                Certificate.objects.filter(
                    organisation=self.orgs[username],
                    purpose=CertificatePurpose.SIGNING,
                    fingerprint=fingerprint,
                    revoked_at__isnull=True,
                    not_before__lte=now,
                    not_after__gt=now,
                )
                .order_by("-issued_at", "-id")
                .first()
            )
            if cert is None:
                raise CommandError(f"demo story went off script: {username} has no valid signing certificate")
            self.signing_certificates[username] = cert
        return self.signing_certificates[username]

    def object(self, username: str, key: str, kind: str, text: str) -> Objection:
        """The agency's client signs the objection with its demo key and raises it, as an agency must."""
        tender = Tender.objects.get(pk=self.tenders[key])
        cert = self.signing_certificate(username)
        signature = steps.objection_signature(
            tender=tender.reference,
            agency=self.orgs[username].uscc,
            kind=kind,
            text=text,
            certificate=cert.serial,
            private_key=self.private_key(username, pki.KEY_ED25519),
        )
        return objection_raise(
            actor=self.user(username),
            tender_id=tender.pk,
            kind=kind,
            text=text,
            certificate_serial=cert.serial,
            signature=signature,
        )

    def bid(self, key: str, agencies: list[int]) -> None:
        """Each agency's client builds its bid (form and documents), signs it with its demo key,
        seals it to the tender's published opening key and submits it, as ``python -m
        bidding.client build`` and ``submit`` would; the platform stores the sealed file and signs
        the receipt, which the client checks. Received now, before the deadline."""
        tender = Tender.objects.select_related("opening_key").get(pk=self.tenders[key])
        assert clock.now() < tender.bid_deadline
        spec = TENDERS[key]
        opening_key = tender.opening_key  # type: ignore[attr-defined]
        public = bytes.fromhex(opening_key.public_key)
        prices = bid_prices(key, agencies)
        for number in agencies:
            username = f"agency{number}"
            org = self.orgs[username]
            signing_key, cert = self.private_key(username, pki.KEY_ED25519), self.signing_certificate(username)
            days = offered_days(key, number)
            promises = bid_commitments(spec, days)
            form = {
                "tender": tender.reference,
                "agency": org.uscc,
                "price": f"{prices[number]:.2f}",
                "duration_days": days,
                "commitments": promises,
                "project_leader": self.specs[username].contact,
            }
            documents = bid_documents(
                spec, tender.reference, org, self.specs[username].contact, prices[number], days, promises
            )
            layer_private, layer_public = b"", b""
            if rules_of(tender).opening_policy == OpeningPolicy.THRESHOLD_AND_BIDDER:
                layer_private, layer_public = steps.layer_keypair()
            sealed = steps.build_sealed_bid(
                form=form,
                documents=documents,
                certificate=cert.serial,
                private_key=signing_key,
                opening_public=public,
                suite=opening_key.suite,
                layer_public=layer_public or None,
            )
            envelope, digest = sealed.envelope, sealed.digest
            if layer_private:
                # Kept as the client keeps it, so `python -m bidding.client release` works on it at the opening.
                client_files.write_json(
                    self.layer_key_path(username, tender.reference),
                    steps.layer_key_record(
                        tender_id=tender.pk,
                        tender=tender.reference,
                        agency=org.uscc,
                        digest=digest,
                        layer_public=layer_public,
                        layer_private=layer_private,
                    ),
                    private=True,
                    new=False,
                )
            try:
                bid, created = submission.bid_submit(
                    actor=self.user(username),
                    tender_id=tender.pk,
                    stream=io.BytesIO(envelope),
                    certificate_serial=cert.serial,
                    signature=sealed.signature,
                    idempotency_key=digest,  # as the client does: the envelope's SHA-256
                    layer_public=layer_public.hex(),
                )
            except ApplicationError as exc:
                raise CommandError(
                    f"demo story went off script: {username} cannot bid on {key}: {exc.code}: {exc.detail}"
                ) from exc
            self.sealed.append(digest)
            assert created and bid.status == BidStatus.SUBMITTED
            receipt = submission.receipt_of(bid)
            protocol.receipt_verify(receipt["receipt"], receipt["signature"], platform_ca().certificate)
            assert (receipt["receipt"]["digest"], receipt["receipt"]["size"]) == (digest, len(envelope))

    def open_due(self) -> None:
        """Every demo tender the clock has just moved into its opening is opened now, within its
        decryption window: its purchaser and the trading centre each fetch their wrapped share,
        decrypt it with their demo key and submit it; the second share opens the bids."""
        keys = {pk: key for key, pk in self.tenders.items()}
        due = Tender.objects.filter(pk__in=list(keys), status=TenderStatus.OPENING, opening_record__isnull=True)
        for tender_id in due.order_by("bid_deadline", "id").values_list("pk", flat=True):
            self.opening_ceremony(keys[tender_id])

    def opening_ceremony(self, key: str) -> None:
        tender_id = self.tenders[key]
        outcome: dict[str, Any] = {}
        # Under the bidder's lock each agency's client first releases its bid's own key.
        reference = self.reference(key)
        for bid in Bid.objects.filter(tender_id=tender_id, status=BidStatus.SUBMITTED).exclude(layer_public=""):
            username = bid.agency.users.values_list("username", flat=True).first() or ""
            saved = client_files.read_json(self.layer_key_path(username, reference), what="layer key", what_zh="密钥")
            bid_release(actor=self.user(username), bid_id=bid.pk, layer_key=saved["layer_key"])
        for username in (TENDERS[key].purchaser, "operator"):
            holder = self.user(username)
            mine = opening_share_fetch(actor=holder, tender_id=tender_id)
            share = steps.unwrap_holder_share(
                wrapped=mine["wrapped"], context=mine["context"], private_key=self.private_key(username, pki.KEY_P256)
            )
            outcome = opening_submit_share(actor=holder, tender_id=tender_id, share=share)
        opening = OpeningRecord.objects.filter(tender_id=tender_id).first()
        if not outcome.get("opened") or opening is None:
            raise CommandError(f"demo story went off script: the key holders' shares did not open {key}: {outcome}")
        rows = opening.record["bids"]
        refused = {row["uscc"]: f"{row['result']}: {row['reason']}" for row in rows if row["result"] != "opened"}
        standing = Bid.objects.filter(tender_id=tender_id).exclude(
            status__in=[BidStatus.WITHDRAWN, BidStatus.SUPERSEDED]
        )
        if refused or not rows or len(rows) != standing.count():
            raise CommandError(
                f"demo story went off script: the opening of {key} did not open every bid "
                f"({len(rows)} rows for {standing.count()} bids): {refused}"
            )

    # --- evaluation (bidding.services.evaluation) ---------------------------------------------
    def bids_of(self, key: str, *, valid: bool = False) -> dict[int, int]:
        """The bids on tender ``key`` (``valid``: only those still in the running): agency number → bid id."""
        numbers = {org.pk: int(name.removeprefix("agency")) for name, org in self.orgs.items() if name in AGENCIES}
        bids = Bid.objects.filter(tender_id=self.tenders[key])
        if valid:
            bids = bids.filter(status__in=VALID_BIDS)
        return {numbers[agency_id]: bid_id for bid_id, agency_id in bids.values_list("pk", "agency_id")}

    def committee(self, key: str) -> None:
        """公开招标: the committee scores every valid bid, each member on a sheet of their own that
        the trading centre records; then the trading centre concludes the round and the platform
        ranks the bids by their mean scores (:data:`RANKINGS` is the order the committee agrees)."""
        tender = Tender.objects.select_related("profile").get(pk=self.tenders[key])
        bids = self.bids_of(key, valid=True)
        order = RANKINGS[key] + sorted(set(bids) - set(RANKINGS[key]))
        size = rules_of(tender).committee_min_members | 1  # five or more, an odd number
        experts = sorted(EXPERTS, key=lambda expert: _draw("committee", key, expert[0]))[:size]
        if len(experts) < size or set(order) != set(bids):
            raise CommandError(f"demo story went off script: cannot score {key}'s bids {sorted(bids)}")
        operator = self.user("operator")
        for code, name in experts:
            scores = committee_scores(key, code, order)
            committee_score_record(
                actor=operator,
                tender_id=tender.pk,
                member_code=code,
                member_name=name,
                scores={str(bids[number]): f"{score:.2f}" for number, score in scores.items()},
            )
        evaluation_conclude(actor=operator, tender_id=tender.pk)
        self.evaluated(key, expect=RANKINGS[key][0])

    def pick(self, key: str) -> None:
        """直接选取: the purchaser picks the agency (:data:`RANKINGS`), with its written reason."""
        (number,) = RANKINGS[key]
        direct_pick(
            actor=self.user(TENDERS[key].purchaser),
            tender_id=self.tenders[key],
            bid_id=self.bids_of(key, valid=True)[number],
            reason=PICK_REASONS[key],
        )
        self.evaluated(key, expect=number)

    def evaluated(self, key: str, *, expect: int | None = None) -> Tender:
        """The tender's result stands: it is in publicity or beyond, with a signed evaluation record
        whose first-ranked bid is the winner's. The price and lottery methods need nobody: the
        clock evaluated them the moment it closed their opening. ``expect``: the winner the story
        needs (agency number), where it does not depend on a lottery."""
        tender = Tender.objects.get(pk=self.tenders[key])
        evaluation = EvaluationRecord.objects.filter(tender=tender).order_by("-round").first()
        problem = ""
        if tender.status not in AFTER_EVALUATION or evaluation is None:
            problem = f"{key} is {tender.status}, not evaluated"
        elif tender.winner_id != Bid.objects.get(pk=evaluation.record["ranking"][0]).agency_id:
            problem = f"{key}'s winner is not the first of its evaluation's ranking"
        elif expect is not None and tender.winner_id != self.orgs[f"agency{expect}"].pk:
            problem = f"{key} went to {self.winner(key)}, not agency{expect}"
        if problem:
            raise CommandError(f"demo story went off script: {problem}")
        return tender

    def winner(self, key: str) -> str:
        """The username of the agency that won tender ``key``, as evaluated on this load."""
        winner_id = Tender.objects.values_list("winner_id", flat=True).get(pk=self.tenders[key])
        return next(username for username, org in self.orgs.items() if org.pk == winner_id)

    def runner_up(self, key: str, prefer: str | None = None) -> str:
        """A bidder on tender ``key`` that did not win it: ``prefer`` if so, else the best ranked."""
        evaluation = EvaluationRecord.objects.filter(tender_id=self.tenders[key]).order_by("-round").first()
        assert evaluation is not None
        by_bid = {bid_id: number for number, bid_id in self.bids_of(key).items()}
        ranking = [f"agency{by_bid[bid_id]}" for bid_id in evaluation.record["ranking"]]
        winner = self.winner(key)
        if prefer is not None and prefer != winner and prefer in ranking:
            return prefer
        return next(username for username in ranking if username != winner)

    def contract(self, key: str) -> None:
        """The purchaser records the signed contract, which agrees a completion date the tender's
        service period ahead (calendar days: a contract's own term, not a rule of the profile)."""
        tender_record_contract(
            actor=self.user(TENDERS[key].purchaser),
            tender_id=self.tenders[key],
            contract_reference=EVENTS["contracts"][key],
            service_due_at=clock.now() + timedelta(days=SERVICE_DAYS[key]),
        )

    def complete(self, key: str) -> None:
        tender_complete(actor=self.user(TENDERS[key].purchaser), tender_id=self.tenders[key])

    # --- the world ----------------------------------------------------------------------------
    def organisations_and_users(self) -> None:
        """The trading centre, the supervisory department and the purchasers; the agencies register
        themselves (:meth:`register_agency`)."""
        for spec in ORGANISATIONS:
            if spec.kind == K.AGENCY:
                continue
            org = Organisation(
                kind=spec.kind,
                name=spec.name,
                uscc=demo_uscc(spec),
                region=spec.region,
                contact_name=spec.contact,
                contact_phone=spec.phone,
            )
            org.full_clean()
            org.save()
            self.orgs[spec.username] = org
            staff = spec.username == "operator"
            user = User(
                username=spec.username,
                organisation=org,
                role=ROLE_OF_KIND[spec.kind],
                last_name=spec.contact[0],
                first_name=spec.contact[1:],
                email=f"{spec.username}@demo.agora.invalid",
                is_staff=staff,
                password=self.password_hash,
            )
            user.full_clean()
            user.save()
            if staff:  # as a real centre's operator: admin staff in the operators group, not a superuser
                user.groups.add(Group.objects.get(name=OPERATORS_GROUP))
            self.users[spec.username] = user

    # --- the agencies -------------------------------------------------------------------------
    def register_agency(self, username: str) -> None:
        """The agency registers (入驻申请) and adds its qualification certificates."""
        spec, profile = self.specs[username], agency_demo.PROFILES[username]
        email = f"{username}@demo.agora.invalid"
        agency = agency_register(
            username=username,
            password=self.password,
            name=spec.name,
            uscc=demo_uscc(spec),
            region=spec.region,
            legal_representative=profile.legal_representative,
            service_categories=list(profile.categories),
            contact_name=spec.contact,
            contact_phone=spec.phone,
            contact_email=email,
            address=profile.address,
            introduction=profile.introduction,
        )
        org = agency.organisation
        user = org.users.get()
        # The account's display name, which registration does not ask for (no service sets it).
        user.last_name, user.first_name, user.email = spec.contact[0], spec.contact[1:], email
        user.save(update_fields=["last_name", "first_name", "email"])
        self.orgs[username], self.users[username], self.agency_ids[username] = org, user, agency.pk
        today = clock.now().astimezone(LOCAL).date()
        for qualification in profile.qualifications:
            qualification_add(actor=user, data=qualification.data(today))

    def agencies_before_the_tenders(self) -> None:
        """T0 - 30 min: the supermarket fills up before the first notice goes out."""
        self.at(-30)
        for username in AGENCIES:
            if username != APPLIED:
                self.register_agency(username)

        self.at(-25)  # the trading centre reviews the applications (入驻审核)
        operator = self.user("operator")
        for username in ADMITTED:
            agency_admit(actor=operator, agency_id=self.agency_ids[username], reason=ADMIT_REASON)
        agency_return(actor=operator, agency_id=self.agency_ids[RETURNED], reason=RETURN_REASON)
        # Their clients make signing keys; the opening-key holders register theirs, without which
        # no tender can be published (each tender's opening key is shared among them).
        self.certificates(ADMITTED, agency_demo.agency_certificate)
        self.certificates(KEY_HOLDERS, agency_demo.key_holder_certificate)

        # The law firm's application had false papers in it: the supervisor records it, the rule
        # proposes a black-list entry and the supervisor decides one year (repaired later, T0+80).
        self.at(-20)
        self.black_entries[RETURNED] = self.serious_event(RETURNED)
        self.at(-15)
        self.decide_black(RETURNED, number=1, years=1)

    def serious_event(self, username: str) -> int:
        """The supervisor records a serious violation (demo/data/events.toml: its kind, reason and
        evidence; a reason may name a tender); returns the black-list entry the rule proposed."""
        found = EVENTS["serious_violations"][username]
        tender = found.get("tender")
        event = credit_event_record(
            actor=self.user("supervisor"),
            agency_id=self.agency_ids[username],
            kind=found["kind"],
            reason=found["reason"].format(
                reference=self.reference(tender) if tender else "", title=TENDERS[tender].title if tender else ""
            ),
            evidence=found["evidence"].format(year=clock.now().astimezone(LOCAL).year),
        )
        return int(CreditListEntry.objects.values_list("pk", flat=True).get(source_event=event))

    def decide_black(self, username: str, *, number: int, years: int) -> None:
        start = clock.now()
        list_entry_decide(
            actor=self.user("supervisor"),
            entry_id=self.black_entries[username],
            document_number=self.document(number),
            starts_at=start,
            ends_at=add_years(start, years),
        )

    def evaluate(self, key: str) -> None:
        """The purchaser rates the agency that served its completed tender (服务评价)."""
        scores, comment, _ = EVALUATIONS[key]
        evaluation = evaluation_submit(
            actor=self.user(TENDERS[key].purchaser),
            tender_id=self.tenders[key],
            scores=dict(zip(SCORE_NAMES, scores, strict=True)),
            comment=comment,
        )
        self.evaluations[key] = evaluation.pk

    def moderate(self) -> None:
        """The trading centre approves the ratings (they become credit events), rejects one with its
        reason and leaves the latest waiting."""
        for key, (_, _, approve) in EVALUATIONS.items():
            if approve is None:
                continue
            evaluation_moderate(
                actor=self.user("operator"),
                evaluation_id=self.evaluations[key],
                approve=approve,
                note="" if approve else EVALUATION_REJECT_NOTE,
            )

    def credit_lists(self) -> None:
        """Commendations, red-list proposals and decisions, two serious violations and their black-list
        entries, a dismissed proposal and a credit repair (信用修复)."""
        supervisor = self.user("supervisor")
        year = clock.now().astimezone(LOCAL).year

        self.at(43)
        for username in RED:
            credit_event_record(
                actor=supervisor,
                agency_id=self.agency_ids[username],
                kind="commendation",
                reason=EVENTS["credit"]["commendation_reason"].format(last_year=year - 1),
                evidence=EVENTS["credit"]["commendation_evidence"].format(year=year),
            )
        self.at(44)
        for username in [*RED, "agency1"]:
            list_entry_propose(
                actor=supervisor,
                agency_id=self.agency_ids[username],
                list_kind=CreditList.RED,
                reason=EVENTS["credit"]["red_list_proposed"],
            )

    def past(self) -> None:
        """The story so far, on the frozen clock from T0 to the real start (all times in minutes)."""
        t0 = self.t0

        def deadline(minutes: int) -> datetime:
            return t0 + timedelta(minutes=minutes)

        self.agencies_before_the_tenders()

        self.at(0)
        for key, minutes in [
            ("T01", 10),
            ("T02", 8),
            ("T03", 8),
            ("T04", 5),
            ("T23", 16),
            ("T05", 30),
            ("T06", 30),
            ("T10", 20),
            ("T21", 22),
            ("T22", 26),
            ("T24", 35),
            ("T11", 40),
            ("T12", 60),
            ("T14", 150),
            ("T15", 50),
            ("T08", 100),
            ("T07", 118),
            ("T09", 120),
        ]:
            self.publish(key, deadline(minutes))

        # Nobody bids for T10: the only law firm that applied was returned, so it fails (流标).
        self.at(1)
        for key, agencies in [
            ("T01", [1, 2, 12]),
            ("T02", [5, 6, 8]),
            ("T03", [3, 4, 12]),
            ("T04", [9]),
            ("T23", [9]),
            ("T05", [7, 12, 1, 8]),
            ("T06", [9, 12, 2, 1]),
            ("T21", [3, 4, 12]),
            ("T22", [7, 12, 8]),
            ("T24", [2, 1, 12]),
            ("T11", [8, 12, 7]),
            ("T12", [12, 1]),
            ("T14", [12, 8]),
            ("T15", [12, 1, 2]),
            ("T08", [1, 2, 12, 7]),
            ("T07", [8, 12, 5]),
            ("T09", [12, 8, 7, 3]),
        ]:
            self.bid(key, agencies)

        self.at(2)
        tender_amend(
            actor=self.user("purchaser1"),
            tender_id=self.tenders["T01"],
            title=EVENTS["amendments"]["T01"]["title"],
            body=EVENTS["amendments"]["T01"]["body"],
            new_deadline=deadline(12),
        )

        self.at(5)  # T04 deadline: opening
        self.at(7)  # T04 evaluating: the purchaser picks (直接选取)
        self.pick("T04")

        self.at(8)  # T02, T03 deadline
        # T02, T03 evaluated as their openings closed (lowest price; optimal price, its base drawn
        # by lot) and in publicity; T04 publicity over: awarded, contract due at +20.
        self.at(10)
        self.evaluated("T02", expect=PRICE_ORDER["T02"][0])
        self.evaluated("T03")

        self.at(12)  # T01 deadline (amended)
        self.at(13)  # T02, T03 awarded
        self.at(14)  # T01 evaluating: the committee's five sheets (综合评估法)
        self.committee("T01")

        self.at(15)
        tender_cancel(
            actor=self.user("purchaser2"),
            tender_id=self.tenders["T12"],
            reason=EVENTS["cancellations"]["T12"],
        )
        self.contract("T02")

        self.at(16)  # T23 deadline: opening
        self.at(17)  # T01 awarded
        self.at(18)  # T23 evaluating
        self.contract("T01")
        self.contract("T03")
        self.pick("T23")

        self.at(20)  # T10 deadline without a bid: 流标
        self.object("agency7", "T14", ObjectionKind.DOCUMENTS, EVENTS["objections"]["T14"]["text"])

        self.at(22)  # T23 awarded; T21 deadline
        self.contract("T23")
        self.at(24)  # T21 evaluated and in publicity
        self.evaluated("T21", expect=PRICE_ORDER["T21"][0])

        # T04's contract after its due time: recorded as late, and the platform records a
        # late_contract credit event for the agency; the supervisor finds the delay was the
        # purchaser's and annuls it (it stays on record).
        self.at(25)
        self.contract("T04")
        self.at(26)  # T22 deadline
        late = CreditEvent.objects.get(
            kind__code="late_contract", source_type="market.tender", source_id=str(self.tenders["T04"])
        )
        credit_event_annul(
            actor=self.user("supervisor"),
            event_id=late.pk,
            reason=EVENTS["credit"]["late_contract_annulled"],
        )

        self.at(28)  # T21 awarded; T22 evaluated and in publicity
        self.contract("T21")
        self.evaluated("T22", expect=PRICE_ORDER["T22"][0])

        self.at(30)  # T05, T06 deadline
        self.at(32)  # T05 evaluating; T06 drawn by lot and in publicity; T22 awarded
        self.committee("T05")
        self.evaluated("T06")
        self.contract("T22")

        # An agency the lot did not choose (agency12, unless it won) objects to the draw.
        self.at(33)
        objection = self.object(
            self.runner_up("T06", prefer="agency12"), "T06", ObjectionKind.RESULT, EVENTS["objections"]["T06"]["text"]
        )

        self.at(35)  # T24 deadline
        self.at(37)  # T24 evaluated (its base drawn by lot) and in publicity
        self.evaluated("T24")

        self.at(38)  # T05 awarded; T06's publicity resumes, moved later by the 5 minutes suspended
        objection_answer(
            actor=self.user("purchaser2"),
            objection_id=objection.pk,
            upheld=False,
            answer=EVENTS["objections"]["T06"]["answer"],
        )

        self.at(40)  # T06, T24 awarded; T11 deadline
        self.contract("T24")
        # T11 evaluating: the committee finds no bid qualified and sets each aside (否决投标);
        # concluding the round leaves no valid bid, and the tender fails (废标).
        self.at(42)
        for number, reason in DISQUALIFIED["T11"].items():
            evaluation_disqualify(
                actor=self.user("operator"),
                tender_id=self.tenders["T11"],
                bid_id=self.bids_of("T11", valid=True)[number],
                reason=reason,
            )
        evaluation_conclude(actor=self.user("operator"), tender_id=self.tenders["T11"])

        self.credit_lists()  # T0+43, +44: commendations and red-list proposals

        self.at(45)
        self.complete("T01")
        self.complete("T02")
        self.complete("T23")
        self.at(46)  # the purchasers rate the agencies that served them
        for key in ("T01", "T02", "T23"):
            self.evaluate(key)

        self.at(50)  # T15 deadline
        self.at(52)  # evaluated and in publicity
        self.evaluated("T15", expect=PRICE_ORDER["T15"][0])
        self.at(53)
        tender_suspend(
            actor=self.user("supervisor"),
            tender_id=self.tenders["T15"],
            reason=EVENTS["suspensions"]["T15"],
        )

        self.at(55)
        for key in ("T21", "T22", "T24"):
            self.complete(key)
        self.at(56)
        for key in ("T21", "T22", "T24"):
            self.evaluate(key)

        # The trading centre moderates the ratings. (Completing on time gave each winner its
        # award_completed_on_time credit event: tender_complete records it.)
        self.at(60)
        self.moderate()

        # Two serious violations found by the supervisor's investigations; the rule proposes a
        # black-list entry for each.
        self.at(70)
        self.black_entries["agency4"] = self.serious_event("agency4")
        self.black_entries["agency6"] = self.serious_event("agency6")

        self.at(75)  # the supervisor's decisions
        supervisor = self.user("supervisor")
        self.decide_black("agency4", number=2, years=2)
        self.decide_black("agency6", number=3, years=3)
        proposals = dict(
            CreditListEntry.objects.filter(
                list_kind=CreditList.RED, agency_id__in=[self.agency_ids[u] for u in [*RED, "agency1"]]
            ).values_list("agency_id", "pk")
        )
        for number, username in enumerate(RED, start=4):
            list_entry_decide(
                actor=supervisor,
                entry_id=proposals[self.agency_ids[username]],
                document_number=self.document(number),
            )
        list_entry_dismiss(
            actor=supervisor,
            entry_id=proposals[self.agency_ids["agency1"]],
            reason=EVENTS["credit"]["red_list_dismissed"].format(reference=self.reference("T15")),
        )

        self.at(80)  # credit repair (信用修复) for the law firm
        list_entry_revoke(
            actor=supervisor,
            entry_id=self.black_entries[RETURNED],
            reason=EVENTS["credit"]["black_list_repaired"],
        )

        self.at(100)  # T08 deadline
        self.at(102)  # T08 evaluated (its base drawn by lot) and in publicity
        self.evaluated("T08")
        self.objection_upheld("T08")  # T0+103 to +106: back to evaluation, its first candidate set aside
        self.at(118)  # T07 deadline

        # The real start: T09's deadline (the start rounded down to the minute) has just passed:
        # its key holders open the bids now, and it stays in its opening until the decryption
        # window ends (up to two more minutes), then moves on to evaluation. T07's window has just
        # ended: the clock evaluates it now, and its publicity runs for three minutes.
        clock.freeze(self.start)
        run_due_steps()
        self.open_due()
        run_credit_steps()
        self.evaluated("T07", expect=PRICE_ORDER["T07"][0])

    def objection_upheld(self, key: str) -> None:
        """During the publicity the runner-up objects to the first candidate; the purchaser upholds
        the objection, so the tender goes back to evaluation (a new round), and the committee sets
        the first candidate's bid aside. Concluding the new round is left to the demo's operator."""
        winner, objector = self.winner(key), self.runner_up(key)
        name, leader = self.orgs[winner].name, self.specs[winner].contact
        said = EVENTS["objections"][key]
        self.at(103)
        objection = self.object(objector, key, ObjectionKind.RESULT, said["text"].format(name=name, leader=leader))
        self.at(104)
        objection_answer(
            actor=self.user(TENDERS[key].purchaser),
            objection_id=objection.pk,
            upheld=True,
            answer=said["answer"].format(name=name, leader=leader),
        )
        self.at(106)
        evaluation_disqualify(
            actor=self.user("operator"),
            tender_id=self.tenders[key],
            bid_id=self.bids_of(key, valid=True)[int(winner.removeprefix("agency"))],
            reason=said["disqualify_reason"].format(name=name, leader=leader),
        )

    def reference(self, key: str) -> str:
        return str(Tender.objects.values_list("reference", flat=True).get(pk=self.tenders[key]))

    def certificates(self, usernames: list[str], make: Any) -> None:
        """The clients make their keys and the platform CA certifies them (``make`` is the agencies'
        or the key holders' client)."""
        directory = agency_demo.key_directory()
        try:
            for username in usernames:
                _, created = make(directory, self.user(username))
                self.new_keys += created
        except agency_demo.DemoKeyError as exc:
            raise CommandError(str(exc)) from None

    def present(self) -> None:
        """On the real clock: a new agency application, tenders open for bids,
        under review, and drafts."""
        self.register_agency(APPLIED)  # waits for the trading centre's review

        now = _minute(clock.now())
        self.publish("T17", now + timedelta(minutes=15))
        self.bid("T17", [9, 1, 2])
        self.publish("T18", now + timedelta(minutes=25))
        self.bid("T18", [3])
        self.publish("T16", now + timedelta(minutes=45))
        self.bid("T16", [5, 8, 12])
        tender_amend(
            actor=self.user("purchaser1"),
            tender_id=self.tenders["T16"],
            title=EVENTS["amendments"]["T16"]["title"],
            body=EVENTS["amendments"]["T16"]["body"],
            new_deadline=now + timedelta(minutes=50),
        )

        tomorrow = now + timedelta(days=1)
        tender_submit(actor=self.user("purchaser3"), tender_id=self.create("T19", tomorrow))
        self.create("T13", tomorrow)
        t20 = self.create("T20", tomorrow)
        tender_submit(actor=self.user("purchaser1"), tender_id=t20)
        tender_return(actor=self.user("operator"), tender_id=t20, reason=EVENTS["returned_drafts"]["T20"])

    def check(self) -> None:
        """Refuse to commit a world that is not the one described."""
        wrong: dict[str, Any] = {}
        for key, expected in EXPECTED.items():
            status = Tender.objects.values_list("status", flat=True).get(pk=self.tenders[key])
            if status != expected:
                wrong[key] = f"{status} (expected {expected})"
        statuses = Counter(Agency.objects.filter(pk__in=self.agency_ids.values()).values_list("status", flat=True))
        if statuses != {AdmissionStatus.ADMITTED: 10, AdmissionStatus.RETURNED: 1, AdmissionStatus.APPLIED: 1}:
            wrong["agencies"] = dict(statuses)
        for list_kind, names in ((CreditList.BLACK, BLACK), (CreditList.RED, RED)):
            in_force = list(list_entries_public(list_kind=list_kind).values_list("agency_id", flat=True))
            if sorted(in_force) != sorted(self.agency_ids[u] for u in names):
                wrong[f"{list_kind} list"] = sorted(in_force)
        # A black-listed agency's bids would be rejected at the opening: none stands on an open tender.
        for bid in Bid.objects.filter(tender_id__in=self.tenders.values(), tender__status=TenderStatus.PUBLISHED):
            if not agency_may(bid.agency, RestrictedAction.BID):
                wrong[f"bid {bid.pk}"] = f"{bid.agency.name} may not bid"
        wrong.update(self.bids_wrong())
        wrong.update(self.openings_wrong())
        wrong.update(self.evaluations_wrong())
        if wrong:
            raise CommandError(f"demo story went off script: {wrong}")

    def bids_wrong(self) -> dict[str, str]:
        """The demo's bids are real: each has its sealed file, whose SHA-256 is the bid's digest,
        the certificate it was signed with and a receipt that verifies with the platform CA."""
        wrong: dict[str, str] = {}
        ca = platform_ca().certificate
        bids = Bid.objects.filter(tender_id__in=self.tenders.values()).select_related("certificate")
        for bid in bids:
            path = storage.stored_path(submission.PREFIX, bid.ciphertext_digest)
            if bid.certificate is None or not bid.signature:
                wrong[f"bid {bid.pk}"] = "no certificate or signature"
            elif not path.is_file() or crypto.digest_file(path) != bid.ciphertext_digest:
                wrong[f"bid {bid.pk}"] = f"sealed file missing or altered: {path}"
            else:
                receipt = submission.receipt_of(bid)
                try:
                    protocol.receipt_verify(receipt["receipt"], receipt["signature"], ca)
                except crypto.CryptoError as exc:
                    wrong[f"bid {bid.pk}"] = f"receipt: {exc.code}"
        return wrong

    def openings_wrong(self) -> dict[str, str]:
        """Every tender the clock moved into its opening has an opening record that verifies with
        the platform CA certificate and opened every bid; no tender open for bids has one."""
        wrong: dict[str, str] = {}
        ca = platform_ca().certificate
        for key, tender_id in self.tenders.items():
            tender = Tender.objects.get(pk=tender_id)
            opening = OpeningRecord.objects.filter(tender=tender).first()
            if tender.opening_ends_at is None:  # never reached its opening
                if opening is not None:
                    wrong[f"{key} opening"] = f"an opening record, but the tender is {tender.status}"
                continue
            if opening is None:
                wrong[f"{key} opening"] = "reached its opening but has no opening record"
                continue
            try:
                digest = protocol.opening_record_verify(
                    opening.record, base64.b64encode(bytes(opening.signature)).decode(), ca
                )
            except crypto.CryptoError as exc:
                wrong[f"{key} opening"] = f"the record does not verify: {exc.code}"
                continue
            rows = opening.record["bids"]
            if digest != opening.digest:
                wrong[f"{key} opening"] = "the record's digest differs from the stored one"
            elif not rows or any(row["result"] != "opened" for row in rows):
                wrong[f"{key} opening"] = f"not every bid opened: {[row['result'] for row in rows]}"
        return wrong

    def evaluations_wrong(self) -> dict[str, str]:
        """Every tender past its opening was evaluated by its method: each round has its evaluation
        record, which verifies with the platform CA certificate and, where lots were drawn,
        recomputes; a tender with a standing result went to the first of its ranking."""
        wrong: dict[str, str] = {}
        ca = platform_ca().certificate
        for key, tender_id in self.tenders.items():
            tender = Tender.objects.get(pk=tender_id)
            records = list(EvaluationRecord.objects.filter(tender=tender).order_by("round"))
            if tender.opening_ends_at is None or tender.status == TenderStatus.OPENING:
                if records:
                    wrong[f"{key} evaluation"] = f"an evaluation record, but the tender is {tender.status}"
                continue
            if not records:
                wrong[f"{key} evaluation"] = f"past its opening ({tender.status}) but never evaluated"
                continue
            for evaluation in records:
                signature = base64.b64encode(bytes(evaluation.signature)).decode()
                try:
                    digest = protocol.evaluation_record_verify(evaluation.record, signature, ca)
                except crypto.CryptoError as exc:
                    wrong[f"{key} evaluation {evaluation.round}"] = f"the record does not verify: {exc.code}"
                    continue
                draw = evaluation.record["draw"]
                if digest != evaluation.digest:
                    wrong[f"{key} evaluation {evaluation.round}"] = "the record's digest differs from the stored one"
                elif draw is not None and lottery.check(draw):
                    wrong[f"{key} evaluation {evaluation.round}"] = (
                        f"the draw does not recompute: {lottery.check(draw)}"
                    )
            standing = tender.suspended_from if tender.status == TenderStatus.SUSPENDED else tender.status
            ranking = records[-1].record["ranking"]
            if standing in AFTER_EVALUATION and (
                not ranking or Bid.objects.get(pk=ranking[0]).agency_id != tender.winner_id
            ):
                wrong[f"{key} evaluation"] = "the winner is not the first of the ranking"
        return wrong


class Command(BaseCommand):
    help = (
        "Load the demo data set (江州市: organisations, users, agencies with certificates and credit records, "
        "24 tenders in every state). Idempotent; needs the platform CA (manage.py ca_init)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if Organisation.objects.filter(name=CENTRE_NAME).exists():
            self.stdout.write(f"Demo data already loaded ({CENTRE_NAME} exists); nothing to do.")
            return
        taken = sorted(
            User.objects.filter(username__in=[s.username for s in ORGANISATIONS]).values_list("username", flat=True)
        )
        if taken:
            raise CommandError(
                f"Users {', '.join(taken)} already exist but the demo data is not loaded; "
                "demo_load needs an empty database."
            )
        if not RuleProfile.objects.filter(name=PROFILE).exists():
            raise CommandError(f"Rule profile '{PROFILE}' is missing; run `manage.py migrate` first.")
        try:
            platform_ca()
        except ApplicationError as exc:
            if exc.code == "ca_not_configured":
                raise CommandError(
                    "The platform certificate authority is missing: run `python manage.py ca_init` first "
                    "(`make demo` does), then demo_load again."
                ) from None
            raise CommandError(
                f"The platform certificate authority cannot be loaded ({exc.code}): check AGORA_CA_KEY_FILE, "
                "AGORA_CA_CERT_FILE and AGORA_CA_KEY_PASSWORD, or make a new one with `python manage.py ca_init`."
            ) from None

        password = os.environ.get("AGORA_DEMO_PASSWORD", DEFAULT_PASSWORD)
        # One hash for the five staff and purchaser users: they share the password anyway, and
        # hashing is most of the command's run time. The agencies register through the service,
        # which hashes each one's password itself.
        loader = Loader(password, make_password(password))
        try:
            with transaction.atomic():
                loader.organisations_and_users()
                try:
                    loader.past()
                finally:
                    clock.reset()
                loader.present()
                loader.check()
        except BaseException as exc:
            # Nothing of a failed load stays: its rows are rolled back, and its sealed files go too.
            for digest in loader.sealed:
                storage.discard(submission.PREFIX, digest)
            if isinstance(exc, ApplicationError):
                raise CommandError(f"a service refused a demo step: {exc.code}: {exc.detail}") from exc
            raise
        finally:
            clock.reset()
        self.report(loader, password)

    def report(self, loader: Loader, password: str) -> None:
        counts = Counter(Tender.objects.filter(pk__in=loader.tenders.values()).values_list("status", flat=True))
        agencies = Agency.objects.filter(pk__in=loader.agency_ids.values())
        admission = Counter(agencies.values_list("status", flat=True))
        certificates = Counter(
            Certificate.objects.filter(organisation__in=loader.orgs.values()).values_list("purpose", flat=True)
        )
        evaluations = Counter(ServiceEvaluation.objects.filter(agency__in=agencies).values_list("status", flat=True))
        entries = CreditListEntry.objects.filter(agency__in=agencies)
        history = Counter(entries.values_list("status", flat=True))
        black_now = list_entries_public(list_kind=CreditList.BLACK).filter(agency__in=agencies)
        red_now = list_entries_public(list_kind=CreditList.RED).filter(agency__in=agencies)
        listed = {
            **{entry.agency_id: "black list" for entry in black_now},
            **{entry.agency_id: "red list" for entry in red_now},
        }
        out = self.stdout.write
        out(
            self.style.SUCCESS(
                f"Demo data loaded: {len(loader.orgs)} organisations, {len(loader.users)} users, "
                f"{len(loader.tenders)} tenders, "
                f"{Bid.objects.filter(tender_id__in=loader.tenders.values()).count()} bids."
            )
        )
        out("Tenders by state: " + ", ".join(f"{s.value} {counts[s.value]}" for s in TenderStatus if counts[s.value]))
        out("Open tenders move on live while `manage.py clock` runs (deadlines in 15-50 minutes).")
        bids = Bid.objects.filter(tender_id__in=loader.tenders.values())
        records = OpeningRecord.objects.filter(tender_id__in=loader.tenders.values())
        opened = sum(len(record["bids"]) for record in records.values_list("record", flat=True))
        standing = bids.filter(tender__status=TenderStatus.PUBLISHED, status=BidStatus.SUBMITTED).count()
        out(
            f"Bids: {bids.count()}, each built, signed and sealed with its agency's demo key and received with a "
            f"signed receipt; {records.count()} opening ceremonies (two key holders' shares each) opened {opened} "
            f"of them and published signed opening records; {standing} stand sealed on the tenders open for bids."
        )
        self.report_evaluations(loader)
        out(
            f"Agencies: {agencies.count()} ("
            + ", ".join(f"{s.value} {admission[s.value]}" for s in AdmissionStatus if admission[s.value])
            + f"), {Qualification.objects.filter(agency__in=agencies).count()} qualifications."
        )
        out(
            f"Certificates: {certificates[CertificatePurpose.SIGNING]} bid-signing (agencies), "
            f"{certificates[CertificatePurpose.KEY_HOLDER]} opening-key holders."
        )
        out(
            f"Service evaluations: {sum(evaluations.values())} ("
            + ", ".join(f"{s.value} {evaluations[s.value]}" for s in EvaluationStatus if evaluations[s.value])
            + f"); {CreditEvent.objects.filter(agency__in=agencies).count()} credit events."
        )
        out(
            f"Credit lists in force: black {black_now.count()}, red {red_now.count()} "
            f"({entries.count()} entries in all; {history['revoked']} revoked, {history['dismissed']} dismissed)."
        )
        directory = agency_demo.key_directory()
        out(
            f"Demo private keys (for the command-line client): {directory}/<username>.key.pem, mode 600; "
            f"{loader.new_keys} new, {len(ADMITTED) + len(KEY_HOLDERS) - loader.new_keys} reused from an earlier run."
        )
        self.replay(loader, password)
        out("")
        out(f"Users (password for all: {password}):")
        for spec in ORGANISATIONS:
            notes = []
            if spec.username == "operator":
                notes.append("Django admin")
            if spec.username in loader.agency_ids:
                agency_id = loader.agency_ids[spec.username]
                notes.append(str(agencies.get(pk=agency_id).status))
                if agency_id in listed:
                    notes.append(listed[agency_id])
            note = f"  [{', '.join(notes)}]" if notes else ""
            out(f"  {spec.username:<12} {ROLE_OF_KIND[spec.kind]:<10} {spec.name}{note}")
        out("")
        out(
            self.style.WARNING(
                "This is DEMO data: fictional organisations, a shared, published password and unprotected demo "
                "keys. Never load it on a production platform."
            )
        )

    def report_evaluations(self, loader: Loader) -> None:
        """How the tenders were evaluated, and what the lots chose on this load."""
        keys = {pk: key for key, pk in loader.tenders.items()}
        records = EvaluationRecord.objects.filter(tender_id__in=list(keys)).select_related("tender")
        by_method = Counter(record.tender.method for record in records)
        committees, picks = by_method.pop(M.OPEN_TENDER, 0), by_method.pop(M.DIRECT, 0)
        self.stdout.write(
            f"Evaluations: {len(records)} signed evaluation records: {committees} for open tenders (the "
            f"committee's score sheets, or every bid set aside), {picks} direct picks by the purchaser, and "
            f"{by_method.total()} lowest-price, optimal-price and lottery results the platform computed as the "
            "openings closed."
        )
        drawn = []
        for record in sorted(records, key=lambda r: (keys[r.tender_id], r.round)):
            if record.tender.method not in (M.OPTIMAL_PRICE, M.LOTTERY) or record.round > 1:
                continue
            first = Bid.objects.select_related("agency").get(pk=record.record["ranking"][0]).agency.name
            base = record.record["details"].get("base_percent")
            drawn.append(f"{keys[record.tender_id]} {first}" + (f" (base {base}%)" if base else ""))
        self.stdout.write("Drawn by lot on this load (they differ from load to load): " + "; ".join(drawn) + ".")

    def replay(self, loader: Loader, password: str) -> None:
        """How the demo users run the opening ceremony of a tender that closes live (:data:`REPLAY`)."""
        out = self.stdout.write
        tender = Tender.objects.select_related("profile").get(pk=loader.tenders[REPLAY])
        holders = [TENDERS[REPLAY].purchaser, "operator"]
        closes = tender.bid_deadline
        window = rules_of(tender).decryption_window
        ends = closes + window
        directory = agency_demo.key_directory()
        try:
            key_dir = directory.relative_to(settings.BASE_DIR)  # the commands run from the repository
        except ValueError:
            key_dir = directory
        python = ".venv/bin/python"
        bids = tender.bids.filter(status=BidStatus.SUBMITTED).count()  # type: ignore[attr-defined]
        out("")
        out(
            f"Opening ceremony to replay: {REPLAY} {tender.title}, tender id {tender.pk} ({tender.reference}), "
            f"{bids} sealed bids; bids close at {format_local(closes)} (Beijing time)."
        )
        out(
            f"The demo rule profile's decryption window is {window.total_seconds() / 60:g} minutes (its minutes stand "
            f"for the national rules' days): two key holders must submit their shares between {format_local(closes)} "
            f"and {format_local(ends)}, or the tender fails (开标失败) when the window ends."
        )
        out("From the repository directory, with the site running, log the two key holders in now:")
        for username in holders:
            out(
                f"  {python} -m bidding.client login --server {DEMO_SERVER} --username {username} "
                f"--password {password} --out {username}.token"
            )
        out(f"then, after {format_local(closes)} and before {format_local(ends)}, each submits its share:")
        for username in holders:
            out(
                f"  {python} -m bidding.client share --server {DEMO_SERVER} --token-file {username}.token "
                f"--tender {tender.pk} --key {key_dir}/{username}.key.pem"
            )
        out("and anyone checks the published opening record:")
        out(f"  DJANGO_DEBUG=1 {python} manage.py opening_verify {tender.pk}")
        keys = {pk: key for key, pk in loader.tenders.items()}
        others = [
            f"{keys[other.pk]} id {other.pk} (holders {TENDERS[keys[other.pk]].purchaser} and operator, "
            f"bids close at {format_local(other.bid_deadline)})"
            for other in Tender.objects.filter(pk__in=list(keys), status=TenderStatus.PUBLISHED)
            .exclude(pk=tender.pk)
            .order_by("bid_deadline", "id")
        ]
        out("The other tenders open for bids open the same way: " + "; ".join(others) + ".")
        for locked in Tender.objects.filter(
            pk__in=list(keys), status=TenderStatus.PUBLISHED, profile__opening_policy=OpeningPolicy.THRESHOLD_AND_BIDDER
        ).order_by("bid_deadline", "id"):
            out(
                f"{keys[locked.pk]} (id {locked.pk}) is sealed under the bidder's lock (投标人解密): after "
                f"{format_local(locked.bid_deadline)}, besides the holders' shares, each bidding agency releases its "
                "own key within the window, or its bid counts as withdrawn:"
            )
            for bid in locked.bids.filter(status=BidStatus.SUBMITTED).select_related("agency"):  # type: ignore[attr-defined]
                username = bid.agency.users.values_list("username", flat=True).first()
                layer_file = loader.layer_key_path(str(username), locked.reference)
                if layer_file.is_relative_to(settings.BASE_DIR):  # the commands run from the repository
                    layer_file = layer_file.relative_to(settings.BASE_DIR)
                out(
                    f"  {python} -m bidding.client login --server {DEMO_SERVER} --username {username} "
                    f"--password {password} --out {username}.token"
                )
                out(
                    f"  {python} -m bidding.client release --server {DEMO_SERVER} --token-file {username}.token "
                    f"--bid-id {bid.pk} --layer-key {layer_file}"
                )
