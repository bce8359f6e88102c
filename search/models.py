"""The embedded full-text index and the outbox of index work for an external search service.

``SearchEntry`` holds one document's tokens (``search.tokens``) for the embedded backend, written in
the same transaction as the change it reflects. The full-text structures that search it are made by
migration ``search/0002_fulltext`` for each database: an FTS5 table kept in step by triggers on
SQLite, a ``tsvector`` column with a GIN index on PostgreSQL.

``IndexJob`` is the outbox: every write that changes something public queues one in its own
transaction; ``manage.py search_sync`` delivers them to Elasticsearch and marks them done, so a
search outage loses nothing.
"""

from __future__ import annotations

from django.db import models


class SearchEntry(models.Model):
    doc_type = models.CharField(max_length=40)
    object_id = models.BigIntegerField()
    tokens = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["doc_type", "object_id"], name="search_entry_once")]

    def __str__(self) -> str:
        return f"{self.doc_type}:{self.object_id}"


class IndexJob(models.Model):
    """One document to (re)index or delete in the external search service: the latest state is
    read from the database when the job is delivered, so delivering a job twice is harmless."""

    doc_type = models.CharField(max_length=40)
    object_id = models.BigIntegerField()
    created_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("id",)
        indexes = [models.Index(fields=["done_at", "next_attempt_at"], name="index_job_due")]

    def __str__(self) -> str:
        return f"index {self.doc_type}:{self.object_id}"
