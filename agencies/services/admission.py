"""The trading centre's admission decisions (入驻审核): admit, return, suspend, reinstate, remove.

Every decision is one transaction under the agency's row lock: the state moves, the history row
and the audit entry are written, and the agency sees the reason on its profile.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django_fsm import TransitionNotAllowed

from accounts.models import User
from agencies.choices import AdmissionStatus, RestrictedAction, RevocationReason
from agencies.eligibility import agency_may
from agencies.locks import lock_agency
from agencies.models import Agency
from agencies.services.certificates import revoke_locked
from agencies.services.registration import record_decision
from core import clock
from core.errors import ApplicationError, require_reason
from core.permissions import Action, require

STATE_WORDS = {
    "admit": ("Only an application can be admitted.", "只有待审核的申请可以通过。"),
    "return_application": ("Only an application can be returned.", "只有待审核的申请可以退回。"),
    "suspend": ("Only an admitted agency can be suspended.", "只有已入驻的机构可以暂停。"),
    "reinstate": ("Only a suspended agency can be reinstated.", "只有被暂停的机构可以恢复。"),
    "remove": ("This agency cannot be removed in its current state.", "该机构当前状态不能清退。"),
}


def _decide(
    *,
    actor: User,
    agency_id: int,
    transition: str,
    action: str,
    reason: str,
    check: Callable[[Agency], None] | None = None,
    after: Callable[[Agency], None] | None = None,
) -> Agency:
    require(actor, Action.AGENCY_REVIEW)
    with transaction.atomic():
        agency = lock_agency(agency_id)
        before = agency.status
        if check is not None:
            check(agency)
        try:
            getattr(agency, transition)()
        except TransitionNotAllowed:
            en, zh = STATE_WORDS[transition]
            raise ApplicationError("invalid_state", en, zh, status=409) from None
        agency.status_reason = reason
        if after is not None:
            after(agency)
        agency.save()
        record_decision(agency, action=action, before=before, actor=actor, reason=reason)
    return agency


def _admissible(agency: Agency) -> None:
    if agency.status != AdmissionStatus.APPLIED:
        return  # the transition refuses it with the state message
    verdict = agency_may(agency, RestrictedAction.REGISTER)
    if not verdict:
        raise ApplicationError(verdict.code, verdict.detail, verdict.detail_zh, status=409)
    now = clock.now()
    if not any(q.counts_at(now) for q in agency.qualifications.all()):
        raise ApplicationError(
            "no_valid_qualification",
            "The agency holds no qualification valid today.",
            "该机构没有在有效期内的资质。",
            status=409,
        )


def agency_admit(*, actor: User, agency_id: int, reason: str = "") -> Agency:
    """Admit an applicant that holds at least one valid qualification and is not barred."""

    def stamp(agency: Agency) -> None:
        agency.admitted_at = agency.admitted_at or clock.now()

    return _decide(
        actor=actor,
        agency_id=agency_id,
        transition="admit",
        action="admit",
        reason=(reason or "").strip() or "审核通过",
        check=_admissible,
        after=stamp,
    )


def agency_return(*, actor: User, agency_id: int, reason: str) -> Agency:
    """Send the application back with the reasons; the agency fixes them and re-applies."""
    reason = require_reason(reason, "Returning an application", "退回申请")
    return _decide(actor=actor, agency_id=agency_id, transition="return_application", action="return", reason=reason)


def agency_suspend(*, actor: User, agency_id: int, reason: str) -> Agency:
    """Suspend an admitted agency: it cannot bid or be drawn until reinstated."""
    reason = require_reason(reason, "Suspending an agency", "暂停机构")
    return _decide(actor=actor, agency_id=agency_id, transition="suspend", action="suspend", reason=reason)


def agency_reinstate(*, actor: User, agency_id: int, reason: str) -> Agency:
    reason = require_reason(reason, "Reinstating an agency", "恢复机构")
    return _decide(actor=actor, agency_id=agency_id, transition="reinstate", action="reinstate", reason=reason)


def agency_remove(*, actor: User, agency_id: int, reason: str) -> Agency:
    """Remove (清退) an agency; its certificates still valid are revoked (cessation of operation)."""
    reason = require_reason(reason, "Removing an agency", "清退机构")

    def revoke_all(agency: Agency) -> None:
        now = clock.now()
        for cert in agency.organisation.certificates.select_for_update().filter(revoked_at__isnull=True):
            if cert.not_after > now:
                revoke_locked(cert, actor=actor, reason=RevocationReason.CESSATION_OF_OPERATION, note=reason)

    return _decide(
        actor=actor, agency_id=agency_id, transition="remove", action="remove", reason=reason, after=revoke_all
    )


DECISIONS: dict[str, Callable[..., Any]] = {
    "admit": agency_admit,
    "return": agency_return,
    "suspend": agency_suspend,
    "reinstate": agency_reinstate,
    "remove": agency_remove,
}
