"""SVG snapshots of the dashboard at 80x24 and 120x40, on the frozen demo (a clock that moves only
between polls). Update after an intended change: pytest tests/app/test_snapshots.py --snapshot-update"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from lvs_tui.ui.frozen import advance, frozen_app

SIZES = [(80, 24), (120, 40)]


def scenario(polls: int, *keys: str) -> Callable[[], tuple[Any, Callable[[Pilot[None]], Awaitable[None]]]]:
    def build() -> tuple[Any, Callable[[Pilot[None]], Awaitable[None]]]:
        app, clock = frozen_app()

        async def run_before(pilot: Pilot[None]) -> None:
            await advance(app, clock, polls)
            if keys:
                await pilot.press(*keys)
            await pilot.pause()

        return app, run_before

    return build


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard(snap_compare: Any, size: tuple[int, int]) -> None:
    app, run_before = scenario(6)()
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_counters_sorted_by_active_connections(snap_compare: Any, size: tuple[int, int]) -> None:
    app, run_before = scenario(4, "t", "s", "s", "s", "down")()  # numbers sort busiest first
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_help(snap_compare: Any) -> None:
    app, run_before = scenario(1, "question_mark")()
    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_detail_of_a_real_server(snap_compare: Any) -> None:
    app, run_before = scenario(8, "tab", "down", "enter")()
    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_detail_of_a_service_scrolled_to_its_end_at_80x24(snap_compare: Any) -> None:
    app, run_before = scenario(8, "enter", "end")()
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_add_real_server_form_at_80x24(snap_compare: Any, tmp_path: Path) -> None:
    app, run_before = changing(tmp_path, 2, ("tab", "A", *"198.51.100.2x"))
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_sync_daemon_form_at_80x24(snap_compare: Any, tmp_path: Path) -> None:
    app, run_before = changing(tmp_path, 2, ("Y",))  # the demo runs a master: offered to stop
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def changing(tmp_path: Path, polls: int, keys: tuple[str, ...], after: int = 0) -> tuple[Any, Any]:
    """The frozen demo with a journal (so changes can be made): `keys` after `polls`, then `after`."""
    app, clock = frozen_app(journal=tmp_path / "journal.jsonl")

    async def run_before(pilot: Pilot[None]) -> None:
        await advance(app, clock, polls)
        await pilot.press(*keys)
        await advance(app, clock, after)
        app.clear_notifications()  # toasts expire in real time: they would make the picture flaky
        await pilot.pause()

    return app, run_before


def test_drain_host_confirmation(snap_compare: Any, tmp_path: Path) -> None:
    app, run_before = changing(tmp_path, 4, ("tab", "down", "D"))
    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_drain_tracker(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app, run_before = changing(tmp_path, 4, ("tab", "down", "D", "y"), after=8)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_health_column_of_a_checker(snap_compare: Any) -> None:
    app, clock = frozen_app(health=True)

    async def run_before(pilot: Pilot[None]) -> None:
        await advance(app, clock, 6)
        await pilot.press("tab")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(140, 40), run_before=run_before)
