from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.deploy.probe import manage, production_env


@pytest.fixture(scope="session")
def prod_site(tmp_path_factory) -> Callable[..., dict[str, str]]:  # type: ignore[no-untyped-def]
    """What an operator prepares before the first start: a migrated database and the collected static files.
    Returns a maker of production environments on them (keyword arguments add or override variables)."""
    tmp: Path = tmp_path_factory.mktemp("prod-site")
    base = production_env(tmp)
    for step in (("migrate", "--no-input", "-v0"), ("collectstatic", "--no-input", "-v0")):
        done = manage(base, *step, timeout=300)
        assert done.returncode == 0, done.stderr

    def make(**extra: str) -> dict[str, str]:
        return dict(base, **extra)

    return make
