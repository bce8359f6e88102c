"""Keeping the embedded index in step with the database: what each write indexes, what it removes,
the outbox rows it queues in the same transaction, and search_reindex."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from agencies.services.credit import credit_event_record
from core import clock
from market.choices import TenderStatus
from market.services import tenders as market_tenders
from procurement.services import tenders as svc
from search.backends.base import Query
from search.backends.database import DatabaseBackend
from search.backends.fulltext import ensure
from search.indexing import refresh_due
from search.models import IndexJob, SearchEntry, SearchIndex


def found(doc_type: str, text: str = "", **kwargs) -> list[int]:
    return [hit.id for hit in DatabaseBackend().search(Query(doc_type=doc_type, text=text, **kwargs)).hits]


def test_a_tender_is_indexed_only_once_published_and_follows_its_changes(world):
    tender = world.in_state(TenderStatus.DRAFT, title="江州市老旧小区改造可行性研究")
    assert not SearchEntry.objects.filter(doc_type="tender", object_id=tender.pk).exists()
    market_tenders.tender_submit(actor=world.purchaser, tender_id=tender.pk)
    assert found("tender", "小区改造") == []
    svc.tender_approve(actor=world.operator, tender_id=tender.pk)
    assert found("tender", "小区改造") == [tender.pk]
    # Its notice is indexed by the same write.
    assert len(found("notice", "小区改造")) == 1
    svc.tender_cancel(actor=world.purchaser, tender_id=tender.pk, reason="规划调整")
    hit = DatabaseBackend().search(Query(doc_type="tender", text="小区改造")).hits[0]
    assert hit.document["status"] == "cancelled"


def test_a_credit_event_reindexes_the_agency_and_leaves_its_text_alone(world):
    agency = world.agency.organisation.agency
    entry = SearchEntry.objects.get(doc_type="agency", object_id=agency.pk)
    with CaptureQueriesContext(connection) as queries:
        credit_event_record(actor=world.supervisor, agency_id=agency.pk, kind="commendation", reason="年度表彰")
    hit = next(h for h in DatabaseBackend().search(Query(doc_type="agency", sort="score")).hits if h.id == agency.pk)
    assert hit.document["score"] == 105
    after = SearchEntry.objects.get(pk=entry.pk)
    assert after.n1 == 105 and after.digest == entry.digest
    # The same text: its full-text row is not rewritten (SQLite: the type's FTS5 table; PostgreSQL: the vector).
    assert not [q["sql"] for q in queries.captured_queries if "search_fts_" in q["sql"] or "SET vector" in q["sql"]]


def test_with_an_external_service_each_write_queues_jobs_in_its_own_transaction(world, settings):
    settings.AGORA_SEARCH_BACKEND = "elasticsearch"
    tender = world.in_state(TenderStatus.PENDING_REVIEW)
    IndexJob.objects.all().delete()
    svc.tender_approve(actor=world.operator, tender_id=tender.pk)
    queued = set(IndexJob.objects.values_list("doc_type", "object_id"))
    assert ("tender", tender.pk) in queued and {d for d, _ in queued} >= {"tender", "notice"}
    assert all(job.done_at is None and job.attempts == 0 for job in IndexJob.objects.all())
    IndexJob.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        svc.tender_amend(actor=world.purchaser, tender_id=tender.pk, title="澄清", body="澄清内容")
        assert IndexJob.objects.exists()
        raise RuntimeError("the request failed after the write")
    assert not IndexJob.objects.exists()


def test_without_an_external_service_nothing_is_queued(world):
    world.in_state(TenderStatus.PUBLISHED)
    assert not IndexJob.objects.exists()


def test_search_reindex_rebuilds_the_embedded_index(world):
    tender = world.in_state(TenderStatus.PUBLISHED, title="江州市河道清淤工程监理")
    SearchEntry.objects.all().delete()
    assert found("tender", "清淤") == []
    call_command("search_reindex", "--if-empty")
    assert found("tender", "清淤") == [tender.pk]
    before = SearchEntry.objects.count()
    call_command("search_reindex", "--if-empty")  # nothing empty: nothing rebuilt
    call_command("search_reindex", "--type", "tender")
    assert SearchEntry.objects.count() == before
    assert found("tender", "清淤") == [tender.pk]


def test_the_clock_reindexes_an_agency_whose_credit_event_expired(world):
    agency = world.agency.organisation.agency
    refresh_due()  # the first pass starts the window
    credit_event_record(actor=world.supervisor, agency_id=agency.pk, kind="commendation", reason="年度表彰")
    event = agency.credit_events.get()

    def indexed() -> tuple[float | None, int]:
        entry = SearchEntry.objects.get(doc_type="agency", object_id=agency.pk)
        hit = next(h for h in DatabaseBackend().search(Query(doc_type="agency")).hits if h.id == agency.pk)
        return entry.n1, hit.document["score"]

    assert indexed() == (105, 105)
    clock.freeze(event.expires_at - timedelta(seconds=1))
    assert refresh_due() == 0  # nothing reached a date yet
    clock.freeze(event.expires_at)
    assert indexed() == (105, 105)  # no write happened: the index still holds the old score
    assert refresh_due() == 1
    assert indexed() == (100, 100)
    hundred = DatabaseBackend().search(Query(doc_type="agency", ranges={"score": (100, 100)}))
    assert agency.pk in [h.id for h in hundred.hits]
    assert refresh_due() == 0  # the same interval is never refreshed twice


def test_migrate_rebuilds_an_index_built_with_another_layout(world):
    tender = world.in_state(TenderStatus.PUBLISHED, title="江州市河道清淤工程监理")
    assert ensure() == []  # every type is built with its layout: nothing to do
    SearchIndex.objects.filter(doc_type="tender").update(fingerprint="an older layout")
    SearchEntry.objects.filter(doc_type="tender").update(k2="")  # what an older layout left in the column
    assert ensure() == ["tender"]
    assert found("tender", "清淤", filters={"status": ["published"]}) == [tender.pk]
    assert SearchEntry.objects.get(doc_type="tender", object_id=tender.pk).k2 == "published"


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the FTS5 tables are SQLite's")
def test_removing_entries_removes_their_text_whoever_removes_them(world):
    world.in_state(TenderStatus.PUBLISHED, title="江州市河道清淤工程监理")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM search_fts_tender")
        assert cursor.fetchone()[0] == 1
        SearchEntry.objects.filter(doc_type="tender").delete()  # as a test database flush does
        cursor.execute("SELECT count(*) FROM search_fts_tender")
        assert cursor.fetchone()[0] == 0
