"""What the demo tests share: the command, and where it leaves the sealed bids."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from bidding.models import Bid


def sealed_file(bid: Bid) -> Path:
    return Path(settings.MEDIA_ROOT) / "bids" / bid.ciphertext_digest[:2] / bid.ciphertext_digest


def stored_bids(media: Path) -> dict[str, bytes]:
    root = media / "bids"
    return {path.name: path.read_bytes() for path in root.rglob("*") if path.is_file()} if root.exists() else {}


def load() -> str:
    out = StringIO()
    call_command("demo_load", stdout=out)
    return out.getvalue()


def replay_commands(output: str) -> list[list[str]]:
    """The client commands the summary prints, as argument lists."""
    prefix = "  .venv/bin/python -m bidding.client "
    return [line[len(prefix) :].split() for line in output.splitlines() if line.startswith(prefix)]
