"""What every benchmark here does before it measures: Django on a throwaway database, never the
developer's own, with DEBUG off as in production and a fast password hasher (the platform's cost is the
subject, not PBKDF2, as in tests/conftest.py)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def django_setup(tmp: Path, *, database_url: str | None, debug: bool, environment: dict[str, str]) -> None:
    """Point config/settings.py (read once, by django.setup()) at ``tmp``: the SQLite file and the media root
    live there, or ``database_url`` names an empty, throwaway PostgreSQL database. ``environment`` adds the
    benchmark's own settings. Then set Django up; the caller migrates."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DJANGO_DEBUG"] = "1" if debug else "0"
    # DEBUG off (as in production: no query log); the settings then want a key.
    os.environ["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(32)
    os.environ.pop("DATABASE_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ["AGORA_SQLITE_PATH"] = str(tmp / "bench.sqlite3")
    os.environ["AGORA_MEDIA_ROOT"] = str(tmp / "media")
    os.environ.update(environment)
    os.environ.setdefault("AGORA_LOG_LEVEL", "WARNING")

    import django

    django.setup()

    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def free_port() -> int:
    """A free TCP port on the loopback, for a server the benchmark starts."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def result_write(path: str | None, benchmark: str, rows: list[dict[str, object]], **params: object) -> None:
    """For `make bench` (bench/run.py): the benchmark's headline figures as JSON, when ``--json PATH`` asks.

    Each row: ``figure`` (what), ``value`` and ``unit``; ``ceiling`` and ``ceiling_name`` when a ceiling was measured
    in the same run, ``ratio`` (as the goal states it), ``goal`` (text) and ``met`` (bool)."""
    if not path:
        return
    import json

    Path(path).write_text(json.dumps({"benchmark": benchmark, "rows": rows, "params": params}, indent=1))
