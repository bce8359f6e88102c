"""The red and black lists (红黑名单): proposed by a rule or a supervisor, decided by a supervisor,
in force between two dates, then expired, or revoked early (信用修复). Nothing is deleted.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from accounts.models import User
from agencies.choices import CreditList, Incentive, ListEntryStatus, RestrictedAction
from agencies.credit import policy, red_rule, with_credit
from agencies.locks import lock_agency, lock_list_entry
from agencies.models import Agency, CreditEvent, CreditListEntry
from core import clock
from core.audit import audit_record
from core.errors import ApplicationError, require_reason
from core.permissions import Action, require

log = logging.getLogger(__name__)

SUBJECT_ROLE = "中介机构"
# The longest black-list period the law allows for any violation (not performing a contract: 5 years).
MAX_BLACK_YEARS = 5


def add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February → 28 February
        return moment.replace(year=moment.year + years, day=28)


def entry_snapshot(entry: CreditListEntry) -> dict[str, Any]:
    return {
        "agency": entry.agency.organisation.uscc,
        "list": entry.list_kind,
        "status": entry.status,
        "reason": entry.reason,
        "rule": entry.rule,
        "source_event": entry.source_event_id,
        "document_number": entry.document_number,
        "deciding_department": entry.deciding_department,
        "restricted_actions": entry.restricted_actions,
        "incentives": entry.incentives,
        "starts_at": entry.starts_at,
        "ends_at": entry.ends_at,
        "revoked_at": entry.revoked_at,
        "closing_reason": entry.closing_reason,
    }


def list_entry_propose_locked(
    agency: Agency,
    *,
    actor: User | None,
    list_kind: str,
    reason: str,
    rule: str = "",
    source_event: CreditEvent | None = None,
) -> CreditListEntry:
    """Propose an entry for an agency the caller has locked."""
    entry = CreditListEntry.objects.create(
        agency=agency,
        list_kind=list_kind,
        reason=reason,
        rule=rule,
        source_event=source_event,
        proposed_by=actor,
        proposed_at=clock.now(),
    )
    audit_record(actor=actor, action="credit_list.propose", obj=entry, after=entry_snapshot(entry))
    return entry


def list_entry_propose(*, actor: User, agency_id: int, list_kind: str, reason: str) -> CreditListEntry:
    """A supervisor proposes an entry (the rules propose theirs automatically)."""
    require(actor, Action.CREDIT_LIST_PROPOSE)
    if list_kind not in CreditList.values:
        raise ApplicationError(
            "invalid", "List must be red or black.", "名单类型须为红名单或黑名单。", fields={"list": ["red|black"]}
        )
    reason = require_reason(reason, "A list entry", "列入名单")
    with transaction.atomic():
        agency = lock_agency(agency_id)
        if agency.list_entries.filter(
            list_kind=list_kind, status=ListEntryStatus.PROPOSED, source_event__isnull=True
        ).exists():
            raise ApplicationError(
                "already_proposed",
                "An entry on this list is already waiting for a decision.",
                "该机构已有待认定的同类名单条目。",
                status=409,
            )
        return list_entry_propose_locked(agency, actor=actor, list_kind=list_kind, reason=reason)


def _check_choices(values: Any, allowed: list[str], field: str) -> list[str]:
    if not isinstance(values, list) or any(v not in allowed for v in values):
        raise ApplicationError(
            "invalid",
            f"'{field}' must be a list drawn from {allowed}.",
            "措施取值无效。",
            fields={field: [str(allowed)]},
        )
    return sorted(set(values))


def _check_period(entry: CreditListEntry, starts_at: datetime, ends_at: datetime | None) -> datetime:
    now = clock.now()
    if starts_at < now - timedelta(minutes=1):
        raise ApplicationError(
            "starts_in_past",
            "An entry cannot start before its decision: that would change the past.",
            "名单起始时间不得早于认定时间。",
            fields={"starts_at": ["before now"]},
        )
    if entry.list_kind == CreditList.RED:
        ends_at = ends_at or starts_at + timedelta(days=policy().red_duration_days)
        if ends_at <= starts_at:
            raise ApplicationError(
                "period_out_of_range",
                "The entry must end after it starts.",
                "名单截止时间须晚于起始时间。",
                fields={"ends_at": ["after starts_at"]},
            )
        return ends_at
    if ends_at is None:
        raise ApplicationError(
            "invalid", "A black-list entry needs an end date.", "黑名单须有截止日期。", fields={"ends_at": ["required"]}
        )
    kind = entry.source_event.kind if entry.source_event else None
    low = add_years(starts_at, kind.black_min_years) if kind and kind.black_min_years else starts_at
    high = add_years(starts_at, kind.black_max_years if kind and kind.black_max_years else MAX_BLACK_YEARS)
    if not (low <= ends_at <= high and ends_at > starts_at):
        raise ApplicationError(
            "period_out_of_range",
            f"For this violation the period must end between {low.date()} and {high.date()}.",
            f"该类违法行为的列入期限须截止于 {low.date()} 至 {high.date()} 之间。",
            fields={"ends_at": [f"{low.date()}..{high.date()}"]},
        )
    return ends_at


def list_entry_decide(
    *,
    actor: User,
    entry_id: int,
    document_number: str,
    ends_at: datetime | None = None,
    starts_at: datetime | None = None,
    reason: str = "",
    restricted_actions: list[str] | None = None,
    incentives: list[str] | None = None,
    deciding_department: str = "",
) -> CreditListEntry:
    """A supervisor decides a proposed entry: basis document number (文号), period and measures.
    Black entries restrict actions (default: the policy's); red ones grant incentives."""
    require(actor, Action.CREDIT_LIST_DECIDE)
    document_number = (document_number or "").strip()
    if not document_number:
        raise ApplicationError(
            "document_number_required",
            "A decision cites its basis document number (文号).",
            "认定须注明依据文号。",
            fields={"document_number": ["required"]},
        )
    with transaction.atomic():
        entry = lock_list_entry(entry_id)
        if entry.status != ListEntryStatus.PROPOSED:
            raise ApplicationError(
                "invalid_state", "Only a proposed entry can be decided.", "只有待认定的条目可以认定。", status=409
            )
        before = entry_snapshot(entry)
        rules = policy()
        starts_at = starts_at or clock.now()
        entry.ends_at = _check_period(entry, starts_at, ends_at)
        entry.starts_at = starts_at
        if entry.list_kind == CreditList.BLACK:
            entry.restricted_actions = _check_choices(
                rules.black_restricted_actions if restricted_actions is None else restricted_actions,
                list(RestrictedAction.values),
                "restricted_actions",
            )
            if not entry.restricted_actions:
                raise ApplicationError(
                    "invalid",
                    "A black-list entry restricts at least one action.",
                    "黑名单须至少限制一项行为。",
                    fields={"restricted_actions": ["empty"]},
                )
        else:
            entry.incentives = _check_choices(
                rules.red_incentives if incentives is None else incentives, list(Incentive.values), "incentives"
            )
        org = entry.agency.organisation
        entry.subject_name, entry.subject_uscc, entry.subject_role = org.name, org.uscc, SUBJECT_ROLE
        entry.reason = reason.strip() or entry.reason
        entry.document_number = document_number
        entry.deciding_department = deciding_department.strip() or (
            actor.organisation.name if actor.organisation else ""
        )
        entry.decided_by, entry.decided_at = actor, clock.now()
        entry.decide()
        _follow_dates(entry)
        entry.save()
        audit_record(actor=actor, action="credit_list.decide", obj=entry, before=before, after=entry_snapshot(entry))
    return entry


def list_entry_dismiss(*, actor: User, entry_id: int, reason: str) -> CreditListEntry:
    """A supervisor declines a proposal, with the reason; it stays on record."""
    require(actor, Action.CREDIT_LIST_DECIDE)
    reason = require_reason(reason, "Dismissing a proposal", "不予认定")
    with transaction.atomic():
        entry = lock_list_entry(entry_id)
        if entry.status != ListEntryStatus.PROPOSED:
            raise ApplicationError(
                "invalid_state", "Only a proposed entry can be dismissed.", "只有待认定的条目可以不予认定。", status=409
            )
        before = entry_snapshot(entry)
        entry.dismiss()
        entry.dismissed_at, entry.closing_reason = clock.now(), reason
        entry.decided_by, entry.decided_at = actor, entry.dismissed_at
        entry.save()
        audit_record(actor=actor, action="credit_list.dismiss", obj=entry, before=before, after=entry_snapshot(entry))
    return entry


def list_entry_revoke(*, actor: User, entry_id: int, reason: str) -> CreditListEntry:
    """Credit repair (信用修复): a supervisor ends a decided or in-force entry early, with reason."""
    require(actor, Action.CREDIT_LIST_DECIDE)
    reason = require_reason(reason, "Revoking an entry", "信用修复")
    with transaction.atomic():
        entry = lock_list_entry(entry_id)
        now = clock.now()
        if entry.status_at(now) not in (ListEntryStatus.DECIDED, ListEntryStatus.IN_FORCE):
            raise ApplicationError(
                "invalid_state",
                "Only a decided or in-force entry can be revoked.",
                "只有已认定或有效的条目可以移出。",
                status=409,
            )
        before = entry_snapshot(entry)
        entry.revoke()
        entry.revoked_at, entry.revoked_by, entry.closing_reason = now, actor, reason
        entry.save()
        audit_record(actor=actor, action="credit_list.revoke", obj=entry, before=before, after=entry_snapshot(entry))
    return entry


def _follow_dates(entry: CreditListEntry) -> bool:
    """Move the stored status to what the dates say now. True when it moved."""
    target = entry.status_at(clock.now())
    if target == entry.status:
        return False
    if entry.status == ListEntryStatus.DECIDED and target in (ListEntryStatus.IN_FORCE, ListEntryStatus.EXPIRED):
        entry.come_into_force()
    if entry.status == ListEntryStatus.IN_FORCE and target == ListEntryStatus.EXPIRED:
        entry.expire()
    return True


def list_entries_catch_up() -> int:
    """The clock's step: entries whose start or end has passed follow their dates. Safe to run
    twice or concurrently (each entry moves under its lock, and only if it is still behind)."""
    now = clock.now()
    due = CreditListEntry.objects.filter(
        Q(status=ListEntryStatus.DECIDED, starts_at__lte=now) | Q(status=ListEntryStatus.IN_FORCE, ends_at__lte=now)
    ).values_list("pk", flat=True)
    moved = 0
    for entry_id in list(due):
        with transaction.atomic():
            entry = lock_list_entry(entry_id)
            before = entry_snapshot(entry)
            if _follow_dates(entry):
                entry.save()
                audit_record(
                    actor=None,
                    action=f"credit_list.{entry.status}",
                    obj=entry,
                    before=before,
                    after=entry_snapshot(entry),
                )
                moved += 1
    return moved


def red_rules_run() -> int:
    """The clock's step: propose a red-list entry for every admitted agency the rule now holds for
    and that has no red entry pending, decided or in force. Returns how many were proposed."""
    now = clock.now()
    # One subquery over the same entry: pending, or decided and not yet ended.
    open_red = CreditListEntry.objects.filter(agency=OuterRef("pk"), list_kind=CreditList.RED).filter(
        Q(status=ListEntryStatus.PROPOSED)
        | Q(status__in=[ListEntryStatus.DECIDED, ListEntryStatus.IN_FORCE], ends_at__gt=now, revoked_at__isnull=True)
    )
    # The score threshold is checked in the same query, so a pass costs one query when nobody qualifies.
    admitted = Agency.objects.filter(status="admitted").exclude(Exists(open_red))
    candidates = (
        with_credit(admitted, now).filter(**{"score__gte": policy().red_min_score}).values_list("pk", flat=True)
    )
    proposed = 0
    for agency_id in list(candidates):
        with transaction.atomic():
            agency = lock_agency(agency_id)
            if (
                agency.list_entries.filter(list_kind=CreditList.RED)
                .filter(
                    Q(status=ListEntryStatus.PROPOSED)
                    | Q(status__in=[ListEntryStatus.DECIDED, ListEntryStatus.IN_FORCE], ends_at__gt=now)
                )
                .exists()
            ):
                continue
            result = red_rule(agency, now)
            if result.holds:
                list_entry_propose_locked(
                    agency,
                    actor=None,
                    list_kind=CreditList.RED,
                    reason=f"守信记录良好：{result.explain()}",
                    rule="red_threshold",
                )
                proposed += 1
    return proposed
