"""How many PostgreSQL connections does production hold under load? (issue 12, point 5)

Starts the site as production does (`bin/serve-prod`: gunicorn with --workers sync workers, and the clock beside
it), fires --requests GET requests at public listing endpoints from --concurrency client threads, and samples
``pg_stat_activity`` for the database every few milliseconds meanwhile. Prints the status counts, the latency, the
most connections seen at once and the bound they must stay under: one per worker thread plus the clock.

    createdb -h 127.0.0.1 -U postgres agora_bench   # a throwaway database: migrations run there
    .venv/bin/python bench/connections.py --database-url postgres://postgres@127.0.0.1:5432/agora_bench

Plain HTTP on 127.0.0.1, so the HTTPS redirect is off for the run (AGORA_SSL_REDIRECT=0); everything else is
the production default (DEBUG off, persistent connections with AGORA_DB_CONN_MAX_AGE's default).
``--server runserver --conn-max-age 60`` runs the old way instead (`manage.py runserver`, a thread and so a
connection per request, each kept 60 s) for comparison; its bound is then not met.
"""

from __future__ import annotations

import argparse
import collections
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg
from benchenv import free_port  # bench/ is the script's own directory

ROOT = Path(__file__).resolve().parent.parent
PATHS = ["/api/tenders/", "/api/search/tenders/?q=" + quote("造价"), "/api/public/agencies/", "/api/notices/"]


def _admin_url(url: str) -> tuple[str, str]:
    """The server's maintenance database (to sample from without counting ourselves) and the target's name."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    return parts._replace(path="/postgres").geturl(), name


def _ensure_database(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


class Sampler(threading.Thread):
    """Counts the target database's connections every ``interval`` seconds until stopped."""

    def __init__(self, admin: str, name: str, interval: float) -> None:
        super().__init__(daemon=True)
        self.admin, self.name, self.interval = admin, name, interval
        self.samples: list[int] = []
        self.stop = threading.Event()

    def count(self, conn: psycopg.Connection[tuple[int]]) -> int:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (self.name,)).fetchone()
        return int(row[0]) if row else 0

    def run(self) -> None:
        with psycopg.connect(self.admin, autocommit=True) as conn:
            while not self.stop.is_set():
                self.samples.append(self.count(conn))
                time.sleep(self.interval)


def _get(url: str) -> tuple[int | str, float]:
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
            status: int | str = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        status = type(exc).__name__
    return status, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/agora_bench")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--conn-max-age", help="AGORA_DB_CONN_MAX_AGE for the run (default: the settings' own)")
    parser.add_argument("--server", choices=["gunicorn", "runserver"], default="gunicorn")
    args = parser.parse_args()

    admin, name = _admin_url(args.database_url)
    _ensure_database(admin, name)
    tmp = Path(tempfile.mkdtemp(prefix="agora-bench-conn-"))
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "LANG": "C.UTF-8",
        "DATABASE_URL": args.database_url,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "AGORA_SSL_REDIRECT": "0",
        "AGORA_STATIC_ROOT": str(tmp / "static"),
        "AGORA_MEDIA_ROOT": str(tmp / "media"),
        "AGORA_LOG_LEVEL": "WARNING",
        "GUNICORN_WORKERS": str(args.workers),
        "GUNICORN_ACCESS_LOG": str(tmp / "access.log"),
        "PORT": str(port),
    }
    if args.conn_max_age is not None:
        env["AGORA_DB_CONN_MAX_AGE"] = args.conn_max_age
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)

    sampler = Sampler(admin, name, 0.02)
    idle = None
    command = ["bin/serve-prod"]
    if args.server == "runserver":
        # As bin/serve ran it in production before: threaded, one thread per request, no clock.
        command = [python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        env=dict(env, PY=python),
        stdout=open(tmp / "serve.log", "wb"),  # noqa: SIM115 - lives as long as the server
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(240):
            if _get(base + "/healthz")[0] == 200:
                break
            time.sleep(0.25)
        else:
            print("the server did not answer; see", tmp / "serve.log")
            return 1
        time.sleep(1.5)  # the clock's first pass
        with psycopg.connect(admin, autocommit=True) as conn:
            idle = sampler.count(conn)
        sampler.start()
        urls = [base + PATHS[i % len(PATHS)] for i in range(args.requests)]
        start = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            results = list(pool.map(_get, urls))
        elapsed = time.perf_counter() - start
        time.sleep(0.5)
        sampler.stop.set()
        sampler.join()
        with psycopg.connect(admin, autocommit=True) as conn:
            after = sampler.count(conn)
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=60)

    statuses = collections.Counter(status for status, _ in results)
    latencies = sorted(seconds for _, seconds in results)
    bound = args.workers + 1
    peak = max(sampler.samples)
    served_by = f"gunicorn {args.workers} sync workers + the clock" if args.server == "gunicorn" else "runserver"
    print(f"database {name}; {served_by}; bound on connections (workers + the clock): {bound}")
    rate = len(results) / elapsed
    print(f"requests {len(results)} from {args.concurrency} client threads in {elapsed:.1f} s ({rate:.0f}/s)")
    print(f"status counts: {dict(statuses)}")
    median, p99 = statistics.median(latencies), latencies[int(len(latencies) * 0.99)]
    print(f"latency: median {median * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    print(
        f"connections (pg_stat_activity, datname={name}): before the load {idle}, peak during it {peak} "
        f"({len(sampler.samples)} samples), after it {after}"
    )
    ok = peak <= bound and set(statuses) == {200}
    print("OK: connections stayed within the bound and every request succeeded" if ok else "NOT OK")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
