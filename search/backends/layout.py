"""Where each field of a document type lives in the embedded index (``search.models.SearchEntry``).

The embedded backend keeps, for every document, the values its listings filter, facet, range and
sort on in short columns of one row: keyword fields in ``k1``…``k6`` (in the order the type
declares them), number fields in ``n1``, ``n2``, date fields in ``d1``…``d3``, and the one text
field a sort may name in ``t1``. A listing then reads these rows, and indexes over them, instead
of the base tables' wide rows (a tender row carries its whole description).

A keyword *list* (an agency's service categories) is stored as ``\\x1fa\\x1fb\\x1f``: each value
between separators, so looking for ``\\x1fa\\x1f`` finds it and splitting counts it. The ``facets``
column holds every facet's stored value joined by ``\\x1e``: counting a listing's facets reads one
column per match. Keyword values never contain these separators (they are removed when stored).

The layout is derived from the declaration; :attr:`Layout.fingerprint` changes whenever it does,
and the index of a type whose fingerprint changed is rebuilt (``search.backends.fulltext.ensure``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models

from search import documents, tokens
from search.backends.base import Document

SEP = "\x1f"  # between the values of a keyword list
FACET_SEP = "\x1e"  # between the facets of the ``facets`` column
ROW_SEP = "\x1d"  # between the rows SQLite's group_concat joins
SLOTS = {
    documents.KEYWORD: ("k1", "k2", "k3", "k4", "k5", "k6"),
    documents.NUMBER: ("n1", "n2"),
    documents.DATE: ("d1", "d2", "d3"),
    documents.TEXT: ("t1",),
}
# Bump when what a column holds changes meaning (every index is then rebuilt).
VERSION = 1


@dataclass(frozen=True)
class Layout:
    doc_type: str
    # field name -> column, for every field that has one (text fields only when a sort names them)
    columns: dict[str, str]
    # keyword fields whose values are lists
    lists: frozenset[str]
    fingerprint: str

    def column(self, name: str) -> str:
        return self.columns[name]

    def values(self, dt: documents.DocumentType, document: Document) -> dict[str, Any]:
        """The document's column values: every column of the layout (where the document has no value, ""
        for keyword and text columns, None for the others), and ``facets``."""
        out: dict[str, Any] = {}
        for name, column in self.columns.items():
            kind = dt.field(name).kind
            value = document.get(name)
            if value is None or value == "":
                # No value: never matched, never counted; "" sorts first on every database, as NULL does not.
                out[column] = "" if kind in (documents.KEYWORD, documents.TEXT) else None
            elif kind == documents.KEYWORD and name in self.lists:
                unique = sorted({keyword_value(v) for v in value or () if keyword_value(v)})
                out[column] = SEP + SEP.join(unique) + SEP if unique else ""
            elif kind == documents.KEYWORD:
                out[column] = keyword_value(value)
            elif kind == documents.NUMBER:
                out[column] = float(value)
            elif kind == documents.DATE:
                out[column] = as_datetime(value)
            else:  # a text field a sort names (its first 255 characters decide the order)
                out[column] = str(value)[:255]
        out["facets"] = FACET_SEP.join(out[self.columns[name]] or "" for name in dt.facets)
        return out

    def key_tokens(self, dt: documents.DocumentType, values: dict[str, Any]) -> list[str]:
        """The full-text tokens of the keyword values in ``values`` (see :func:`key_token`)."""
        out = []
        for name in (f.name for f in dt.of_kind(documents.KEYWORD)):
            column = self.columns[name]
            stored = values.get(column)
            if stored:
                out += [key_token(column, v) for v in stored.split(SEP) if v]
        return out


def key_token(column: str, value: str) -> str:
    """One keyword value as a full-text token: its column and its UTF-8 bytes in hex (letters and digits
    only, so the tokenizer keeps it whole). On SQLite the embedded backend keeps these tokens in their own
    column of its FTS5 table, beside the text column (the only one text queries search), so one match
    applies the text and every keyword filter."""
    return column + value.encode().hex()


def keyword_value(value: Any) -> str:
    """A keyword value as it is stored and looked for: without the separators, at most 255 characters."""
    return "".join(ch for ch in str(value) if ch not in (SEP, FACET_SEP, ROW_SEP))[:255]


def as_datetime(value: Any) -> datetime:
    """A date field's value (ISO 8601 string or datetime) as an aware datetime; a naive one is UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _holds_list(dt: documents.DocumentType, f: documents.Field) -> bool:
    """A keyword field read from a JSON column holds a list (an agency's service categories)."""
    try:
        model_field = dt.model._meta.get_field(f.path)
    except FieldDoesNotExist:  # an annotation or a related path: one value
        return False
    return isinstance(model_field, models.JSONField)


@cache
def layout_of(doc_type: str) -> Layout:
    """The layout of a registered document type."""
    dt = documents.get(doc_type)
    list_fields = frozenset(f.name for f in dt.of_kind(documents.KEYWORD) if _holds_list(dt, f))
    sorted_on = {name.lstrip("-") for fields in dt.sorts.values() for name in fields}
    columns: dict[str, str] = {}
    used = {kind: 0 for kind in SLOTS}
    for f in dt.fields:
        if f.kind == documents.TEXT and f.name not in sorted_on:
            continue
        slots = SLOTS[f.kind]
        if used[f.kind] == len(slots):
            raise ValueError(
                f"search type {doc_type!r} has more {f.kind} fields than the embedded index has columns"
                f" ({len(slots)}); add columns to search.models.SearchEntry"
            )
        columns[f.name] = slots[used[f.kind]]
        used[f.kind] += 1
    plan = {
        "version": VERSION,
        "columns": columns,
        "lists": sorted(list_fields),
        "facets": list(dt.facets),
        "tokens": tokens.VERSION,
    }
    digest = hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()[:16]
    return Layout(doc_type=doc_type, columns=columns, lists=list_fields, fingerprint=digest)
