from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from core import clock


def test_frozen_clock_stays_put_and_moves_on_request(frozen_clock):
    assert clock.now() == frozen_clock
    assert clock.now() == frozen_clock
    assert clock.advance(timedelta(milliseconds=1)) == frozen_clock + timedelta(milliseconds=1)
    assert clock.now() == frozen_clock + timedelta(milliseconds=1)


def test_reset_returns_to_server_time():
    clock.reset()
    before = timezone.now()
    assert before <= clock.now() <= timezone.now()


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        clock.freeze(datetime(2026, 1, 1))
    clock.freeze(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now().year == 2026
