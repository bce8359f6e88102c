"""The one search interface every backend implements (the embedded database backend, Elasticsearch).

A backend stores and searches *documents*: flat JSON objects built by a :class:`~search.documents.DocumentType`
(``search/documents.py`` holds the registry; each app declares its types in its own ``search_documents.py``).
Callers build a :class:`Query` and get a :class:`Page` back; cursors are opaque strings that only the backend
that issued them reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

# A document: field name -> str, int, float, bool, ISO 8601 date-time string, or a list of str.
Document = dict[str, Any]


class SearchUnavailable(Exception):
    """The search service cannot be reached or refused the request; callers fall back or retry."""


class BadQuery(ValueError):
    """The query names an unknown field, sort or cursor (the API turns it into a 400)."""

    def __init__(self, code: str, detail: str, detail_zh: str) -> None:
        super().__init__(detail)
        self.code, self.detail, self.detail_zh = code, detail, detail_zh


@dataclass(frozen=True)
class Query:
    """One listing request.

    ``text``: words to find in the type's text fields (substring semantics, see the backends).
    ``filters``: keyword field -> accepted values (any of them). ``ranges``: number or date field ->
    ``(lowest, highest)``, both inclusive, either may be None (dates as ISO 8601 strings).
    ``sort``: one of the type's named sorts (its default when None); the document id always breaks ties.
    ``cursor``: the ``next_cursor`` of the previous page. ``size``: hits per page (1–100).
    """

    doc_type: str
    text: str = ""
    filters: Mapping[str, Sequence[str]] = field(default_factory=dict)
    ranges: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    sort: str | None = None
    cursor: str | None = None
    size: int = 20
    facets: bool = True
    highlight: bool = True


@dataclass
class Hit:
    id: int
    document: Document
    # text field -> fragments with the matches wrapped in <mark>…</mark> (HTML-escaped otherwise)
    highlight: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Page:
    hits: list[Hit]
    # facet field -> value -> count of matching documents
    facets: dict[str, dict[str, int]]
    next_cursor: str | None
    # How many documents match: exact up to the backend's cap, then ``total_is_lower_bound`` is set.
    total: int
    total_is_lower_bound: bool
    backend: str


class SearchBackend(Protocol):
    name: str

    def bulk(self, doc_type: str, upserts: Iterable[tuple[int, Document]], deletes: Iterable[int]) -> None:
        """Index (create or replace) and delete documents of one type; idempotent."""

    def search(self, query: Query) -> Page:
        """One page of the documents of ``query.doc_type`` that match."""

    def rebuild(self, doc_type: str, documents: Iterable[tuple[int, Document]]) -> int:
        """Replace the whole index of ``doc_type`` with ``documents`` (with no downtime where the
        backend can); returns how many were indexed."""

    def health(self) -> dict[str, Any]:
        """``{"backend": name, "ok": bool, …}``: can it serve searches now?"""
