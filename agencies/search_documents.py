"""What the agencies app makes searchable: the public directory and the decided credit-list entries.

Scores and list status depend on time (an event expires, an entry comes into force or ends). An index
holds them as of the last write that touched the agency; the clock re-indexes the agencies whose
events or entries reached one of their dates since its last pass (``agencies_changed_between``), so
a listing is at most one clock pass behind, as the stored statuses are."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Case, CharField, Q, Value, When

from accounts.models import Organisation
from agencies.choices import DECIDED_LIST_STATUSES
from agencies.credit import with_credit
from agencies.models import Agency, CreditEvent, CreditListEntry, Qualification
from agencies.selectors import DIRECTORY_STATUSES
from core import clock
from search.backends.base import Document
from search.documents import DATE, KEYWORD, NUMBER, TEXT, DocumentType, Field, iso, register


def agency_queryset() -> Any:
    qs = with_credit(Agency.objects.filter(status__in=DIRECTORY_STATUSES).select_related("organisation"), clock.now())
    return qs.annotate(
        list_status=Case(
            When(on_black_list=True, then=Value("black")),
            When(on_red_list=True, then=Value("red")),
            default=Value("none"),
            output_field=CharField(),
        )
    )


def agency_document(a: Agency) -> Document:
    # Score and list status are annotations of agency_queryset(); an object from elsewhere is re-read.
    annotated: Any = a if hasattr(a, "list_status") else agency_queryset().get(pk=a.pk)
    return {
        "name": a.organisation.name,
        "introduction": a.introduction,
        "uscc": a.organisation.uscc,
        "region": a.organisation.region,
        "status": a.status,
        "categories": list(a.service_categories),
        "list_status": annotated.list_status,
        "score": int(annotated.score),
    }


def _within(since: datetime, until: datetime, *names: str) -> Q:
    q = Q()
    for name in names:
        q |= Q(**{f"{name}__gt": since, f"{name}__lte": until})
    return q


def agencies_changed_between(since: datetime, until: datetime) -> Iterable[int]:
    """Agencies whose score or list status changed with time alone in (since, until]: an event started
    or stopped counting, a list entry came into force, ended or was revoked."""
    events = CreditEvent.objects.filter(_within(since, until, "occurred_at", "expires_at", "annulled_at"))
    entries = CreditListEntry.objects.filter(_within(since, until, "starts_at", "ends_at", "revoked_at"))
    return set(events.values_list("agency_id", flat=True)) | set(entries.values_list("agency_id", flat=True))


AGENCY = register(
    DocumentType(
        name="agency",
        model=Agency,
        fields=(
            Field("name", TEXT, source="organisation__name"),
            Field("introduction", TEXT),
            Field("uscc", KEYWORD, source="organisation__uscc"),
            Field("region", KEYWORD, source="organisation__region", facet=True),
            Field("status", KEYWORD, facet=True),
            Field("categories", KEYWORD, source="service_categories", facet=True),
            Field("list_status", KEYWORD, facet=True),
            Field("score", NUMBER),
        ),
        sorts={"score": ("-score",), "name": ("name",)},
        default_sort="score",
        queryset=agency_queryset,
        document=agency_document,
        triggers=(
            (Organisation, lambda org: Agency.objects.filter(organisation=org).values_list("pk", flat=True)),
            (CreditEvent, lambda event: [event.agency_id]),
            (CreditListEntry, lambda entry: [entry.agency_id]),
            (Qualification, lambda q: [q.agency_id]),
        ),
        changed_between=agencies_changed_between,
    )
)


def list_entry_document(e: CreditListEntry) -> Document:
    return {
        "subject_name": e.subject_name or e.agency.organisation.name,
        "reason": e.reason,
        "subject_uscc": e.subject_uscc or e.agency.organisation.uscc,
        "list_kind": e.list_kind,
        "status": e.status,
        "document_number": e.document_number,
        "deciding_department": e.deciding_department,
        "decided_at": iso(e.decided_at),
        "starts_at": iso(e.starts_at),
        "ends_at": iso(e.ends_at),
    }


CREDIT_LIST = register(
    DocumentType(
        name="credit_list",
        model=CreditListEntry,
        fields=(
            Field("subject_name", TEXT),
            Field("reason", TEXT),
            Field("subject_uscc", KEYWORD),
            Field("list_kind", KEYWORD, facet=True),
            Field("status", KEYWORD, facet=True),
            Field("document_number", KEYWORD),
            Field("deciding_department", KEYWORD),
            Field("decided_at", DATE),
            Field("starts_at", DATE),
            Field("ends_at", DATE),
        ),
        sorts={"newest": ("-decided_at",)},
        default_sort="newest",
        # Decided entries only: proposals and dismissals are not public.
        queryset=lambda: CreditListEntry.objects.filter(status__in=DECIDED_LIST_STATUSES).select_related(
            "agency__organisation"
        ),
        document=list_entry_document,
    )
)
