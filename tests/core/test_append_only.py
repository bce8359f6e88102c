"""The audit trail and the published notices are append-only in the database itself: raw SQL that
updates or deletes a row is refused (triggers made by core 0004 and market 0004), the one update
the chaining step makes is let through, and an entry is chained only once its transaction commits."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from core.audit import audit_chain, audit_record, audit_verify
from core.models import AuditEntry, AuditHead
from market.choices import TenderStatus
from market.models import Notice


def _raw(table: str, statement: str, *params: object) -> None:
    with transaction.atomic(), connection.cursor() as cursor:  # a savepoint: the refusal leaves the test usable
        cursor.execute(statement.replace("{t}", table), params)


def _entries() -> list[tuple]:
    return list(AuditEntry.objects.order_by("id").values_list())


@pytest.fixture
def chained(world):
    world.in_state(TenderStatus.PUBLISHED)
    audit_chain()
    return AuditEntry.objects.order_by("seq")[2]


AUDIT = AuditEntry._meta.db_table


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("UPDATE {t} SET action = 'tender.harmless' WHERE id = %s", id="content"),
        pytest.param('UPDATE {t} SET after = \'{"status": "x"}\' WHERE id = %s', id="json"),
        pytest.param("UPDATE {t} SET seq = seq + 1000 WHERE id = %s", id="re-chain"),
        pytest.param("UPDATE {t} SET seq = NULL, prev_hash = NULL, hash = NULL WHERE id = %s", id="unchain"),
        pytest.param("DELETE FROM {t} WHERE id = %s", id="delete"),
    ],
)
def test_raw_sql_cannot_change_a_chained_entry(chained, statement):
    before = _entries()
    with pytest.raises(DatabaseError, match="append-only"):
        _raw(AUDIT, statement, chained.pk)
    assert _entries() == before
    assert audit_verify().ok


def test_raw_sql_cannot_change_a_pending_entry_even_while_chaining_it(db):
    entry = audit_record(actor=None, action="test.tick", object_type="x", object_id="1")
    before = _entries()
    for statement in (
        "UPDATE {t} SET action = 'forged' WHERE id = %s",
        "UPDATE {t} SET seq = 1, prev_hash = 'a', hash = 'b', object_id = '2' WHERE id = %s",
        "UPDATE {t} SET seq = 1 WHERE id = %s",  # half a chaining
        "DELETE FROM {t} WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            _raw(AUDIT, statement, entry.pk)
    assert _entries() == before
    # The chaining step's own update is the one let through.
    assert audit_chain() == 1
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert entry.seq == 1 and entry.hash and audit_verify().ok


def test_raw_sql_cannot_change_or_delete_a_notice(world):
    world.in_state(TenderStatus.PUBLISHED)
    notice = Notice.objects.get()
    table = Notice._meta.db_table
    before = list(Notice.objects.values_list())
    with pytest.raises(DatabaseError, match="never changed"):
        _raw(table, "UPDATE {t} SET title = 'corrected' WHERE id = %s", notice.pk)
    with pytest.raises(DatabaseError, match="never changed"):
        _raw(table, "DELETE FROM {t} WHERE id = %s", notice.pk)
    assert list(Notice.objects.values_list()) == before


def test_an_entry_is_pending_until_its_transaction_commits(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        first = audit_record(actor=None, action="test.one", object_type="x", object_id="1")
        audit_record(actor=None, action="test.two", object_type="x", object_id="1")
        # Recorded with the change, but not in the chain, and the head untouched.
        assert AuditEntry.objects.get(pk=first.pk).seq is None
        assert AuditHead.objects.get().last_seq == 0
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", "action")) == [(1, "test.one"), (2, "test.two")]
    assert AuditHead.objects.get().last_seq == 2 and audit_verify().ok


def test_a_rolled_back_transaction_leaves_no_entry_and_no_gap(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            audit_record(actor=None, action="test.lost", object_type="x", object_id="1")
            raise RuntimeError("the change fails")
        audit_record(actor=None, action="test.kept", object_type="x", object_id="1")
    assert list(AuditEntry.objects.values_list("seq", "action")) == [(1, "test.kept")]
    assert audit_verify().ok


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_triggers_survive_a_flush():
    """A flush (an operator's reset; what transactional tests do between tests) empties the tables but
    leaves them guarded."""
    # Without resetting sequences: on PostgreSQL a reset (RESTART IDENTITY) would outlive this test, and the rows
    # serialized_rollback restores for the next transactional test would then collide with new ids.
    call_command("flush", interactive=False, verbosity=0, reset_sequences=False)
    entry = audit_record(actor=None, action="test.tick", object_type="x", object_id="1")
    assert AuditEntry.objects.get(pk=entry.pk).seq == 1  # chained after its commit
    with pytest.raises(DatabaseError, match="append-only"):
        _raw(AUDIT, "DELETE FROM {t} WHERE id = %s", entry.pk)
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
