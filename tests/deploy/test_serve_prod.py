"""Point 1: bin/serve-prod runs gunicorn and the clock together, refuses to start without a key, and one Ctrl-C
stops everything it started."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.deploy.probe import ROOT, production_env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _group_members(pgid: int) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) == pgid:
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
    return found


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def _status(port: int, path: str, headers: dict[str, str]) -> int:
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with opener.open(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_refuses_to_start_without_a_secret_key(tmp_path):
    env = production_env(tmp_path, PORT=str(_free_port()))
    del env["DJANGO_SECRET_KEY"]
    done = subprocess.run(["bin/serve-prod"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "DJANGO_SECRET_KEY" in done.stderr
    # It stopped before anything else: not even the static files were collected.
    assert not (tmp_path / "static").exists()


def test_refuses_to_start_with_debug_on(tmp_path):
    env = production_env(tmp_path, DJANGO_DEBUG="1")
    done = subprocess.run(["bin/serve-prod"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "DJANGO_DEBUG" in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("search", [False, True], ids=["embedded-search", "elasticsearch"])
def test_serves_with_the_clock_beside_it_and_one_ctrl_c_stops_all(tmp_path, search):
    port = _free_port()
    env = production_env(tmp_path, PORT=str(port), GUNICORN_WORKERS="2", AGORA_CLOCK_INTERVAL="1")
    if search:
        # Nothing listens there: search_sync keeps retrying, which is all this test needs of it.
        env["ELASTICSEARCH_URL"] = f"http://127.0.0.1:{_free_port()}"
    migrated = subprocess.run(
        [".venv/bin/python", "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, capture_output=True
    )
    assert migrated.returncode == 0, migrated.stderr
    # Its own session, like a terminal's foreground job: Ctrl-C reaches the whole group.
    server = subprocess.Popen(
        ["bin/serve-prod"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        body = None
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    body = json.loads(response.read())
                    break
            except OSError:
                time.sleep(0.25)
        assert body == {"status": "ok"}, "gunicorn answered the health probe over plain HTTP"
        members = _group_members(server.pid)
        assert any("gunicorn" in m for m in members)
        assert any("manage.py clock" in m for m in members)
        assert any("manage.py search_sync" in m for m in members) is search, "search_sync iff ELASTICSEARCH_URL"
        assert (tmp_path / "static" / "staticfiles.json").exists(), "serve-prod collected the static files"
        # Through gunicorn, as nginx on the same host sends it: X-Forwarded-Proto from the loopback is believed,
        # the other scheme headers gunicorn knows are not (a proxy would pass them on from the client).
        assert _status(port, "/api/tenders/", {}) == 301
        assert _status(port, "/healthz", {"X-Forwarded-Proto": "https"}) == 200
        assert _status(port, "/api/tenders/", {"X-Forwarded-Proto": "https"}) == 200
        assert _status(port, "/api/tenders/", {"X-Forwarded-Ssl": "on"}) == 301
    finally:
        os.killpg(server.pid, signal.SIGINT)
        output = server.communicate(timeout=60)[0].decode()
    deadline = time.monotonic() + 30
    while _group_members(server.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _group_members(server.pid) == [], output
