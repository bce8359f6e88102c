"""The deadline rush over HTTP (speed issue, point 2): N agencies upload sealed bids of SIZE bytes, C at a time, to
one tender, through the production server (gunicorn, sync workers) on PostgreSQL; beside it, in the same run, the
ceiling the disk allows: the same number of durable writes of SIZE bytes (write, fsync the file, rename, fsync the
folder) at the same concurrency. Goal: accepted bids a second at least 50 % of the ceiling, p99 under 250 ms.

    .venv/bin/python bench/rush.py                              # 150 agencies, 1 MiB, 16 at a time, 3 rounds
    .venv/bin/python bench/rush.py --agencies 40 --repeat 1     # a quick look

Setup is not timed and goes through the real services (bench/opening.py's): key holders, N agencies registered,
qualified, admitted and certified, one API token each. Each round publishes a new tender, builds N sealed bids
(random documents, so nothing compresses or deduplicates), measures the ceiling, then the rush, then checks that all
N bids were stored. The database is made fresh (its name says bench) and dropped at the end; the media root, CA and
gunicorn's log live in a temporary directory. The figures are medians over the rounds; the load average is printed
beside them, since this machine is shared.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchenv import free_port, result_write  # noqa: E402 - bench/ is the script's own directory
from opening import configure, make_bidder, make_staff, publish_tender  # noqa: E402

GOAL_RATIO, GOAL_P99_MS = 0.5, 250.0


def _fresh_database(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"--database-url must name a throwaway database with 'bench' in its name, not {name!r}")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin, name


def _drop_database(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def durable_writes(folder: Path, count: int, size: int, concurrency: int) -> tuple[float, list[float]]:
    """The ceiling: ``count`` files of ``size`` random bytes written as the platform stores a bid. Returns
    (writes a second, latencies in seconds)."""
    folder.mkdir(parents=True, exist_ok=True)
    payloads = [os.urandom(size) for _ in range(min(count, 8))]

    def one(i: int) -> float:
        started = time.perf_counter()
        tmp = folder / f".w-{i}"
        with open(tmp, "wb") as out:
            out.write(payloads[i % len(payloads)])
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, folder / f"f-{i}")
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(one, range(count)))
    wall = time.perf_counter() - started
    shutil.rmtree(folder)
    return count / wall, latencies


Upload = tuple[str, str, dict[str, str], Path]  # token, API path, form fields, sealed file


def rush(base: str, uploads: list[Upload], concurrency: int) -> tuple[float, list[float]]:
    """Every upload through the agency's client code, ``concurrency`` at a time. Returns (accepted a second,
    latencies in seconds); any refusal stops the benchmark."""
    from bidding.client.api import Api
    from bidding.client.api import Upload as Part

    def one(upload: Upload) -> float:
        token, path, fields, file = upload
        api = Api(base, token, timeout=120)
        started = time.perf_counter()
        status, _answer = api.post_multipart(path, fields, [Part(field="file", path=str(file), filename="bid")])
        latency = time.perf_counter() - started
        if status != 201:
            raise SystemExit(f"rush: an upload answered {status}")
        return latency

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(one, uploads))
    wall = time.perf_counter() - started
    return len(uploads) / wall, latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class LoadSampler(threading.Thread):
    """The machine's 1-minute load average, sampled every second while the benchmark runs."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            self.samples.append(os.getloadavg()[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/agora_bench_rush")
    parser.add_argument("--agencies", type=int, default=150)
    parser.add_argument("--size", type=int, default=1024 * 1024, help="bytes of document per bid (default 1 MiB)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers (default 3)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="also write the headline figures to this file (bench/run.py reads it)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="agora-rush-"))
    admin, name = _fresh_database(args.database_url)
    server: subprocess.Popen[bytes] | None = None
    try:
        print(f"setup: {args.agencies} agencies on {name} (not timed)", flush=True)
        configure(tmp, database_url=args.database_url, debug=False)
        from django.conf import settings

        from accounts.tokens import token_create
        from bidding.client.steps import build_sealed_bid
        from bidding.models import Bid, OpeningKey
        from core import clock
        from market.models import Tender

        clock.reset()  # the server in the other process reads the real clock
        staff = make_staff()
        bidders = [make_bidder(staff.operator) for _ in range(args.agencies)]
        tokens = [token_create(user=b.member)[0] for b in bidders]

        port = free_port()
        env = {
            **os.environ,
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": args.database_url,
            "AGORA_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "AGORA_SSL_REDIRECT": "0",
            "PORT": str(port),
            "GUNICORN_WORKERS": str(args.workers),
            "GUNICORN_ACCESS_LOG": "/dev/null",
            "AGORA_LOG_LEVEL": "WARNING",
        }
        env.pop("ELASTICSEARCH_URL", None)
        log = open(tmp / "gunicorn.log", "wb")  # noqa: SIM115 - gunicorn's, closed with it
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        from bidding.client.api import Api, ClientError

        for _ in range(300):
            try:
                Api(base, timeout=2).get_text("/healthz")
                break
            except ClientError:
                time.sleep(0.1)
        else:
            raise SystemExit(f"gunicorn did not start: {(tmp / 'gunicorn.log').read_text()[-2000:]}")

        sampler = LoadSampler()
        sampler.start()
        rows = []
        for rnd in range(1, args.repeat + 1):
            tender = publish_tender(staff)
            Tender.objects.filter(pk=tender.pk).update(bid_deadline=clock.now() + timedelta(days=1))
            public = bytes.fromhex(OpeningKey.objects.get(tender=tender).public_key)
            folder = tmp / f"round-{rnd}"
            folder.mkdir()
            uploads = []
            for i, (bidder, token) in enumerate(zip(bidders, tokens, strict=True)):
                form = {"tender": tender.reference, "agency": bidder.uscc, "price": f"{90000 + i}.00",
                        "duration_days": 40, "commitments": []}  # fmt: skip
                sealed = build_sealed_bid(
                    form=form,
                    documents=[("投标文件.pdf", os.urandom(args.size))],
                    certificate=bidder.serial,
                    private_key=bidder.key,
                    opening_public=public,
                )
                file = folder / f"{i}.sealed"
                file.write_bytes(sealed.envelope)
                fields = {"certificate": bidder.serial, "signature": sealed.signature, "idempotency_key": f"r{i}"}
                uploads.append((token, f"/api/tenders/{tender.pk}/bids/", fields, file))
            load_before = os.getloadavg()[0]
            ceiling, write_latencies = durable_writes(
                Path(settings.MEDIA_ROOT) / "ceiling", args.agencies, len(sealed.envelope), args.concurrency
            )
            rate, latencies = rush(base, uploads, args.concurrency)
            stored = Bid.objects.filter(tender=tender).count()
            if stored != args.agencies:
                raise SystemExit(f"round {rnd}: {stored} bids stored of {args.agencies}")
            shutil.rmtree(folder)
            row = {
                "rate": rate,
                "p50": percentile(latencies, 0.5) * 1000,
                "p99": percentile(latencies, 0.99) * 1000,
                "ceiling": ceiling,
                "ceiling_p99": percentile(write_latencies, 0.99) * 1000,
                "load": (load_before + os.getloadavg()[0]) / 2,
            }
            rows.append(row)
            print(
                f"round {rnd}: rush {row['rate']:.1f} bids/s (p50 {row['p50']:.0f} ms, p99 {row['p99']:.0f} ms); "
                f"ceiling {row['ceiling']:.1f} writes/s (p99 {row['ceiling_p99']:.0f} ms); "
                f"ratio {row['rate'] / row['ceiling']:.2f}; load {row['load']:.2f}",
                flush=True,
            )
        sampler.stop.set()

        def med(key: str) -> float:
            return statistics.median(r[key] for r in rows)

        ratio = statistics.median(r["rate"] / r["ceiling"] for r in rows)
        print()
        print(
            f"deadline rush, {args.agencies} bids of {args.size} bytes, {args.concurrency} at a time, gunicorn "
            f"{args.workers} sync workers, PostgreSQL; medians of {len(rows)} round(s)"
        )
        print(f"{'':24}{'per second':>12}{'p50 ms':>9}{'p99 ms':>9}")
        print(f"{'rush (HTTP)':24}{med('rate'):12.1f}{med('p50'):9.0f}{med('p99'):9.0f}")
        print(f"{'ceiling (durable write)':24}{med('ceiling'):12.1f}{'':9}{med('ceiling_p99'):9.0f}")
        met = ratio >= GOAL_RATIO and med("p99") < GOAL_P99_MS
        print(
            f"ratio rush/ceiling {ratio:.2f} (goal >= {GOAL_RATIO}); p99 {med('p99'):.0f} ms "
            f"(goal < {GOAL_P99_MS:.0f}): {'met' if met else 'not met'}"
        )
        result_write(
            args.json,
            "rush",
            [
                {
                    "figure": f"deadline rush, {args.agencies} x {args.size // 1024} KiB, {args.concurrency} at once, "
                    "HTTP, PostgreSQL",
                    "p99_ms": med("p99"),
                    "value": med("rate"),
                    "unit": "bids/s",
                    "ceiling": med("ceiling"),
                    "ceiling_name": "durable writes/s",
                    "ratio": ratio,
                    "goal": f">= {GOAL_RATIO} of the ceiling, p99 < {GOAL_P99_MS:.0f} ms",
                    "met": met,
                }
            ],
            agencies=args.agencies,
            size=args.size,
            concurrency=args.concurrency,
            workers=args.workers,
            rounds=len(rows),
        )
        loads = sampler.samples or [os.getloadavg()[0]]
        print(f"load average while it ran: median {statistics.median(loads):.2f}, max {max(loads):.2f} "
              f"({os.cpu_count()} CPUs)")  # fmt: skip
        return 0
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may not be set up when the setup itself failed
            pass
        _drop_database(admin, name)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
