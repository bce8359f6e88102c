"""The embedded backend: full-text search on the project database, no server needed.

Like a search server, it keeps its own index, written in the same transaction as every change
(``search.indexing``): one short ``SearchEntry`` row per document holding the values listings
filter, facet, range and sort on (``search.backends.layout`` says which field is in which column),
and the document's text as overlapping CJK bigrams in the database's full-text structures
(``search.backends.fulltext``), searched as phrases, so any query of two or more characters matches
what a substring search would. A one-character query cannot be phrase-searched on bigrams: it is
answered with ``LIKE`` on the base table's text columns.

Listings read only the index: the entries and their indexes, the text, and for the page's own hits
their documents as indexed (``SearchDocument``). Totals are exact up to :func:`total_cap` matches
(``AGORA_SEARCH_TOTAL_CAP``, 10,000) and flagged as a lower bound beyond; facets count the same capped
set; pages are keyset cursors over (sort values…, id). No ``COUNT(*)`` over a whole table and no
``OFFSET`` on any listing.

On SQLite the statements are shaped so the plan does not depend on the planner's guesses: a text
match drives the capped count from the FTS5 table into the entries (``CROSS JOIN``), and a page of
many matches walks the sort's index (``INDEXED BY``) and probes the matches, while a page of few
sorts them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q

from search import documents, tokens
from search.backends import fulltext
from search.backends.base import BadQuery, Document, Hit, Page, Query
from search.backends.layout import FACET_SEP, ROW_SEP, SEP, Layout, as_datetime, key_token, keyword_value, layout_of
from search.models import SearchDocument, SearchEntry, SearchIndex

# A page of more matches than this walks the sort's index and probes the matches; of fewer, sorts them.
WALK_OVER = 2_000
FRAGMENT = 60  # characters of context either side of a highlighted match
MAX_FRAGMENTS = 3
BATCH = 500
ENTRY = "search_searchentry"
DOCUMENT = "search_searchdocument"


def total_cap() -> int:
    """How many matches a listing counts at most (``AGORA_SEARCH_TOTAL_CAP``)."""
    return max(1, int(settings.AGORA_SEARCH_TOTAL_CAP))


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


# --- cursors ---------------------------------------------------------------------------------------------------


def _encode_cursor(values: list[Any]) -> str:
    plain = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values])
    return base64.urlsafe_b64encode(plain.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, length: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != length:
        raise _invalid_cursor()
    return values


def _invalid_cursor() -> BadQuery:
    return BadQuery("invalid_cursor", "The cursor is not one this listing issued.", "分页游标无效。")


# --- highlighting ----------------------------------------------------------------------------------------------


def highlight(value: str, text: str) -> list[str]:
    """Fragments of ``value`` around the query's runs, HTML-escaped, matches in <mark>…</mark>."""
    folded, found = value.casefold(), []
    for run in text.split():
        needle = run.casefold()
        at = folded.find(needle)
        if needle and at >= 0:
            found.append((at, at + len(needle)))
    fragments = []
    for start, end in sorted(found)[:MAX_FRAGMENTS]:
        left, right = max(0, start - FRAGMENT), min(len(value), end + FRAGMENT)
        fragments.append(
            ("…" if left else "")
            + html.escape(value[left:start])
            + "<mark>"
            + html.escape(value[start:end])
            + "</mark>"
            + html.escape(value[end:right])
            + ("…" if right < len(value) else "")
        )
    return fragments


# --- the statements of one listing ---------------------------------------------------------------------------------


class _Listing:
    """The conditions of one query on the entries of its type, as SQL with parameters."""

    def __init__(self, connection: BaseDatabaseWrapper, dt: documents.DocumentType, layout: Layout, query: Query):
        self.connection, self.dt, self.layout, self.query = connection, dt, layout, query
        self.sqlite = connection.vendor == "sqlite"
        self.cap = total_cap()
        self.where = ["e.doc_type = %s"]
        self.params: list[Any] = [dt.name]
        # SQLite: the FTS5 expressions every match must meet (the text and the keyword filters).
        self.terms: list[str] = []
        for name, values in query.filters.items():
            self._filter(name, values)
        for name, (low, high) in query.ranges.items():
            self._range(name, low, high)
        self._text(query.text.strip())
        self.match = " AND ".join(self.terms) if self.terms else None

    def _filter(self, name: str, values: Iterable[Any]) -> None:
        f = self.dt.field(name)
        if f.kind != documents.KEYWORD:
            raise BadQuery("not_a_filter", f"{name} cannot be filtered by value.", f"字段 {name} 不能按值筛选。")
        wanted = [v for v in (keyword_value(v) for v in values) if v]
        if not wanted:
            return
        column = f"e.{self.layout.column(name)}"
        if self.sqlite:
            self.terms.append("keys : (" + " OR ".join(key_token(self.layout.column(name), v) for v in wanted) + ")")
        elif name in self.layout.lists:
            self.where.append("(" + " OR ".join(f"strpos({column}, %s) > 0" for _ in wanted) + ")")
            self.params += [SEP + v + SEP for v in wanted]
        else:
            self.where.append(f"{column} IN ({', '.join(['%s'] * len(wanted))})")
            self.params += wanted

    def _range(self, name: str, low: Any, high: Any) -> None:
        f = self.dt.field(name)
        if f.kind not in (documents.NUMBER, documents.DATE):
            raise BadQuery("not_a_range", f"{name} has no range.", f"字段 {name} 不能按范围筛选。")
        column = f"e.{self.layout.column(name)}"
        for bound, op in ((low, ">="), (high, "<=")):
            if bound is not None:
                self.where.append(f"{column} {op} %s")
                self.params.append(self.typed(f, bound))

    def typed(self, f: documents.Field, value: Any) -> Any:
        """A bound or cursor value of field ``f`` as the database compares it."""
        if f.kind == documents.NUMBER:
            try:
                return float(Decimal(str(value)))
            except (InvalidOperation, ValueError):
                raise BadQuery("invalid_range", f"{f.name} takes numbers.", f"{f.name} 须为数字。") from None
        if f.kind == documents.DATE:
            try:
                moment = as_datetime(value)
            except ValueError:
                raise BadQuery(
                    "invalid_range", f"{f.name} takes ISO 8601 dates.", f"{f.name} 须为 ISO 8601 日期。"
                ) from None
            return self.connection.ops.adapt_datetimefield_value(moment)
        return str(value)

    def _text(self, text: str) -> None:
        length = tokens.searchable_length(text)
        if length == 1:
            # One character: LIKE on the base table's text columns (never on the FTS table, where SQLite
            # 3.40 silently finds nothing).
            char = "".join(ch for ch in text if not ch.isspace())
            any_text = Q()
            for f in self.dt.of_kind(documents.TEXT):
                any_text |= Q(**{f"{f.path}__icontains": char})
            sql, params = self.dt.queryset().filter(any_text).order_by().values("pk").query.sql_with_params()
            self.where.append(f"e.object_id IN ({sql})")
            self.params += list(params)
        elif length > 1:
            words = fulltext.runs(text)
            if self.sqlite:
                self.terms.append(f"tokens : ({fulltext.fts5_match(words)})")
            else:
                self.where.append("e.vector @@ %s::tsquery")
                self.params.append(fulltext.tsquery(words))

    # -- the statements --

    def _from_match(self) -> str:
        """SQLite: from the FTS5 match into the entries (CROSS JOIN keeps that order; its one parameter is
        the match)."""
        return f"{fulltext.table(self.dt.name)}(%s) f CROSS JOIN {ENTRY} e ON e.id = f.rowid"

    def capped(self, column: str | None) -> tuple[str, list[Any]]:
        """``column`` (or nothing) of at most cap + 1 matching entries, in no order."""
        select = f"e.{column} AS c0" if column else "1"
        where = " AND ".join(self.where)
        if self.match is not None:
            # The match runs once and stops with the cap.
            source = self._from_match()
            return f"SELECT {select} FROM {source} WHERE {where} LIMIT {self.cap + 1}", [self.match, *self.params]  # noqa: S608  # nosec B608  # names from code, values as %s
        return f"SELECT {select} FROM {ENTRY} e WHERE {where} LIMIT {self.cap + 1}", self.params  # noqa: S608  # nosec B608  # names from code, values as %s

    def page(
        self, order: list[tuple[str, bool]], after: list[Any] | None, size: int, walk: bool
    ) -> tuple[str, list[Any]]:
        """The next ``size`` entries in ``order`` ((column, descending) pairs, the object id last) after the
        cursor values ``after``. ``walk``: many matches, so walk the first sort column's index."""
        where, params = list(self.where), list(self.params)
        if after is not None:
            keyset, keyset_params = _after(order, after)
            where.append(keyset)
            params += keyset_params
        select = "e.id, " + ", ".join(f"e.{c}" for c, _ in order)
        ordering = ", ".join(f"e.{c} {'DESC' if desc else 'ASC'}" for c, desc in order)
        limit = f"ORDER BY {ordering} LIMIT {size}"
        if not self.sqlite:
            return f"SELECT {select} FROM {ENTRY} e WHERE {' AND '.join(where)} {limit}", params  # noqa: S608  # nosec B608  # names from code, values as %s
        index = f"INDEXED BY search_entry_{order[0][0]}" if walk and order[0][0] != "object_id" else ""
        if self.match is not None and walk:
            # Walk the sort's index; the match is made once and probed per row.
            where.append(f"e.id IN (SELECT rowid FROM {fulltext.table(self.dt.name)}(%s))")  # noqa: S608  # nosec B608  # names from code, values as %s
            params.append(self.match)
        elif self.match is not None:
            source = self._from_match()
            return f"SELECT {select} FROM {source} WHERE {' AND '.join(where)} {limit}", [self.match, *params]  # noqa: S608  # nosec B608  # names from code, values as %s
        return f"SELECT {select} FROM {ENTRY} e {index} WHERE {' AND '.join(where)} {limit}", params  # noqa: S608  # nosec B608  # names from code, values as %s


def _after(order: list[tuple[str, bool]], values: list[Any]) -> tuple[str, list[Any]]:
    """Rows strictly after ``values`` in ``order``: ``a < x OR (a = x AND b < y) …``, with a plain bound
    on the first column so that the walk starts at the cursor instead of merging the alternatives."""
    alternatives, params = [], []
    equal: list[str] = []
    equal_params: list[Any] = []
    for (column, desc), value in zip(order, values, strict=True):
        alternatives.append(" AND ".join([*equal, f"e.{column} {'<' if desc else '>'} %s"]))
        params += [*equal_params, value]
        equal.append(f"e.{column} = %s")
        equal_params.append(value)
    (first, desc), start = order[0], values[0]
    sql = f"e.{first} {'<=' if desc else '>='} %s AND (" + " OR ".join(f"({a})" for a in alternatives) + ")"
    return sql, [start, *params]


# --- the backend -------------------------------------------------------------------------------------------------


class DatabaseBackend:
    name = "database"

    def __init__(self, using: str = "default") -> None:
        self.using = using

    @property
    def connection(self) -> BaseDatabaseWrapper:
        return connections[self.using]

    # -- writing --
    def bulk(self, doc_type: str, upserts: Iterable[tuple[int, Document]], deletes: Iterable[int]) -> None:
        dt, layout = documents.get(doc_type), layout_of(doc_type)
        entries = SearchEntry.objects.using(self.using)
        stored = SearchDocument.objects.using(self.using)
        with transaction.atomic(using=self.using):
            gone = list(deletes)
            if gone:
                entries.filter(doc_type=doc_type, object_id__in=gone).delete()  # the text goes with them
            items = list(upserts)
            if not items:
                return
            known = {
                object_id: (pk, digest)
                for pk, object_id, digest in entries.filter(
                    doc_type=doc_type, object_id__in=[object_id for object_id, _ in items]
                ).values_list("pk", "object_id", "digest")
            }
            texts: list[tuple[int, list[str], list[str]]] = []
            new: list[tuple[SearchEntry, Document, list[str], list[str]]] = []
            for object_id, document in items:
                toks = tokens.tokens(dt.text_of(document))
                values = layout.values(dt, document)
                keys = layout.key_tokens(dt, values)
                digest = _digest(" ".join(toks) + "\n" + " ".join(keys))
                if object_id in known:
                    pk, before = known[object_id]
                    entries.filter(pk=pk).update(digest=digest, **values)
                    stored.filter(pk=pk).update(document=document)
                    if before != digest:  # many writes leave the text and the keywords as they were
                        texts.append((pk, toks, keys))
                else:
                    entry = SearchEntry(doc_type=doc_type, object_id=object_id, digest=digest, **values)
                    new.append((entry, document, toks, keys))
            if new:
                created = entries.bulk_create([item[0] for item in new])
                stored.bulk_create(
                    [SearchDocument(entry=entry, document=item[1]) for entry, item in zip(created, new, strict=True)]
                )
                texts += [(entry.pk, item[2], item[3]) for entry, item in zip(created, new, strict=True)]
            fulltext.write(self.connection, doc_type, texts)

    def rebuild(self, doc_type: str, docs: Iterable[tuple[int, Document]]) -> int:
        with transaction.atomic(using=self.using):
            fulltext.clear(self.connection, doc_type)
            SearchEntry.objects.using(self.using).filter(doc_type=doc_type).delete()
            count = 0
            batch: list[tuple[int, Document]] = []
            for item in docs:
                batch.append(item)
                if len(batch) >= BATCH:
                    self.bulk(doc_type, batch, ())
                    count, batch = count + len(batch), []
            self.bulk(doc_type, batch, ())
            SearchIndex.objects.using(self.using).update_or_create(
                doc_type=doc_type, defaults={"fingerprint": layout_of(doc_type).fingerprint}
            )
            if self.connection.vendor == "postgresql":
                # Statistics for the planner now, not when autovacuum gets round to it: without them it
                # scanned the table for a common bigram (at 100k, a 2-character query's median 245 ms, not 76).
                with self.connection.cursor() as cursor:
                    cursor.execute(f"ANALYZE {ENTRY}")
            return count + len(batch)

    def health(self) -> dict[str, Any]:
        return {"backend": self.name, "ok": True}

    # -- reading --
    def search(self, query: Query) -> Page:
        dt, layout = documents.get(query.doc_type), layout_of(query.doc_type)
        if not 1 <= query.size <= 100:
            raise BadQuery("invalid_size", "A page holds 1 to 100 hits.", "每页 1 至 100 条。")
        sort = dt.sort_fields(query.sort)
        listing = _Listing(self.connection, dt, layout, query)
        fields = [dt.field(name.lstrip("-")) for name in sort]
        order = [(layout.column(f.name), name.startswith("-")) for f, name in zip(fields, sort, strict=True)]
        order.append(("object_id", True))
        after = None
        if query.cursor:
            values = _decode_cursor(query.cursor, len(order))
            try:
                after = [listing.typed(f, v) for f, v in zip(fields, values, strict=False)] + [int(values[-1])]
            except (BadQuery, ValueError, TypeError):
                raise _invalid_cursor() from None
        total, facets = self._count(dt, listing, facets=query.facets)
        sql, params = listing.page(order, after, query.size + 1, walk=total > WALK_OVER)
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        more = len(rows) > query.size
        rows = rows[: query.size]
        stored = self._documents([row[0] for row in rows])
        hits = []
        text = query.text.strip()
        for row in rows:
            doc = stored.get(row[0])
            if doc is None:  # removed by a write that committed between the two statements
                continue
            marks = {}
            if query.highlight and text:
                for f in dt.of_kind(documents.TEXT):
                    fragments = highlight(str(doc.get(f.name) or ""), text)
                    if fragments:
                        marks[f.name] = fragments
            hits.append(Hit(id=row[-1], document=doc, highlight=marks))
        next_cursor = None
        if more and rows:
            last = rows[-1]
            next_cursor = _encode_cursor([_plain(f, v) for f, v in zip(fields, last[1:], strict=False)] + [last[-1]])
        return Page(
            hits=hits,
            facets=facets,
            next_cursor=next_cursor,
            total=min(total, listing.cap),
            total_is_lower_bound=total > listing.cap,
            backend=self.name,
        )

    def _documents(self, entry_ids: list[int]) -> dict[int, Document]:
        """The stored documents of these entries."""
        if not entry_ids:
            return {}
        marks = ", ".join(["%s"] * len(entry_ids))
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT entry_id, document FROM {DOCUMENT} WHERE entry_id IN ({marks})", entry_ids)  # noqa: S608  # nosec B608  # names from code, values as %s
            rows = cursor.fetchall()
        return {pk: doc if isinstance(doc, dict) else json.loads(doc) for pk, doc in rows}

    def _count(
        self, dt: documents.DocumentType, listing: _Listing, *, facets: bool
    ) -> tuple[int, dict[str, dict[str, int]]]:
        """The total and every facet from one unordered pass over at most cap + 1 matches, reading
        each match's ``facets`` column. Beyond the cap the facets count the cap + 1 matches the
        database met first."""
        names = list(dt.facets) if facets else []
        inner, params = listing.capped("facets" if names else None)
        combos: Counter[str] = Counter()
        with self.connection.cursor() as cursor:
            if not names:
                cursor.execute(f"SELECT COUNT(*) FROM ({inner}) capped", params)  # noqa: S608  # nosec B608  # names from code, values as %s
                total = int(cursor.fetchone()[0])
            elif listing.sqlite:
                # One row: the count and every match's facets joined. SQLite groups far slower than this.
                cursor.execute(f"SELECT COUNT(*), group_concat(capped.c0, '{ROW_SEP}') FROM ({inner}) capped", params)  # noqa: S608  # nosec B608  # names from code, values as %s
                total, joined = cursor.fetchone()
                combos.update(joined.split(ROW_SEP) if joined is not None else ())
            else:
                cursor.execute(f"SELECT capped.c0, COUNT(*) FROM ({inner}) capped GROUP BY capped.c0", params)  # noqa: S608  # nosec B608  # names from code, values as %s
                combos.update({combo: int(n) for combo, n in cursor.fetchall()})
                total = sum(combos.values())
        counts: list[Counter[str]] = [Counter() for _ in names]
        for combo, n in combos.items():
            for counter, value in zip(counts, combo.split(FACET_SEP), strict=True):
                for part in value.split(SEP):  # a list is stored as \x1fa\x1fb\x1f; a scalar is one part
                    if part:
                        counter[part] += n
        out = {
            name: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))) for name, c in zip(names, counts, strict=True)
        }
        return int(total), out


def _plain(f: documents.Field, value: Any) -> Any:
    """A sort value as the cursor carries it (JSON): dates as ISO 8601 in UTC."""
    if f.kind == documents.DATE and value is not None:
        return as_datetime(value).isoformat()
    return value
