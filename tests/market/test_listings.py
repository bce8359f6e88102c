"""One FilterSet per listing, shared by the API and the pages: the same query string gives the
same rows on both, ``region`` is the exact code everywhere, and a bad filter is a 400 on both."""

from __future__ import annotations

import re

from market.choices import Method, TenderStatus
from tests.factories import admitted_agency


def _page_tender_ids(client, path: str, params: dict) -> set[int]:
    response = client.get(path, params)
    assert response.status_code == 200
    tenders_section = response.content.decode().split("最新公告")[0]  # not the notices' links
    return {int(pk) for pk in re.findall(r'href="/tenders/(\d+)/"', tenders_section)}


def _api_ids(api, path: str, params: dict) -> set[int]:
    response = api.get(path, {**params, "page_size": 100})
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_the_home_page_and_the_api_read_the_same_tender_filters(api, client, world):
    lowest = world.in_state(TenderStatus.PUBLISHED, method=Method.LOWEST_PRICE, min_bids=3, region="360102")
    world.in_state(TenderStatus.PUBLISHED, region="360103")
    for params, expected in (
        ({"method": "lowest_price"}, {lowest.pk}),
        ({"region": "360102"}, {lowest.pk}),
        ({"region": "3601"}, set()),  # exact codes, not prefixes
        ({"method": "lowest_price,open_tender", "region": "360102,360103"}, None),
    ):
        on_page = _page_tender_ids(client, "/", params)
        assert on_page == _api_ids(api, "/api/tenders/", params)
        if expected is not None:
            assert on_page == expected


def test_a_bad_filter_is_refused_on_the_page_and_in_the_api_alike(api, client, world):
    world.in_state(TenderStatus.PUBLISHED)
    page = client.get("/", {"status": "no_such_status"})
    answer = api.get("/api/tenders/", {"status": "no_such_status"})
    assert (page.status_code, answer.status_code) == (400, 400)
    assert answer.json()["code"] == "invalid" and "status" in answer.json()["fields"]
    assert "筛选条件无效" in page.content.decode()


def test_the_directory_page_and_the_api_read_the_same_agency_filters(api, client, world):
    surveyor = admitted_agency(world.operator, categories=("surveying",)).organisation
    world.agency.organisation.refresh_from_db()
    for params in ({"category": "surveying"}, {"q": surveyor.name[:4]}, {"region": surveyor.region}, {}):
        rows = api.get("/api/public/agencies/", {**params, "page_size": 100}).json()["results"]
        page = client.get("/agencies/", params).content.decode()
        assert rows, params
        for row in rows:
            assert row["uscc"] in page, (params, row["uscc"])
    only_surveyors = api.get("/api/public/agencies/", {"category": "surveying"}).json()["results"]
    assert [row["uscc"] for row in only_surveyors] == [surveyor.uscc]
