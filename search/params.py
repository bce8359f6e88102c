"""The public listings' query language, one for the API and the pages that search.

``?q=…&<keyword field>=a,b&<number field>_min=…&<date field>_from=…&sort=…&cursor=…&size=…``: the
fields are those each document type declares (``search.documents``). A search page parses its query
string with :func:`parse` and renders with the same :class:`Query`, so its URL is an API query too.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from core.clock import LOCAL_TZ
from search import documents
from search.backends.base import BadQuery, Page, Query

RESERVED = {"q", "sort", "cursor", "size", "facets", "highlight"}


def _moment(raw: str, *, end_of_day: bool) -> str:
    """An ISO date or date-time, in Beijing time when it names no zone; a bare date ``_to`` means
    the whole of that day."""
    try:
        if len(raw) == 10:
            day = datetime.fromisoformat(raw).date()
            moment = datetime.combine(day, time.max if end_of_day else time.min)
        else:
            moment = datetime.fromisoformat(raw)
    except ValueError:
        raise BadQuery("invalid_date", f"{raw!r} is not an ISO 8601 date.", f"“{raw}”不是 ISO 8601 日期。") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TZ)
    return moment.isoformat()


def parse(doc_type: str, params: Any, aliases: dict[str, str]) -> Query:
    """The listing's query parameters as a :class:`Query`; unknown parameters are refused."""
    dt = documents.get(doc_type)
    filters: dict[str, list[str]] = {}
    ranges: dict[str, list[Any]] = {}
    for key in params:
        if key in RESERVED:
            continue
        base, _, end = key.rpartition("_")
        base = aliases.get(base, base)
        name = aliases.get(key, key)
        kinds = {f.name: f.kind for f in dt.fields}
        if kinds.get(name) == documents.KEYWORD:
            filters[name] = [v for raw in params.getlist(key) for v in raw.split(",") if v]
        elif kinds.get(base) == documents.NUMBER and end in ("min", "max"):
            ranges.setdefault(base, [None, None])[end == "max"] = params.get(key)
        elif kinds.get(base) == documents.DATE and end in ("from", "to"):
            ranges.setdefault(base, [None, None])[end == "to"] = _moment(params.get(key), end_of_day=end == "to")
        else:
            raise BadQuery(
                "unknown_parameter",
                f"Unknown parameter {key!r} for this listing.",
                f"本列表不支持参数“{key}”。",
            )
    try:
        size = int(params.get("size", 20))
    except ValueError:
        raise BadQuery("invalid_size", "size is a number.", "size 须为数字。") from None
    return Query(
        doc_type=doc_type,
        text=params.get("q", "").strip()[:200],
        filters=filters,
        ranges={k: (v[0], v[1]) for k, v in ranges.items()},
        sort=params.get("sort") or None,
        cursor=params.get("cursor") or None,
        size=size,
        facets=params.get("facets", "1") != "0",
        highlight=params.get("highlight", "1") != "0",
    )


def render(page: Page, degraded: bool) -> dict[str, Any]:
    return {
        "results": [{"id": hit.id, **hit.document, "highlight": hit.highlight} for hit in page.hits],
        "facets": page.facets,
        "next_cursor": page.next_cursor,
        "total": page.total,
        "total_is_lower_bound": page.total_is_lower_bound,
        "backend": page.backend,
        "degraded": degraded,
    }
