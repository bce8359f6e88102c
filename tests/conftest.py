from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from core import clock
from tests.factories import World

# A Monday morning in Jiangzhou: fixed, so working-day rules give the same answer every run.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[datetime]:
    """Every test starts with the platform clock stopped at T0; tests move it explicitly."""
    clock.freeze(T0)
    yield T0
    clock.reset()


@pytest.fixture(scope="session")
def ca_files(tmp_path_factory):  # type: ignore[no-untyped-def]
    """One test CA for the run, made at T0 (the frozen clock), never the developer's own."""
    from agencies.ca import ca_create_files

    root = tmp_path_factory.mktemp("ca")
    clock.freeze(T0)
    try:
        ca_create_files(key_file=root / "ca-key.pem", cert_file=root / "ca-cert.pem", name="Agora Test CA")
    finally:
        clock.reset()
    return root / "ca-key.pem", root / "ca-cert.pem"


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path, ca_files):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.AGORA_CA_KEY_FILE, settings.AGORA_CA_CERT_FILE = ca_files
    settings.AGORA_CA_KEY_PASSWORD = ""
    # The embedded search backend unless a test says otherwise (the outbox tests point at a stub server).
    settings.AGORA_SEARCH_BACKEND = "database"
    from search.service import external_backend

    external_backend.cache_clear()
    # Real hashing costs ~0.3 s a user; the tests are about the platform, not PBKDF2.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Every test starts with no throttled door: the counts live in the cache (accounts/throttling.py).
    from django.core.cache import caches

    caches["default"].clear()


@pytest.fixture
def world(db) -> World:  # type: ignore[no-untyped-def]
    return World()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def client_for(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(user)
    return client
