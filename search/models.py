"""The embedded full-text index and the outbox of index work for an external search service.

``SearchEntry`` is one document of the embedded backend, written in the same transaction as the
change it reflects: its filter, facet and sort values in columns, its text in the full-text
structures of ``search.backends.fulltext`` (an FTS5 table per document type on SQLite, a
``tsvector`` column with a GIN index on PostgreSQL).

``IndexJob`` is the outbox: every write that changes something public queues one in its own
transaction; ``manage.py search_sync`` delivers them to Elasticsearch and marks them done, so a
search outage loses nothing.
"""

from __future__ import annotations

from django.db import models


class SearchEntry(models.Model):
    """One document in the embedded index: the values its listings filter, facet and sort on, in
    columns of their own (``search.backends.layout`` says which field lives in which column), so a
    listing reads these short rows and never the base tables' wide ones. Its text lives in the
    full-text structures (``search.backends.fulltext``); ``digest`` says which text is there."""

    doc_type = models.CharField(max_length=40)
    object_id = models.BigIntegerField()
    # A digest of the indexed tokens: a write that leaves the text as it was does not touch the text index.
    digest = models.CharField(max_length=32)
    # Keyword fields (a list is stored as \x1fa\x1fb\x1f; no value is ""), number and date fields, and one
    # text field to sort by.
    k1 = models.CharField(max_length=255, blank=True)
    k2 = models.CharField(max_length=255, blank=True)
    k3 = models.CharField(max_length=255, blank=True)
    k4 = models.CharField(max_length=255, blank=True)
    k5 = models.CharField(max_length=255, blank=True)
    k6 = models.CharField(max_length=255, blank=True)
    n1 = models.FloatField(null=True, blank=True)
    n2 = models.FloatField(null=True, blank=True)
    d1 = models.DateTimeField(null=True, blank=True)
    d2 = models.DateTimeField(null=True, blank=True)
    d3 = models.DateTimeField(null=True, blank=True)
    t1 = models.CharField(max_length=255, blank=True)
    # Every facet's value at once (\x1e between facets): a listing counts its facets from this one column.
    facets = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["doc_type", "object_id"], name="search_entry_once")]
        indexes = [
            # Filters: one per keyword column.
            *(
                models.Index(fields=["doc_type", k], name=f"search_entry_{k}")
                for k in ("k1", "k2", "k3", "k4", "k5", "k6")
            ),
            # Sorts and ranges, walked in order with the object id breaking ties.
            *(
                models.Index(fields=["doc_type", c, "object_id"], name=f"search_entry_{c}")
                for c in ("n1", "n2", "d1", "d2", "d3", "t1")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.doc_type}:{self.object_id}"


class SearchDocument(models.Model):
    """The document a hit shows, as it was indexed (like Elasticsearch's ``_source``), kept apart from
    the entry so that the entries a listing reads stay short."""

    entry = models.OneToOneField(SearchEntry, on_delete=models.CASCADE, primary_key=True, related_name="+")
    document = models.JSONField()

    def __str__(self) -> str:
        return str(self.entry_id)


class SearchIndex(models.Model):
    """One document type's index: the layout (``search.backends.layout``) its embedded index was built
    with (a type built with another one is rebuilt after ``migrate``, ``search.backends.fulltext.ensure``),
    and how far the clock has re-indexed the documents that change with time alone."""

    doc_type = models.CharField(max_length=40, unique=True)
    fingerprint = models.CharField(max_length=32)
    # Up to when the documents that change with time alone were re-indexed (search.indexing.refresh_due).
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.doc_type} ({self.fingerprint})"


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
