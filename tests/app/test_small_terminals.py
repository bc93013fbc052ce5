"""The dashboard at 80x24 and 120x40: what matters stays on screen (the State column, the drains
line's progress and ETA, the read-only marker, an address's port), the address column stays put
when the rest scrolls sideways, long tables say where the cursor is."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from lvs_tui.model.records import DestKey, ServiceKey
from lvs_tui.sim import SimulatedDirector
from lvs_tui.ui.app import LvsTopApp
from lvs_tui.ui.factory import AppSettings, make_app
from lvs_tui.ui.frozen import advance, frozen_app
from lvs_tui.ui.grid import Grid
from tests.app.pilot import SLOW, screen_lines, until

SIZES = [(80, 24), (120, 40)]
WEB6 = ServiceKey.inet("tcp", "2001:db8::80", 80)
DRAINED = DestKey("198.51.100.12", 8080)


def by_size(test: object) -> object:
    return pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")(test)


def grid(app: LvsTopApp, name: str) -> Grid:
    return app.query_one(f"#{name}", Grid)


def labels(app: LvsTopApp, name: str) -> list[str]:
    return [column.label for column in grid(app, name).columns]


def line_of(app: LvsTopApp, text: str) -> str:
    lines = [line for line in screen_lines(app) if text in line]
    assert lines, f"{text!r} is not on screen"
    return lines[0]


async def draining(pilot: Pilot[None], app: LvsTopApp, clock: object) -> None:
    """The demo with host 198.51.100.12 drained across its services, some polls later."""
    await advance(app, clock, 4)  # type: ignore[arg-type]
    await pilot.press("tab", "down", "D", "y")
    await advance(app, clock, 8)  # type: ignore[arg-type]
    await pilot.pause()


@by_size
async def test_the_state_of_a_drained_server_is_on_screen(tmp_path: Path, size: tuple[int, int]) -> None:
    app, clock = frozen_app(journal=tmp_path / "journal.jsonl")
    async with app.run_test(size=size) as pilot:
        await draining(pilot, app, clock)
        assert app.dashboard.dests.cursor_key == DRAINED
        for vital in ("Real server", "Weight", "Active", "State"):
            assert vital in labels(app, "dests")
        cells = app.dashboard.rows.dest_row(*selected(app))
        state = str(cells[[c.label for c in app.dashboard.rows.dest_columns()].index("State")])
        assert "%" in state  # the drain tracker's progress
        assert state in line_of(app, str(DRAINED.id))
        assert grid(app, "dests").virtual_size.width <= grid(app, "dests").scrollable_content_region.width


def selected(app: LvsTopApp) -> tuple:  # type: ignore[type-arg]
    found = app.dashboard.selected_dest()
    assert found is not None
    service, dest = found
    return service, dest, app.dashboard.rows.dest_shares(service).get(dest.key)


@by_size
async def test_the_drains_line_shows_progress_and_eta_first(tmp_path: Path, size: tuple[int, int]) -> None:
    app, clock = frozen_app(journal=tmp_path / "journal.jsonl")
    async with app.run_test(size=size) as pilot:
        await draining(pilot, app, clock)
        [(_, _, status)] = list(app.frame.drains.hosts)
        line = line_of(app, "draining 198.51.100.12")
        assert f"{status.progress * 100:.0f}%" in line and "ETA " in line


@by_size
async def test_the_ipv6_vip_keeps_its_port(size: tuple[int, int]) -> None:
    app, clock = frozen_app()
    async with app.run_test(size=size) as pilot:
        await advance(app, clock, 2)
        await pilot.pause()
        label = str(app.dashboard.rows.service_row(WEB6)[0])
        assert label.endswith("[2001:db8::80]:80")
        assert label in line_of(app, "2001:db8")


@by_size
async def test_the_read_only_marker_is_on_the_status_line(size: tuple[int, int]) -> None:
    app, clock = frozen_app()  # no journal: read-only
    async with app.run_test(size=size) as pilot:
        await advance(app, clock, 1)
        await pilot.pause()
        status = screen_lines(app)[-2]
        assert status.startswith(" read-only demo (seed 1) · every 1s · last good poll 0.0s ago")
        assert "read-only: no journal configured" in str(app.query_one("#status-line", Static).render())


@by_size
async def test_columns_drop_in_their_documented_order(size: tuple[int, int]) -> None:
    app, clock = frozen_app()
    async with app.run_test(size=size) as pilot:
        await advance(app, clock, 2)
        await pilot.pause()
        services, dests = labels(app, "services"), labels(app, "dests")
        if size == (80, 24):
            assert services == ["Service", "Scheduler", "Srv", "Spread", "Active", "InAct", "CPS"]
            assert dests == ["Real server", "Fwd", "Weight", "Active", "CPS", "Share exp→got", "State"]
        else:
            assert len(services) == len(app.dashboard.rows.service_columns())
            assert len(dests) == len(app.dashboard.rows.dest_columns())
        await pilot.press("t")  # counters: other columns, the same rule
        assert "Conns" in labels(app, "services") and "State" in labels(app, "dests")


async def test_the_address_column_stays_put_and_a_resize_resets_the_scroll() -> None:
    app, clock = frozen_app()
    async with app.run_test(size=(40, 24)) as pilot:  # narrower than the columns that never drop
        await advance(app, clock, 2)
        await pilot.press("tab", *["right"] * 12)
        dests = grid(app, "dests")
        assert dests.scroll_x > 0
        first = dests.cursor_key
        assert isinstance(first, DestKey)
        assert line_of(app, first.id).startswith(first.id)  # still at the left edge
        assert "State" in screen_lines(app)[dests.region.y]  # and the header scrolled to the State
        await pilot.resize_terminal(120, 40)
        await until(pilot, lambda: dests.scroll_x == 0)
        assert screen_lines(app)[dests.region.y].startswith("Real server")


@by_size
async def test_long_tables_say_where_the_cursor_is(size: tuple[int, int]) -> None:
    app = make_app(AppSettings(lambda: SimulatedDirector(seed=3, services=60), "demo", SLOW))
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.dashboard.services.row_count == 60)
        await pilot.pause()
        assert "service 1 of 60" in line_of(app, "Real servers of")
        await pilot.press("down", "down")
        assert "service 3 of 60" in line_of(app, "Real servers of")
        await pilot.press("end")
        assert "service 60 of 60" in line_of(app, "Real servers of")
        dests = app.dashboard.dests
        if dests.long:  # 10 real servers fit 120x40, not 80x24
            await pilot.press("tab", "down")
            assert f"server 2 of {dests.row_count}" in line_of(app, "Real servers of")


async def test_a_short_table_has_no_position() -> None:
    app, clock = frozen_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await advance(app, clock, 1)
        await pilot.pause()
        assert " of " not in line_of(app, "Real servers of").replace("Real servers of", "")
