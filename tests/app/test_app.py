"""Pilot tests of the dashboard on the simulated director, driven by keys and the mouse."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import replace
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from lvs_tui.ipvs.backend import Backend
from lvs_tui.ipvs.errors import IpvsUnavailable
from lvs_tui.model.records import ServiceKey, Snapshot
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.setup import OpsSetup
from lvs_tui.sim import SimulatedDirector
from lvs_tui.ui import keys
from lvs_tui.ui.app import LvsTopApp
from lvs_tui.ui.factory import AppSettings, make_app
from lvs_tui.ui.grid import Grid
from lvs_tui.ui.keys import key_table_markdown
from lvs_tui.ui.screens import DetailScreen, HelpScreen
from tests.app.pilot import SLOW, until


def demo_app(backend: Callable[[], Backend] | None = None) -> LvsTopApp:
    return make_app(AppSettings(backend or (lambda: SimulatedDirector(seed=3)), "demo (seed 3)", SLOW))


def services(app: LvsTopApp) -> Grid:
    return app.query_one("#services", Grid)


def screen_text(app: LvsTopApp) -> str:
    """What the terminal shows, as text (from the SVG screenshot, spaces restored)."""
    return app.export_screenshot().replace("&#160;", " ")


def status(app: LvsTopApp) -> str:
    return str(app.query_one("#status-line", Static).render())


async def polled(pilot: Pilot[None], app: LvsTopApp, times: int = 1) -> None:
    for _ in range(times):
        before = app.frame.snapshot
        app.request_poll()
        await until(pilot, lambda: app.frame.snapshot is not before)  # noqa: B023  # awaited at once


async def test_first_poll_fills_both_tables() -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: services(app).row_count > 0)
        snapshot = app.frame.snapshot
        assert snapshot is not None
        assert services(app).row_count == len(snapshot.services)
        first = snapshot.service(services(app).cursor_key)  # type: ignore[arg-type]
        assert first is not None
        assert app.query_one("#dests", Grid).row_count == len(first.dests)


async def test_cursor_moves_and_the_real_servers_follow() -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: services(app).row_count > 1)
        await pilot.press("down")
        key = services(app).cursor_key
        assert key == app.dashboard.ordered()[1]
        assert isinstance(key, ServiceKey)
        assert str(app.query_one("#dests-title", Static).render()).endswith(key.id)


async def test_the_cursor_stays_on_its_service_when_rows_come_and_go() -> None:
    director = SimulatedDirector(seed=3)
    app = demo_app(lambda: director)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: services(app).row_count > 3)
        await pilot.press("down", "down")
        chosen = services(app).cursor_key
        first = app.dashboard.ordered()[0]
        director.delete_service(first)  # someone runs ipvsadm -D in another terminal
        await polled(pilot, app)
        assert first not in app.dashboard.ordered()
        assert services(app).cursor_key == chosen


async def test_sort_keys_and_header_click_reorder_the_services() -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await polled(pilot, app, 2)
        await pilot.press("s")  # next column: scheduler
        assert app.dashboard.view.sort.column == "scheduler"
        schedulers = [app.frame.snapshot.service(k).scheduler for k in app.dashboard.ordered()]  # type: ignore[union-attr]
        assert schedulers == sorted(schedulers)
        await pilot.press("r")
        assert app.dashboard.view.sort.reverse
        await pilot.click("#services", offset=(2, 0))  # the "Service" header
        assert (app.dashboard.view.sort.column, app.dashboard.view.sort.reverse) == ("service", False)


async def test_filter_by_substring_and_regex_then_clear() -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: services(app).row_count > 0)
        total = services(app).row_count
        await pilot.press("slash")
        assert app.query_one("#filter", Input).has_focus
        await pilot.press(*"udp")
        assert 0 < services(app).row_count < total
        assert all(k.id.startswith("udp") for k in app.dashboard.ordered())
        app.query_one("#filter", Input).value = r"^tcp:.*:(80|443)$"
        await pilot.pause()
        assert {k.port for k in app.dashboard.ordered()} <= {80, 443}
        await pilot.press("enter", "escape")
        assert services(app).row_count == total


async def test_pause_freezes_the_screen() -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await polled(pilot, app)
        await pilot.press("p")
        assert "PAUSED" in status(app)
        frozen = app.frame.snapshot
        app.request_poll()
        await pilot.pause(0.5)
        assert app.frame.snapshot is frozen
        await pilot.press("p")
        await until(pilot, lambda: app.frame.snapshot is not frozen)


async def test_interval_keys_and_toggles() -> None:
    app = make_app(AppSettings(lambda: SimulatedDirector(seed=3), "demo", 1.0))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("plus")
        assert app.interval == 2.0
        await pilot.press("minus", "minus")
        assert app.interval == 0.5
        labels = [c.label for c in services(app)._columns]
        await pilot.press("t")
        assert [c.label for c in services(app)._columns] != labels
        assert "counters" in status(app)
        await pilot.press("x")
        assert app.dashboard.table_display.exact
        await pilot.press("m")
        assert app.dashboard.table_display.metric.value == "pps"


async def test_help_lists_every_binding() -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for key, does in app.key_table():
            assert key in text and does[:24] in text  # long descriptions may wrap
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_enter_opens_the_detail_of_a_service_and_of_a_real_server() -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await polled(pilot, app, 2)
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen) and app.screen._dest is None
        await pilot.press("escape", "tab", "enter")
        assert isinstance(app.screen, DetailScreen) and app.screen._dest is not None


async def test_the_palette_offers_every_action(tmp_path: Path) -> None:
    setup = OpsSetup(None, Journal(tmp_path / "journal.jsonl"))
    app = make_app(AppSettings(lambda: SimulatedDirector(seed=3), "demo", SLOW, setup))
    async with app.run_test(size=(120, 40)):
        titles = {command.title for command in app.get_system_commands(app.screen)}
        for binding in keys.bindings():
            if binding.action not in ("quit", "clear_filter"):
                assert binding.description in titles


async def test_a_read_only_palette_offers_no_change() -> None:
    app = demo_app()  # no setup: read-only
    async with app.run_test(size=(120, 40)):
        titles = {command.title for command in app.get_system_commands(app.screen)}
        changes = [b for b in keys.bindings() if keys.is_change(b)]
        assert changes and not titles & {b.description for b in changes}
        assert "Sort" in titles


class Flaky:
    """Fails its first polls like a kernel without ip_vs, then recovers."""

    description = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.inner = SimulatedDirector(seed=3)

    def snapshot(self, whole: Collection[ServiceKey] | None = None) -> Snapshot:
        if self.failures:
            self.failures -= 1
            raise IpvsUnavailable("IPVS is not available in this kernel: load it with `modprobe ip_vs`.")
        return self.inner.snapshot()

    def close(self) -> None:
        pass


async def test_a_failing_kernel_shows_in_the_status_line_and_recovers() -> None:
    flaky = Flaky(failures=1)
    app = demo_app(lambda: flaky)  # type: ignore[arg-type, return-value]
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "modprobe ip_vs" in status(app))
        assert services(app).row_count == 0
        await polled(pilot, app)
        assert "modprobe" not in status(app)
        assert services(app).row_count > 0


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_both_sizes_show_services_and_real_servers(size: tuple[int, int]) -> None:
    app = demo_app()
    async with app.run_test(size=size) as pilot:
        await polled(pilot, app, 2)
        shown = screen_text(app)
        web = ServiceKey.inet("tcp", "192.0.2.10", 80)
        assert "192.0.2.10:80" in shown and web in app.dashboard.ordered()
        assert "Real servers of" in shown


def test_readme_key_table_is_the_one_generated_from_the_bindings() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert key_table_markdown() in readme, "regenerate it: python -m lvs_tui.ui.keys"


async def test_a_cursor_move_still_queued_at_exit_is_harmless() -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: services(app).row_count > 0)
        grid = services(app)
        key = grid.cursor_key
    assert not app.screen_stack  # the app has closed
    app.dashboard._service_highlighted(Grid.Highlighted(grid, key))  # must not raise


async def test_a_frame_that_arrives_while_the_widgets_go_is_harmless() -> None:
    # At exit Textual removes the screen's widgets before the screen itself is unmounted, so a frame
    # message handled then finds `ready` still set and no grid (the flake of the state-file tests).
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: services(app).row_count > 0)
        await app.dashboard.query_one("#panes").remove()
        app._published = replace(app.frame, number=app.frame.number + 1)
        app.take_frame()  # must not raise


class Tiered:
    """A large director's reads: the services not named whole come with the age of their real
    servers' counters (as the kernel backend's tiered poll gives them)."""

    description = "tiered"

    def __init__(self) -> None:
        self.inner = SimulatedDirector(seed=3)
        self.asked: list[frozenset[ServiceKey] | None] = []

    def snapshot(self, whole: Collection[ServiceKey] | None = None) -> Snapshot:
        self.asked.append(None if whole is None else frozenset(whole))
        snapshot = self.inner.snapshot()
        named = whole or ()
        return replace(snapshot, dests_read_at={service.key: snapshot.monotonic - 12.0
                                                for service in snapshot.services if service.key not in named})

    def close(self) -> None:
        pass


async def test_a_director_read_in_tiers_is_asked_for_the_selected_service_and_the_age_is_shown() -> None:
    tiered = Tiered()
    app = demo_app(lambda: tiered)  # type: ignore[arg-type, return-value]
    async with app.run_test(size=(160, 30)) as pilot:
        await until(pilot, lambda: services(app).row_count > 1)
        await pilot.press("down")
        selected = services(app).cursor_key
        await polled(pilot, app)
        assert tiered.asked[-1] is not None and selected in tiered.asked[-1]
        await until(pilot, lambda: "other real servers' counters ≤12s old" in status(app))
