"""The public listings (no login): tenders, notices, agencies and the red and black lists.

``GET /api/search/<listing>/?q=…&<keyword field>=a,b&<number field>_min=…&<date field>_from=…&sort=…``
returns one page, its facets and an opaque ``next_cursor`` (pass it back as ``cursor``).
"""

from __future__ import annotations

from typing import ClassVar

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ApplicationError
from core.permissions import Action, can
from search import documents, service
from search.api.outputs import SearchHealthOutput, listing_output
from search.backends.base import BadQuery
from search.params import parse, render


class Listing(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []  # public: no session, so no CSRF and no login
    doc_type: ClassVar[str]
    aliases: ClassVar[dict[str, str]] = {}

    def get(self, request: Request) -> Response:
        try:
            query = parse(self.doc_type, request.query_params, self.aliases)
            page, degraded = service.search(query)
        except BadQuery as exc:
            raise ApplicationError(exc.code, exc.detail, exc.detail_zh) from None
        return Response(listing_output(self.doc_type)(render(page, degraded)).data)


def _listing(name: str, doc_type: str, description: str, aliases: dict[str, str] | None = None) -> type[Listing]:
    @extend_schema(
        description=description,
        parameters=[
            OpenApiParameter("q", str, description="words to find (any substring of two or more characters)"),
            OpenApiParameter("sort", str, description=f"one of {sorted(documents.get(doc_type).sorts)}"),
            OpenApiParameter("cursor", str, description="next_cursor of the previous page"),
            OpenApiParameter("size", int, description="hits per page, 1–100 (20)"),
        ],
        responses=listing_output(doc_type),
    )
    def get(self: Listing, request: Request) -> Response:
        return Listing.get(self, request)

    return type(name, (Listing,), {"doc_type": doc_type, "aliases": aliases or {}, "get": get})


TenderSearch = _listing(
    "TenderSearch",
    "tender",
    "Published tenders. Filters: status, method, category, region (comma-separated values), budget_min/max, "
    "published_from/to, deadline_from/to. Sorts: newest, deadline, budget_desc, budget_asc.",
    {"published": "published_at", "deadline": "bid_deadline"},
)
NoticeSearch = _listing(
    "NoticeSearch",
    "notice",
    "Notices. Filters: kind, tender (reference), published_from/to. Sorts: newest, oldest.",
    {"published": "published_at"},
)
AgencySearch = _listing(
    "AgencySearch",
    "agency",
    "The agency directory with score and current list status. Filters: region, status, categories, list_status "
    "(red, black, none), score_min/max. Sorts: score, name.",
)
CreditListSearch = _listing(
    "CreditListSearch",
    "credit_list",
    "Decided red- and black-list entries, current and past. Filters: list_kind, status, subject_uscc, "
    "document_number, decided_from/to. Sorts: newest.",
    {"decided": "decided_at", "starts": "starts_at", "ends": "ends_at"},
)


class SearchHealth(APIView):
    """Which backend answers, whether the search service is up, and the outbox backlog. The error
    texts (which name internal hosts) are shown to operators and supervisors only."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: SearchHealthOutput, 503: SearchHealthOutput})
    def get(self, request: Request) -> Response:
        report = service.health()
        if not can(request.user, Action.AUDIT_READ):
            report.pop("service", None)
            if report.get("outbox"):
                report["outbox"] = {k: v for k, v in report["outbox"].items() if k != "last_error"}
        return Response(SearchHealthOutput(report).data, status=200 if report["ok"] else 503)
