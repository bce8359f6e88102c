"""Point 6 (faults), for real: the production server (gunicorn, persistent connections with health checks) on a
PostgreSQL cluster this test starts on its own port, stops, and starts again. While it is down the API answers
JSON 503 ``service_unavailable`` and the pages a plain 503 page, never a traceback or an HTML 500; once it is up
again the same workers answer 200, without a restart."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.probe import ROOT, gunicorn, production_env
from tests.deploy.test_serve_prod import _free_port


def _pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


class Cluster:
    """A throwaway PostgreSQL cluster in a temporary folder (run as ``postgres`` when the tests run as root:
    PostgreSQL refuses to run as root)."""

    def __init__(self, bin_dir: Path, port: int) -> None:
        self.bin, self.port = bin_dir, port
        self.dir = Path(tempfile.mkdtemp(prefix="agora-outage-"))
        self.data, self.log = self.dir / "data", self.dir / "server.log"
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *argv: str) -> None:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (command, done.stdout, done.stderr, self.log_text())

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL's server programs are not installed (.ci/run installs them)")
    running = Cluster(bin_dir, _free_port())
    try:
        running.init()
        running.start()
        yield running
    finally:
        running.remove()


def _get(port: int, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"X-Forwarded-Proto": "https", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return int(response.status), dict(response.headers), bytes(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code), dict(exc.headers), bytes(exc.read())


@pytest.mark.slow
def test_a_stopped_database_gives_503s_and_the_site_recovers_without_a_restart(cluster, tmp_path):
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres", autocommit=True) as admin:
        admin.execute("CREATE DATABASE agora")
    port = _free_port()
    env = production_env(
        tmp_path,
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{cluster.port}/agora",
        PORT=str(port),
        GUNICORN_WORKERS="2",
    )
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, capture_output=True
    )
    assert migrated.returncode == 0, migrated.stderr
    server = gunicorn(env, tmp_path / "gunicorn.log")
    try:
        # Up: every worker has opened its persistent connection.
        for _ in range(6):
            assert _get(port, "/api/tenders/")[0] == 200
            assert _get(port, "/")[0] == 200

        cluster.stop()
        for _ in range(4):  # each of the two workers, twice
            status, headers, body = _get(port, "/api/tenders/")
            assert status == 503, body[:500]
            assert headers["Content-Type"] == "application/json"
            answer = json.loads(body)
            assert answer["code"] == "service_unavailable" and answer["detail_zh"]
            assert int(headers["Retry-After"]) > 0
            status, _, body = _get(port, "/api/auth/token/", **{"Content-Type": "application/json"})
            assert status in (405, 503)  # GET on a POST door: refused before or after the database, never a 500
            status, headers, body = _get(port, "/")
            assert status == 503 and headers["Content-Type"].startswith("text/html")
            page = body.decode()
            assert "服务暂时不可用" in page and "Traceback" not in page and "psycopg" not in page
            assert _get(port, "/healthz")[0] == 503

        cluster.start()
        # The same processes, new connections: the first requests after the restart already work.
        for _ in range(6):
            status, _, body = _get(port, "/api/tenders/")
            assert status == 200, body[:500]
            assert json.loads(body)["results"] == []
            assert _get(port, "/")[0] == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
