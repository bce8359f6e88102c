"""What the market app makes searchable: published tenders and their notices (search.documents)."""

from __future__ import annotations

from accounts.models import Organisation
from market.access import PUBLIC_TENDERS
from market.models import Notice, Tender
from search.backends.base import Document
from search.documents import DATE, KEYWORD, NUMBER, TEXT, DocumentType, Field, iso, register


def tender_document(t: Tender) -> Document:
    return {
        "reference": t.reference,
        "title": t.title,
        "description": t.description,
        "purchaser": t.purchaser.name,
        "status": t.status,
        "method": t.method,
        "category": t.category,
        "region": t.region,
        "budget": float(t.budget),
        "published_at": iso(t.published_at),
        "bid_deadline": iso(t.bid_deadline),
    }


TENDER = register(
    DocumentType(
        name="tender",
        model=Tender,
        fields=(
            Field("title", TEXT),
            Field("description", TEXT),
            Field("purchaser", TEXT, source="purchaser__name"),
            Field("reference", KEYWORD),
            Field("status", KEYWORD, facet=True),
            Field("method", KEYWORD, facet=True),
            Field("category", KEYWORD, facet=True),
            Field("region", KEYWORD, facet=True),
            Field("budget", NUMBER),
            Field("published_at", DATE),
            Field("bid_deadline", DATE),
        ),
        sorts={
            "newest": ("-published_at",),
            "deadline": ("bid_deadline",),
            "budget_desc": ("-budget",),
            "budget_asc": ("budget",),
        },
        default_sort="newest",
        # The public's tenders (market.access: published at some point). The publication time alone
        # says so, which lets the listing walk its (published_at, id) index.
        queryset=lambda: Tender.objects.filter(PUBLIC_TENDERS).select_related("purchaser"),
        document=tender_document,
        # A purchaser's new name shows in its tenders.
        triggers=((Organisation, lambda org: Tender.objects.filter(purchaser=org).values_list("pk", flat=True)),),
    )
)


def notice_document(n: Notice) -> Document:
    return {
        "title": n.title,
        "body": n.body,
        "kind": n.kind,
        "tender": n.tender.reference,
        "published_at": iso(n.published_at),
    }


NOTICE = register(
    DocumentType(
        name="notice",
        model=Notice,
        fields=(
            Field("title", TEXT),
            Field("body", TEXT),
            Field("kind", KEYWORD, facet=True),
            Field("tender", KEYWORD, source="tender__reference"),
            Field("published_at", DATE),
        ),
        sorts={"newest": ("-published_at",), "oldest": ("published_at",)},
        default_sort="newest",
        # Notices exist only for published tenders, so every notice is public.
        queryset=lambda: Notice.objects.select_related("tender"),
        document=notice_document,
    )
)
