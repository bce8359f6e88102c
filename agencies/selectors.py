"""Reads for agencies, certificates and credit: who may see what is decided here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from agencies import pki
from agencies.ca import platform_ca
from agencies.choices import DECIDED_LIST_STATUSES, AdmissionStatus, EvaluationStatus
from agencies.credit import with_credit
from agencies.filters import AgencyFilterSet, CreditListEntryFilterSet
from agencies.models import Agency, Certificate, CreditEvent, CreditListEntry, Qualification, ServiceEvaluation
from core import clock
from core.errors import NotFound
from core.filtering import apply_filters
from core.permissions import Action, Role, can, organisation_id_of
from market.access import owned_tenders_q

# Agencies the public directory shows: in the supermarket now, or suspended from it (a suspension
# is a public fact too).
DIRECTORY_STATUSES = (AdmissionStatus.ADMITTED, AdmissionStatus.SUSPENDED)


def agency_directory(*, at: datetime | None = None, params: Any = None) -> QuerySet[Agency]:
    """The public directory with score and list status at ``at``, one query for the page,
    narrowed by the listing's filters (``AgencyFilterSet``)."""
    at = at or clock.now()
    qs = with_credit(Agency.objects.filter(status__in=DIRECTORY_STATUSES).select_related("organisation"), at)
    return apply_filters(AgencyFilterSet, params, qs)


def agency_public(*, uscc: str) -> Agency:
    agency = agency_directory().filter(organisation__uscc=uscc.upper()).first()
    if agency is None:
        raise NotFound("No such agency in the directory.", "名录中没有该中介机构。")
    return agency


def agency_list_for_staff(*, status: str | None = None) -> QuerySet[Agency]:
    qs = with_credit(Agency.objects.select_related("organisation"), clock.now())
    return qs.filter(status=status) if status else qs


def agency_for_staff(*, agency_id: int) -> Agency:
    agency = agency_list_for_staff().filter(pk=agency_id).first()
    if agency is None:
        raise NotFound("No such agency.", "中介机构不存在。")
    return agency


def agency_own(*, user: User) -> Agency:
    agency = (
        with_credit(Agency.objects.select_related("organisation"), clock.now())
        .filter(organisation_id=organisation_id_of(user))
        .first()
    )
    if agency is None:
        raise NotFound("Your organisation has no agency profile.", "您的机构尚无中介机构档案。")
    return agency


def certificates_of_agency(*, uscc: str) -> QuerySet[Certificate]:
    """Every certificate ever issued to the agency, revoked and expired ones included: a verifier
    needs them to check signatures made while they were valid."""
    return Certificate.objects.filter(organisation__uscc=uscc.upper(), holder__isnull=True).select_related(
        "organisation"
    )


def certificates_of_holder(*, user: User) -> QuerySet[Certificate]:
    return Certificate.objects.filter(holder=user).select_related("organisation", "holder")


def certificate_public(*, serial: str) -> Certificate:
    cert = Certificate.objects.select_related("organisation", "holder").filter(serial=serial.lower()).first()
    if cert is None:
        raise NotFound("No such certificate.", "证书不存在。")
    return cert


def revocation_list_pem() -> bytes:
    """The CA's current certificate revocation list (CRL), signed now, valid for a day."""
    from datetime import timedelta

    now = clock.now()
    revoked = [
        (int(c.serial, 16), c.revoked_at, c.revocation_reason or "unspecified")
        for c in Certificate.objects.filter(revoked_at__isnull=False).order_by("revoked_at", "id")
        if c.revoked_at is not None
    ]
    return pki.crl_build(platform_ca(), revoked, now=now, next_update=now + timedelta(days=1))


def list_entries_public(
    *, params: Any = None, list_kind: str | None = None, scope: str | None = None
) -> QuerySet[CreditListEntry]:
    """Decided entries, by the listing's filters (``CreditListEntryFilterSet``): ``scope=current``
    (the default) those in force now, ``scope=history`` every decided entry, expired and revoked
    included. Proposals and dismissals are not public."""
    qs = CreditListEntry.objects.filter(status__in=DECIDED_LIST_STATUSES).select_related("agency__organisation")
    data = {key: params.get(key) for key in params} if params else {}
    # Code that asks for one list or scope says so by keyword; a listing passes its query string.
    data |= {k: v for k, v in (("list", list_kind), ("scope", scope)) if v}
    data.setdefault("scope", "current")
    return apply_filters(CreditListEntryFilterSet, data, qs)


def list_entries_for_staff(*, status: str | None = None, list_kind: str | None = None) -> QuerySet[CreditListEntry]:
    qs = CreditListEntry.objects.select_related("agency__organisation", "source_event__kind")
    if status:
        qs = qs.filter(status=status)
    if list_kind:
        qs = qs.filter(list_kind=list_kind)
    return qs


def credit_events(*, user: User, agency_id: int | None = None) -> QuerySet[CreditEvent]:
    """Supervisors and operators see every event; an agency sees its own."""
    qs = CreditEvent.objects.select_related("kind", "agency__organisation")
    if can(user, Action.CREDIT_VIEW_ALL):
        return qs.filter(agency_id=agency_id) if agency_id else qs
    if user.role == Role.AGENCY:
        return qs.filter(agency__organisation_id=organisation_id_of(user))
    return qs.none()


def evaluations(*, user: User, status: str | None = None) -> QuerySet[ServiceEvaluation]:
    """Operators (moderation) and supervisors see all; a purchaser its own; an agency those
    about it that were approved."""
    qs = ServiceEvaluation.objects.select_related("tender", "agency__organisation")
    if can(user, Action.EVALUATION_MODERATE) or can(user, Action.CREDIT_VIEW_ALL):
        pass
    elif user.role == Role.PURCHASER:
        qs = qs.filter(owned_tenders_q(user, prefix="tender__"))
    elif user.role == Role.AGENCY:
        qs = qs.filter(agency__organisation_id=organisation_id_of(user), status=EvaluationStatus.APPROVED)
    else:
        return qs.none()
    return qs.filter(status=status) if status else qs


def qualification_files_in_use(digests: set[str]) -> set[str]:
    """Which of these scan digests a qualification row names, withdrawn ones included (storage_gc asks)."""
    return set(Qualification.objects.filter(file_sha256__in=digests).values_list("file_sha256", flat=True))
