"""What the agencies app makes searchable: the public directory and the decided credit-list entries.

Scores and list status depend on time (an event expires, an entry comes into force). The database
backend reads them live from the base tables; an external index holds them as of the last write
that touched the agency, and the clock's credit step re-queues agencies whose list entries moved."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, CharField, Value, When

from agencies.credit import with_credit
from agencies.models import Agency, CreditEvent, CreditListEntry, Qualification
from agencies.selectors import DECIDED_STATUSES, DIRECTORY_STATUSES
from core import clock
from market.models import Organisation
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
        queryset=lambda: CreditListEntry.objects.filter(status__in=DECIDED_STATUSES).select_related(
            "agency__organisation"
        ),
        document=list_entry_document,
    )
)
