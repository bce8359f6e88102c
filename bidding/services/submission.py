"""Submitting and withdrawing sealed bids (DOMAIN.md, bids §3; 电子招标投标办法).

The platform checks what it can without reading the bid: the outer signature against the
agency's valid certificate, the deadline by server time, the agency's admission, black-list
status and qualification, the size, and that the upload is a sealed envelope. The ciphertext is
spooled (hashed as it streams, fsynced), then placed at its content address and recorded in one
transaction, so a crash leaves a whole bid or none. The tender row is only read: concurrent
submissions never queue on it.
"""

from __future__ import annotations

import base64
from typing import IO, Any

from django.conf import settings
from django.db import transaction

from accounts.models import User
from agencies.ca import platform_ca
from agencies.choices import RestrictedAction
from agencies.eligibility import agency_is_qualified, agency_may
from agencies.locks import lock_agency
from agencies.models import Agency, Certificate
from agencies.services.certificates import signature_check, signature_decode, signing_certificate_of
from bidding import crypto, protocol
from bidding.models import Bid, BidStatus
from core import clock, storage
from core.audit import audit_record
from core.clock import format_local
from core.errors import ApplicationError, NotFound
from core.permissions import Action, organisation_id_of, require
from market.access import PUBLIC_TENDERS, tender_accepts_bids
from market.choices import OpeningPolicy
from market.models import Tender
from market.rules import rules_of

PREFIX = "bids"


def _refuse(code: str, en: str, zh: str, status: int = 400) -> ApplicationError:
    return ApplicationError(code, en, zh, status=status)


def _deadline_check(tender: Tender) -> None:
    """Server time decides, not the stored state: a bid one millisecond late is refused even if the
    clock has not yet moved the tender on."""
    if not tender_accepts_bids(tender, clock.now()):
        raise _refuse(
            "deadline_passed",
            f"Bids for this tender closed at {format_local(tender.bid_deadline)}.",
            f"本项目投标已于 {format_local(tender.bid_deadline)} 截止。",
            status=409,
        )


def _eligibility_check(agency: Agency, tender: Tender) -> None:
    verdict = agency_may(agency, RestrictedAction.BID)
    if not verdict:
        raise _refuse(verdict.code, verdict.detail, verdict.detail_zh, status=403)
    if not agency_is_qualified(agency, tender.category):
        raise _refuse(
            "not_qualified",
            f"The agency holds no valid qualification for {tender.get_category_display()}.",
            f"本机构没有“{tender.get_category_display()}”类别的有效资质。",
            status=403,
        )


def _certificate(agency: Agency, serial: str) -> Certificate:
    return signing_certificate_of(organisation_id=agency.organisation_id, serial=serial)


def _looks_sealed(path: str, size: int) -> None:
    """Unencrypted uploads are refused (电子招标投标办法): the file must be a sealed envelope."""
    with open(path, "rb") as f:
        head = f.read(len(crypto.SEAL_MAGIC))
    if head != crypto.SEAL_MAGIC or size < crypto.SEAL_HEADER_LENGTH + crypto.TAG_LENGTH:
        raise _refuse(
            "bid_not_sealed",
            "The upload is not a sealed bid envelope; encrypt it to the tender's opening key.",
            "上传文件不是加密投标文件，请使用开标公钥加密后再递交。",
        )


def _layer_public_check(tender: Tender, layer_public: str) -> str:
    """The bidder's layer key (hex) the tender's policy asks for: required under the bidder's-lock policy (a bid
    sealed only to the opening key could be read by the holders alone), refused otherwise."""
    layer_public = (layer_public or "").strip().lower()
    if rules_of(tender).opening_policy != OpeningPolicy.THRESHOLD_AND_BIDDER:
        if layer_public:
            raise _refuse(
                "layer_key_unexpected",
                "This tender's bids are sealed to its opening key alone; send no layer key.",
                "本项目投标文件仅以开标公钥加密，无需投标人解密密钥。",
            )
        return ""
    try:
        crypto.public_key_check(bytes.fromhex(layer_public))
    except (ValueError, crypto.CryptoError):
        raise _refuse(
            "layer_key_required",
            "This tender's bids are also locked with the bidder's own key: seal the bid to a fresh layer key too "
            "and send its public half (64 hex digits) as layer_public.",
            "本项目采用投标人解密：投标文件须同时以投标人自有的解密密钥加密，并提交其公钥（64 位十六进制）。",
        ) from None
    return layer_public


def receipt_of(bid: Bid) -> dict[str, Any]:
    return {"receipt": bid.receipt, "signature": base64.b64encode(bytes(bid.receipt_signature)).decode()}


def bid_submit(
    *,
    actor: User,
    tender_id: int,
    stream: IO[bytes],
    certificate_serial: str,
    signature: str,
    idempotency_key: str = "",
    layer_public: str = "",
) -> tuple[Bid, bool]:
    """Receive a sealed, signed bid. Returns the bid and whether it was created now (a retry with
    the same idempotency key and the same bytes returns the first bid and its receipt).
    ``layer_public``: the public half of the agency's own layer key, under the bidder's-lock policy."""
    require(actor, Action.BID_SUBMIT)
    idempotency_key = (idempotency_key or "").strip()[:64]
    agency = Agency.objects.select_related("organisation").filter(organisation_id=organisation_id_of(actor)).first()
    tender_row = Tender.objects.filter(PUBLIC_TENDERS, pk=tender_id).first()
    if agency is None or tender_row is None:
        raise NotFound("No such tender.", "招标项目不存在。")
    # Cheap refusals first, before reading the upload.
    _deadline_check(tender_row)
    _eligibility_check(agency, tender_row)
    cert = _certificate(agency, certificate_serial)
    raw_signature = signature_decode(signature)
    layer_public = _layer_public_check(tender_row, layer_public)
    org = agency.organisation
    with storage.spooled(stream, settings.AGORA_BID_MAX_BYTES) as spool:
        _looks_sealed(spool.path, spool.size)
        payload = protocol.submission_payload(
            tender=tender_row.reference,
            agency=org.uscc,
            digest=spool.sha256,
            certificate=cert.serial,
            layer_public=layer_public,
        )
        created_file = False
        try:
            with transaction.atomic():
                # One agency's submissions (a retry, a resubmission) take turns on its own row; other
                # agencies' never wait, and the tender row is not locked.
                lock_agency(agency.pk)
                now = clock.now()
                if idempotency_key:
                    earlier = Bid.objects.filter(tender=tender_row, agency=org, idempotency_key=idempotency_key).first()
                    if earlier is not None:
                        if earlier.ciphertext_digest != spool.sha256:
                            raise _refuse(
                                "idempotency_conflict",
                                "This idempotency key was used for a different bid.",
                                "该幂等键已用于另一份投标文件。",
                                status=409,
                            )
                        return earlier, False
                # Checked again at the moment of recording: the upload may have taken a while.
                tender_now = Tender.objects.get(pk=tender_row.pk)
                _deadline_check(tender_now)
                signature_check(certificate=cert, data=payload, signature=raw_signature, at=now)
                created_file = storage.place(spool, PREFIX)
                superseded = list(
                    Bid.objects.select_for_update()
                    .filter(tender=tender_row, agency=org, status=BidStatus.SUBMITTED)
                    .values_list("pk", flat=True)
                )
                Bid.objects.filter(pk__in=superseded).update(status=BidStatus.SUPERSEDED)
                bid = Bid.objects.create(
                    tender=tender_row,
                    agency=org,
                    received_at=now,
                    ciphertext_digest=spool.sha256,
                    ciphertext_size=spool.size,
                    certificate=cert,
                    signature=raw_signature,
                    idempotency_key=idempotency_key,
                    submitted_by=actor,
                    layer_public=layer_public,
                )
                bid.receipt = {
                    "tender": tender_row.reference,
                    "agency": org.uscc,
                    "bid": bid.pk,
                    "digest": spool.sha256,
                    "size": spool.size,
                    "received_at": now.isoformat(),
                    "certificate": cert.serial,
                }
                if layer_public:
                    bid.receipt["layer_public"] = layer_public
                bid.receipt_signature = crypto.sign(platform_ca().key, protocol.receipt_payload(bid.receipt))
                bid.save(update_fields=["receipt", "receipt_signature"])
                audit_record(
                    actor=actor,
                    action="bid.submit",
                    obj=bid,
                    after={**bid.receipt, "superseded": superseded},
                )
        except BaseException:
            if created_file:
                storage.discard(PREFIX, spool.sha256)
            raise
    return bid, True


def bid_withdraw(*, actor: User, bid_id: int, certificate_serial: str, signature: str) -> Bid:
    """The agency withdraws its standing bid before the deadline (it may submit again). The withdrawal is
    signed with the agency's signing key over :func:`bidding.protocol.withdrawal_payload`, like a submission:
    whoever holds a login but not the key (an administrator who reset a password, a stolen token) cannot
    withdraw an agency's bid. The signature and certificate are kept on the bid and in the audit entry."""
    require(actor, Action.BID_SUBMIT)
    raw_signature = signature_decode(signature)
    with transaction.atomic():
        bid = (
            Bid.objects.select_for_update(of=("self",))
            .select_related("tender")
            .filter(pk=bid_id, agency_id=organisation_id_of(actor))
            .first()
        )
        if bid is None:
            raise NotFound("No such bid.", "投标文件不存在。")
        _deadline_check(bid.tender)
        if bid.status != BidStatus.SUBMITTED:
            raise _refuse("invalid_state", "Only a standing bid can be withdrawn.", "只有有效的投标可以撤回。", 409)
        agency = Agency.objects.select_related("organisation").get(organisation_id=bid.agency_id)
        cert = _certificate(agency, certificate_serial)
        now = clock.now()
        payload = protocol.withdrawal_payload(
            tender=bid.tender.reference,
            agency=agency.organisation.uscc,
            bid=bid.pk,
            digest=bid.ciphertext_digest,
            certificate=cert.serial,
        )
        signature_check(certificate=cert, data=payload, signature=raw_signature, at=now)
        bid.status, bid.withdrawn_at = BidStatus.WITHDRAWN, now
        bid.withdrawal_certificate, bid.withdrawal_signature = cert, raw_signature
        bid.save(update_fields=["status", "withdrawn_at", "withdrawal_certificate", "withdrawal_signature"])
        audit_record(
            actor=actor,
            action="bid.withdraw",
            obj=bid,
            after={
                "status": bid.status,
                "tender": bid.tender.reference,
                "digest": bid.ciphertext_digest,
                "certificate": cert.serial,
                "signature": base64.b64encode(raw_signature).decode(),
            },
        )
    return bid
