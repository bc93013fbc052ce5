"""Rise and fall: consecutive results, never a single one, move a server between states."""

from __future__ import annotations

import pytest

from lvs_tui.health.checks import Result
from lvs_tui.health.state import Health, Tracker

UP, DOWN = Result(True, "HTTP 200", 0.01), Result(False, "connection refused", 0.01)


def feed(tracker: Tracker, results: str) -> list[Health | None]:
    """'+' a success, '-' a failure, one second apart; the state changes reported."""
    return [tracker.record(UP if r == "+" else DOWN, float(t)) for t, r in enumerate(results)]


def test_fall_failures_in_a_row_make_it_unhealthy_and_rise_successes_bring_it_back() -> None:
    tracker = Tracker(rise=2, fall=3, state=Health.HEALTHY)
    assert feed(tracker, "--") == [None, None]
    assert tracker.state is Health.HEALTHY
    assert feed(tracker, "-") == [Health.UNHEALTHY]
    assert tracker.last == DOWN and tracker.changed_at == 0.0
    assert feed(tracker, "+") == [None]
    assert feed(tracker, "+") == [Health.HEALTHY]


def test_a_flapping_server_never_changes_state_faster_than_rise_and_fall_allow() -> None:
    tracker = Tracker(rise=2, fall=2, state=Health.HEALTHY)
    assert set(feed(tracker, "-+-+-+-+-+-+")) == {None}  # never two in a row
    assert tracker.state is Health.HEALTHY
    changes = [c for c in feed(tracker, "--+--++-++") if c is not None]
    assert changes == [Health.UNHEALTHY, Health.HEALTHY]


def test_a_new_server_is_checking_until_its_first_run_decides() -> None:
    tracker = Tracker(rise=3, fall=1)
    assert tracker.state is Health.CHECKING
    assert feed(tracker, "++") == [None, None]
    assert feed(tracker, "+") == [Health.HEALTHY]
    other = Tracker(rise=3, fall=1)
    assert feed(other, "-") == [Health.UNHEALTHY]


def test_a_disabled_server_counts_nothing_until_enabled() -> None:
    tracker = Tracker(rise=1, fall=1, state=Health.HEALTHY)
    tracker.disable(5.0)
    assert feed(tracker, "---") == [None, None, None]
    assert tracker.state is Health.DISABLED and tracker.last == DOWN
    tracker.enable(9.0)
    assert tracker.state is Health.CHECKING  # type: ignore[comparison-overlap]  # enable() changed it
    assert feed(tracker, "+") == [Health.HEALTHY]


def test_rise_and_fall_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Tracker(rise=0, fall=3)
