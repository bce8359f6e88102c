"""Who may do what: the one role × action matrix for the whole platform.

Object rules (a purchaser acts only on its own organisation's tenders, an agency sees only its
own bids) sit in the services beside the action; this table answers the first question,
"may someone in this role ever do this?".
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.db import models
from rest_framework.permissions import BasePermission

from core.errors import ApplicationError, Forbidden


class Role(models.TextChoices):
    PURCHASER = "purchaser", "采购人 Purchaser"
    AGENCY = "agency", "中介机构 Agency"
    SUPERVISOR = "supervisor", "监督人员 Supervisor"
    OPERATOR = "operator", "交易中心工作人员 Operator"


class Action(StrEnum):
    TENDER_CREATE = "tender.create"
    TENDER_EDIT = "tender.edit"
    TENDER_SUBMIT = "tender.submit"
    TENDER_APPROVE = "tender.approve"
    TENDER_RETURN = "tender.return"
    TENDER_AMEND = "tender.amend"
    TENDER_CANCEL = "tender.cancel"
    TENDER_SUSPEND = "tender.suspend"
    TENDER_RESUME = "tender.resume"
    TENDER_RECORD_RESULT = "tender.record_result"
    TENDER_RECORD_CONTRACT = "tender.record_contract"
    TENDER_COMPLETE = "tender.complete"
    TENDER_DIRECT_PICK = "tender.direct_pick"
    TENDER_VIEW_UNPUBLISHED = "tender.view_unpublished"
    OBJECTION_RAISE = "objection.raise"
    OBJECTION_ANSWER = "objection.answer"
    AUDIT_READ = "audit.read"
    AGENCY_MANAGE_OWN = "agency.manage_own"
    AGENCY_VIEW_ALL = "agency.view_all"
    AGENCY_REVIEW = "agency.review"
    CERTIFICATE_REQUEST = "certificate.request"
    CERTIFICATE_REVOKE_ANY = "certificate.revoke_any"
    KEY_HOLDER_REGISTER = "key_holder.register"
    CREDIT_EVENT_RECORD = "credit.event_record"
    CREDIT_VIEW_ALL = "credit.view_all"
    CREDIT_LIST_PROPOSE = "credit.list_propose"
    CREDIT_LIST_DECIDE = "credit.list_decide"
    EVALUATION_SUBMIT = "evaluation.submit"
    EVALUATION_MODERATE = "evaluation.moderate"
    BID_SUBMIT = "bid.submit"
    OPENING_SUBMIT_SHARE = "opening.submit_share"


P, A, S, OP = Role.PURCHASER, Role.AGENCY, Role.SUPERVISOR, Role.OPERATOR

MATRIX: dict[Action, frozenset[Role]] = {
    Action.TENDER_CREATE: frozenset({P}),
    Action.TENDER_EDIT: frozenset({P}),
    Action.TENDER_SUBMIT: frozenset({P}),
    Action.TENDER_APPROVE: frozenset({OP}),
    Action.TENDER_RETURN: frozenset({OP}),
    Action.TENDER_AMEND: frozenset({P}),
    Action.TENDER_CANCEL: frozenset({P}),
    # A complaint (投诉) goes to the supervisory department, which suspends and rules.
    Action.TENDER_SUSPEND: frozenset({S}),
    Action.TENDER_RESUME: frozenset({S}),
    # The evaluation result is recorded by the trading centre on the committee's behalf.
    Action.TENDER_RECORD_RESULT: frozenset({OP}),
    Action.TENDER_RECORD_CONTRACT: frozenset({P}),
    Action.TENDER_COMPLETE: frozenset({P}),
    # 直接选取: the purchaser picks the agency (within the budget cap, with a written reason).
    Action.TENDER_DIRECT_PICK: frozenset({P}),
    # Purchasers see their own drafts through the object rule, not through this action.
    Action.TENDER_VIEW_UNPUBLISHED: frozenset({OP, S}),
    Action.OBJECTION_RAISE: frozenset({A}),
    Action.OBJECTION_ANSWER: frozenset({P}),
    Action.AUDIT_READ: frozenset({S, OP}),
    # An agency keeps its own profile, qualifications and certificates; others only read.
    Action.AGENCY_MANAGE_OWN: frozenset({A}),
    Action.AGENCY_VIEW_ALL: frozenset({OP, S}),
    # Admission (入驻审核), suspension and removal are the trading centre's decisions.
    Action.AGENCY_REVIEW: frozenset({OP}),
    Action.CERTIFICATE_REQUEST: frozenset({A}),
    Action.CERTIFICATE_REVOKE_ANY: frozenset({OP}),
    # The opening-key holders: purchaser, supervisor and trading centre (DOMAIN.md, bids §2).
    Action.KEY_HOLDER_REGISTER: frozenset({P, S, OP}),
    # Credit facts and list decisions belong to the supervisory department.
    Action.CREDIT_EVENT_RECORD: frozenset({S}),
    Action.CREDIT_VIEW_ALL: frozenset({S, OP}),
    Action.CREDIT_LIST_PROPOSE: frozenset({S}),
    Action.CREDIT_LIST_DECIDE: frozenset({S}),
    Action.EVALUATION_SUBMIT: frozenset({P}),
    Action.EVALUATION_MODERATE: frozenset({OP}),
    # Submitting, withdrawing and reading one's own bids and receipts.
    Action.BID_SUBMIT: frozenset({A}),
    # The opening-key holders fetch and submit their shares at the opening.
    Action.OPENING_SUBMIT_SHARE: frozenset({P, S, OP}),
}

_missing = set(Action) - set(MATRIX)
if _missing:  # pragma: no cover - caught at import time, in every test run
    raise RuntimeError(f"actions without a row in the permission matrix: {sorted(_missing)}")


def role_of(user: Any) -> Role | None:
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return None
    role = getattr(user, "role", "")
    return Role(role) if role in Role.values else None


def organisation_id_of(user: Any) -> int:
    """The user's organisation id; a user without one may act for no organisation (403)."""
    org_id = getattr(user, "organisation_id", None)
    if org_id is None:
        raise Forbidden("Your account belongs to no organisation.", "您的账户不属于任何机构。")
    return int(org_id)


def can(user: Any, action: Action) -> bool:
    """True when the user's role may take this action at all."""
    role = role_of(user)
    return role is not None and role in MATRIX[action]


def require(user: Any, action: Action) -> None:
    """Raise 403 (or 401 for nobody) unless the user's role may take the action."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise ApplicationError("not_authenticated", "Log in first.", "请先登录。", status=401)
    if not can(user, action):
        raise Forbidden(f"Your role may not do '{action}'.", f"您的角色无权执行“{action}”。")


class HasAction(BasePermission):
    """DRF permission: ``permission_classes = [HasAction.for_(Action.X)]``."""

    action: Action

    @classmethod
    def for_(cls, action: Action) -> type[HasAction]:
        return type(f"Has_{action.value.replace('.', '_')}", (cls,), {"action": action})

    def has_permission(self, request: Any, view: Any) -> bool:
        require(request.user, self.action)
        return True
