"""Credit events (信用记录) and service evaluations (服务评价).

A supervisor records events; the platform records them itself for facts it sees (an approved
evaluation). A serious violation proposes a black-list entry at once, for a supervisor to decide.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from accounts.models import User
from agencies.choices import EVALUATION_DIMENSIONS, CreditList, EvaluationStatus
from agencies.credit import evaluation_average_kind
from agencies.locks import lock_agency
from agencies.models import Agency, CreditEvent, CreditEventKind, ServiceEvaluation
from agencies.services.lists import list_entry_propose_locked
from core import clock
from core.audit import audit_record
from core.errors import ApplicationError, NotFound, require_reason
from core.permissions import Action, require
from market.access import require_own_tender
from market.choices import TenderStatus
from market.locks import lock_tender


def event_snapshot(event: CreditEvent) -> dict[str, Any]:
    return {
        "agency": event.agency.organisation.uscc,
        "kind": event.kind.code,
        "points": event.points,
        "reason": event.reason,
        "evidence": event.evidence,
        "source": f"{event.source_type}:{event.source_id}" if event.source_type else "",
        "occurred_at": event.occurred_at,
        "expires_at": event.expires_at,
        "annulled_at": event.annulled_at,
    }


def _kind(code: str) -> CreditEventKind:
    kind = CreditEventKind.objects.filter(code=code, active=True).first()
    if kind is None:
        raise ApplicationError(
            "unknown_event_kind",
            f"No active credit event kind '{code}'.",
            f"信用记录类型“{code}”不存在或已停用。",
            fields={"kind": ["unknown"]},
        )
    return kind


def event_record_locked(
    agency: Agency,
    *,
    actor: User | None,
    kind_code: str,
    reason: str,
    evidence: str = "",
    occurred_at: datetime | None = None,
    source: Any = None,
) -> CreditEvent:
    """Record an event for an agency the caller has locked (the platform's own facts use this)."""
    kind = _kind(kind_code)
    now = clock.now()
    occurred_at = occurred_at or now
    if occurred_at > now:
        raise ApplicationError(
            "occurred_in_future",
            "An event cannot have occurred in the future.",
            "信用事件发生时间不能晚于当前时间。",
            fields={"occurred_at": ["in the future"]},
        )
    event = CreditEvent.objects.create(
        agency=agency,
        kind=kind,
        points=kind.points,
        reason=reason,
        evidence=evidence.strip(),
        source_type=source._meta.label_lower if source is not None else "",
        source_id=str(source.pk) if source is not None else "",
        occurred_at=occurred_at,
        expires_at=occurred_at + timedelta(days=kind.validity_days),
        recorded_by=actor,
        recorded_at=now,
    )
    audit_record(actor=actor, action="credit.event_record", obj=event, after=event_snapshot(event))
    if kind.serious:
        list_entry_propose_locked(
            agency,
            actor=None,
            list_kind=CreditList.BLACK,
            reason=f"{kind.name_zh}：{reason}",
            rule="serious_violation",
            source_event=event,
        )
    return event


def credit_event_record(
    *,
    actor: User,
    agency_id: int,
    kind: str,
    reason: str,
    evidence: str = "",
    occurred_at: datetime | None = None,
) -> CreditEvent:
    """A supervisor records a credit event with its reason and evidence."""
    require(actor, Action.CREDIT_EVENT_RECORD)
    reason = require_reason(reason, "A credit event", "信用记录")
    with transaction.atomic():
        agency = lock_agency(agency_id)
        return event_record_locked(
            agency, actor=actor, kind_code=kind, reason=reason, evidence=evidence, occurred_at=occurred_at
        )


def credit_event_annul(*, actor: User, event_id: int, reason: str) -> CreditEvent:
    """A supervisor annuls an event found wrong: it stops counting from now and stays on record."""
    require(actor, Action.CREDIT_EVENT_RECORD)
    reason = require_reason(reason, "Annulling a credit event", "撤销信用记录")
    agency_id = CreditEvent.objects.filter(pk=event_id).values_list("agency_id", flat=True).first()
    if agency_id is None:
        raise NotFound("No such credit event.", "信用记录不存在。")
    with transaction.atomic():
        lock_agency(agency_id)
        event = CreditEvent.objects.select_related("kind", "agency__organisation").get(pk=event_id)
        if event.annulled_at is not None:
            raise ApplicationError("already_annulled", "Already annulled.", "该信用记录已撤销。", status=409)
        before = event_snapshot(event)
        event.annulled_at, event.annul_reason, event.annulled_by = clock.now(), reason, actor
        event.save(update_fields=["annulled_at", "annul_reason", "annulled_by"])
        audit_record(actor=actor, action="credit.event_annul", obj=event, before=before, after=event_snapshot(event))
    return event


def evaluation_submit(*, actor: User, tender_id: int, scores: dict[str, int], comment: str = "") -> ServiceEvaluation:
    """The purchaser rates the agency that served its completed tender: five dimensions, 1–5."""
    require(actor, Action.EVALUATION_SUBMIT)
    bad = {
        name: ["an integer from 1 to 5"]
        for name, _label in EVALUATION_DIMENSIONS
        if not isinstance(scores.get(name), int) or isinstance(scores.get(name), bool) or not 1 <= scores[name] <= 5
    }
    if bad:
        raise ApplicationError("invalid", "Rate every dimension from 1 to 5.", "每一项须评 1 至 5 分。", fields=bad)
    with transaction.atomic():
        tender = lock_tender(tender_id)
        require_own_tender(actor, tender)
        if tender.status != TenderStatus.COMPLETED:
            raise ApplicationError(
                "not_completed",
                "Only a completed tender's service can be rated.",
                "项目完成后方可评价服务。",
                status=409,
            )
        agency = Agency.objects.filter(organisation_id=tender.winner_id).first() if tender.winner_id else None
        if agency is None:
            raise ApplicationError(
                "no_agency", "This tender has no agency on record to rate.", "该项目没有可评价的中介机构。", status=409
            )
        if ServiceEvaluation.objects.filter(tender=tender).exists():
            raise ApplicationError(
                "already_evaluated", "This tender's service is already rated.", "该项目已评价。", status=409
            )
        evaluation = ServiceEvaluation.objects.create(
            tender=tender,
            agency=agency,
            submitted_by=actor,
            submitted_at=clock.now(),
            comment=comment.strip(),
            **{name: scores[name] for name, _label in EVALUATION_DIMENSIONS},
        )
        audit_record(
            actor=actor,
            action="evaluation.submit",
            obj=evaluation,
            after={"tender": tender.reference, "agency": agency.organisation.uscc, **scores, "comment": comment},
        )
    return evaluation


def evaluation_moderate(*, actor: User, evaluation_id: int, approve: bool, note: str = "") -> ServiceEvaluation:
    """An operator approves an evaluation (it becomes a credit event) or rejects it with a note
    (abusive, about something else…)."""
    require(actor, Action.EVALUATION_MODERATE)
    if not approve:
        note = require_reason(note, "Rejecting an evaluation", "不予采用评价")
    agency_id = ServiceEvaluation.objects.filter(pk=evaluation_id).values_list("agency_id", flat=True).first()
    if agency_id is None:
        raise NotFound("No such evaluation.", "服务评价不存在。")
    with transaction.atomic():
        agency = lock_agency(agency_id)
        evaluation = ServiceEvaluation.objects.select_related("tender").get(pk=evaluation_id)
        if evaluation.status != EvaluationStatus.PENDING:
            raise ApplicationError(
                "already_moderated", "This evaluation was already moderated.", "该评价已审核。", status=409
            )
        evaluation.status = EvaluationStatus.APPROVED if approve else EvaluationStatus.REJECTED
        evaluation.moderated_by, evaluation.moderated_at = actor, clock.now()
        evaluation.moderation_note = note.strip()
        if approve:
            evaluation.credit_event = event_record_locked(
                agency,
                actor=actor,
                kind_code=evaluation_average_kind(evaluation.average),
                reason=f"{evaluation.tender.reference} 服务评价平均 {evaluation.average:.1f} 分",
                occurred_at=evaluation.submitted_at,
                source=evaluation,
            )
        evaluation.save()
        audit_record(
            actor=actor,
            action="evaluation.approve" if approve else "evaluation.reject",
            obj=evaluation,
            after={"status": evaluation.status, "note": evaluation.moderation_note},
        )
    return evaluation
