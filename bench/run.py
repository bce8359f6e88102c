"""`make bench`: every benchmark, one table.

Runs each benchmark here as its own process, with ``--json``, and prints its headline figures in one table: the value,
the ceiling measured in the same run where there is one, the ratio as the goal states it, the goal, and whether it is
met. Each figure is a median of several rounds (the benchmark's own ``--repeat``). Beside the table: the machine's
load average while the benchmarks ran, and what else used the CPU in that time (processes that are not ours), since
these machines are shared and a goal met only on an idle machine is not met.

    .venv/bin/python bench/run.py            # the full sizes (about 10 minutes)
    .venv/bin/python bench/run.py --quick    # smaller sizes, the same figures (under 5 minutes)
    .venv/bin/python bench/run.py --only rush --only opening

Each benchmark's whole output goes to var/bench/<name>.log. The rush needs PostgreSQL on 127.0.0.1:5432 (a throwaway
database ``agora_bench_rush``, made and dropped by it); without one its row says so.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "var" / "bench"

# name -> (script, full arguments, quick arguments)
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "rush": ("rush.py", ["--agencies", "150", "--repeat", "3"], ["--agencies", "80", "--repeat", "3"]),
    "opening": ("opening.py", ["--bids", "1000", "--repeat", "3"], ["--bids", "300", "--repeat", "3"]),
    "search": ("search.py", ["--tenders", "100000"], ["--tenders", "20000", "--repeat", "100", "--no-http"]),
}


def _postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def _cpu_ticks() -> dict[int, tuple[str, int]]:
    """Every process's CPU ticks so far (user + system) and its name, from /proc."""
    ticks = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks[int(entry.name)] = (name, int(fields[11]) + int(fields[12]))
    return ticks


class Machine(threading.Thread):
    """Samples the load average every second; the CPU others used is the difference of two /proc readings."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.loads: list[float] = []
        self.stop = threading.Event()
        self.before = _cpu_ticks()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            self.loads.append(os.getloadavg()[0])

    def others(self, ours: set[int]) -> list[tuple[str, float]]:
        """CPU seconds used during the run by processes still alive at its end, which are not ours (ours have all
        ended by then). One that started and ended within the run is not seen here: the load average covers it."""
        hertz = os.sysconf("SC_CLK_TCK")
        used: dict[str, float] = {}
        for pid, (name, ticks) in _cpu_ticks().items():
            if pid in ours:
                continue
            earlier = self.before.get(pid)
            delta = (ticks - (earlier[1] if earlier and earlier[0] == name else 0)) / hertz
            if delta > 0.05:
                used[name] = used.get(name, 0.0) + delta
        return sorted(used.items(), key=lambda item: -item[1])[:5]


def run_one(name: str, quick: bool) -> dict[str, Any]:
    script, full, small = BENCHMARKS[name]
    if name == "rush" and not _postgres_answers():
        return {"benchmark": name, "skipped": "no PostgreSQL on 127.0.0.1:5432"}
    out = LOGS / f"{name}.json"
    out.unlink(missing_ok=True)
    log = LOGS / f"{name}.log"
    command = [sys.executable, str(ROOT / "bench" / script), *(small if quick else full), "--json", str(out)]
    started = time.perf_counter()
    print(f"bench: {name} ({' '.join(command[2:-2])}) ...", end="", flush=True)
    with open(log, "wb") as sink:
        done = subprocess.run(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, check=False)
    seconds = time.perf_counter() - started
    print(f" {seconds:.0f} s", flush=True)
    if done.returncode != 0 or not out.exists():
        return {"benchmark": name, "failed": f"exit {done.returncode}; see {log.relative_to(ROOT)}"}
    result: dict[str, Any] = json.loads(out.read_text())
    result["seconds"] = seconds
    return result


def _number(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"


def table(results: list[dict[str, Any]]) -> list[str]:
    head = f"{'figure':<62} {'value':>14} {'p99':>8} {'ceiling, same run':>30} {'ratio':>6}  {'goal':<38} verdict"
    lines = [head, "-" * len(head)]
    for result in results:
        if "rows" not in result:
            reason = result.get("skipped") or result.get("failed")
            lines.append(f"{result['benchmark']:<62} not run: {reason}")
            continue
        for row in result["rows"]:
            ceiling = row.get("ceiling")
            ceiling_cell = f"{_number(ceiling)} {row.get('ceiling_name', '')}" if ceiling is not None else "–"
            p99 = f"{row['p99_ms']:.0f} ms" if row.get("p99_ms") is not None else "–"
            lines.append(
                f"{row['figure'][:62]:<62} {_number(row['value']) + ' ' + row['unit']:>14} {p99:>8}"
                f" {ceiling_cell[:30]:>30} {_number(row.get('ratio')):>6}  {row['goal'][:38]:<38}"
                f" {'met' if row['met'] else 'NOT MET'}"
            )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes: under 5 minutes")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), help="only this benchmark (repeatable)")
    args = parser.parse_args()
    LOGS.mkdir(parents=True, exist_ok=True)
    machine = Machine()
    machine.start()
    started = time.perf_counter()
    results = [run_one(name, args.quick) for name in (args.only or list(BENCHMARKS))]
    machine.stop.set()
    elapsed = time.perf_counter() - started

    print()
    print(f"make bench{' (quick)' if args.quick else ''}: {len(results)} benchmark(s) in {elapsed:.0f} s, "
          f"{os.cpu_count()} CPUs; each figure is a median of its benchmark's rounds")  # fmt: skip
    print("\n".join(table(results)))
    loads = machine.loads or [os.getloadavg()[0]]
    print(f"\nload average while it ran: median {statistics.median(loads):.2f}, max {max(loads):.2f}")
    others = machine.others({os.getpid()})
    busy = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in others) or "nothing measurable"
    print(f"CPU used meanwhile by processes not ours: {busy} (of {elapsed * (os.cpu_count() or 1):.0f} CPU s on offer)")
    print(f"each benchmark's whole output: {LOGS.relative_to(ROOT)}/<name>.log; how to read it: bench/README.md")
    return 1 if any("failed" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
