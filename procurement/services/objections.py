"""Objections (异议) to the documents or to the result: raising one suspends the procedure; the
purchaser's answer resumes it (or, for an upheld objection to the result, returns it to evaluation).

An objection at the opening (招标投标法实施条例 §44) is raised by a bidder during the opening and
answered by the purchaser on the spot: it is recorded with its answer and does not suspend."""

from __future__ import annotations

import base64
from typing import Any

from django.db import transaction

from accounts.models import User
from agencies.services.certificates import signature_check, signature_decode, signing_certificate_of
from bidding import protocol
from core import clock
from core.audit import audit_record
from core.errors import ApplicationError, NotFound
from core.permissions import Action, require
from market.access import require_own_tender
from market.choices import ObjectionKind, ObjectionStatus, TenderStatus
from market.locks import lock_tender
from market.models import Objection
from market.rules import rules_of
from market.services.tenders import resume_locked, suspend_locked
from procurement.services.timeline import tender_catch_up

# The state in which each kind of objection can be raised.
STAGE_OF_KIND = {
    ObjectionKind.DOCUMENTS: TenderStatus.PUBLISHED,
    ObjectionKind.RESULT: TenderStatus.PUBLICITY,
    ObjectionKind.OPENING: TenderStatus.OPENING,
}


def _snapshot(objection: Objection) -> dict[str, Any]:
    return {
        "tender": objection.tender.reference,
        "kind": objection.kind,
        "status": objection.status,
        "organisation": objection.organisation_id,
        "text": objection.text,
        "answer": objection.answer,
        "upheld": objection.upheld,
    }


def objection_raise(
    *, actor: User, tender_id: int, kind: str, text: str, certificate_serial: str, signature: str
) -> Objection:
    """An agency objects. Documents: until the profile's cut-off before the deadline (10 days by
    law); result: during publicity. The procedure is suspended until the purchaser answers.

    The objection is signed with the agency's signing key over :func:`bidding.protocol.objection_payload`
    (tender, agency, kind, exact text), like a bid: a login without the key (a stolen token, an administrator
    who reset the agency's password) cannot object in the agency's name. The signature is kept and audited."""
    require(actor, Action.OBJECTION_RAISE)
    raw_signature = signature_decode(signature)
    if kind not in ObjectionKind.values:
        raise ApplicationError(
            "invalid",
            f"Unknown objection kind '{kind}'.",
            "异议类型无效。",
            fields={"kind": list(ObjectionKind.values)},
        )
    text = (text or "").strip()
    if not text:
        raise ApplicationError(
            "invalid", "An objection needs its grounds.", "异议须写明理由。", fields={"text": ["required"]}
        )
    with transaction.atomic():
        tender = lock_tender(tender_id)
        tender_catch_up(tender)
        stage = STAGE_OF_KIND[ObjectionKind(kind)]
        stage_now = tender.suspended_from if tender.status == TenderStatus.SUSPENDED else tender.status
        if stage_now != stage:
            raise ApplicationError(
                "invalid_state",
                f"This objection can only be raised while the tender is {stage}.",
                "当前阶段不能提出此类异议。",
                status=409,
            )
        now = clock.now()
        if kind == ObjectionKind.DOCUMENTS and now > tender.bid_deadline - rules_of(tender).objection_cutoff:
            raise ApplicationError(
                "objection_too_late",
                f"Objections to the documents close {rules_of(tender).objection_cutoff} before the deadline.",
                f"对招标文件的异议应在投标截止时间 {rules_of(tender).objection_cutoff} 前提出。",
                status=409,
            )
        organisation = actor.organisation
        assert organisation is not None  # every agency user belongs to its agency
        cert = signing_certificate_of(organisation_id=organisation.pk, serial=certificate_serial)
        payload = protocol.objection_payload(
            tender=tender.reference, agency=organisation.uscc, kind=kind, text=text, certificate=cert.serial
        )
        signature_check(certificate=cert, data=payload, signature=raw_signature, at=now)
        if kind == ObjectionKind.OPENING and not tender.bids.filter(agency=organisation).exists():  # type: ignore[attr-defined]
            raise ApplicationError(
                "not_a_bidder", "Only a bidder can object at the opening.", "只有投标人可以对开标提出异议。", status=403
            )
        objection = Objection.objects.create(
            tender=tender,
            kind=kind,
            organisation=organisation,
            raised_by=actor,
            text=text,
            certificate_serial=cert.serial,
            signature=raw_signature,
            raised_at=now,
            reply_due_at=now + rules_of(tender).objection_reply_period,
        )
        audit_record(
            actor=actor,
            action="objection.raise",
            obj=objection,
            after={
                **_snapshot(objection),
                "certificate": cert.serial,
                "signature": base64.b64encode(raw_signature).decode(),
            },
        )
        if kind != ObjectionKind.OPENING and tender.status != TenderStatus.SUSPENDED:
            suspend_locked(
                tender, actor=actor, cause=f"异议（{objection.get_kind_display()}）/ objection raised", kind="objection"
            )
    return objection


def objection_answer(
    *, actor: User, objection_id: int, answer: str, upheld: bool, new_deadline: Any = None
) -> Objection:
    """The purchaser answers. When no objection is left pending, the procedure resumes with its
    deadlines moved by the time suspended; an upheld objection to the result sends the tender back
    to evaluation."""
    require(actor, Action.OBJECTION_ANSWER)
    answer = (answer or "").strip()
    if not answer:
        raise ApplicationError(
            "invalid", "An answer cannot be empty.", "答复不能为空。", fields={"answer": ["required"]}
        )
    tender_id = Objection.objects.filter(pk=objection_id).values_list("tender_id", flat=True).first()
    if tender_id is None:
        raise NotFound("No such objection.", "异议不存在。")
    with transaction.atomic():
        tender = lock_tender(tender_id)
        require_own_tender(actor, tender)
        objection = Objection.objects.select_for_update().get(pk=objection_id)
        if objection.status != ObjectionStatus.PENDING:
            raise ApplicationError(
                "already_answered", "This objection has been answered.", "该异议已答复。", status=409
            )
        before = _snapshot(objection)
        objection.status = ObjectionStatus.ANSWERED
        objection.answer = answer
        objection.upheld = upheld
        objection.answered_by = actor
        objection.answered_at = clock.now()
        objection.save()
        audit_record(actor=actor, action="objection.answer", obj=objection, before=before, after=_snapshot(objection))
        still_pending = tender.objections.filter(status=ObjectionStatus.PENDING).exists()
        # A suspension the supervisor ordered on a complaint ends only by the supervisor's ruling.
        if tender.status == TenderStatus.SUSPENDED and tender.suspension_cause == "objection" and not still_pending:
            to = None
            if objection.kind == ObjectionKind.RESULT and upheld:
                to = TenderStatus.EVALUATING
            resume_locked(
                tender, actor=actor, ruling=f"异议答复 / objection answered: {answer}", to=to, new_deadline=new_deadline
            )
    return objection
