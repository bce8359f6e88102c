import itertools

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from core.audit import audit_chain, audit_record, audit_verify
from core.models import AuditEntry
from market.choices import TenderStatus
from tests.dba import append_only_triggers_off


@pytest.fixture
def chain(world):
    """A real chain: a tender taken from draft to published writes several entries."""
    world.in_state(TenderStatus.PUBLISHED)
    assert AuditEntry.objects.count() >= 4
    # The test's transaction never commits, so the after-commit chaining is run here.
    audit_chain()
    return list(AuditEntry.objects.order_by("seq"))


def _sql(statement: str, *params) -> None:
    """Behind the application's back: a database administrator who first switches off the
    append-only triggers (undone with the test's transaction), then rewrites the table."""
    append_only_triggers_off(AuditEntry)
    with connection.cursor() as cursor:
        cursor.execute(statement.replace("{t}", AuditEntry._meta.db_table), params)


def test_intact_chain_verifies(chain):
    result = audit_verify()
    assert result.ok
    assert result.checked == len(chain)


def test_entries_link_to_their_predecessor(chain):
    for previous, entry in itertools.pairwise(chain):
        assert entry.prev_hash == previous.hash
        assert entry.seq == previous.seq + 1


def test_edited_row_is_caught(chain):
    victim = chain[2]
    # Behind the application's back: a database administrator rewrites what an entry says.
    _sql("UPDATE {t} SET action = %s WHERE seq = %s", "tender.harmless", victim.seq)
    result = audit_verify()
    assert not result.ok
    assert result.broken_seq == victim.seq
    assert "altered" in result.reason


def test_edited_json_is_caught(chain):
    victim = chain[1]
    _sql("UPDATE {t} SET after = %s WHERE seq = %s", '{"status": "published"}', victim.seq)
    result = audit_verify()
    assert (result.ok, result.broken_seq) == (False, victim.seq)


def test_deleted_row_in_the_middle_is_caught(chain):
    victim = chain[1]
    _sql("DELETE FROM {t} WHERE seq = %s", victim.seq)
    result = audit_verify()
    assert (result.ok, result.broken_seq) == (False, victim.seq)
    assert "missing" in result.reason


def test_rows_cut_off_the_end_are_caught(chain):
    _sql("DELETE FROM {t} WHERE seq = %s", chain[-1].seq)
    result = audit_verify()
    assert (result.ok, result.broken_seq) == (False, chain[-1].seq)


def test_entry_put_back_to_pending_is_caught(chain):
    """Emptying an entry's chain columns would let the chaining step re-chain it at the end: the gap it
    leaves is still caught."""
    victim = chain[1]
    _sql("UPDATE {t} SET seq = NULL, prev_hash = NULL, hash = NULL WHERE seq = %s", victim.seq)
    result = audit_verify()
    assert (result.ok, result.broken_seq) == (False, victim.seq)
    assert "missing" in result.reason


def test_rehashed_forgery_is_caught_by_the_next_link(chain):
    """Recomputing the edited row's own hash does not help: the next entry still points at the old one."""
    from core.audit import entry_hash

    victim = AuditEntry.objects.get(seq=chain[1].seq)
    victim.action = "forged"
    forged_hash = entry_hash(victim)
    _sql("UPDATE {t} SET action = %s, hash = %s WHERE seq = %s", "forged", forged_hash, victim.seq)
    result = audit_verify()
    assert (result.ok, result.broken_seq) == (False, chain[2].seq)


def test_command_reports_first_broken_entry(chain, capsys):
    call_command("audit_verify")
    assert f"{len(chain)} entries verified" in capsys.readouterr().out
    _sql("UPDATE {t} SET actor_label = %s WHERE seq = %s", "someone-else", chain[3].seq)
    with pytest.raises(CommandError, match=f"BROKEN at entry #{chain[3].seq}"):
        call_command("audit_verify")


def test_application_cannot_update_or_delete_entries(chain):
    entry = AuditEntry.objects.get(seq=chain[0].seq)
    entry.action = "changed"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(seq=1).update(action="x")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()
    assert audit_verify().ok


def test_entry_records_actor_object_and_states(world):
    tender = world.in_state(TenderStatus.DRAFT)
    entry = AuditEntry.objects.filter(action="tender.create").get()
    assert entry.actor == world.purchaser
    assert entry.actor_label == world.purchaser.username
    assert (entry.object_type, entry.object_id) == ("market.tender", str(tender.pk))
    assert entry.before is None and entry.after["status"] == "draft"


def test_system_entries_name_the_clock(db):
    entry = audit_record(actor=None, action="test.tick", object_type="x", object_id="1")
    assert entry.actor is None and entry.actor_label == "system:clock"
