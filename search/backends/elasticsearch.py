"""The Elasticsearch backend: the official client (``elasticsearch`` 9.x) against an Elasticsearch 9 cluster.

The client's major version is pinned to the server's (``elasticsearch==9.*`` in ``requirements.txt``): a 9.x
client sends ``compatible-with=9`` headers that only a 9.x server accepts. Requests and responses are plain
JSON built here, so the exact bodies are visible (and tested against a stub HTTP server in
``tests/search/test_elasticsearch.py``); bulk work goes through ``elasticsearch.helpers``.

**Indices.** Each document type lives in a concrete, versioned index ``{prefix}-{type}-v{N}`` (``agora-tender-v1``,
``agora-tender-v2``, …) that readers and writers only ever reach through the alias ``{prefix}-{type}``. ``N`` is one
more than the highest version that exists for the type (so names stay short and readable, and two rebuilds started
at the same moment collide on the index name instead of both succeeding). :meth:`ElasticsearchBackend.rebuild`
loads a new version completely, refreshes it, then swaps the alias in one atomic ``_aliases`` call and deletes the
index the alias used to point to: a reader sees either the old index or the new, never a missing or half-filled
alias. Writes by :meth:`~ElasticsearchBackend.bulk` go to the alias with ``require_alias=true``, so a lost alias is
an error rather than a silently auto-created index with guessed mappings. Mappings are ``dynamic: strict``: a
document with a field its type does not declare is refused (and reported) instead of indexed.

**Analyzers** (the ``analyzer`` argument, which the search settings choose):

``cjk`` (default, built into Elasticsearch)
    The built-in ``cjk`` chain (``standard`` tokenizer, ``cjk_width``, ``lowercase``, ``cjk_bigram``) declared as
    the custom analyzer ``agora_cjk`` *without* the English stop-word filter of the prebuilt ``cjk`` analyzer, which
    would drop "a", "no", "s"… ("A标段" must not match "B标段"). Overlapping bigrams are the same tokens as the
    embedded backend's (``search.tokens``), and the text query is a ``phrase`` query: a query of two or more CJK
    characters matches exactly the texts that contain it.
``smartcn`` (plugin ``analysis-smartcn``), ``ik_max_word`` / ``ik_smart`` (plugin ``analysis-ik``)
    Word segmenters. The same analyzer indexes and searches (an ``ik_max_word`` index searched with ``ik_smart``
    misses documents: ``ik_smart`` words are not always among ``ik_max_word``'s, infinilabs/analysis-ik#286, #523),
    and the text query is a ``best_fields`` match requiring every query word (``operator: and``) rather than a
    phrase: segmenters emit overlapping tokens whose positions break phrase queries (analysis-ik#108, #204).
    Matches are whole words, not substrings.

With every analyzer, a single CJK character inside a longer run (``招`` in ``公开招标``) is not a token and cannot
be found here; the embedded backend answers one-character queries from the base tables, and callers should do the
same (``search.tokens.searchable_length``).

Every text field has a ``keyword`` sub-field (``title.keyword``, values up to 256 characters) used to sort and
facet on text (the agency ``name`` sort); keyword fields are ``keyword``, numbers ``double``, dates ``date``; the
document id is indexed as the ``id`` field (``long``) and breaks sort ties (sorting on ``_id`` needs field data).

**Cursors** are the urlsafe base64 (unpadded) of the JSON list of the last hit's ``sort`` values, passed back as
``search_after``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import logging
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import chain
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from elasticsearch import ApiError, BadRequestError, Elasticsearch, NotFoundError, TransportError
from elasticsearch.helpers import streaming_bulk

from search.backends.base import BadQuery, Document, Hit, Page, Query, SearchBackend, SearchUnavailable
from search.documents import DATE, KEYWORD, NUMBER, TEXT, DocumentType
from search.documents import get as document_type

logger = logging.getLogger(__name__)

NAME = "elasticsearch"
# The analyzer settings the backend accepts -> (analysis settings, index analyzer, query style).
ANALYZERS: dict[str, tuple[dict[str, Any], str, str]] = {
    "cjk": (
        {
            "analyzer": {
                "agora_cjk": {
                    "type": "custom",
                    "tokenizer": "standard",
                    "filter": ["cjk_width", "lowercase", "cjk_bigram"],
                }
            }
        },
        "agora_cjk",
        "phrase",
    ),
    "smartcn": ({}, "smartcn", "words"),
    "ik_max_word": ({}, "ik_max_word", "words"),
    "ik_smart": ({}, "ik_smart", "words"),
}
TOTAL_HITS_CAP = 10_000
MAX_PAGE_SIZE = 100
FACET_SIZE = 100
KEYWORD_IGNORE_ABOVE = 256
HIGHLIGHT = {
    "pre_tags": ["<mark>"],
    "post_tags": ["</mark>"],
    "encoder": "html",
    "fragment_size": 120,
    "number_of_fragments": 3,
}
_MAPPING_TYPES = {KEYWORD: {"type": "keyword"}, NUMBER: {"type": "double"}, DATE: {"type": "date"}}


def _analyzer(name: str) -> tuple[dict[str, Any], str, str]:
    try:
        return ANALYZERS[name]
    except KeyError:
        raise ValueError(f"unknown Elasticsearch analyzer {name!r}; use one of {sorted(ANALYZERS)}") from None


def index_body(doc_type: DocumentType, analyzer: str = "cjk") -> dict[str, Any]:
    """The settings and mappings of a new index for ``doc_type`` (the body of ``PUT /<index>``)."""
    analysis, text_analyzer, _ = _analyzer(analyzer)
    properties: dict[str, Any] = {"id": {"type": "long"}}
    for f in doc_type.fields:
        if f.kind == TEXT:
            properties[f.name] = {
                "type": "text",
                "analyzer": text_analyzer,
                "fields": {"keyword": {"type": "keyword", "ignore_above": KEYWORD_IGNORE_ABOVE}},
            }
        else:
            properties[f.name] = dict(_MAPPING_TYPES[f.kind])
    settings: dict[str, Any] = {"index": {"number_of_shards": 1}}
    if analysis:
        settings["analysis"] = analysis
    return copy.deepcopy({"settings": settings, "mappings": {"dynamic": "strict", "properties": properties}})


def encode_cursor(sort_values: list[Any]) -> str:
    raw = json.dumps(sort_values, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _invalid_cursor() -> BadQuery:
    return BadQuery("invalid_cursor", "The cursor is not one this listing issued.", "分页游标无效。")


def _bound(name: str, kind: str, value: Any) -> Any:
    """A range bound as Elasticsearch takes it: a JSON number, or an ISO 8601 date-time with its offset (a
    naive one is in the project's time zone, as the database backend reads it)."""
    if kind == NUMBER:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            number = float(Decimal(str(value)))
        except (InvalidOperation, ValueError):
            number = math.nan
        if not math.isfinite(number):
            raise BadQuery("invalid_range", f"{name} takes numbers.", f"{name} 须为数字。")
        return int(number) if number.is_integer() else number
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        raise BadQuery("invalid_range", f"{name} takes ISO 8601 dates.", f"{name} 须为 ISO 8601 日期。") from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment.isoformat()


def _scalar_ok(kind: str, value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if kind == "id":
        return isinstance(value, int)
    if kind == DATE:  # epoch milliseconds (the sort value of a date), or a date string
        return isinstance(value, int | str)
    if kind == NUMBER:  # a number, or "Infinity"/"-Infinity" for a missing value
        return isinstance(value, int | float | str)
    return value is None or isinstance(value, str)  # keyword, text (its keyword sub-field)


def decode_cursor(cursor: str, kinds: list[str]) -> list[Any]:
    """The ``search_after`` values in ``cursor``, checked against the kinds of the sort's fields."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        values = json.loads(raw.decode())
    except (binascii.Error, ValueError):
        raise _invalid_cursor() from None
    if (
        not isinstance(values, list)
        or len(values) != len(kinds)
        or not all(_scalar_ok(k, v) for k, v in zip(kinds, values, strict=True))
    ):
        raise _invalid_cursor()
    return values


def _index_action(pk: int, doc: Document) -> dict[str, Any]:
    return {"_op_type": "index", "_id": str(pk), "_source": {**doc, "id": pk}}


def describe(error: BaseException) -> str:
    """A one-line account of a client error: ``ApiError`` strings carry the status and the error type,
    transport errors only their ``repr`` carries the cause ("Connection refused")."""
    return str(error) if isinstance(error, ApiError) else repr(error)


class ElasticsearchBackend:
    """:class:`~search.backends.base.SearchBackend` on an Elasticsearch 9 cluster (see the module docstring)."""

    name = NAME

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "agora",
        analyzer: str = "cjk",
        timeout: float = 5.0,
        client: Elasticsearch | None = None,
        batch_size: int = 500,
    ) -> None:
        _analyzer(analyzer)  # fail at start-up, not at the first rebuild
        self.prefix, self.analyzer, self.timeout, self.batch_size = prefix, analyzer, timeout, batch_size
        self.client = client or Elasticsearch(url, request_timeout=timeout, retry_on_timeout=False, max_retries=0)
        # Aliases this process has seen or made: bulk() does not ask again (require_alias guards the writes).
        self._ready: set[str] = set()

    # -- names -------------------------------------------------------------------------------------------------

    def alias(self, doc_type: str) -> str:
        return f"{self.prefix}-{doc_type}"

    def _versions(self, doc_type: str) -> dict[str, tuple[int, bool]]:
        """The concrete indices of ``doc_type``: name -> (version, whether the alias points to it)."""
        alias = self.alias(doc_type)
        listing = self.client.indices.get_alias(index=f"{alias}-v*").body
        out: dict[str, tuple[int, bool]] = {}
        for name, info in listing.items():
            suffix = name.removeprefix(f"{alias}-v")
            if suffix.isdigit():
                out[name] = (int(suffix), alias in (info.get("aliases") or {}))
        return out

    def _next_index(self, doc_type: str, versions: dict[str, tuple[int, bool]]) -> str:
        return f"{self.alias(doc_type)}-v{max((v for v, _ in versions.values()), default=0) + 1}"

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except (ApiError, TransportError) as e:
            raise SearchUnavailable(f"Elasticsearch: {action} failed: {describe(e)}") from e

    # -- the SearchBackend protocol -----------------------------------------------------------------------------

    def ensure(self, doc_type: str) -> None:
        """Create the first versioned index of ``doc_type`` with its alias, unless the alias exists."""
        dt = document_type(doc_type)
        alias = self.alias(doc_type)
        if alias in self._ready:
            return
        with self._errors(f"creating the index {alias}"):
            if not self.client.indices.exists_alias(name=alias):
                name = self._next_index(doc_type, self._versions(doc_type))
                body = {**index_body(dt, self.analyzer), "aliases": {alias: {}}}
                try:
                    self.client.indices.create(index=name, body=body)
                except BadRequestError as e:
                    # Another process made it first: fine if the alias is there now.
                    if e.error != "resource_already_exists_exception" or not self.client.indices.exists_alias(
                        name=alias
                    ):
                        raise
        self._ready.add(alias)

    def bulk(self, doc_type: str, upserts: Iterable[tuple[int, Document]], deletes: Iterable[int]) -> None:
        self.ensure(doc_type)  # also refuses an unknown type
        alias = self.alias(doc_type)
        actions: Iterable[dict[str, Any]] = chain(
            (_index_action(pk, doc) for pk, doc in upserts),
            ({"_op_type": "delete", "_id": str(pk)} for pk in deletes),
        )
        try:
            self._bulk(alias, actions, require_alias=True)
        except SearchUnavailable:
            self._ready.discard(alias)  # ask again next time: the alias may be what is missing
            raise

    def _bulk(self, index: str, actions: Iterable[dict[str, Any]], **params: Any) -> int:
        """Send ``actions`` in batches of ``batch_size``; the number of documents indexed. Every batch is sent; then
        any failed item (other than deleting a document that is not there) raises :class:`SearchUnavailable`
        naming the first failure. A transport error stops at once."""
        indexed, failures = 0, []
        with self._errors(f"bulk indexing into {index}"):
            for ok, item in streaming_bulk(
                self.client,
                actions,
                chunk_size=self.batch_size,
                raise_on_error=False,
                raise_on_exception=True,
                index=index,
                **params,
            ):
                op, info = next(iter(item.items()))
                if ok:
                    indexed += op == "index"
                elif op == "delete" and info.get("status") == 404 and "error" not in info:
                    continue  # already gone (result "not_found")
                else:
                    failures.append((op, info))
        if failures:
            op, info = failures[0]
            error = info.get("error")
            reason = f"{error.get('type')}: {error.get('reason')}" if isinstance(error, dict) else str(error)
            raise SearchUnavailable(
                f"Elasticsearch: {len(failures)} bulk action(s) on {index} failed; "
                f"first: {op} of document {info.get('_id')} (status {info.get('status')}): {reason}"
            )
        return indexed

    def search(self, query: Query) -> Page:
        dt = document_type(query.doc_type)
        if not 1 <= query.size <= MAX_PAGE_SIZE:
            raise BadQuery("invalid_size", "A page holds 1 to 100 hits.", "每页 1 至 100 条。")
        body = self._search_body(dt, query)
        alias = self.alias(query.doc_type)
        try:
            response = self.client.search(index=alias, body=body).body
        except NotFoundError as e:
            raise SearchUnavailable(f"Elasticsearch: no index {alias} (run search_reindex): {describe(e)}") from e
        except BadRequestError as e:
            if query.cursor:  # values of the wrong type for this sort's fields
                raise _invalid_cursor() from e
            raise SearchUnavailable(f"Elasticsearch: the search on {alias} was refused: {describe(e)}") from e
        except (ApiError, TransportError) as e:
            raise SearchUnavailable(f"Elasticsearch: the search on {alias} failed: {describe(e)}") from e
        return self._page(query, response)

    def _keyword_path(self, dt: DocumentType, name: str) -> str:
        return f"{name}.keyword" if dt.field(name).kind == TEXT else name

    def _search_body(self, dt: DocumentType, query: Query) -> dict[str, Any]:
        """The body of ``POST /<alias>/_search``; raises :class:`BadQuery` before anything is sent."""
        sort_fields = dt.sort_fields(query.sort)
        sort: list[dict[str, str]] = []
        kinds: list[str] = []
        for spec in sort_fields:
            name = spec.removeprefix("-")
            kinds.append(dt.field(name).kind)
            sort.append({self._keyword_path(dt, name): "desc" if spec.startswith("-") else "asc"})
        sort.append({"id": "desc"})
        kinds.append("id")
        search_after = decode_cursor(query.cursor, kinds) if query.cursor else None

        # Filters and ranges are read as the database backend reads them (same codes, same empty-value rule).
        filters: list[dict[str, Any]] = []
        for name, values in query.filters.items():
            if dt.field(name).kind != KEYWORD:
                raise BadQuery("not_a_filter", f"{name} cannot be filtered by value.", f"字段 {name} 不能按值筛选。")
            wanted = [str(v) for v in values if str(v)]
            if wanted:
                filters.append({"terms": {name: wanted}})
        for name, (low, high) in query.ranges.items():
            kind = dt.field(name).kind
            if kind not in (NUMBER, DATE):
                raise BadQuery("not_a_range", f"{name} has no range.", f"字段 {name} 不能按范围筛选。")
            bounds = {op: _bound(name, kind, v) for op, v in (("gte", low), ("lte", high)) if v is not None}
            if bounds:
                filters.append({"range": {name: bounds}})

        text = query.text.strip()
        text_fields = [f.name for f in dt.of_kind(TEXT)]
        must: list[dict[str, Any]] = []
        if text:
            if _analyzer(self.analyzer)[2] == "phrase":
                must.append({"multi_match": {"query": text, "type": "phrase", "fields": text_fields}})
            else:
                must.append(
                    {"multi_match": {"query": text, "type": "best_fields", "operator": "and", "fields": text_fields}}
                )
        boolean: dict[str, Any] = {}
        if must:
            boolean["must"] = must
        if filters:
            boolean["filter"] = filters

        body: dict[str, Any] = {
            "query": {"bool": boolean} if boolean else {"match_all": {}},
            "sort": sort,
            "size": query.size,
            "track_total_hits": TOTAL_HITS_CAP,
        }
        if search_after is not None:
            body["search_after"] = search_after
        if query.facets and dt.facets:
            body["aggs"] = {
                name: {"terms": {"field": self._keyword_path(dt, name), "size": FACET_SIZE}} for name in dt.facets
            }
        if query.highlight and text and text_fields:
            body["highlight"] = {**HIGHLIGHT, "fields": {name: {} for name in text_fields}}
        return body

    def _page(self, query: Query, response: dict[str, Any]) -> Page:
        raw_hits = response["hits"]["hits"]
        hits = []
        for h in raw_hits:
            source = dict(h.get("_source") or {})
            source.pop("id", None)
            hits.append(Hit(id=int(h["_id"]), document=source, highlight=dict(h.get("highlight") or {})))
        facets: dict[str, dict[str, int]] = {}
        if query.facets:
            for name, agg in (response.get("aggregations") or {}).items():
                facets[name] = {str(b["key"]): int(b["doc_count"]) for b in agg.get("buckets", ())}
        total = response["hits"]["total"]
        next_cursor = None
        if raw_hits and len(raw_hits) >= query.size and raw_hits[-1].get("sort") is not None:
            next_cursor = encode_cursor(raw_hits[-1]["sort"])
        return Page(
            hits=hits,
            facets=facets,
            next_cursor=next_cursor,
            total=int(total["value"]),
            total_is_lower_bound=total.get("relation") == "gte",
            backend=self.name,
        )

    def rebuild(self, doc_type: str, documents: Iterable[tuple[int, Document]]) -> int:
        """Load ``documents`` into a new version of the index, then point the alias at it in one atomic step and
        delete the version it pointed to before. On failure the new version is deleted and the alias is untouched.
        """
        dt = document_type(doc_type)
        alias = self.alias(doc_type)
        with self._errors(f"preparing a new index for {alias}"):
            versions = self._versions(doc_type)
            new = self._next_index(doc_type, versions)
            self.client.indices.create(index=new, body=index_body(dt, self.analyzer))
        old = sorted(name for name, (_, aliased) in versions.items() if aliased)
        try:
            count = self._bulk(new, (_index_action(pk, doc) for pk, doc in documents))
            with self._errors(f"switching {alias} to {new}"):
                self.client.indices.refresh(index=new)
                # must_exist: if another rebuild moved the alias meanwhile, this whole swap fails.
                swap = [{"remove": {"index": name, "alias": alias, "must_exist": True}} for name in old]
                swap.append({"add": {"index": new, "alias": alias}})
                self.client.indices.update_aliases(body={"actions": swap})
        except BaseException:
            try:
                self.client.indices.delete(index=new)
            except (ApiError, TransportError):
                logger.warning("could not delete the unfinished index %s", new, exc_info=True)
            raise
        self._ready.add(alias)
        for name in old:
            try:
                self.client.indices.delete(index=name)
            except (ApiError, TransportError):
                logger.warning("%s now serves %s; could not delete the old index %s", new, alias, name, exc_info=True)
        return count

    def health(self) -> dict[str, Any]:
        try:
            status = self.client.options(request_timeout=min(self.timeout, 2.0)).cluster.health().body["status"]
        except Exception as e:  # never raises: health is what callers ask when something is wrong
            return {"backend": self.name, "ok": False, "cluster": describe(e)}
        return {"backend": self.name, "ok": status in ("green", "yellow"), "cluster": status}


if TYPE_CHECKING:

    def _conforms(backend: ElasticsearchBackend) -> SearchBackend:
        return backend
