"""Shared-kernel models: the hash-chained audit trail."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

GENESIS_HASH = "0" * 64


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("the audit trail is append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("the audit trail is append-only")


class AuditEntry(models.Model):
    """One appended fact: who did what to which object, the state before and after, when.

    ``hash`` covers every other field plus ``prev_hash``, so a changed, inserted or deleted row
    breaks the chain (see :func:`core.audit.audit_verify`). An entry is recorded *pending*
    (``seq``, ``prev_hash`` and ``hash`` empty) in the transaction of the change and chained in a
    short step after it commits (:func:`core.audit.audit_chain`); that is the only update the
    database lets through (triggers, migration 0004), and it refuses every delete. The chain is
    what proves it to a supervisor.
    """

    # Empty while pending: set once, by the chaining step.
    seq = models.BigIntegerField(unique=True, null=True, blank=True)
    created = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - NULL: not chained yet, as seq and hash
    hash = models.CharField(max_length=64, unique=True, null=True, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ("seq",)
        indexes = [models.Index(fields=["object_type", "object_id", "seq"])]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"#{self.seq or 'pending'} {self.action} {self.object_type}:{self.object_id} by {self.actor_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("the audit trail is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("the audit trail is append-only")


class AuditHead(models.Model):
    """The single row that holds the chain's tip. Locking it serialises the chaining step (never a
    service's transaction), and comparing it with the last entry detects rows cut off the end of
    the chain."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"audit head #{self.last_seq}"
