"""The outbox, end to end with the real Elasticsearch client: while the search service is down,
writes succeed, the backlog grows with backoff, health says so and the listings answer from the
database; when it returns, search_sync delivers everything, and nothing is lost.

The cluster is a stub HTTP server (pytest-httpserver) that answers like Elasticsearch 9 and keeps
what it was sent; see test_elasticsearch.py for the exact request bodies."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from werkzeug import Request, Response

from core import clock
from market.choices import TenderStatus
from search.models import IndexJob
from search.service import external_backend
from tests.conftest import client_for
from tests.search.test_elasticsearch import ES_JSON, PRODUCT, bulk_item, bulk_response, closed_port_url


class StubCluster:
    """An Elasticsearch 9 stand-in that accepts every bulk request and remembers the documents."""

    def __init__(self, httpserver) -> None:
        self.documents: dict[tuple[str, str], dict | None] = {}
        httpserver.expect_request(re.compile(r"^/_alias/agora-[a-z_]+$"), method="HEAD").respond_with_response(
            Response(b"", headers=PRODUCT, content_type=ES_JSON)
        )
        httpserver.expect_request(re.compile(r"^/agora-[a-z_]+/_bulk$"), method="PUT").respond_with_handler(self.bulk)
        health = {"cluster_name": "agora", "status": "green", "number_of_nodes": 1}
        httpserver.expect_request("/_cluster/health", method="GET").respond_with_response(
            Response(json.dumps(health), headers=PRODUCT, content_type=ES_JSON)
        )
        self.url = httpserver.url_for("/").rstrip("/")

    def bulk(self, request: Request) -> Response:
        alias = request.path.split("/")[1]
        lines = [json.loads(line) for line in request.data.decode().splitlines() if line]
        items, i = [], 0
        while i < len(lines):
            op, meta = next(iter(lines[i].items()))
            if op == "delete":
                self.documents[(alias, meta["_id"])] = None
                items.append(bulk_item("delete", f"{alias}-v1", int(meta["_id"]), 200, "deleted"))
                i += 1
            else:
                self.documents[(alias, meta["_id"])] = lines[i + 1]
                items.append(bulk_item("index", f"{alias}-v1", int(meta["_id"]), 201, "created"))
                i += 2
        return Response(json.dumps(bulk_response(*items)), headers=PRODUCT, content_type=ES_JSON)


def use(settings, url: str) -> None:
    settings.AGORA_SEARCH_BACKEND = "elasticsearch"
    settings.ELASTICSEARCH_URL = url
    external_backend.cache_clear()


def pending() -> list[IndexJob]:
    return list(IndexJob.objects.filter(done_at__isnull=True))


def test_an_outage_loses_nothing(world, settings, api, httpserver):
    use(settings, closed_port_url())  # the search service is down
    tender = world.in_state(TenderStatus.PUBLISHED, title="江州市滨江公园绿化养护服务")
    queued = {(j.doc_type, j.object_id) for j in pending()}
    assert ("tender", tender.pk) in queued  # the write succeeded and queued its job

    call_command("search_sync", "--once")
    jobs = pending()
    assert len(jobs) == IndexJob.objects.count() and all(j.attempts == 1 for j in jobs)
    assert all(j.next_attempt_at == clock.now() + timedelta(seconds=2) and j.last_error for j in jobs)

    health = api.get("/api/search/health/")
    assert health.status_code == 503
    assert (health.json()["ok"], health.json()["serving_from"]) == (False, "database")
    assert health.json()["outbox"]["pending"] == len(jobs)
    # The error names internal hosts: staff see it, the public only the counts.
    assert "last_error" not in health.json()["outbox"] and "service" not in health.json()
    staff = client_for(world.operator).get("/api/search/health/").json()
    assert staff["outbox"]["last_error"] and staff["service"]["ok"] is False

    listing = api.get("/api/search/tenders/", {"q": "绿化养护"}).json()
    assert [r["id"] for r in listing["results"]] == [tender.pk]
    assert (listing["backend"], listing["degraded"]) == ("database", True)

    call_command("search_sync", "--once")  # within the backoff: nothing is tried again yet
    assert [j.attempts for j in pending()] == [1] * len(jobs)

    # The service returns; after the backoff the backlog is delivered, each document in its latest state.
    cluster = StubCluster(httpserver)
    use(settings, cluster.url)
    clock.freeze(clock.now() + timedelta(seconds=2))
    call_command("search_sync", "--once")
    assert pending() == []
    delivered = {(alias.removeprefix("agora-"), int(pk)) for alias, pk in cluster.documents}
    assert delivered == queued
    assert cluster.documents[("agora-tender", str(tender.pk))]["title"] == "江州市滨江公园绿化养护服务"
    assert api.get("/api/search/health/").json()["outbox"]["pending"] == 0


def test_a_delivered_job_twice_sends_the_latest_state_and_a_delete_for_what_is_gone(world, settings, httpserver):
    cluster = StubCluster(httpserver)
    use(settings, cluster.url)
    tender = world.in_state(TenderStatus.PUBLISHED, title="江州市路灯维护")
    call_command("search_sync", "--once")
    from procurement.services import tenders as svc

    svc.tender_cancel(actor=world.purchaser, tender_id=tender.pk, reason="资金未落实")
    IndexJob.objects.update(done_at=None, next_attempt_at=clock.now())  # as if every job came round again
    call_command("search_sync", "--once")
    assert pending() == []
    assert cluster.documents[("agora-tender", str(tender.pk))]["status"] == "cancelled"


@pytest.mark.parametrize("backlog_age", [timedelta(days=8)])
def test_delivered_jobs_are_pruned_after_a_week(world, settings, httpserver, backlog_age):
    cluster = StubCluster(httpserver)
    use(settings, cluster.url)
    world.in_state(TenderStatus.PUBLISHED)
    call_command("search_sync", "--once")
    assert IndexJob.objects.exists() and not pending()
    clock.freeze(clock.now() + backlog_age)
    call_command("search_sync", "--once")
    assert not IndexJob.objects.exists()


def test_one_character_queries_are_answered_by_the_database(world, settings, api):
    use(settings, closed_port_url())
    tender = world.in_state(TenderStatus.PUBLISHED, title="江州市桥梁检测")
    body = api.get("/api/search/tenders/", {"q": "桥"}).json()
    assert [r["id"] for r in body["results"]] == [tender.pk]
    assert (body["backend"], body["degraded"]) == ("database", False)


def test_a_runner_that_dies_mid_delivery_leaves_its_jobs_to_the_next_after_the_lease(world, settings, httpserver):
    from search import indexing

    use(settings, closed_port_url())
    world.in_state(TenderStatus.PUBLISHED)
    count = len(pending())

    class Crashing:
        """A search_sync process killed while it sends: the claim is all it leaves behind."""

        def bulk(self, *args, **kwargs):
            raise SystemExit("killed")

    with pytest.raises(SystemExit):
        indexing.deliver(Crashing())
    assert len(pending()) == count and all(j.attempts == 0 for j in pending())
    assert indexing.deliver(Crashing()) == (0, 0)  # claimed: another runner does not take them yet
    cluster = StubCluster(httpserver)
    use(settings, cluster.url)
    clock.freeze(clock.now() + indexing.LEASE)
    call_command("search_sync", "--once")
    assert pending() == [] and len(cluster.documents) > 0
