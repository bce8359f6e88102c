"""What is searchable: the registry of document types.

Each app declares its own types, in one place, in a ``search_documents.py`` module that calls
:func:`register` (``market``: tenders and notices; ``agencies``: agencies and credit-list entries).
The search app imports those modules when Django starts (``SearchConfig.ready``) and connects the
model signals that queue index work (``search.indexing``).

A :class:`DocumentType` says which objects are public (``queryset``), how one becomes a flat
document (``document``), the fields and what each is for, the facets, the named sorts, and which
other models' writes change its documents (``triggers``), and, for documents that change with time
alone, which changed in an interval (``changed_between``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models

from search.backends.base import BadQuery, Document

TEXT, KEYWORD, NUMBER, DATE = "text", "keyword", "number", "date"
KINDS = (TEXT, KEYWORD, NUMBER, DATE)


@dataclass(frozen=True)
class Field:
    """One field of a document.

    ``kind``: ``text`` (searched, highlighted), ``keyword`` (exact filter, facet), ``number`` or
    ``date`` (range filter, sort). ``source``: the ORM path on the type's queryset that holds the
    same value, for the database backend's filters, sorts and one-character matches (default: the
    field's name). ``facet``: counted per value in every listing.
    """

    name: str
    kind: str
    source: str | None = None
    facet: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown field kind {self.kind!r}")

    @property
    def path(self) -> str:
        return self.source or self.name


@dataclass(frozen=True)
class DocumentType:
    name: str
    model: type[models.Model]
    fields: tuple[Field, ...]
    # sort name -> field names, "-" for descending; the id (descending) always breaks ties.
    sorts: dict[str, tuple[str, ...]]
    default_sort: str
    # The public objects, annotated so that every non-text field's ``path`` can be filtered and sorted on.
    queryset: Callable[[], models.QuerySet[Any]]
    document: Callable[[Any], Document]
    # Writes to these models change the documents with the ids the function returns.
    triggers: tuple[tuple[type[models.Model], Callable[[Any], Iterable[int]]], ...] = field(default=())
    # Documents that change with time alone (a credit event expiring): the ids whose documents changed in
    # the interval (since, until]. The clock re-indexes them (search.indexing.refresh_due).
    changed_between: Callable[[datetime, datetime], Iterable[int]] | None = None

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise BadQuery("unknown_field", f"{self.name} has no field {name!r}.", f"{self.name} 没有字段 {name}。")

    def of_kind(self, *kinds: str) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.kind in kinds)

    @property
    def facets(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.facet)

    def sort_fields(self, sort: str | None) -> tuple[str, ...]:
        name = sort or self.default_sort
        if name not in self.sorts:
            raise BadQuery(
                "unknown_sort",
                f"Sort by one of {sorted(self.sorts)}.",
                f"排序方式须为 {'、'.join(sorted(self.sorts))} 之一。",
            )
        return self.sorts[name]

    def all_documents(self) -> Iterator[tuple[int, Document]]:
        """Every public object's document, in id order (to rebuild an index)."""
        for obj in self.queryset().order_by("pk").iterator(chunk_size=1000):
            yield obj.pk, self.document(obj)

    def text_of(self, document: Document) -> str:
        """The document's searchable text: its text fields, one per line."""
        return "\n".join(str(document.get(f.name) or "") for f in self.of_kind(TEXT))


def iso(value: Any) -> str | None:
    """A date-time as a document holds it: ISO 8601, or None."""
    return value.isoformat() if value is not None else None


REGISTRY: dict[str, DocumentType] = {}


def register(doc_type: DocumentType) -> DocumentType:
    if doc_type.name in REGISTRY and REGISTRY[doc_type.name] is not doc_type:
        raise ValueError(f"search document type {doc_type.name!r} is declared twice")
    REGISTRY[doc_type.name] = doc_type
    return doc_type


def get(name: str) -> DocumentType:
    try:
        return REGISTRY[name]
    except KeyError:
        raise BadQuery("unknown_type", f"No searchable type {name!r}.", f"没有可检索的类型 {name}。") from None
