"""The Elasticsearch backend, with the real ``elasticsearch`` 9 client talking HTTP to a stub server.

No Elasticsearch runs here: pytest-httpserver plays the cluster. Each test lists, in order, the requests the
backend must send (method, path, query string) and answers them with bodies shaped like Elasticsearch 9's,
carrying ``X-Elastic-Product: Elasticsearch`` (without it the client refuses the server). The request bodies
the backend sent are then compared, exactly, with what they must be. Nothing about the client or the backend is
mocked; no database is touched.
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import agencies.search_documents
import market.search_documents
from search.backends.base import BadQuery, Query, SearchUnavailable
from search.backends.elasticsearch import ElasticsearchBackend, encode_cursor, index_body

TENDER = market.search_documents.TENDER
AGENCY = agencies.search_documents.AGENCY

PRODUCT = {"X-Elastic-Product": "Elasticsearch"}
# What Elasticsearch 9 answers to a client that sent compatible-with=9 headers.
ES_JSON = "application/vnd.elasticsearch+json;compatible-with=9"
SHARDS = {"total": 2, "successful": 1, "failed": 0}


class Cluster:
    """The stub cluster: ordered expectations, and the requests that met them."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.requests: list[Request] = []

    @property
    def url(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"

    def expect(
        self,
        method: str,
        path: str,
        response: Any = None,
        *,
        status: int = 200,
        query_string: str = "",
        headers: dict[str, str] = PRODUCT,
    ) -> None:
        def respond(request: Request) -> Response:
            self.requests.append(request)
            data = b"" if response is None else json.dumps(response, ensure_ascii=False).encode()
            return Response(data, status=status, headers=headers, content_type=ES_JSON)

        self.server.expect_ordered_request(path, method=method, query_string=query_string).respond_with_handler(respond)

    def body(self, i: int) -> Any:
        return json.loads(self.requests[i].data)

    def ndjson(self, i: int) -> list[Any]:
        return [json.loads(line) for line in self.requests[i].data.decode().splitlines() if line]


@pytest.fixture
def cluster(httpserver: HTTPServer) -> Iterator[Cluster]:
    stub = Cluster(httpserver)
    yield stub
    httpserver.check_assertions()  # no request the test did not list, none out of order
    httpserver.check_handler_errors()
    assert not httpserver.ordered_handlers, "the backend did not send every expected request"


@pytest.fixture
def backend(cluster: Cluster) -> ElasticsearchBackend:
    return ElasticsearchBackend(cluster.url)


def closed_port_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


# -- realistic Elasticsearch 9 bodies -------------------------------------------------------------------------

CREATED = {"acknowledged": True, "shards_acknowledged": True}
NOT_FOUND = {
    "error": {
        "root_cause": [
            {
                "type": "index_not_found_exception",
                "reason": "no such index [agora-tender]",
                "resource.type": "index_or_alias",
                "resource.id": "agora-tender",
                "index_uuid": "_na_",
                "index": "agora-tender",
            }
        ],
        "type": "index_not_found_exception",
        "reason": "no such index [agora-tender]",
        "resource.type": "index_or_alias",
        "resource.id": "agora-tender",
        "index_uuid": "_na_",
        "index": "agora-tender",
    },
    "status": 404,
}


def bulk_item(op: str, index: str, pk: int, status: int, result: str | None = None, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"_index": index, "_id": str(pk), "status": status}
    if result is not None:
        item.update(_version=1, result=result, _shards=SHARDS, _seq_no=pk, _primary_term=1)
    item.update(extra)
    return {op: item}


def bulk_response(*items: dict[str, Any]) -> dict[str, Any]:
    errors = any("error" in next(iter(i.values())) for i in items)
    return {"errors": errors, "took": 6, "items": list(items)}


def tender_doc(title: str, **over: Any) -> dict[str, Any]:
    doc = {
        "reference": "JZ-2026-0001",
        "title": title,
        "description": "江州市城区道路改造，含排水管网。",
        "purchaser": "江州市住房和城乡建设局",
        "status": "published",
        "method": "open",
        "category": "engineering",
        "region": "320100",
        "budget": 1250000.0,
        "published_at": "2026-03-02T09:00:00+08:00",
        "bid_deadline": "2026-03-23T09:30:00+08:00",
    }
    doc.update(over)
    return doc


CJK_TEXT = {
    "type": "text",
    "analyzer": "agora_cjk",
    "fields": {"keyword": {"type": "keyword", "ignore_above": 256}},
}


def tender_mappings(text: dict[str, Any]) -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "properties": {
            "id": {"type": "long"},
            "title": text,
            "description": text,
            "purchaser": text,
            "reference": {"type": "keyword"},
            "status": {"type": "keyword"},
            "method": {"type": "keyword"},
            "category": {"type": "keyword"},
            "region": {"type": "keyword"},
            "budget": {"type": "double"},
            "published_at": {"type": "date"},
            "bid_deadline": {"type": "date"},
        },
    }


TENDER_CJK_BODY = {
    "settings": {
        "index": {"number_of_shards": 1},
        "analysis": {
            "analyzer": {
                "agora_cjk": {
                    "type": "custom",
                    "tokenizer": "standard",
                    "filter": ["cjk_width", "lowercase", "cjk_bigram"],
                }
            }
        },
    },
    "mappings": tender_mappings(CJK_TEXT),
}


# -- index bodies -----------------------------------------------------------------------------------------------


def test_index_body_for_tenders_with_the_cjk_analyzer() -> None:
    assert index_body(TENDER) == TENDER_CJK_BODY
    assert index_body(TENDER, "cjk") == TENDER_CJK_BODY


@pytest.mark.parametrize("analyzer", ["smartcn", "ik_max_word", "ik_smart"])
def test_index_body_with_a_plugin_analyzer(analyzer: str) -> None:
    text = {"type": "text", "analyzer": analyzer, "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
    assert index_body(TENDER, analyzer) == {
        "settings": {"index": {"number_of_shards": 1}},
        "mappings": tender_mappings(text),
    }


def test_unknown_analyzer_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="unknown Elasticsearch analyzer 'jieba'"):
        ElasticsearchBackend("http://127.0.0.1:9", analyzer="jieba")


def test_agency_sortable_name_and_list_valued_keyword() -> None:
    props = index_body(AGENCY)["mappings"]["properties"]
    assert props["name"] == CJK_TEXT
    assert props["categories"] == {"type": "keyword"}
    assert props["score"] == {"type": "double"}


# -- ensure -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("analyzer", ["cjk", "ik_max_word", "smartcn"])
def test_ensure_creates_the_first_version_and_its_alias_when_the_alias_is_missing(
    cluster: Cluster, analyzer: str
) -> None:
    cluster.expect("HEAD", "/_alias/agora-tender", status=404)
    cluster.expect("GET", "/agora-tender-v*/_alias", {})
    cluster.expect("PUT", "/agora-tender-v1", {**CREATED, "index": "agora-tender-v1"})

    backend = ElasticsearchBackend(cluster.url, analyzer=analyzer)
    backend.ensure("tender")
    backend.ensure("tender")  # known now: no second round of requests

    assert cluster.body(2) == {**index_body(TENDER, analyzer), "aliases": {"agora-tender": {}}}
    if analyzer == "cjk":
        assert cluster.body(2) == {**TENDER_CJK_BODY, "aliases": {"agora-tender": {}}}
    else:
        assert cluster.body(2)["mappings"]["properties"]["title"]["analyzer"] == analyzer
    # The real client speaks the version-9 compatible media types.
    put = cluster.requests[2]
    assert put.headers["Content-Type"] == "application/vnd.elasticsearch+json; compatible-with=9"
    assert put.headers["Accept"] == "application/vnd.elasticsearch+json; compatible-with=9"


def test_ensure_skips_versions_left_behind(cluster: Cluster, backend: ElasticsearchBackend) -> None:
    cluster.expect("HEAD", "/_alias/agora-notice", status=404)
    cluster.expect("GET", "/agora-notice-v*/_alias", {"agora-notice-v3": {"aliases": {}}})
    cluster.expect("PUT", "/agora-notice-v4", {**CREATED, "index": "agora-notice-v4"})

    backend.ensure("notice")

    assert cluster.body(2)["aliases"] == {"agora-notice": {}}


def test_ensure_does_nothing_when_the_alias_exists(cluster: Cluster, backend: ElasticsearchBackend) -> None:
    cluster.expect("HEAD", "/_alias/agora-tender", status=200)

    backend.ensure("tender")

    assert len(cluster.requests) == 1


def test_ensure_tolerates_a_concurrent_creation(cluster: Cluster, backend: ElasticsearchBackend) -> None:
    exists = {
        "error": {
            "root_cause": [
                {
                    "type": "resource_already_exists_exception",
                    "reason": "index [agora-tender-v1/x2Qe2mYBSBGLmJx1d9s3Aw] already exists",
                    "index_uuid": "x2Qe2mYBSBGLmJx1d9s3Aw",
                    "index": "agora-tender-v1",
                }
            ],
            "type": "resource_already_exists_exception",
            "reason": "index [agora-tender-v1/x2Qe2mYBSBGLmJx1d9s3Aw] already exists",
            "index_uuid": "x2Qe2mYBSBGLmJx1d9s3Aw",
            "index": "agora-tender-v1",
        },
        "status": 400,
    }
    cluster.expect("HEAD", "/_alias/agora-tender", status=404)
    cluster.expect("GET", "/agora-tender-v*/_alias", {})
    cluster.expect("PUT", "/agora-tender-v1", exists, status=400)
    cluster.expect("HEAD", "/_alias/agora-tender", status=200)

    backend.ensure("tender")


# -- bulk -------------------------------------------------------------------------------------------------------


def test_bulk_indexes_and_deletes_through_the_alias(cluster: Cluster, backend: ElasticsearchBackend) -> None:
    cluster.expect("HEAD", "/_alias/agora-tender", status=200)
    cluster.expect(
        "PUT",
        "/agora-tender/_bulk",
        bulk_response(
            bulk_item("index", "agora-tender-v1", 7, 201, "created"),
            bulk_item("index", "agora-tender-v1", 8, 200, "updated"),
            bulk_item("delete", "agora-tender-v1", 9, 200, "deleted"),
            bulk_item("delete", "agora-tender-v1", 10, 404, "not_found"),  # already gone: fine
        ),
        query_string="require_alias=true",
    )

    backend.bulk(
        "tender",
        [(7, tender_doc("江州市道路改造工程")), (8, tender_doc("A标段 监理服务", reference="JZ-2026-0002"))],
        [9, 10],
    )

    assert cluster.ndjson(1) == [
        {"index": {"_id": "7"}},
        {**tender_doc("江州市道路改造工程"), "id": 7},
        {"index": {"_id": "8"}},
        {**tender_doc("A标段 监理服务", reference="JZ-2026-0002"), "id": 8},
        {"delete": {"_id": "9"}},
        {"delete": {"_id": "10"}},
    ]
    assert cluster.requests[1].headers["Content-Type"] == "application/vnd.elasticsearch+x-ndjson; compatible-with=9"


def test_bulk_creates_the_index_first_when_missing(cluster: Cluster, backend: ElasticsearchBackend) -> None:
    cluster.expect("HEAD", "/_alias/agora-notice", status=404)
    cluster.expect("GET", "/agora-notice-v*/_alias", {})
    cluster.expect("PUT", "/agora-notice-v1", {**CREATED, "index": "agora-notice-v1"})
    cluster.expect(
        "PUT",
        "/agora-notice/_bulk",
        bulk_response(bulk_item("delete", "agora-notice-v1", 3, 404, "not_found")),
        query_string="require_alias=true",
    )

    backend.bulk("notice", [], [3])

    assert cluster.ndjson(3) == [{"delete": {"_id": "3"}}]


def test_a_failed_item_raises_search_unavailable(cluster: Cluster, backend: ElasticsearchBackend) -> None:
    reason = "[1:2] mapping set to strict, dynamic introduction of [colour] within [_doc] is not allowed"
    cluster.expect("HEAD", "/_alias/agora-tender", status=200)
    cluster.expect(
        "PUT",
        "/agora-tender/_bulk",
        bulk_response(
            bulk_item("index", "agora-tender-v1", 1, 201, "created"),
            bulk_item(
                "index",
                "agora-tender-v1",
                2,
                400,
                error={"type": "strict_dynamic_mapping_exception", "reason": reason},
            ),
        ),
        query_string="require_alias=true",
    )
    # After a failure the backend checks the alias again before the next write.
    cluster.expect("HEAD", "/_alias/agora-tender", status=200)
    cluster.expect(
        "PUT",
        "/agora-tender/_bulk",
        bulk_response(bulk_item("delete", "agora-tender-v1", 2, 404, "not_found")),
        query_string="require_alias=true",
    )

    with pytest.raises(SearchUnavailable) as caught:
        backend.bulk("tender", [(1, tender_doc("一")), (2, {**tender_doc("二"), "colour": "red"})], [])
    message = str(caught.value)
    assert "1 bulk action(s) on agora-tender failed" in message
    assert "index of document 2 (status 400): strict_dynamic_mapping_exception" in message

    backend.bulk("tender", [], [2])


def test_a_delete_on_a_missing_alias_is_not_tolerated(cluster: Cluster, backend: ElasticsearchBackend) -> None:
    """A 404 with an error (the alias is gone) is a failure, unlike a 404 "not_found" result."""
    cluster.expect("HEAD", "/_alias/agora-tender", status=200)
    cluster.expect(
        "PUT",
        "/agora-tender/_bulk",
        bulk_response(
            bulk_item(
                "delete",
                "agora-tender",
                5,
                404,
                error={
                    "type": "index_not_found_exception",
                    "reason": "no such index [agora-tender] and [require_alias] request flag is [true] and "
                    "[agora-tender] is not an alias",
                    "index_uuid": "_na_",
                    "index": "agora-tender",
                },
            )
        ),
        query_string="require_alias=true",
    )

    with pytest.raises(SearchUnavailable, match="index_not_found_exception"):
        backend.bulk("tender", [], [5])


# -- search -----------------------------------------------------------------------------------------------------


def search_response(hits: list[dict[str, Any]], total: int, relation: str = "eq", aggs: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "took": 4,
        "timed_out": False,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": {"total": {"value": total, "relation": relation}, "max_score": None, "hits": hits},
    }
    if aggs is not None:
        out["aggregations"] = aggs
    return out


def es_hit(pk: int, source: dict[str, Any], sort: list[Any], highlight: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "_index": "agora-tender-v3",
        "_id": str(pk),
        "_score": None,
        "_source": {**source, "id": pk},
        "sort": sort,
    }
    if highlight is not None:
        out["highlight"] = highlight
    return out


def terms(buckets: dict[str, int]) -> dict[str, Any]:
    return {
        "doc_count_error_upper_bound": 0,
        "sum_other_doc_count": 0,
        "buckets": [{"key": k, "doc_count": n} for k, n in buckets.items()],
    }


HIGHLIGHT = {
    "pre_tags": ["<mark>"],
    "post_tags": ["</mark>"],
    "encoder": "html",
    "fragment_size": 120,
    "number_of_fragments": 3,
    "fields": {"title": {}, "description": {}, "purchaser": {}},
}
TENDER_AGGS = {
    "status": {"terms": {"field": "status", "size": 100}},
    "method": {"terms": {"field": "method", "size": 100}},
    "category": {"terms": {"field": "category", "size": 100}},
    "region": {"terms": {"field": "region", "size": 100}},
}


def test_search_sends_the_exact_body_and_reads_the_page(cluster: Cluster, backend: ElasticsearchBackend) -> None:
    first = search_response(
        [
            es_hit(
                42,
                tender_doc("江州市道路改造工程", budget=3000000.0),
                [3000000.0, 42],
                {
                    "title": ["江州市<mark>道路改造</mark>工程"],
                    "description": ["江州市城区<mark>道路改造</mark>，含排水管网。"],
                },
            ),
            es_hit(
                17,
                tender_doc("城区道路改造二期", budget=1250000.0),
                [1250000.0, 17],
                {"title": ["城区<mark>道路改造</mark>二期"]},
            ),
        ],
        total=10000,
        relation="gte",
        aggs={
            "status": terms({"published": 9800, "open": 200}),
            "method": terms({"open": 10000}),
            "category": terms({"engineering": 10000}),
            "region": terms({"320100": 7000, "320200": 3000}),
        },
    )
    cluster.expect("POST", "/agora-tender/_search", first)
    cluster.expect("POST", "/agora-tender/_search", search_response([], total=10000, relation="gte"))

    query = Query(
        doc_type="tender",
        text="  道路改造 ",
        filters={"status": ["published", "open"], "region": ["320100"]},
        ranges={"budget": (1000000, None), "published_at": ("2026-01-01T00:00:00+08:00", "2026-03-31T23:59:59+08:00")},
        sort="budget_desc",
        size=2,
    )
    page = backend.search(query)

    assert cluster.body(0) == {
        "query": {
            "bool": {
                "must": [
                    {
                        "multi_match": {
                            "query": "道路改造",
                            "type": "phrase",
                            "fields": ["title", "description", "purchaser"],
                        }
                    }
                ],
                "filter": [
                    {"terms": {"status": ["published", "open"]}},
                    {"terms": {"region": ["320100"]}},
                    {"range": {"budget": {"gte": 1000000}}},
                    {
                        "range": {
                            "published_at": {"gte": "2026-01-01T00:00:00+08:00", "lte": "2026-03-31T23:59:59+08:00"}
                        }
                    },
                ],
            }
        },
        "sort": [{"budget": "desc"}, {"id": "desc"}],
        "size": 2,
        "track_total_hits": 10000,
        "aggs": TENDER_AGGS,
        "highlight": HIGHLIGHT,
    }
    assert page.backend == "elasticsearch"
    assert [h.id for h in page.hits] == [42, 17]
    assert page.hits[0].document == tender_doc("江州市道路改造工程", budget=3000000.0)  # no "id" in the document
    assert page.hits[0].highlight == {
        "title": ["江州市<mark>道路改造</mark>工程"],
        "description": ["江州市城区<mark>道路改造</mark>，含排水管网。"],
    }
    assert page.total == 10000 and page.total_is_lower_bound
    assert page.facets == {
        "status": {"published": 9800, "open": 200},
        "method": {"open": 10000},
        "category": {"engineering": 10000},
        "region": {"320100": 7000, "320200": 3000},
    }
    assert page.next_cursor == encode_cursor([1250000.0, 17])
    assert json.loads(base64.urlsafe_b64decode(page.next_cursor + "==")) == [1250000.0, 17]

    # The cursor comes back as search_after, with everything else unchanged.
    second = backend.search(replace(query, cursor=page.next_cursor))
    assert cluster.body(1) == {**cluster.body(0), "search_after": [1250000.0, 17]}
    assert second.hits == [] and second.next_cursor is None


def test_a_listing_without_text_facets_or_highlight(cluster: Cluster, backend: ElasticsearchBackend) -> None:
    cluster.expect(
        "POST",
        "/agora-tender/_search",
        search_response([es_hit(5, tender_doc("监理服务"), [1772413200000, 5])], total=1),
    )

    page = backend.search(Query(doc_type="tender", size=20, facets=False))

    assert cluster.body(0) == {
        "query": {"match_all": {}},
        "sort": [{"published_at": "desc"}, {"id": "desc"}],
        "size": 20,
        "track_total_hits": 10000,
    }
    assert [h.id for h in page.hits] == [5] and page.hits[0].highlight == {}
    assert page.facets == {} and page.next_cursor is None
    assert page.total == 1 and not page.total_is_lower_bound


def test_text_sorts_use_the_keyword_sub_field(cluster: Cluster, backend: ElasticsearchBackend) -> None:
    cluster.expect("POST", "/agora-agency/_search", search_response([], total=0, aggs={}))
    cursor = encode_cursor(["江州工程咨询有限公司", 12])

    backend.search(
        Query(doc_type="agency", sort="name", cursor=cursor, filters={"categories": ["cost"]}, highlight=False)
    )

    assert cluster.body(0) == {
        "query": {"bool": {"filter": [{"terms": {"categories": ["cost"]}}]}},
        "sort": [{"name.keyword": "asc"}, {"id": "desc"}],
        "size": 20,
        "track_total_hits": 10000,
        "search_after": ["江州工程咨询有限公司", 12],
        "aggs": {
            "region": {"terms": {"field": "region", "size": 100}},
            "status": {"terms": {"field": "status", "size": 100}},
            "categories": {"terms": {"field": "categories", "size": 100}},
            "list_status": {"terms": {"field": "list_status", "size": 100}},
        },
    }


def test_filter_and_range_values_are_normalised(cluster: Cluster, backend: ElasticsearchBackend) -> None:
    """As the database backend reads them: empty values dropped, numbers as numbers, naive dates in
    the project's time zone (Asia/Shanghai)."""
    cluster.expect("POST", "/agora-tender/_search", search_response([], total=0))

    backend.search(
        Query(
            doc_type="tender",
            filters={"status": ["", "published"], "region": [""]},
            ranges={"budget": ("1000000", "2500000.50"), "bid_deadline": (None, "2026-03-31T18:00:00")},
            facets=False,
        )
    )

    assert cluster.body(0)["query"] == {
        "bool": {
            "filter": [
                {"terms": {"status": ["published"]}},
                {"range": {"budget": {"gte": 1000000, "lte": 2500000.5}}},
                {"range": {"bid_deadline": {"lte": "2026-03-31T18:00:00+08:00"}}},
            ]
        }
    }


def test_word_segmenting_analyzers_require_every_word(cluster: Cluster) -> None:
    cluster.expect("POST", "/agora-tender/_search", search_response([], total=0))
    backend = ElasticsearchBackend(cluster.url, analyzer="ik_max_word")

    backend.search(Query(doc_type="tender", text="造价咨询", facets=False))

    assert cluster.body(0)["query"] == {
        "bool": {
            "must": [
                {
                    "multi_match": {
                        "query": "造价咨询",
                        "type": "best_fields",
                        "operator": "and",
                        "fields": ["title", "description", "purchaser"],
                    }
                }
            ]
        }
    }
    assert cluster.body(0)["highlight"] == HIGHLIGHT


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (Query(doc_type="bids"), "unknown_type"),
        (Query(doc_type="tender", sort="cheapest"), "unknown_sort"),
        (Query(doc_type="tender", filters={"colour": ["red"]}), "unknown_field"),
        (Query(doc_type="tender", filters={"budget": ["100"]}), "not_a_filter"),
        (Query(doc_type="tender", ranges={"status": ("a", "b")}), "not_a_range"),
        (Query(doc_type="tender", ranges={"budget": ("much", None)}), "invalid_range"),
        (Query(doc_type="tender", ranges={"budget": (None, "Infinity")}), "invalid_range"),
        (Query(doc_type="tender", ranges={"published_at": ("last week", None)}), "invalid_range"),
        (Query(doc_type="tender", size=0), "invalid_size"),
        (Query(doc_type="tender", size=101), "invalid_size"),
        (Query(doc_type="tender", ranges={"colour": (1, 2)}), "unknown_field"),
        (Query(doc_type="tender", cursor="not base64!"), "invalid_cursor"),
        (Query(doc_type="tender", cursor=base64.urlsafe_b64encode(b"{not json").decode()), "invalid_cursor"),
        (Query(doc_type="tender", cursor=encode_cursor({"a": 1})), "invalid_cursor"),  # type: ignore[arg-type]
        (Query(doc_type="tender", cursor=encode_cursor([1772413200000])), "invalid_cursor"),  # too short
        (Query(doc_type="tender", cursor=encode_cursor(["yesterday", "42"])), "invalid_cursor"),  # id not a number
        (Query(doc_type="tender", sort="budget_asc", cursor=encode_cursor([True, 42])), "invalid_cursor"),
        (Query(doc_type="agency", sort="name", cursor=encode_cursor([3.5, 42])), "invalid_cursor"),
    ],
)
def test_bad_queries_are_refused_before_any_request(
    cluster: Cluster, backend: ElasticsearchBackend, query: Query, code: str
) -> None:
    with pytest.raises(BadQuery) as caught:
        backend.search(query)
    assert caught.value.code == code
    assert cluster.server.log == []


def test_a_cursor_the_cluster_rejects_is_a_bad_query(cluster: Cluster, backend: ElasticsearchBackend) -> None:
    reason = "failed to parse date field [soon] with format [strict_date_optional_time||epoch_millis]"
    rejected = {
        "error": {
            "root_cause": [{"type": "parse_exception", "reason": reason}],
            "type": "search_phase_execution_exception",
            "reason": "all shards failed",
            "phase": "query",
            "grouped": True,
            "failed_shards": [
                {
                    "shard": 0,
                    "index": "agora-tender-v3",
                    "node": "b4qR5KcGQpW0bDfZ6lJ1Xw",
                    "reason": {"type": "parse_exception", "reason": reason},
                }
            ],
        },
        "status": 400,
    }
    cluster.expect("POST", "/agora-tender/_search", rejected, status=400)

    with pytest.raises(BadQuery) as caught:
        backend.search(Query(doc_type="tender", cursor=encode_cursor(["soon", 3])))
    assert caught.value.code == "invalid_cursor"


def test_a_missing_index_makes_search_unavailable(cluster: Cluster, backend: ElasticsearchBackend) -> None:
    cluster.expect("POST", "/agora-tender/_search", NOT_FOUND, status=404)

    with pytest.raises(SearchUnavailable, match="no index agora-tender"):
        backend.search(Query(doc_type="tender"))


def test_a_server_that_is_not_elasticsearch_is_refused(cluster: Cluster, backend: ElasticsearchBackend) -> None:
    cluster.expect("POST", "/agora-tender/_search", search_response([], total=0), headers={})

    with pytest.raises(SearchUnavailable, match="not Elasticsearch"):
        backend.search(Query(doc_type="tender"))


def test_connection_refused_is_search_unavailable() -> None:
    backend = ElasticsearchBackend(closed_port_url(), timeout=1.0)

    with pytest.raises(SearchUnavailable, match="ConnectionError"):
        backend.search(Query(doc_type="tender", text="道路"))
    with pytest.raises(SearchUnavailable, match="ConnectionError"):
        backend.bulk("tender", [(1, tender_doc("道路"))], [])
    with pytest.raises(SearchUnavailable, match="ConnectionError"):
        backend.rebuild("tender", [(1, tender_doc("道路"))])
    health = backend.health()
    assert health["backend"] == "elasticsearch" and health["ok"] is False
    assert health["cluster"].startswith("ConnectionError")


# -- rebuild ----------------------------------------------------------------------------------------------------


def test_rebuild_loads_a_new_version_then_swaps_the_alias(cluster: Cluster) -> None:
    backend = ElasticsearchBackend(cluster.url, batch_size=2)
    docs = [(1, tender_doc("一号工程")), (2, tender_doc("二号工程")), (3, tender_doc("三号工程"))]
    cluster.expect(
        "GET",
        "/agora-tender-v*/_alias",
        {"agora-tender-v2": {"aliases": {"agora-tender": {}}}, "agora-tender-v1": {"aliases": {}}},
    )
    cluster.expect("PUT", "/agora-tender-v3", {**CREATED, "index": "agora-tender-v3"})
    cluster.expect(
        "PUT",
        "/agora-tender-v3/_bulk",
        bulk_response(
            bulk_item("index", "agora-tender-v3", 1, 201, "created"),
            bulk_item("index", "agora-tender-v3", 2, 201, "created"),
        ),
    )
    cluster.expect(
        "PUT", "/agora-tender-v3/_bulk", bulk_response(bulk_item("index", "agora-tender-v3", 3, 201, "created"))
    )
    cluster.expect("POST", "/agora-tender-v3/_refresh", {"_shards": SHARDS})
    cluster.expect("POST", "/_aliases", {"acknowledged": True, "errors": False})
    cluster.expect("DELETE", "/agora-tender-v2", {"acknowledged": True})

    assert backend.rebuild("tender", iter(docs)) == 3

    assert cluster.body(1) == TENDER_CJK_BODY  # no alias until it is full
    assert cluster.ndjson(2) + cluster.ndjson(3) == [
        line for pk, doc in docs for line in ({"index": {"_id": str(pk)}}, {**doc, "id": pk})
    ]
    assert cluster.body(5) == {
        "actions": [
            {"remove": {"index": "agora-tender-v2", "alias": "agora-tender", "must_exist": True}},
            {"add": {"index": "agora-tender-v3", "alias": "agora-tender"}},
        ]
    }
    # The alias is known now: a write goes straight to it.
    cluster.expect(
        "PUT",
        "/agora-tender/_bulk",
        bulk_response(bulk_item("delete", "agora-tender-v3", 3, 200, "deleted")),
        query_string="require_alias=true",
    )
    backend.bulk("tender", [], [3])


def test_the_first_rebuild_only_adds_the_alias(cluster: Cluster, backend: ElasticsearchBackend) -> None:
    cluster.expect("GET", "/agora-credit_list-v*/_alias", {})
    cluster.expect("PUT", "/agora-credit_list-v1", {**CREATED, "index": "agora-credit_list-v1"})
    cluster.expect("POST", "/agora-credit_list-v1/_refresh", {"_shards": SHARDS})
    cluster.expect("POST", "/_aliases", {"acknowledged": True, "errors": False})

    assert backend.rebuild("credit_list", []) == 0

    assert cluster.body(3) == {"actions": [{"add": {"index": "agora-credit_list-v1", "alias": "agora-credit_list"}}]}


def test_a_failed_rebuild_deletes_its_index_and_keeps_the_alias(
    cluster: Cluster, backend: ElasticsearchBackend
) -> None:
    cluster.expect("GET", "/agora-tender-v*/_alias", {"agora-tender-v1": {"aliases": {"agora-tender": {}}}})
    cluster.expect("PUT", "/agora-tender-v2", {**CREATED, "index": "agora-tender-v2"})
    cluster.expect(
        "PUT",
        "/agora-tender-v2/_bulk",
        bulk_response(
            bulk_item(
                "index",
                "agora-tender-v2",
                1,
                400,
                error={
                    "type": "document_parsing_exception",
                    "reason": "[1:180] failed to parse field [published_at] of type [date] in document with id '1'",
                },
            )
        ),
    )
    cluster.expect("DELETE", "/agora-tender-v2", {"acknowledged": True})

    with pytest.raises(SearchUnavailable, match="document_parsing_exception"):
        backend.rebuild("tender", [(1, tender_doc("一号工程", published_at="soon"))])


def test_a_swap_that_lost_a_race_changes_nothing(cluster: Cluster, backend: ElasticsearchBackend) -> None:
    """Another rebuild moved the alias meanwhile: must_exist makes the whole swap fail."""
    missing = {
        "error": {
            "root_cause": [{"type": "aliases_not_found_exception", "reason": "aliases [agora-tender] missing"}],
            "type": "aliases_not_found_exception",
            "reason": "aliases [agora-tender] missing",
            "resource.type": "aliases",
            "resource.id": "agora-tender",
        },
        "status": 404,
    }
    cluster.expect("GET", "/agora-tender-v*/_alias", {"agora-tender-v1": {"aliases": {"agora-tender": {}}}})
    cluster.expect("PUT", "/agora-tender-v2", {**CREATED, "index": "agora-tender-v2"})
    cluster.expect("POST", "/agora-tender-v2/_refresh", {"_shards": SHARDS})
    cluster.expect("POST", "/_aliases", missing, status=404)
    cluster.expect("DELETE", "/agora-tender-v2", {"acknowledged": True})

    with pytest.raises(SearchUnavailable, match="aliases_not_found_exception"):
        backend.rebuild("tender", [])


# -- health -----------------------------------------------------------------------------------------------------


def cluster_health(status: str) -> dict[str, Any]:
    unassigned = {"green": 0, "yellow": 4, "red": 8}[status]
    return {
        "cluster_name": "agora",
        "status": status,
        "timed_out": False,
        "number_of_nodes": 1,
        "number_of_data_nodes": 1,
        "active_primary_shards": 4 if status != "red" else 0,
        "active_shards": 4 if status != "red" else 0,
        "relocating_shards": 0,
        "initializing_shards": 0,
        "unassigned_shards": unassigned,
        "unassigned_primary_shards": 4 if status == "red" else 0,
        "delayed_unassigned_shards": 0,
        "number_of_pending_tasks": 0,
        "number_of_in_flight_fetch": 0,
        "task_max_waiting_in_queue_millis": 0,
        "active_shards_percent_as_number": 100.0 if status == "green" else 50.0 if status == "yellow" else 0.0,
    }


@pytest.mark.parametrize(("status", "ok"), [("green", True), ("yellow", True), ("red", False)])
def test_health(cluster: Cluster, backend: ElasticsearchBackend, status: str, ok: bool) -> None:
    cluster.expect("GET", "/_cluster/health", cluster_health(status))

    assert backend.health() == {"backend": "elasticsearch", "ok": ok, "cluster": status}


def test_health_when_the_cluster_errs(cluster: Cluster, backend: ElasticsearchBackend) -> None:
    unavailable = {
        "error": {
            "root_cause": [{"type": "master_not_discovered_exception", "reason": None}],
            "type": "master_not_discovered_exception",
            "reason": None,
        },
        "status": 503,
    }
    cluster.expect("GET", "/_cluster/health", unavailable, status=503)

    health = backend.health()
    assert health["ok"] is False and "master_not_discovered_exception" in health["cluster"]
