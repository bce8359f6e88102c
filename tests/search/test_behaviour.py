"""One behaviour suite for every available search backend: given these documents, this query returns
these ids in this order, with these facet counts.

The embedded database backend always runs (on SQLite, and on PostgreSQL when DATABASE_URL is set).
The Elasticsearch backend runs when ELASTICSEARCH_URL names a real cluster, and is reported as
skipped otherwise; the request bodies it sends are checked against a stub server in
test_elasticsearch.py."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import clock
from market.choices import TenderStatus
from market.models import Notice, Tender
from search.backends import database
from search.backends.base import BadQuery, Query
from search.backends.database import DatabaseBackend
from search.models import SearchEntry
from tests.factories import admitted_agency, organisation, user

CORPUS = [
    # (title, description, method, category, region, budget, status)
    (
        "江州市第一中学教学楼改造工程造价咨询服务",
        "全过程造价咨询。",
        "open_tender",
        "cost_consulting",
        "360102",
        500000,
        "published",
    ),
    (
        "江州市人民医院门诊楼环境影响评价",
        "编制环境影响报告书。",
        "lowest_price",
        "environmental_assessment",
        "360103",
        80000,
        "published",
    ),
    ("G20公路改造工程监理", "公路路面改造的施工监理。", "open_tender", "supervision", "360102", 2000000, "evaluating"),
    ("江州市政道路改造测绘服务", "道路带状地形图测绘。", "lottery", "surveying", "360104", 120000, "publicity"),
    ("审计服务采购", "二〇二五年度财务收支审计。", "direct", "audit", "360102", 90000, "awarded"),
    (
        "江州市图书馆<新馆>设计",
        "含<script>标记的描述 & 符号。",
        "open_tender",
        "design",
        "360103",
        3000000,
        "published",
    ),
]


def _backends():
    yield pytest.param("database", id="database")
    url = os.environ.get("ELASTICSEARCH_URL")
    yield pytest.param(
        "elasticsearch",
        id="elasticsearch",
        marks=pytest.mark.skipif(not url, reason="ELASTICSEARCH_URL is not set: no Elasticsearch cluster to test"),
    )


@pytest.fixture(params=list(_backends()))
def backend(request, db):
    if request.param == "database":
        return DatabaseBackend()
    from search.backends.elasticsearch import ElasticsearchBackend

    return ElasticsearchBackend(os.environ["ELASTICSEARCH_URL"], prefix=f"agora-test-{os.getpid()}")


def _sync(backend) -> None:
    """An external backend is filled from the database, as search_reindex does."""
    if backend.name == "database":
        return
    from search import documents

    for name in documents.REGISTRY:
        backend.rebuild(name, documents.get(name).all_documents())


@pytest.fixture
def corpus(db):
    purchaser = organisation("purchaser", name="江州市教育局")
    author = user("purchaser", org=purchaser)
    from market.models import RuleProfile

    profile = RuleProfile.objects.get(name="national")
    tenders = []
    for i, (title, description, method, category, region, budget, status) in enumerate(CORPUS):
        published = clock.now() - timedelta(days=30 - i)  # later rows are newer
        tenders.append(
            Tender.objects.create(
                reference=f"ZB2026{i:06d}",
                title=title,
                description=description,
                purchaser=purchaser,
                created_by=author,
                profile=profile,
                method=method,
                category=category,
                region=region,
                budget=Decimal(budget),
                bid_deadline=published + timedelta(days=20 + i),
                min_bids=3,
                status=status,
                published_at=published,
            )
        )
    return tenders


def ids(page) -> list[int]:
    return [hit.id for hit in page.hits]


def search(backend, **kwargs):
    _sync(backend)
    return backend.search(Query(doc_type="tender", **kwargs))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("价咨", [0]),  # across what a word segmenter calls a boundary
        ("路改", [3, 2]),  # newest first
        ("改造", [3, 2, 0]),
        ("造价咨询", [0]),
        ("江州 改造", [3, 2, 0]),  # two words, both must occur (江州 is in every purchaser name)
        ("教学 改造", [0]),
        ("测", [3]),  # one character: LIKE on the base table
        ("g20", [2]),
        ("G20", [2]),
        ("航天", []),
        ("〇二五", [4]),  # 〇 is written inside Chinese runs
        ("教育局", [5, 4, 3, 2, 1, 0]),  # the purchaser's name is searched too
    ],
)
def test_text_queries(backend, corpus, text, expected):
    page = search(backend, text=text)
    assert ids(page) == [corpus[i].pk for i in expected]
    assert page.total == len(expected) and not page.total_is_lower_bound


def test_filters_ranges_and_facets(backend, corpus):
    page = search(backend, filters={"region": ["360102"]}, ranges={"budget": (100000, None)})
    assert ids(page) == [corpus[2].pk, corpus[0].pk]
    assert page.facets["region"] == {"360102": 2}
    assert page.facets["method"] == {"open_tender": 2}
    everything = search(backend)
    assert everything.facets["status"] == {"published": 3, "evaluating": 1, "publicity": 1, "awarded": 1}
    assert everything.facets["method"] == {"open_tender": 3, "lowest_price": 1, "lottery": 1, "direct": 1}
    two = search(backend, filters={"method": ["lottery", "direct"]}, text="服务")
    assert ids(two) == [corpus[4].pk, corpus[3].pk]


def test_date_ranges(backend, corpus):
    since = corpus[3].published_at.isoformat()
    page = search(backend, ranges={"published_at": (since, None)})
    assert ids(page) == [corpus[5].pk, corpus[4].pk, corpus[3].pk]
    deadline = corpus[1].bid_deadline.isoformat()
    page = search(backend, ranges={"bid_deadline": (None, deadline)}, sort="deadline")
    assert ids(page) == [corpus[0].pk, corpus[1].pk]


def test_sorts(backend, corpus):
    assert ids(search(backend, sort="budget_desc")) == [corpus[i].pk for i in (5, 2, 0, 3, 4, 1)]
    assert ids(search(backend, sort="budget_asc")) == [corpus[i].pk for i in (1, 4, 3, 0, 2, 5)]
    with pytest.raises(BadQuery) as refused:
        search(backend, sort="relevance-ish")
    assert refused.value.code == "unknown_sort"


@pytest.fixture(params=["sort", "walk"])
def page_plan(request, monkeypatch):
    """The embedded backend sorts a few matches and walks the sort's index for many (more than
    WALK_OVER): with the threshold at 0 the small corpus takes the walking path too."""
    if request.param == "walk":
        monkeypatch.setattr(database, "WALK_OVER", 0)
    return request.param


def test_cursor_pages_cover_everything_once_in_order(backend, corpus, page_plan):
    # Equal publication times: the id breaks the tie, so pages neither repeat nor skip.
    Tender.objects.filter(pk__in=[t.pk for t in corpus]).update(published_at=corpus[0].published_at)
    for t in corpus:
        t.refresh_from_db()
        t.save()  # through the signal, as any real change would be
    seen, cursor = [], None
    for _ in range(4):
        page = search(backend, size=4, cursor=cursor)
        seen += ids(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == sorted((t.pk for t in corpus), reverse=True)
    with pytest.raises(BadQuery) as refused:
        search(backend, cursor="not-a-cursor")
    assert refused.value.code == "invalid_cursor"


def test_every_sort_pages_the_same_whether_walked_or_sorted(backend, corpus, page_plan):
    for sort, text in [("deadline", ""), ("budget_asc", ""), ("budget_desc", "江州"), ("newest", "改造")]:
        whole = ids(search(backend, sort=sort, text=text, size=100))
        seen, cursor = [], None
        while True:
            page = search(backend, sort=sort, text=text, size=2, cursor=cursor)
            seen += ids(page)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == whole and len(whole) == len(set(whole)), sort


def test_highlights_mark_the_match_and_escape_the_rest(backend, corpus):
    page = search(backend, text="价咨")
    assert any("<mark>价咨</mark>" in f for f in page.hits[0].highlight["title"])
    page = search(backend, text="新馆")
    fragment = page.hits[0].highlight["title"][0]
    assert "&lt;<mark>新馆</mark>&gt;" in fragment and "<新馆>" not in fragment


def test_unpublished_tenders_are_not_listed_and_publication_lists_them(backend, world):
    tender = world.in_state(TenderStatus.PENDING_REVIEW, title="江州市档案馆数字化加工服务")
    assert search(backend, text="档案").hits == []
    from procurement.services import tenders as svc

    svc.tender_approve(actor=world.operator, tender_id=tender.pk)
    assert ids(search(backend, text="档案")) == [tender.pk]


def test_a_rolled_back_change_leaves_no_trace_in_the_index(corpus):
    columns = ("doc_type", "object_id", "digest", "k2", "d1")
    before = list(SearchEntry.objects.values_list(*columns).order_by("id"))
    with pytest.raises(RuntimeError), transaction.atomic():
        corpus[0].title = "江州市全新标题"
        corpus[0].save()
        assert ids(DatabaseBackend().search(Query(doc_type="tender", text="全新"))) == [corpus[0].pk]
        raise RuntimeError("the request failed")
    assert list(SearchEntry.objects.values_list(*columns).order_by("id")) == before
    assert DatabaseBackend().search(Query(doc_type="tender", text="全新")).hits == []


def test_notices_by_kind(backend, world):
    tender = world.in_state(TenderStatus.PUBLISHED, title="江州市城区排水管网普查")
    svc_notice = Notice.objects.get(tender=tender, kind="tender")
    _sync(backend)
    page = backend.search(Query(doc_type="notice", text="排水", filters={"kind": ["tender"]}))
    assert ids(page) == [svc_notice.pk]
    assert page.facets["kind"] == {"tender": 1}
    assert backend.search(Query(doc_type="notice", text="排水", filters={"kind": ["award"]})).hits == []


def test_agencies_carry_score_and_list_status(backend, world):
    agency = world.agency.organisation.agency
    from agencies.services.credit import credit_event_record

    credit_event_record(actor=world.supervisor, agency_id=agency.pk, kind="commendation", reason="年度表彰")
    _sync(backend)
    page = backend.search(Query(doc_type="agency", text=agency.organisation.name[:4]))
    hit = next(h for h in page.hits if h.id == agency.pk)
    assert (hit.document["score"], hit.document["list_status"]) == (105, "none")
    assert backend.search(Query(doc_type="agency", filters={"list_status": ["black"]})).hits == []


def test_agency_categories_filter_and_count_each_value(backend, world):
    other = admitted_agency(world.operator, categories=("design", "surveying")).organisation.agency
    mine = world.agency.organisation.agency
    _sync(backend)
    page = backend.search(Query(doc_type="agency", filters={"categories": ["surveying"]}))
    assert ids(page) == [other.pk]
    page = backend.search(Query(doc_type="agency", filters={"categories": ["surveying", "cost_consulting"]}))
    assert sorted(ids(page)) == sorted([other.pk, mine.pk])
    assert page.facets["categories"] == {"cost_consulting": 1, "design": 1, "surveying": 1}
    # A list holds each value whole: no value is found inside another.
    assert backend.search(Query(doc_type="agency", filters={"categories": ["sign"]})).hits == []


def test_the_total_cap_makes_the_total_a_lower_bound_and_the_facets_a_sample(corpus, settings):
    settings.AGORA_SEARCH_TOTAL_CAP = 4
    page = DatabaseBackend().search(Query(doc_type="tender", size=2))
    assert (page.total, page.total_is_lower_bound) == (4, True)
    assert sum(page.facets["status"].values()) == 5  # the cap + 1 matches the pass met
    settings.AGORA_SEARCH_TOTAL_CAP = 6
    page = DatabaseBackend().search(Query(doc_type="tender", size=2))
    assert (page.total, page.total_is_lower_bound) == (6, False)
    assert page.facets["status"] == {"published": 3, "evaluating": 1, "publicity": 1, "awarded": 1}


# --- the embedded backend matches a substring search exactly ---------------------------------------------------

RUNS = [t[0] for t in CORPUS] + [t[1] for t in CORPUS]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_two_or_more_characters_match_exactly_what_a_substring_search_would(corpus, data):
    source = data.draw(st.sampled_from(RUNS))
    start = data.draw(st.integers(0, len(source) - 2))
    end = data.draw(st.integers(start + 2, min(len(source), start + 6)))
    needle = source[start:end]
    if any(not ch.isalnum() for ch in needle) or any(ch.isascii() for ch in needle):
        return  # substring semantics hold for runs of CJK text; Latin words match whole (see search.tokens)
    found = set(ids(DatabaseBackend().search(Query(doc_type="tender", text=needle, size=100))))
    expected = {t.pk for t in corpus if needle in t.title or needle in t.description or needle in "江州市教育局"}
    assert found == expected, needle
