"""The demo clock moves timezone.now() for its block only, never ahead of the wall clock."""

from datetime import timedelta

import pytest
from django.utils import timezone

from demo.clock import demo_clock


def test_the_demo_clock_sets_timezone_now_and_always_gives_it_back():
    wall_now = timezone.now
    past = wall_now() - timedelta(days=3)
    with pytest.raises(RuntimeError), demo_clock() as clock:
        clock.set(past)
        assert timezone.now() == past
        clock.set(wall_now() + timedelta(days=1))
        assert timezone.now() <= wall_now()
        raise RuntimeError
    assert timezone.now is wall_now
