"""Append to and verify the hash-chained audit trail.

Two steps, so that no transaction holds the chain's one lock while it does slow work:

1. **Record.** Every transition and every write by a user calls :func:`audit_record` inside the
   transaction that makes the change. It inserts the entry *pending* (no ``seq``, ``prev_hash`` or
   ``hash``) and takes no lock, so the entry and the change commit or roll back together, and a
   long transaction (an opening decrypting hundreds of bids, a publication making keys) blocks no
   other writer.
2. **Chain.** :func:`audit_chain` is a short transaction of its own: it locks the chain's head and
   gives every committed pending entry, in insertion order, the next ``seq``, the previous entry's
   hash and its own hash. It runs after the commit of every transaction that recorded something
   (``transaction.on_commit``), and again at the start of every reader of the chain and of each
   clock pass, so a crash between the commit and the chaining only delays the chaining.

The database refuses every UPDATE of an entry except that one (``seq``/``prev_hash``/``hash`` from
empty to set, nothing else changed) and every DELETE (core migration 0004).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction

from core import clock
from core.canonical import canonical_json, to_jsonable
from core.models import GENESIS_HASH, AuditEntry, AuditHead

SYSTEM_CLOCK = "system:clock"


def entry_hash(entry: AuditEntry) -> str:
    """The SHA-256 of the entry's canonical form, which includes the previous entry's hash."""
    body = {
        "seq": entry.seq,
        "created": entry.created.astimezone(UTC).isoformat(),
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "before": entry.before,
        "after": entry.after,
        "prev_hash": entry.prev_hash,
    }
    return hashlib.sha256(canonical_json(body)).hexdigest()


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    before: Any = None,
    after: Any = None,
    system_label: str = SYSTEM_CLOCK,
) -> AuditEntry:
    """Record one entry, pending, in the caller's transaction; it is chained once that commits.
    ``actor`` is a user, or ``None`` for the platform itself: the clock, or a management command
    run by the server's administrator (``system_label`` names which, e.g. ``system:centre_init``)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    entry = AuditEntry.objects.create(
        created=clock.now(),
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor.get_username() if actor is not None and actor.is_authenticated else system_label,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=to_jsonable(before),
        after=to_jsonable(after),
    )
    _chain_after_commit()
    return entry


def _chain_after_commit() -> None:
    """Chain once the outermost transaction commits: one callback per transaction, however many
    entries it records (a callback dropped with a rolled-back savepoint is registered again)."""
    connection = connections[DEFAULT_DB_ALIAS]
    if any(callback[1] is _chain_committed for callback in connection.run_on_commit):
        return
    # robust: the change is committed whatever happens here; a failed chaining is retried by the
    # next writer, the clock pass or any reader.
    transaction.on_commit(_chain_committed, robust=True)


def _chain_committed() -> None:
    audit_chain()


def audit_chain() -> int:
    """Give every pending entry this transaction can see (the committed ones, when called with no
    transaction open) its place at the end of the chain. Holds the head's lock only for this short
    step. Returns how many entries were chained."""
    with transaction.atomic():
        head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
        # After the lock: under READ COMMITTED this statement sees every entry committed so far,
        # including those a concurrent chainer has just chained (which are no longer pending).
        pending = list(AuditEntry.objects.filter(seq__isnull=True).order_by("id"))
        if not pending:
            return 0
        seq, prev = head.last_seq, head.last_hash
        for entry in pending:
            seq += 1
            entry.seq, entry.prev_hash = seq, prev
            entry.hash = prev = entry_hash(entry)
        # The one UPDATE the append-only trigger lets through. AuditEntry's own manager refuses
        # every update, so the chaining goes through a plain queryset.
        plain: models.QuerySet[AuditEntry] = models.QuerySet(model=AuditEntry)
        plain.bulk_update(pending, ["seq", "prev_hash", "hash"], batch_size=500)
        head.last_seq, head.last_hash = seq, prev
        head.save(update_fields=["last_seq", "last_hash"])
    return len(pending)


def chained_entries() -> models.QuerySet[AuditEntry]:
    """The chain as readers see it: everything committed so far chained first, then only chained
    entries (a pending one belongs to a transaction still running or just committed)."""
    audit_chain()
    return AuditEntry.objects.filter(seq__isnull=False)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""


def audit_verify() -> VerifyResult:
    """Chain what is committed, then walk the whole chain in order and report the first entry
    that does not fit."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for entry in chained_entries().order_by("seq").iterator(chunk_size=2000):
        if entry.seq != expected_seq:
            return VerifyResult(
                False, checked, expected_seq, f"entry #{expected_seq} is missing (next present is #{entry.seq})"
            )
        if entry.prev_hash != expected_prev:
            return VerifyResult(False, checked, entry.seq, "previous-hash link does not match the entry before it")
        if entry_hash(entry) != entry.hash:
            return VerifyResult(False, checked, entry.seq, "content does not match its hash (entry was altered)")
        expected_prev = entry.hash
        expected_seq += 1
        checked += 1
    head = AuditHead.objects.filter(pk=1).first()
    last_seq = head.last_seq if head else 0
    last_hash = head.last_hash if head else GENESIS_HASH
    if last_seq != checked or last_hash != expected_prev:
        return VerifyResult(
            False,
            checked,
            checked + 1,
            f"chain ends at #{checked} but its head records #{last_seq} (entries were removed)",
        )
    return VerifyResult(True, checked)
