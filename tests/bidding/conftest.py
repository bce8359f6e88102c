"""Fixtures for the command-line client's tests: a clean environment and an in-process runner."""

from __future__ import annotations

import pytest

from bidding.client import main

ENVIRONMENT = (
    "AGORA_SERVER",
    "AGORA_TOKEN",
    "AGORA_TOKEN_FILE",
    "AGORA_USERNAME",
    "AGORA_PASSWORD",
    "AGORA_KEY_PASSWORD",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def run(capsys):
    """Run one client command in-process: (exit status, stdout, stderr)."""

    def call(*argv: object) -> tuple[int, str, str]:
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return call


@pytest.fixture
def agency(world, live_server, run, tmp_path):
    """An agency's machine with its key and certificate, talking to the live server (tests/bidding/test_client.py)."""
    from tests.bidding.test_client import Agency

    return Agency(run, live_server.url, world.agency, tmp_path / "agency").setup()


@pytest.fixture
def tender(world):
    """A published tender open for bids."""
    from market.choices import TenderStatus

    return world.in_state(TenderStatus.PUBLISHED)
