"""May this agency do this action at this time? The one answer every other app asks for.

Two facts decide it, both read for the moment asked about (not from a stored flag a late clock
may not have updated yet):

* admission: for bidding and being drawn the agency must have been admitted at that moment
  (read from its decision history);
* the black list: an entry in force at that moment that restricts the action bars it.

Qualifications are a separate question (:func:`agency_is_qualified`), since they depend on the
tender's category rather than on the agency alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from accounts.models import Organisation
from agencies.choices import AdmissionStatus, CreditList, Incentive, RestrictedAction
from agencies.credit import in_force_q
from agencies.models import AdmissionDecision, Agency, CreditListEntry, Qualification
from core import clock

# Actions that need the agency to be admitted at the moment in question.
NEEDS_ADMISSION = frozenset({RestrictedAction.BID, RestrictedAction.BE_DRAWN})


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    code: str = "allowed"
    detail: str = ""
    detail_zh: str = ""
    entry_id: int | None = None

    def __bool__(self) -> bool:
        return self.allowed


def _agency_of(subject: Agency | Organisation | str) -> Agency | None:
    if isinstance(subject, Agency):
        return subject
    if isinstance(subject, Organisation):
        return Agency.objects.filter(organisation=subject).first()
    return Agency.objects.filter(organisation__uscc=subject).first()


def admission_status_at(agency: Agency, at: datetime) -> str | None:
    """The agency's admission state at ``at`` (None before it first applied)."""
    step = AdmissionDecision.objects.filter(agency=agency, decided_at__lte=at).order_by("-decided_at", "-id").first()
    return step.to_status if step else None


def _verdict(agency: Agency, action: str, admitted: bool, entries: Iterable[CreditListEntry]) -> Verdict:
    """The one rule: ``admitted`` (for bid and be_drawn) and no black entry in force restricting it."""
    if action in NEEDS_ADMISSION and not admitted:
        return Verdict(
            False,
            "agency_not_admitted",
            "The agency is not admitted to the platform.",
            "该中介机构未入驻或已被暂停/清退。",
        )
    for entry in entries:
        if action in entry.restricted_actions:
            ends = entry.ends_at.date().isoformat() if entry.ends_at else ""
            return Verdict(
                False,
                "agency_black_listed",
                f"The agency is on the black list until {ends} ({entry.document_number}): {entry.reason}",
                f"该中介机构被列入黑名单（{entry.document_number}），至 {ends}：{entry.reason}",
                entry.pk,
            )
    return Verdict(True)


def agency_may(subject: Agency | Organisation | str, action: str, at: datetime | None = None) -> Verdict:
    """May the agency (an :class:`Agency`, its organisation, or a USCC) do ``action`` (a
    :class:`~agencies.choices.RestrictedAction`) at ``at`` (default: now)?

    Returns a :class:`Verdict` that is truthy when allowed and otherwise carries the reason, in
    English and Chinese, ready for an :class:`~core.errors.ApplicationError` or an opening record.
    """
    action = RestrictedAction(action)
    at = at or clock.now()
    agency = _agency_of(subject)
    if agency is None:
        if action == RestrictedAction.REGISTER:
            return Verdict(True)
        return Verdict(False, "not_an_agency", "No agency is registered under this code.", "该机构未注册为中介机构。")
    admitted = admission_status_at(agency, at) == AdmissionStatus.ADMITTED
    entries = CreditListEntry.objects.filter(in_force_q(at), agency=agency, list_kind=CreditList.BLACK).order_by(
        "starts_at", "id"
    )
    return _verdict(agency, action, admitted, entries)


def agencies_may(organisation_ids: Iterable[int], action: str, at: datetime) -> dict[int, Verdict]:
    """:func:`agency_may` for many agencies at once, by organisation id, in three queries: the
    opening asks it for every bid at the deadline."""
    action = RestrictedAction(action)
    ids = set(organisation_ids)
    agencies = {a.organisation_id: a for a in Agency.objects.filter(organisation_id__in=ids)}
    latest: dict[int, str] = {}
    for agency_id, status in (
        AdmissionDecision.objects.filter(agency__organisation_id__in=ids, decided_at__lte=at)
        .order_by("decided_at", "id")
        .values_list("agency_id", "to_status")
    ):
        latest[agency_id] = status
    entries: dict[int, list[CreditListEntry]] = {}
    for entry in CreditListEntry.objects.filter(
        in_force_q(at), agency__organisation_id__in=ids, list_kind=CreditList.BLACK
    ).order_by("starts_at", "id"):
        entries.setdefault(entry.agency_id, []).append(entry)
    verdicts = {}
    for org_id in ids:
        agency = agencies.get(org_id)
        if agency is None:
            verdicts[org_id] = Verdict(False, "not_an_agency", "No agency is registered.", "该机构未注册为中介机构。")
            continue
        admitted = latest.get(agency.pk) == AdmissionStatus.ADMITTED
        verdicts[org_id] = _verdict(agency, action, admitted, entries.get(agency.pk, []))
    return verdicts


def agency_is_barred(subject: Agency | Organisation | str, action: str, at: datetime | None = None) -> bool:
    """``not agency_may(...)``: for callers that need only yes or no."""
    return not agency_may(subject, action, at)


def agency_is_qualified(agency: Agency, category: str, at: datetime | None = None) -> bool:
    """Does the agency hold a qualification for ``category`` that counts at ``at``?"""
    at = at or clock.now()
    return any(q.counts_at(at) for q in Qualification.objects.filter(agency=agency, category=category))


def agency_has_incentive(agency: Agency, incentive: str, at: datetime | None = None) -> bool:
    """Does a red-list entry in force at ``at`` grant the agency ``incentive`` (bond waiver …)?"""
    incentive = Incentive(incentive)
    at = at or clock.now()
    entries = CreditListEntry.objects.filter(in_force_q(at), agency=agency, list_kind=CreditList.RED)
    return any(incentive in e.incentives for e in entries)
