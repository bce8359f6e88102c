"""Keeping the indexes in step with the database, in the same transaction as every change.

A save or delete of a model that a document type declares (its own model or a trigger) calls
:func:`queue` for the documents it changes. :func:`queue`:

1. rewrites the embedded backend's entries at once (same database, same transaction: the database
   listings are never behind, and a rolled-back change leaves no trace);
2. when an external search service is configured, adds one ``IndexJob`` per document to the outbox,
   in the same transaction; ``manage.py search_sync`` delivers them (:func:`deliver`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from core import clock
from search import documents
from search.backends.base import SearchUnavailable
from search.models import IndexJob

log = logging.getLogger(__name__)

BATCH = 500
MAX_BACKOFF_SECONDS = 300
# How long a runner's claim on its jobs lasts before another runner may take them.
LEASE = timedelta(minutes=2)


def external_enabled() -> bool:
    return settings.AGORA_SEARCH_BACKEND != "database"


def current(doc_type: str, ids: Iterable[int]) -> tuple[list[tuple[int, dict[str, Any]]], list[int]]:
    """The documents as they stand now: (upserts for the public ones, deletes for the rest)."""
    dt = documents.get(doc_type)
    wanted = sorted(set(ids))
    found = {obj.pk: obj for obj in dt.queryset().filter(pk__in=wanted)}
    upserts = [(pk, dt.document(found[pk])) for pk in wanted if pk in found]
    return upserts, [pk for pk in wanted if pk not in found]


def queue(doc_type: str, ids: Iterable[int]) -> None:
    """The documents ``ids`` of ``doc_type`` changed: reindex them (see the module docstring)."""
    from search.backends.database import DatabaseBackend

    wanted = sorted(set(ids))
    if not wanted:
        return
    upserts, deletes = current(doc_type, wanted)
    DatabaseBackend().bulk(doc_type, upserts, deletes)
    if external_enabled():
        now = clock.now()
        IndexJob.objects.bulk_create(
            [IndexJob(doc_type=doc_type, object_id=pk, created_at=now, next_attempt_at=now) for pk in wanted]
        )


def _on_change(sender: type, instance: Any, **kwargs: Any) -> None:
    raw = kwargs.get("raw", False)
    if raw:  # fixtures loading: search_reindex rebuilds afterwards
        return
    for dt in documents.REGISTRY.values():
        if isinstance(instance, dt.model):
            queue(dt.name, [instance.pk])
        for model, affected in dt.triggers:
            if isinstance(instance, model):
                queue(dt.name, list(affected(instance)))


def connect() -> None:
    """Connect the signals of every model a registered document type depends on (once)."""
    models = {dt.model for dt in documents.REGISTRY.values()}
    models |= {model for dt in documents.REGISTRY.values() for model, _ in dt.triggers}
    for model in models:
        post_save.connect(_on_change, sender=model, dispatch_uid=f"search-save-{model._meta.label_lower}")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"search-delete-{model._meta.label_lower}")


def refresh_due() -> int:
    """The clock's step: re-index the documents that changed with time alone (an agency's score when a
    credit event expires) since the last pass, for every type that says which (``changed_between``).
    Each type's window moves under its row lock in one transaction, so two clocks never skip or repeat
    one; a pass that fails leaves the window where it was. Returns how many documents were queued."""
    from search.models import SearchIndex

    queued = 0
    for dt in documents.REGISTRY.values():
        if dt.changed_between is None:
            continue
        try:
            with transaction.atomic():
                state, _ = SearchIndex.objects.select_for_update().get_or_create(
                    doc_type=dt.name, defaults={"fingerprint": ""}
                )
                now = clock.now()
                since = state.refreshed_at or now
                if since < now:
                    ids = set(dt.changed_between(since, now))
                    queue(dt.name, ids)
                    queued += len(ids)
                state.refreshed_at = now
                state.save(update_fields=["refreshed_at"])
        except Exception:
            log.exception("search: refreshing %s failed; the next pass covers the same interval", dt.name)
    return queued


# --- the outbox -------------------------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """How long a failed job waits: 2, 4, 8 … seconds, at most five minutes."""
    return timedelta(seconds=min(2**attempts, MAX_BACKOFF_SECONDS))


def deliver(backend: Any, limit: int = BATCH) -> tuple[int, int]:
    """Deliver up to ``limit`` due jobs to ``backend``; returns (delivered, failed).

    The jobs are claimed in a short transaction (locked rows are skipped by a second runner on
    PostgreSQL, and a claim is a lease: a runner that dies leaves them due again after
    :data:`LEASE`). The documents' latest state is then read and sent with no transaction open, so
    a slow or absent search service never holds a database lock. Jobs are marked done only when
    the backend accepted them; a failure leaves them pending with their attempt count raised and a
    growing backoff: nothing is lost."""
    now = clock.now()
    with transaction.atomic():
        due = IndexJob.objects.filter(done_at__isnull=True, next_attempt_at__lte=now).order_by("id")
        jobs = list(due.select_for_update(skip_locked=True)[:limit])
        if not jobs:
            return 0, 0
        IndexJob.objects.filter(pk__in=[job.pk for job in jobs]).update(next_attempt_at=now + LEASE)
    by_type: dict[str, list[IndexJob]] = {}
    for job in jobs:
        by_type.setdefault(job.doc_type, []).append(job)
    delivered = failed = 0
    for doc_type, group in by_type.items():
        try:
            upserts, deletes = current(doc_type, [job.object_id for job in group])
            backend.bulk(doc_type, upserts, deletes)
        except SearchUnavailable as exc:
            for job in group:
                job.attempts += 1
                job.next_attempt_at = now + backoff(job.attempts)
                job.last_error = str(exc)[:2000]
            IndexJob.objects.bulk_update(group, ["attempts", "next_attempt_at", "last_error"])
            failed += len(group)
            log.warning("search: %d %s job(s) not delivered: %s", len(group), doc_type, exc)
            continue
        IndexJob.objects.filter(pk__in=[job.pk for job in group]).update(done_at=clock.now(), last_error="")
        delivered += len(group)
    return delivered, failed


def prune(keep: timedelta = timedelta(days=7)) -> int:
    """Forget delivered jobs older than ``keep``."""
    deleted, _ = IndexJob.objects.filter(done_at__lt=clock.now() - keep).delete()
    return int(deleted)


def backlog() -> dict[str, Any]:
    """The outbox's state for the health endpoint."""
    pending = IndexJob.objects.filter(done_at__isnull=True)
    oldest = pending.order_by("id").first()
    failing = pending.filter(attempts__gt=0).order_by("-id").first()
    return {
        "pending": pending.count(),
        "oldest_pending_at": oldest.created_at if oldest else None,
        "last_error": failing.last_error if failing else "",
    }
