"""The embedded backend: full-text search on the project database, no server needed.

Filters, facets, sorting and cursors run on the base tables through each document type's
``queryset`` (indexed columns, live values: a score or a list status is as of now). Text runs on
``SearchEntry`` tokens (``search.tokens``: overlapping CJK bigrams searched as phrases, so any query of
two or more characters matches what a substring search would):

- SQLite: an FTS5 table over the entries (``search/migrations/0002_fulltext``), queried with
  ``MATCH '"造价 价咨"'``;
- PostgreSQL: a ``tsvector`` column built from the same tokens with their positions (no text-search
  parser or locale involved), a GIN index, and ``'造价' <-> '价咨'`` phrase queries.

A one-character query cannot be phrase-searched on bigrams: it is answered with ``LIKE`` on the base
table's text columns (never on the FTS table, where SQLite 3.40 silently returns nothing).

Totals are exact up to :data:`TOTAL_CAP` matches and flagged as a lower bound beyond; facets count
the same capped set; pages are keyset cursors over (sort fields…, id): no ``COUNT(*)`` over a
whole table and no ``OFFSET`` on any listing.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, models, transaction
from django.db.models import F, Q
from django.db.models.expressions import RawSQL

from search import documents, tokens
from search.backends.base import BadQuery, Document, Hit, Page, Query
from search.models import SearchEntry

TOTAL_CAP = 10_000
# Text with more matches than this is paged by walking the sort index (see DatabaseBackend._filtered).
WALK_OVER = 2_000
FRAGMENT = 60  # characters of context either side of a highlighted match
MAX_FRAGMENTS = 3
MAX_POSITION = 16383  # the largest position a PostgreSQL tsvector keeps


# --- queries on the token index ------------------------------------------------------------------------------


def _runs(text: str) -> list[list[str]]:
    """The query's runs (words between spaces and punctuation), each as its token list."""
    return [tokens.tokens(run) for run in text.split()] if text else []


def _lone(toks: list[str]) -> bool:
    return len(toks) == 1 and len(toks[0]) == 1


def _fts5_match(runs: list[list[str]]) -> str:
    """Each run a phrase (a lone character: any token that starts with it), all of them required."""
    return " AND ".join(f'"{toks[0]}"*' if _lone(toks) else '"' + " ".join(toks) + '"' for toks in runs if toks)


def _tsquery(runs: list[list[str]]) -> str:
    return " & ".join(
        f"'{toks[0]}':*" if _lone(toks) else "(" + " <-> ".join(f"'{t}'" for t in toks) + ")" for toks in runs if toks
    )


def _tsvector(toks: list[str]) -> str:
    return " ".join(f"'{t}':{min(i, MAX_POSITION)}" for i, t in enumerate(toks, 1))


def _matching_ids(doc_type: str, runs: list[list[str]]) -> RawSQL:
    table = connection.ops.quote_name(SearchEntry._meta.db_table)
    if connection.vendor == "postgresql":
        sql = f"SELECT object_id FROM {table} WHERE doc_type = %s AND vector @@ %s::tsquery"  # noqa: S608
        return RawSQL(sql, (doc_type, _tsquery(runs)))  # noqa: S611 - fixed SQL; the query is a parameter
    # The FTS query runs once, as a subquery; a join would let SQLite evaluate MATCH row by row.
    sql = (
        # "+doc_type": not the (doc_type, object_id) index, which would scan every entry of the type.
        f"SELECT object_id FROM {table} WHERE +doc_type = %s AND id IN "  # noqa: S608
        "(SELECT rowid FROM search_entry_fts WHERE search_entry_fts MATCH %s)"
    )
    return RawSQL(sql, (doc_type, _fts5_match(runs)))  # noqa: S611 - fixed SQL; the query is a parameter


# --- cursors ---------------------------------------------------------------------------------------------------


def _encode_cursor(values: list[Any]) -> str:
    plain = json.dumps([v.isoformat() if isinstance(v, datetime) else str(v) for v in values])
    return base64.urlsafe_b64encode(plain.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, length: int) -> list[str]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != length or not all(isinstance(v, str) for v in values):
        raise BadQuery("invalid_cursor", "The cursor is not one this listing issued.", "分页游标无效。")
    return values


def _after(order: list[tuple[str, bool]], values: list[str]) -> Q:
    """Rows strictly after ``values`` in the order ``order`` ((path, descending) pairs)."""
    q = Q()
    equal: dict[str, str] = {}
    for (path, desc), value in zip(order, values, strict=True):
        q |= Q(**equal, **{f"{path}__{'lt' if desc else 'gt'}": value})
        equal[path] = value
    # The same rows, with a plain bound on the first sort field: the database walks that index from the
    # cursor on instead of merging the alternatives and sorting them.
    (first, desc), start = order[0], values[0]
    return Q(**{f"{first}__{'lte' if desc else 'gte'}": start}) & q


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


# --- the backend -------------------------------------------------------------------------------------------------


class DatabaseBackend:
    name = "database"

    # -- writing --
    def bulk(self, doc_type: str, upserts: Iterable[tuple[int, Document]], deletes: Iterable[int]) -> None:
        dt = documents.get(doc_type)
        with transaction.atomic():
            gone = list(deletes)
            if gone:
                SearchEntry.objects.filter(doc_type=doc_type, object_id__in=gone).delete()
            for object_id, document in upserts:
                toks = tokens.tokens(dt.text_of(document))
                text = " ".join(toks)
                entry = SearchEntry.objects.filter(doc_type=doc_type, object_id=object_id).first()
                if entry is not None and entry.tokens == text:
                    continue  # most writes (a state change) leave the text as it was: no index churn
                if entry is None:
                    entry = SearchEntry.objects.create(doc_type=doc_type, object_id=object_id, tokens=text)
                else:
                    entry.tokens = text
                    entry.save(update_fields=["tokens"])
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute(
                            f"UPDATE {connection.ops.quote_name(SearchEntry._meta.db_table)} "  # noqa: S608
                            "SET vector = %s::tsvector WHERE id = %s",
                            [_tsvector(toks), entry.pk],
                        )

    def rebuild(self, doc_type: str, docs: Iterable[tuple[int, Document]]) -> int:
        with transaction.atomic():
            SearchEntry.objects.filter(doc_type=doc_type).delete()
            count = 0
            batch: list[tuple[int, Document]] = []
            for item in docs:
                batch.append(item)
                if len(batch) >= 500:
                    self.bulk(doc_type, batch, ())
                    count, batch = count + len(batch), []
            self.bulk(doc_type, batch, ())
            return count + len(batch)

    def health(self) -> dict[str, Any]:
        return {"backend": self.name, "ok": True}

    # -- reading --
    def _filtered(self, dt: documents.DocumentType, query: Query, *, walk: bool = False) -> models.QuerySet[Any]:
        """The type's public objects that match ``query``. ``walk``: phrase the text condition so that
        SQLite walks the sort index and probes the matches (for text with many matches), instead of
        fetching every match and sorting them."""
        qs = dt.queryset()
        for name, values in query.filters.items():
            f = dt.field(name)
            if f.kind != documents.KEYWORD:
                raise BadQuery("not_a_filter", f"{name} cannot be filtered by value.", f"字段 {name} 不能按值筛选。")
            wanted = [str(v) for v in values if str(v)]
            if not wanted:
                continue
            if _is_list(dt, f):
                # JSON lists: a quoted-token match works the same on SQLite and PostgreSQL.
                any_of = Q()
                for v in wanted:
                    any_of |= Q(**{f"{f.path}__icontains": json.dumps(v)})
                qs = qs.filter(any_of)
            else:
                qs = qs.filter(**{f"{f.path}__in": wanted})
        for name, (low, high) in query.ranges.items():
            f = dt.field(name)
            if f.kind not in (documents.NUMBER, documents.DATE):
                raise BadQuery("not_a_range", f"{name} has no range.", f"字段 {name} 不能按范围筛选。")
            if low is not None:
                qs = qs.filter(**{f"{f.path}__gte": _typed(f, low)})
            if high is not None:
                qs = qs.filter(**{f"{f.path}__lte": _typed(f, high)})
        text = query.text.strip()
        length = tokens.searchable_length(text)
        if length == 1:
            char = "".join(ch for ch in text if not ch.isspace())
            any_text = Q()
            for f in dt.of_kind(documents.TEXT):
                any_text |= Q(**{f"{f.path}__icontains": char})
            qs = qs.filter(any_text)
        elif length > 1 and walk and connection.vendor == "sqlite":
            # "id + 0" cannot use the primary key, so the match list is probed, not driven.
            qs = qs.annotate(_probe=F("pk") + 0).filter(_probe__in=_matching_ids(dt.name, _runs(text)))
        elif length > 1:
            qs = qs.filter(pk__in=_matching_ids(dt.name, _runs(text)))
        return qs

    def search(self, query: Query) -> Page:
        dt = documents.get(query.doc_type)
        if not 1 <= query.size <= 100:
            raise BadQuery("invalid_size", "A page holds 1 to 100 hits.", "每页 1 至 100 条。")
        sort = dt.sort_fields(query.sort)
        qs = self._filtered(dt, query)
        order = [(dt.field(s.lstrip("-")).path, s.startswith("-")) for s in sort] + [("pk", True)]
        ordering = [f"-{p}" if d else p for p, d in order]
        total, facets = self._count(dt, qs, facets=query.facets)
        # Many text matches: walk the sort index and probe them rather than sort them all.
        page_qs = (self._filtered(dt, query, walk=True) if total > WALK_OVER else qs).order_by(*ordering)
        if query.cursor:
            page_qs = page_qs.filter(_after(order, _decode_cursor(query.cursor, len(order))))
        rows = list(page_qs[: query.size + 1])
        more = len(rows) > query.size
        rows = rows[: query.size]
        hits = []
        text = query.text.strip()
        for obj in rows:
            doc = dt.document(obj)
            marks = {}
            if query.highlight and text:
                for f in dt.of_kind(documents.TEXT):
                    fragments = highlight(str(doc.get(f.name) or ""), text)
                    if fragments:
                        marks[f.name] = fragments
            hits.append(Hit(id=obj.pk, document=doc, highlight=marks))
        next_cursor = None
        if more and rows:
            last = rows[-1]
            next_cursor = _encode_cursor([_value(last, p) for p, _ in order])
        return Page(
            hits=hits,
            facets=facets,
            next_cursor=next_cursor,
            total=min(total, TOTAL_CAP),
            total_is_lower_bound=total > TOTAL_CAP,
            backend=self.name,
        )

    def _count(
        self, dt: documents.DocumentType, qs: models.QuerySet[Any], *, facets: bool
    ) -> tuple[int, dict[str, dict[str, int]]]:
        """The total and every facet from one unordered pass over at most TOTAL_CAP + 1 matches:
        ``SELECT …, COUNT(*) FROM (SELECT facet columns … LIMIT 10001) GROUP BY …``, summed here.
        When there are more matches, the facets count the 10,001 the database met first."""
        names = list(dt.facets) if facets else []
        scalar = [dt.field(n) for n in names if not _is_list(dt, dt.field(n))]
        paths = [f.path for f in scalar]
        # Each facet column under a name of its own (two paths could both end in "name").
        aliases = {f"facet_{i}": F(path) for i, path in enumerate(paths)}
        inner_qs = qs.order_by().annotate(**aliases).values_list("pk", *aliases)[: TOTAL_CAP + 1]
        inner, params = inner_qs.query.sql_with_params()
        columns = ", ".join(f"capped.{connection.ops.quote_name(a)}" for a in aliases)
        select = f"{columns}, COUNT(*)" if aliases else "COUNT(*)"
        group = f" GROUP BY {columns}" if aliases else ""
        outer = f"SELECT {select} FROM ({inner}) capped{group}"  # noqa: S608 - Django's own SQL and names
        with connection.cursor() as cursor:
            cursor.execute(outer, params)
            grouped = cursor.fetchall()
        total = sum(row[-1] for row in grouped)
        out: dict[str, dict[str, int]] = {}
        for i, f in enumerate(scalar):
            counter: Counter[str] = Counter()
            for row in grouped:
                if row[i] is not None:
                    counter[str(row[i])] += row[-1]
            out[f.name] = dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
        for name in names:
            f = dt.field(name)
            if _is_list(dt, f):
                listed: Counter[str] = Counter()
                for values in qs.order_by().values_list(f.path, flat=True)[: TOTAL_CAP + 1]:
                    listed.update(str(v) for v in (values or []))
                out[name] = dict(sorted(listed.items(), key=lambda kv: (-kv[1], kv[0])))
        return total, {name: out[name] for name in names}


def _is_list(dt: documents.DocumentType, f: documents.Field) -> bool:
    try:
        model_field = dt.model._meta.get_field(f.path)
    except Exception:  # an annotation or a related path: not a JSON list
        return False
    return isinstance(model_field, models.JSONField)


def _typed(f: documents.Field, value: Any) -> Any:
    if f.kind == documents.NUMBER:
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise BadQuery("invalid_range", f"{f.name} takes numbers.", f"{f.name} 须为数字。") from None
    try:
        return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        raise BadQuery("invalid_range", f"{f.name} takes ISO 8601 dates.", f"{f.name} 须为 ISO 8601 日期。") from None


def _value(obj: Any, path: str) -> Any:
    for part in path.split("__"):
        obj = getattr(obj, part)
    return obj
