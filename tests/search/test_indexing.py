"""Keeping the embedded index in step with the database: what each write indexes, what it removes,
the outbox rows it queues in the same transaction, and search_reindex."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import transaction

from agencies.services.credit import credit_event_record
from market.choices import TenderStatus
from market.services import tenders as svc
from search.backends.base import Query
from search.backends.database import DatabaseBackend
from search.models import IndexJob, SearchEntry


def found(doc_type: str, text: str = "", **kwargs) -> list[int]:
    return [hit.id for hit in DatabaseBackend().search(Query(doc_type=doc_type, text=text, **kwargs)).hits]


def test_a_tender_is_indexed_only_once_published_and_follows_its_changes(world):
    tender = world.in_state(TenderStatus.DRAFT, title="江州市老旧小区改造可行性研究")
    assert not SearchEntry.objects.filter(doc_type="tender", object_id=tender.pk).exists()
    svc.tender_submit(actor=world.purchaser, tender_id=tender.pk)
    assert found("tender", "小区改造") == []
    svc.tender_approve(actor=world.operator, tender_id=tender.pk)
    assert found("tender", "小区改造") == [tender.pk]
    # Its notice is indexed by the same write.
    assert len(found("notice", "小区改造")) == 1
    svc.tender_cancel(actor=world.purchaser, tender_id=tender.pk, reason="规划调整")
    hit = DatabaseBackend().search(Query(doc_type="tender", text="小区改造")).hits[0]
    assert hit.document["status"] == "cancelled"


def test_a_credit_event_reindexes_the_agency(world):
    agency = world.agency.organisation.agency
    entry = SearchEntry.objects.get(doc_type="agency", object_id=agency.pk)
    credit_event_record(actor=world.supervisor, agency_id=agency.pk, kind="commendation", reason="年度表彰")
    hit = next(h for h in DatabaseBackend().search(Query(doc_type="agency")).hits if h.id == agency.pk)
    assert hit.document["score"] == 105
    assert SearchEntry.objects.get(pk=entry.pk).tokens == entry.tokens  # the same text: the entry is left as it was


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
