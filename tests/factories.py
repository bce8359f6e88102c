"""Factories: organisations, users and tenders in any lifecycle state, built through the services."""

from __future__ import annotations

import base64
import io
import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from accounts.models import ROLE_OF_KIND, Organisation, User
from accounts.uscc import uscc_check_char
from agencies import pki
from agencies.models import Certificate
from agencies.services import admission, certificates, registration
from bidding.client import steps
from bidding.models import Bid, OpeningKey
from bidding.services import submission
from core import clock
from core.permissions import Role
from market.choices import Category, Method, OpeningPolicy, TenderStatus
from market.models import RuleProfile, Tender
from market.rules import rules_of
from market.services import tenders as market_tenders
from procurement.services import evaluation as workflow_evaluation
from procurement.services import objections as workflow_objections
from procurement.services import opening as workflow_opening
from procurement.services import tenders as svc
from procurement.services.timeline import run_due_steps

_seq = itertools.count(1)


def valid_uscc(n: int, prefix: str = "91360100") -> str:
    """A code that passes GB 32100-2015's check, distinct for each ``n``."""
    first17 = f"{prefix}{n:09d}"
    return first17 + uscc_check_char(first17)


def organisation(kind: str, name: str | None = None) -> Organisation:
    n = next(_seq)
    return Organisation.objects.create(kind=kind, name=name or f"{kind}-{n}", uscc=valid_uscc(n), region="360102")


PASSWORD = "test-password-123"


def qualification_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "category": Category.COST_CONSULTING,
        "kind": "工程造价咨询企业资质",
        "grade": "甲级",
        "number": f"甲{next(_seq):06d}",
        "issuer": "江西省住房和城乡建设厅",
        "valid_from": None,
        "valid_until": (clock.now() + timedelta(days=365)).date(),
    }
    data.update(overrides)
    return data


def applied_agency(*, categories: tuple[str, ...] = (Category.COST_CONSULTING,), name: str | None = None) -> User:
    """An agency that registered and added a valid qualification per category; awaiting review."""
    n = next(_seq)
    agency = registration.agency_register(
        username=f"agency-{n}",
        password=PASSWORD,
        name=name or f"江州市第{n}咨询有限公司",
        uscc=valid_uscc(n),
        region="360102",
        legal_representative="张三",
        service_categories=list(categories),
    )
    member = agency.organisation.users.get()
    for category in categories:
        registration.qualification_add(actor=member, data=qualification_data(category=category))
    return member


# The private keys of the key holders the factories registered, by username: the tests play each
# holder's own client, which keeps its key (the platform only ever sees the certificate).
HOLDER_KEYS: dict[str, ec.EllipticCurvePrivateKey] = {}


def holder_key(member: User) -> ec.EllipticCurvePrivateKey:
    """Register an opening-key holder's P-256 key the way its client would (CSR → certificate)."""
    key = ec.generate_private_key(ec.SECP256R1())
    org = member.organisation
    assert org is not None
    csr = pki.csr_make(key, pki.Subject(organisation_name=org.name, uscc=org.uscc, username=member.username))
    certificates.key_holder_register(actor=member, csr=csr)
    HOLDER_KEYS[member.username] = key
    return key


SIGNING_KEYS: dict[str, Any] = {}
# Each agency's key and certificate, made once per test (the registry of Certificate rows is per test).
SIGNING_CERTS: dict[str, tuple[Any, Any]] = {}


def api_token(member: User) -> str:
    """A new API token for ``member``, as `POST /api/auth/token/` makes one (shown once, stored hashed)."""
    from accounts.tokens import token_create

    return token_create(user=member)[0]


def signing_key(member: User) -> tuple[Any, Any]:
    """An agency's client makes an Ed25519 key and gets it certified. Returns (key, certificate)."""
    key = ed25519.Ed25519PrivateKey.generate()
    org = member.organisation
    assert org is not None
    csr = pki.csr_make(key, pki.Subject(organisation_name=org.name, uscc=org.uscc))
    cert = certificates.certificate_request(actor=member, csr=csr, **rollover_endorsement(member, csr))
    SIGNING_KEYS[member.username] = key
    return key, cert


def rollover_endorsement(member: User, csr: bytes) -> dict[str, str]:
    """While the agency holds a valid certificate for the key its client last made, the client endorses a new
    request with that key (agencies.pki.rollover_payload); a first certificate needs nothing."""
    org = member.organisation
    previous = SIGNING_KEYS.get(member.username)
    if org is None or previous is None:
        return {}
    now = clock.now()
    current = Certificate.objects.filter(
        organisation=org,
        purpose="signing",
        fingerprint=pki.public_key_fingerprint(previous.public_key()),
        revoked_at__isnull=True,
        not_before__lte=now,
        not_after__gt=now,
    ).first()
    if current is None:
        return {}
    payload = pki.rollover_payload(
        subject=org.uscc, csr_sha256=pki.csr_digest(pki.csr_load(csr)), certificate=current.serial
    )
    return {
        "endorsement": base64.b64encode(pki.sign(previous, payload)).decode(),
        "endorsing_certificate": current.serial,
    }


# The private halves of bidders' layer keys, by the layer public key (hex): what each agency's client keeps.
LAYER_KEYS: dict[str, bytes] = {}


def bid_envelope(
    member: User,
    tender: Tender,
    price: str = "98000.00",
    *,
    sign_with: Any = None,
    seal_as: str | None = None,
    layer_public: bytes | None = None,
) -> tuple[bytes, Any, str]:
    """What the agency's client makes: bid form and a document, signed (by ``sign_with`` instead of the
    agency's key, to forge one), sealed to the tender's opening key (bound to ``seal_as`` instead of the
    agency, to misbind one; first to ``layer_public`` under the bidder's-lock policy), and the submission
    signature. Returns (envelope, certificate, signature)."""
    org = member.organisation
    assert org is not None
    key, cert = SIGNING_CERTS.get(member.username) or signing_key(member)
    SIGNING_CERTS[member.username] = (key, cert)
    form = {"tender": tender.reference, "agency": org.uscc, "price": price, "duration_days": 40, "commitments": []}
    plaintext = steps.sign_bid(
        form=form,
        documents=[("报价单.pdf", b"%PDF " + price.encode())],
        certificate=cert.serial,
        private_key=sign_with or key,
    )
    opening_public = bytes.fromhex(OpeningKey.objects.get(tender=tender).public_key)
    envelope = steps.seal_bid(
        plaintext,
        opening_public=opening_public,
        tender=tender.reference,
        agency=seal_as or org.uscc,
        layer_public=layer_public,
    )
    _, signature = steps.submission_signature(
        envelope,
        tender=tender.reference,
        agency=org.uscc,
        certificate=cert.serial,
        private_key=key,
        layer_public=layer_public.hex() if layer_public else "",
    )
    return envelope, cert, signature


def signing_cert(member: User) -> tuple[Any, Any]:
    """The agency's signing key and certificate, made (and certified, which is audited) on first use."""
    if member.username not in SIGNING_CERTS:
        SIGNING_CERTS[member.username] = signing_key(member)
    return SIGNING_CERTS[member.username]


def objection_fields(member: User, tender: Tender, kind: str, text: str) -> dict[str, str]:
    """What the agency's client sends to object: the kind, the text and its signature over both."""
    org = member.organisation
    assert org is not None
    key, cert = signing_cert(member)
    signature = steps.objection_signature(
        tender=tender.reference, agency=org.uscc, kind=kind, text=text, certificate=cert.serial, private_key=key
    )
    return {"kind": kind, "text": text, "certificate": cert.serial, "signature": signature}


def objection_signed(*, actor: User, tender_id: int, kind: str, text: str) -> Any:
    """An agency raises a signed objection through the workflow service, as its client does."""
    fields = objection_fields(actor, Tender.objects.get(pk=tender_id), kind, text)
    return workflow_objections.objection_raise(
        actor=actor,
        tender_id=tender_id,
        kind=kind,
        text=text,
        certificate_serial=fields["certificate"],
        signature=fields["signature"],
    )


def withdrawal_signature(member: User, bid: Bid) -> tuple[str, str]:
    """The agency's client signs the withdrawal of ``bid``. Returns (certificate serial, base64 signature)."""
    key, cert = SIGNING_CERTS[member.username]
    org = member.organisation
    assert org is not None
    signature = steps.withdrawal_signature(
        tender=bid.tender.reference,
        agency=org.uscc,
        bid=bid.pk,
        digest=bid.ciphertext_digest,
        certificate=cert.serial,
        private_key=key,
    )
    return cert.serial, signature


def admitted_agency(operator: User | None = None, **kwargs: Any) -> User:
    """An agency admitted by the trading centre, the way an operator admits one. Returns its user."""
    member = applied_agency(**kwargs)
    admission.agency_admit(actor=operator or user(Role.OPERATOR), agency_id=member.organisation.agency.pk)
    return member


def user(role: str, org: Organisation | None = None, **extra: Any) -> User:
    kind = {v: k for k, v in ROLE_OF_KIND.items()}[role]
    org = org or organisation(kind)
    return User.objects.create_user(
        username=f"{role}-{next(_seq)}", password=PASSWORD, organisation=org, role=role, **extra
    )


def tender_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
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
    data.update(overrides)
    return data


def bidder_lock_profile(base: str = "national") -> str:
    """A jurisdiction's profile like ``base`` whose tenders lock every bid with the bidder's own key too."""
    name = f"{base}-bidder-lock"
    if not RuleProfile.objects.filter(name=name).exists():
        profile = RuleProfile.objects.get(name=base)
        profile.pk, profile.name, profile.opening_policy = None, name, OpeningPolicy.THRESHOLD_AND_BIDDER
        profile.save()
    return name


class World:
    """One purchaser, operator, supervisor and agency, plus helpers that drive tenders."""

    def __init__(self) -> None:
        self.purchaser = user(Role.PURCHASER)
        self.operator = user(Role.OPERATOR)
        self.supervisor = user(Role.SUPERVISOR)
        # The three opening-key holders a tender needs before it can be published.
        for holder in (self.purchaser, self.operator, self.supervisor):
            holder_key(holder)
        self.agency = admitted_agency(self.operator)

    @cached_property
    def agencies(self) -> list[Organisation]:
        """Three more admitted agencies, made when a test first needs bidders."""
        return [admitted_agency(self.operator).organisation for _ in range(3)]

    def by_role(self, role: str) -> User:
        return {
            Role.PURCHASER: self.purchaser,
            Role.OPERATOR: self.operator,
            Role.SUPERVISOR: self.supervisor,
            Role.AGENCY: self.agency,
        }[Role(role)]

    def draft(self, **overrides: Any) -> Tender:
        profile = overrides.pop("profile", None)
        return market_tenders.tender_create(actor=self.purchaser, data=tender_data(**overrides), profile_name=profile)

    def bid(self, tender: Tender, agency: Organisation) -> Bid:
        """A bare bid row (no sealed file): for tests that need a bid id after the deadline."""
        return Bid.objects.create(tender=tender, agency=agency, received_at=clock.now(), ciphertext_digest="0" * 64)

    def sealed_bid(self, tender: Tender, agency: Organisation, price: str = "98000.00") -> Bid:
        """A real bid, made by :func:`bid_envelope` and submitted through the service (under the bidder's-lock
        policy with a fresh layer key, kept in :data:`LAYER_KEYS` as the agency's client keeps it)."""
        member = agency.users.get()
        layer_public = None
        if rules_of(tender).opening_policy == OpeningPolicy.THRESHOLD_AND_BIDDER:
            layer_private, layer_public = steps.layer_keypair()
            LAYER_KEYS[layer_public.hex()] = layer_private
        envelope, cert, signature = bid_envelope(member, tender, price, layer_public=layer_public)
        bid, _ = submission.bid_submit(
            actor=member,
            tender_id=tender.pk,
            stream=io.BytesIO(envelope),
            certificate_serial=cert.serial,
            signature=signature,
            layer_public=layer_public.hex() if layer_public else "",
        )
        return bid

    def release(self, bid: Bid) -> Bid:
        """The bidder releases its layer key during the opening, as its client does."""
        key = base64.b64encode(LAYER_KEYS[bid.layer_public]).decode()
        return workflow_opening.bid_release(actor=bid.agency.users.get(), bid_id=bid.pk, layer_key=key)

    def open_bids(self, tender: Tender) -> None:
        """The opening ceremony: every bidder releases its own lock (under that policy), then as many holders as
        the threshold decrypt and submit their shares."""
        for bid in Bid.objects.filter(tender=tender, status="submitted").exclude(layer_public=""):
            self.release(bid)
        opening_key = OpeningKey.objects.get(tender=tender)
        for share in opening_key.shares.select_related("holder")[: opening_key.threshold]:
            mine = workflow_opening.opening_share_fetch(actor=share.holder, tender_id=tender.pk)
            raw = steps.unwrap_holder_share(
                wrapped=mine["wrapped"], context=mine["context"], private_key=HOLDER_KEYS[share.holder.username]
            )
            workflow_opening.opening_submit_share(actor=share.holder, tender_id=tender.pk, share=raw)

    def committee_scores(self, tender: Tender, scores: dict[int, Any], members: int | None = None) -> None:
        """The committee's sheets for an open tender, recorded by the operator: every member gives
        ``scores`` (bid id → score), so the totals equal them."""
        for n in range(members or rules_of(tender).committee_min_members):
            workflow_evaluation.committee_score_record(
                actor=self.operator,
                tender_id=tender.pk,
                member_code=f"ZJ{n + 1:03d}",
                member_name=f"评委{n + 1}",
                scores={str(k): str(v) for k, v in scores.items()},
            )

    def in_state(self, state: str, **overrides: Any) -> Tender:
        """A tender brought to ``state`` the way users and the clock would bring it."""
        t = self.draft(**overrides)
        if state == TenderStatus.DRAFT:
            return t
        if state == TenderStatus.CANCELLED:
            return svc.tender_cancel(actor=self.purchaser, tender_id=t.pk, reason="项目取消")
        market_tenders.tender_submit(actor=self.purchaser, tender_id=t.pk)
        if state == TenderStatus.PENDING_REVIEW:
            return _fresh(t)
        svc.tender_approve(actor=self.operator, tender_id=t.pk)
        if state == TenderStatus.PUBLISHED:
            return _fresh(t)
        if state == TenderStatus.SUSPENDED:
            return svc.tender_suspend(actor=self.supervisor, tender_id=t.pk, reason="收到投诉")
        if state == TenderStatus.FAILED:
            _go_to(t.bid_deadline)
            run_due_steps()
            return _fresh(t)
        bids = [self.sealed_bid(t, a) for a in self.agencies]
        _go_to(t.bid_deadline)
        run_due_steps()
        if state == TenderStatus.OPENING:
            return _fresh(t)
        self.open_bids(t)
        _go_to(_fresh(t).opening_ends_at)
        run_due_steps()
        if state == TenderStatus.EVALUATING:
            return _fresh(t)
        self.committee_scores(t, {b.pk: 90 - 5 * i for i, b in enumerate(bids)})
        workflow_evaluation.evaluation_conclude(actor=self.operator, tender_id=t.pk)
        if state == TenderStatus.PUBLICITY:
            return _fresh(t)
        _go_to(_fresh(t).publicity_ends_at)
        run_due_steps()
        if state == TenderStatus.AWARDED:
            return _fresh(t)
        svc.tender_record_contract(actor=self.purchaser, tender_id=t.pk, contract_reference="HT-2026-001")
        if state == TenderStatus.CONTRACTED:
            return _fresh(t)
        return svc.tender_complete(actor=self.purchaser, tender_id=t.pk)


def _fresh(t: Tender) -> Tender:
    return Tender.objects.get(pk=t.pk)


def _go_to(moment: datetime | None) -> None:
    assert moment is not None
    if clock.now() < moment:
        clock.freeze(moment)
