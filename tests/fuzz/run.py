"""Hostile input against the API: schemathesis runs docs/openapi.yaml against a live server, once per role.

``make fuzz`` runs this. It makes a fresh SQLite database under var/fuzz/, loads the demo, serves it on a
free local port, logs in each role once (POST /api/auth/token/) and runs schemathesis with a fixed seed and a
bounded number of examples per operation. It fails when any response is a 5xx, breaks the documented
schema, or has a status the schema does not document.

    .venv/bin/python tests/fuzz/run.py                       # every role
    .venv/bin/python tests/fuzz/run.py --role agency -n 50   # one role, more examples
    FUZZ_SEED=7 make fuzz                                    # another seed

A failure is printed with a curl command that reproduces it; the server's database and log stay in var/fuzz/ until
the next run, the JUnit reports in var/fuzz/reports/<role>/.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
SCHEMA = ROOT / "docs" / "openapi.yaml"
WORK = ROOT / "var" / "fuzz"
CONFIG = Path(__file__).resolve().parent / "schemathesis.toml"

# The demo's published password (demo/management/commands/demo_load.py, DEFAULT_PASSWORD), read from there so the
# two never drift apart.
_LOADER = ROOT / "demo" / "management" / "commands" / "demo_load.py"
_PASSWORD = re.search(r'^DEFAULT_PASSWORD = "([^"]+)"', _LOADER.read_text(encoding="utf-8"), re.MULTILINE)
assert _PASSWORD is not None, "demo_load.DEFAULT_PASSWORD moved"
DEMO_PASSWORD = _PASSWORD.group(1)

# Each role and the demo user who plays it (demo/data/organisations.toml); anonymous sends no credentials.
ROLES: dict[str, str | None] = {
    "anonymous": None,
    "purchaser": "purchaser1",
    "agency": "agency1",
    "operator": "operator",
    "supervisor": "supervisor",
}

CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"

# Operations left out, and why. Everything else in the schema is fuzzed for every role.
EXCLUDED_WITH_TOKEN = {
    # Logging out revokes the token the rest of the run uses: every later request would only test the 401.
    # Anonymous callers still fuzz both (they have no token to lose).
    "/api/auth/logout/": "revokes the run's own token",
    "/api/auth/logout-all/": "revokes the run's own token",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_DEBUG": "1",
            "AGORA_SQLITE_PATH": str(WORK / "agora.sqlite3"),
            "AGORA_MEDIA_ROOT": str(WORK / "media"),
            "AGORA_CA_KEY_FILE": str(WORK / "ca" / "ca-key.pem"),
            "AGORA_CA_CERT_FILE": str(WORK / "ca" / "ca-cert.pem"),
            "AGORA_DEMO_KEY_DIR": str(WORK / "demo-keys"),
            # The login and registration throttles count failed attempts per account and per address; the fuzzer
            # fails thousands of times from one address. Raised so it reaches the views behind them (the throttles
            # have their own tests: tests/accounts/test_tokens_and_throttling.py).
            "AGORA_LOGIN_FAILURES_PER_ACCOUNT": "1000000",
            "AGORA_LOGIN_FAILURES_PER_ADDRESS": "1000000",
            "AGORA_REGISTRATIONS_PER_ACCOUNT": "1000000",
            "AGORA_REGISTRATIONS_PER_ADDRESS": "1000000",
            "AGORA_LOG_LEVEL": "ERROR",
            "ELASTICSEARCH_URL": "",
            "DATABASE_URL": "",
        }
    )
    env.pop("REDIS_URL", None)
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def prepare(env: dict[str, str]) -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    manage(env, "migrate", "--no-input", "-v0")
    manage(env, "ca_init", "--if-missing")
    manage(env, "demo_load")
    manage(env, "search_reindex", "--if-empty")


def wait_for(url: str, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"fuzz: the server exited ({server.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise SystemExit(f"fuzz: {url} did not answer within {seconds:.0f}s")


def token(base: str, username: str) -> str:
    body = json.dumps({"username": username, "password": DEMO_PASSWORD}).encode()
    request = urllib.request.Request(
        f"{base}/api/auth/token/", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.load(response)["token"])


def schemathesis(base: str, role: str, token_: str | None, *, examples: int, seed: int) -> int:
    command = [
        str(Path(PY).parent / "st"),
        "--config-file",
        str(CONFIG),
        "run",
        str(SCHEMA),
        "--url",
        base,
        "--checks",
        CHECKS,
        "--max-examples",
        str(examples),
        "--seed",
        str(seed),
        # The schema's examples, then random data, valid and not. Not the coverage phase: its boundary values run
        # to thousands of requests per role whatever the budget, and not the stateful one (unbounded as well).
        "--phases",
        "examples,fuzzing",
        "--workers",
        "1",  # one at a time: the run, and so a failure, follows from the seed
        "--generation-database",
        "none",
        "--generation-with-security-parameters",
        "false",  # the role's own token, never made-up credentials
        "--request-timeout",
        "30",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(WORK / "reports" / role),
    ]
    if token_ is not None:
        command += ["--header", f"Authorization: Token {token_}"]
        for path in EXCLUDED_WITH_TOKEN:
            command += ["--exclude-path", path]
    print(f"\n== fuzz: {role} (seed {seed}, at most {examples} examples per operation)", flush=True)
    return subprocess.run(command, cwd=ROOT, check=False).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--role", action="append", choices=sorted(ROLES), help="only this role (repeatable)")
    parser.add_argument("-n", "--max-examples", type=int, default=int(os.environ.get("FUZZ_EXAMPLES", "10")))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", "20261")))
    args = parser.parse_args()
    roles = args.role or list(ROLES)

    started = time.monotonic()
    env = environment()
    print("== fuzz: a fresh database with the demo data in var/fuzz/", flush=True)
    prepare(env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [PY, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(WORK / "server.log", "wb"),  # noqa: SIM115 - the server's, closed when it exits
    )
    failed: list[str] = []
    try:
        wait_for(f"{base}/healthz", server)
        # Every token first: the agency's must exist before, say, the operator's run suspends that agency.
        tokens = {role: token(base, user) if user else None for role, user in ROLES.items() if role in roles}
        for role in roles:
            if schemathesis(base, role, tokens[role], examples=args.max_examples, seed=args.seed) != 0:
                failed.append(role)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"\n== fuzz: {len(roles)} role(s) in {time.monotonic() - started:.0f}s; seed {args.seed}", flush=True)
    if failed:
        print(f"fuzz: failures for {', '.join(failed)} (server log: {WORK / 'server.log'})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
