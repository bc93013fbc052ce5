"""Pilot tests of the keys that change what is shown: the filter, the sorts, the poll interval,
units, and what a key says when it cannot act."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.containers import VerticalScroll
from textual.widgets import Input, Static

from lvs_tui.model.dashboard import SortKey
from lvs_tui.model.format import service_label
from lvs_tui.model.records import Stats
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.setup import OpsSetup
from lvs_tui.ops.sysctl import Sysctls
from lvs_tui.sim import SimulatedDirector
from lvs_tui.ui.app import LvsTopApp
from lvs_tui.ui.conns import ConnectionsScreen
from lvs_tui.ui.factory import AppSettings, make_app
from lvs_tui.ui.grid import Grid
from lvs_tui.ui.screens import DetailScreen
from tests.app.pilot import SLOW, until
from tests.app.test_app_ops import app_on, ready


def demo_app() -> LvsTopApp:
    return make_app(AppSettings(lambda: SimulatedDirector(seed=3), "demo (seed 3)", SLOW))


def rows(app: LvsTopApp) -> int:
    return app.query_one("#services", Grid).row_count


def status(app: LvsTopApp) -> str:
    return str(app.query_one("#status-line", Static).render())


def labels(app: LvsTopApp) -> list[str]:
    snapshot = app.frame.snapshot
    assert snapshot is not None
    return [" ".join(service_label(snapshot.service(key)).split())  # type: ignore[arg-type]
            for key in app.dashboard.ordered()]


async def filtered(app: LvsTopApp, pilot: object, text: str) -> None:
    app.query_one("#filter", Input).value = text
    await pilot.pause()  # type: ignore[attr-defined]


async def test_the_filter_matches_the_rows_as_shown() -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: rows(app) > 0)
        total = rows(app)
        await pilot.press("slash")
        await filtered(app, pilot, "TCP 192")
        assert 0 < rows(app) < total
        assert all(label.startswith("TCP 192") for label in labels(app))
        await filtered(app, pilot, "FWM 7")
        assert labels(app) and all(label.startswith("FWM 7") for label in labels(app))


async def test_no_match_and_a_bad_regex_are_said() -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: rows(app) > 0)
        await pilot.press("slash")
        await filtered(app, pilot, "no such service")
        assert rows(app) == 0
        title = str(app.query_one("#dests-title", Static).render())
        assert title == "No service matches /no such service/ (Esc clears the filter)"
        field = app.query_one("#filter", Input)
        assert field.border_subtitle == "no service matches"
        await filtered(app, pilot, "[2001:db8")
        assert "filter /[2001:db8/ not a regex (unterminated character set): matched as plain text" \
            in status(app)
        assert field.border_subtitle == "not a regex (unterminated character set): matched as plain text"
        await pilot.press("escape")
        assert "not a regex" not in status(app) and rows(app) > 0


async def test_a_change_key_in_a_read_only_session_says_why_on_the_status_line(tmp_path: Path) -> None:
    app = app_on(SimulatedDirector(seed=3), tmp_path / "j.jsonl", read_only="--read-only")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        assert not status(app).startswith("read-only:")
        await pilot.press("d")
        assert app.screen is app.dashboard
        assert status(app).startswith("read-only: started with --read-only ")


async def test_a_shorter_interval_polls_at_once() -> None:
    app = make_app(AppSettings(lambda: SimulatedDirector(seed=3), "demo", SLOW, auto_poll=True))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.frame.snapshot is not None)
        before = app.frame.number
        await pilot.press("minus")  # from the hour of the test's timer down to 5 s
        assert app.interval == 5.0
        await until(pilot, lambda: app.frame.number > before)  # not 5 s later: now


async def test_exact_numbers_are_never_cut() -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: rows(app) > 0)
        # The counters of a long-running director.
        conns, packets, big = 12_345_678_901, 1_234_567_890_123, 123_456_789_012_345
        snapshot = app.frame.snapshot
        assert snapshot is not None
        web = snapshot.services[0]
        huge = replace(web, stats=Stats(conns, packets, packets, big, big))
        await pilot.press("t", "x")
        renderer = app.dashboard.rows
        columns = renderer.service_columns()
        renderer.show(replace(app.frame, snapshot=replace(snapshot, services=(huge,))), renderer.display)
        for column, cell in zip(columns, renderer.service_row(huge.key), strict=True):
            assert len(str(cell)) <= column.width, f"{column.label}: {cell} is cut"


async def test_help_fits_the_width_and_scrolls() -> None:
    for size in ((120, 40), (80, 24)):
        app = demo_app()
        async with app.run_test(size=size) as pilot:
            await pilot.press("question_mark")
            box = app.screen.query_one("#help", VerticalScroll)
            # Once laid out, the keys fit the box's width (a failure here is a timeout: cut).
            await until(pilot, lambda: 0 < box.virtual_size.width  # noqa: B023  # awaited at once
                        <= box.scrollable_content_region.width)  # noqa: B023
            if size == (80, 24):
                assert box.max_scroll_y > 0
                await pilot.press("end")
                assert box.scroll_y == box.max_scroll_y


async def test_sub_screens_own_their_keys(tmp_path: Path) -> None:
    director = SimulatedDirector(seed=3)
    setup = OpsSetup(None, Journal(tmp_path / "j.jsonl"), lambda: Sysctls({}), director.connections,
                     lambda: ())
    app = make_app(AppSettings(lambda: director, "demo", SLOW, setup))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        sort = app.dashboard.view.sort
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        await pilot.press("slash", "s", "d", "t")
        assert isinstance(app.screen, DetailScreen)  # nothing opened over it
        assert not app.query_one("#filter", Input).display and app.dashboard.view.sort == sort
        assert not app.dashboard.table_display.counters
        shown = {binding.key for (_, binding, enabled, _) in app.screen.active_bindings.values() if enabled}
        assert not shown & {"slash", "s", "d"}  # the footer offers only the screen's own keys
        await pilot.press("escape")
        await pilot.press("c")
        assert isinstance(app.screen, ConnectionsScreen)
        await pilot.press("s", "slash", "d")
        assert isinstance(app.screen, ConnectionsScreen)
        assert app.dashboard.view.sort == sort and not app.query_one("#filter", Input).display


async def test_numbers_sort_busiest_first_and_the_sort_keys_act_on_the_focused_pane() -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: rows(app) > 1)
        await pilot.press("s", "s", "s")  # service, scheduler, servers, active
        assert app.dashboard.view.sort == SortKey("active", True)
        active = [app.frame.conns[key][0] for key in app.dashboard.ordered()]
        assert active == sorted(active, reverse=True) and active[0] > active[-1]
        await pilot.press("tab", "s", "s")  # the real servers: kernel order, address, weight
        assert app.dashboard.dest_sort == SortKey("weight", True)
        assert app.dashboard.view.sort == SortKey("active", True)  # the services' sort stays
        service = app.dashboard.service_shown
        assert service is not None
        grid = app.query_one("#dests", Grid)
        weights = []
        for _ in range(grid.row_count):  # walk the cursor down the rows
            weights.append(service.dest(grid.cursor_key).weight)  # type: ignore[arg-type,union-attr]
            await pilot.press("down")
        assert weights == sorted(weights, reverse=True) and weights[0] > weights[-1]
        await pilot.press("r")
        assert app.dashboard.dest_sort == SortKey("weight", False)
