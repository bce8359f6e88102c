"""The public listing API: no login, one shape for every listing, clear refusals, cursors, and no
whole-table COUNT or OFFSET on any listing path."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from market.choices import TenderStatus

LISTINGS = ["tenders", "notices", "agencies", "credit-lists"]


@pytest.fixture
def published(world):
    return [world.in_state(TenderStatus.PUBLISHED, title=f"江州市第{n}批次道路养护造价咨询") for n in range(3)]


@pytest.mark.parametrize("listing", LISTINGS)
def test_every_listing_is_public_and_has_one_shape(api, world, listing):
    response = api.get(f"/api/search/{listing}/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"results", "facets", "next_cursor", "total", "total_is_lower_bound", "backend", "degraded"}
    assert (body["backend"], body["degraded"]) == ("database", False)


def test_tender_search_with_filters_highlight_and_pages(api, published):
    first = api.get("/api/search/tenders/", {"q": "养护造价", "status": "published", "size": 2})
    body = first.json()
    assert [r["id"] for r in body["results"]] == [published[2].pk, published[1].pk]
    assert body["total"] == 3 and body["facets"]["status"] == {"published": 3}
    assert "<mark>养护造价</mark>" in body["results"][0]["highlight"]["title"][0]
    second = api.get(
        "/api/search/tenders/", {"q": "养护造价", "status": "published", "size": 2, "cursor": body["next_cursor"]}
    )
    assert [r["id"] for r in second.json()["results"]] == [published[0].pk]
    assert second.json()["next_cursor"] is None


def test_tender_ranges_by_friendly_names(api, published):
    day = published[0].published_at.date().isoformat()
    within = api.get("/api/search/tenders/", {"published_from": day, "published_to": day, "budget_max": "500000"})
    assert within.status_code == 200 and within.json()["total"] == 3
    later = api.get("/api/search/tenders/", {"deadline_from": "2099-01-01"})
    assert later.json()["total"] == 0


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"colour": "red"}, "unknown_parameter"),
        ({"sort": "cheapest"}, "unknown_sort"),
        ({"cursor": "%%%"}, "invalid_cursor"),
        ({"size": "0"}, "invalid_size"),
        ({"size": "many"}, "invalid_size"),
        ({"published_from": "yesterday"}, "invalid_date"),
        ({"budget_min": "a lot"}, "invalid_range"),
    ],
)
def test_bad_input_is_a_clear_400(api, published, params, code):
    response = api.get("/api/search/tenders/", params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code and body["detail"] and body["detail_zh"]


def test_listings_never_count_a_whole_table_or_use_offset(api, published):
    with CaptureQueriesContext(connection) as queries:
        first = api.get("/api/search/tenders/", {"size": 1}).json()
        api.get("/api/search/tenders/", {"size": 1, "cursor": first["next_cursor"], "q": "道路"})
    for q in queries.captured_queries:
        sql = q["sql"].upper()
        assert " OFFSET " not in sql, sql
        if "COUNT(" in sql:
            assert re.search(r"LIMIT \d+", sql), sql  # only ever a capped count


def test_health_of_the_embedded_backend(api, db):
    response = api.get("/api/search/health/")
    assert response.status_code == 200
    assert response.json() == {"backend": "database", "ok": True, "outbox": None}
