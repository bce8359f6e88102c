"""Production settings are read once, at import: to test them the site runs in a child process with a clean
environment (DEBUG off, as `bin/serve-prod` runs it). ``python -m tests.deploy.probe '<json requests>'`` sends
the requests through Django's test client there and prints the responses as JSON; ``probe()`` does that from a
test."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def production_env(tmp: Path, **extra: str) -> dict[str, str]:
    """A clean environment like a production host's: no DJANGO_DEBUG, a fresh 50+ character key, and the
    database, static and media folders under ``tmp``."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "AGORA_SQLITE_PATH": str(tmp / "agora.sqlite3"),
        "AGORA_STATIC_ROOT": str(tmp / "static"),
        "AGORA_MEDIA_ROOT": str(tmp / "media"),
        "AGORA_LOG_LEVEL": "ERROR",
    }
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def probe(env: dict[str, str], requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each request: {"path", "method" (GET), "secure" (False), "headers" ({})}; each response: status, headers,
    body (the first 20,000 characters) and length."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.deploy.probe", json.dumps(requests)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def _main(requests: list[dict[str, Any]]) -> None:
    import django

    django.setup()
    from django.test import Client

    client = Client()
    out = []
    for r in requests:
        response = client.generic(
            r.get("method", "GET"), r["path"], secure=r.get("secure", False), headers=r.get("headers", {})
        )
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        text = raw.decode("utf-8", "replace")
        cookies = {name: {"secure": bool(m["secure"])} for name, m in response.cookies.items()}
        out.append(
            {
                "status": response.status_code,
                "headers": dict(response.headers),
                "cookies": cookies,
                "body": text[:20000],
                "length": len(raw),
            }
        )
    print(json.dumps(out))


if __name__ == "__main__":
    _main(json.loads(sys.argv[1]))


def gunicorn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """The production server as bin/serve-prod starts it (without the clock), in its own process group, its output
    in ``log`` (a file, not a pipe, which a chatty server could fill), once it answers ``/healthz``."""
    import time
    import urllib.request

    with open(log, "wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    probe = urllib.request.Request(f"http://127.0.0.1:{env['PORT']}/healthz", headers={"X-Forwarded-Proto": "https"})
    for _ in range(200):
        if server.poll() is not None:
            raise AssertionError(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(probe, timeout=2) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.15)
    server.kill()
    raise AssertionError(f"gunicorn did not answer /healthz within 30 s: {log.read_text()[-2000:]}")
