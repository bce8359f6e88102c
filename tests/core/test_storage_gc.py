"""Point 6 (faults): `manage.py storage_gc` removes what killed uploads leave (spool files, stored files no row
names), only once older than the safe age, lists before it removes (dry run by default), audits what it removed,
and never touches a file a row uses, a young file, or a name that is not a content address."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from agencies.services import registration
from bidding import crypto
from core import storage
from core.models import AuditEntry
from market.services import attachments
from tests.deploy.probe import ROOT
from tests.factories import qualification_data

DAY = 24 * 3600


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def _media() -> Path:
    return Path(settings.MEDIA_ROOT)


def _killed_upload() -> Path:
    """A real upload killed mid-stream: a child process spools a body that never ends and gets SIGKILL."""
    script = (
        "import django, time; django.setup()\n"
        "from core import storage\n"
        "class Endless:\n"
        "    def read(self, n):\n"
        "        time.sleep(0.05); return b'x' * 4096\n"
        "with storage.spooled(Endless(), 10**12): pass\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "AGORA_MEDIA_ROOT": str(_media())}
    earlier = set(_media().glob(".upload-*"))
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env)
    try:
        for _ in range(400):
            spools = list(set(_media().glob(".upload-*")) - earlier)
            if spools and spools[0].stat().st_size > 0:
                break
            time.sleep(0.05)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert len(spools) == 1, "the killed upload left its spool file"
    return spools[0]


def _orphan(prefix: str, content: bytes) -> Path:
    """What a process killed between placing a file and committing its row leaves."""
    path = storage.stored_path(prefix, hashlib.sha256(content).hexdigest())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def _files() -> set[str]:
    return {str(p.relative_to(_media())) for p in _media().rglob("*") if p.is_file()}


def _gc(capsys, *argv: str) -> str:
    call_command("storage_gc", *argv)
    return capsys.readouterr().out


@pytest.fixture
def media(world):
    """A media folder as production has it: a sealed bid, an attachment and a qualification scan with their rows,
    all old; then what killed uploads left, old and young."""
    tender = world.in_state("published")
    bid = world.sealed_bid(tender, world.agency.organisation)
    draft = world.draft()
    attachments.attachment_add(actor=world.purchaser, tender_id=draft.pk, name="需求.pdf", stream=io.BytesIO(b"%PDF-1"))
    registration.qualification_add(
        actor=world.agency, data=qualification_data(), stream=io.BytesIO(b"scan"), file_name="资质.pdf"
    )
    used = _files()
    assert len(used) == 3
    for name in used:
        _age(_media() / name, 2 * DAY)
    old_spool = _killed_upload()
    _age(old_spool, 2 * DAY)
    young_spool = _killed_upload()
    garbage = {
        _orphan("bids", b"sealed bytes whose row never committed"): 2 * DAY,
        _orphan("attachments", b"an attachment whose row never committed"): 2 * DAY,
        _orphan("qualifications", b"a scan whose row never committed"): 2 * DAY,
    }
    young_orphan = _orphan("bids", b"a bid being uploaded right now")
    stranger = _media() / "bids" / "notes.txt"
    stranger.write_text("someone's file")
    _age(stranger, 10 * DAY)
    for path, age in garbage.items():
        _age(path, age)
    return {
        "bid": bid,
        "used": used,
        "old": {str(p.relative_to(_media())) for p in [old_spool, *garbage]},
        "kept": {str(p.relative_to(_media())) for p in [young_spool, young_orphan, stranger]},
    }


@pytest.mark.django_db
def test_a_dry_run_lists_the_garbage_and_changes_nothing(media, capsys):
    before, audit_before = _files(), AuditEntry.objects.count()
    out = _gc(capsys)
    for name in media["old"]:
        assert Path(name).name in out
    assert "would remove 1 spool file(s) and 3 unreferenced file(s)" in out
    assert "left alone (not a content address): bids/notes.txt" in out
    assert "dry run: nothing was removed" in out
    assert _files() == before and AuditEntry.objects.count() == audit_before


@pytest.mark.django_db
def test_delete_removes_only_old_garbage_and_audits_it(media, capsys):
    out = _gc(capsys, "--delete")
    assert "removed 1 spool file(s) and 3 unreferenced file(s)" in out
    assert _files() == media["used"] | media["kept"]
    entry = AuditEntry.objects.filter(action="storage.gc").get()
    assert entry.actor_label == "system:storage_gc"
    removed = {row["name"] for row in entry.after["unreferenced"]} | {row["name"] for row in entry.after["spools"]}
    assert removed == media["old"]
    assert entry.after["bytes"] > 0
    # The bid it kept is whole: its sealed file still has the digest the row and the receipt name.
    bid = media["bid"]
    assert crypto.digest_file(storage.stored_path("bids", bid.ciphertext_digest)) == bid.ciphertext_digest

    # Run twice: nothing more to do, and no second entry.
    assert "removed 0 spool file(s) and 0 unreferenced file(s)" in _gc(capsys, "--delete")
    assert AuditEntry.objects.filter(action="storage.gc").count() == 1


@pytest.mark.django_db
def test_a_safe_age_under_an_hour_is_refused_and_nothing_moves(media, capsys):
    before, audit_before = _files(), AuditEntry.objects.count()
    with pytest.raises(CommandError, match="at least 1 hour"):
        call_command("storage_gc", "--delete", "--older-than", "0.1")
    assert _files() == before and AuditEntry.objects.count() == audit_before


@pytest.mark.django_db
def test_a_file_shared_again_is_young_again(world, capsys):
    """An old unreferenced file that a new upload of the same bytes is about to use is touched by place(): the
    collector, which looks at the age just before it removes, leaves it to the transaction that is using it."""
    content = b"%PDF same bytes"
    old = _orphan("attachments", content)
    _age(old, 3 * DAY)
    draft = world.draft()
    attachments.attachment_add(actor=world.purchaser, tender_id=draft.pk, name="a.pdf", stream=io.BytesIO(content))
    assert time.time() - old.stat().st_mtime < 60
    assert "removed 0 spool file(s) and 0 unreferenced file(s)" in _gc(capsys, "--delete")
    assert old.exists()
