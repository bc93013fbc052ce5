"""The checker inside the dashboard: the Health column, the status line, the detail view's timeline,
and a manual drain that the checker then leaves alone (loopback servers, simulated director)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

from lvs_tui.health.config import parse_config
from lvs_tui.health.engine import Engine
from lvs_tui.health.feed import EngineFeed, HealthFeed, StateFileFeed
from lvs_tui.health.state import Health
from lvs_tui.health.statefile import write_state
from lvs_tui.health.status import HealthEvent, HealthView, ServerStatus
from lvs_tui.model.records import DestKey
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.poller import SubmitJob
from lvs_tui.ops.setup import OpsSetup
from lvs_tui.ops.sysctl import KERNEL_DEFAULTS, Sysctls
from lvs_tui.sim import SimulatedDirector
from lvs_tui.ui.app import LvsTopApp
from lvs_tui.ui.factory import AppSettings, make_app
from lvs_tui.ui.grid import Grid
from lvs_tui.ui.screens import DetailScreen
from tests.app.pilot import SLOW, until
from tests.health_fixtures import KEY, LOOPBACK, Listener, config_text, director, weights


def app_on(sim: SimulatedDirector, journal: Path, feed: object) -> LvsTopApp:
    setup = OpsSetup(None, Journal(journal), lambda: Sysctls(dict(KERNEL_DEFAULTS)), None, lambda: ())
    return make_app(AppSettings(lambda: sim, "test", SLOW, setup, feed))  # type: ignore[arg-type]


def cell_text(app: LvsTopApp, port: int) -> str:
    snapshot = app.frame.snapshot
    assert snapshot is not None
    service = snapshot.service(KEY)
    assert service is not None
    dest = service.dest(DestKey(LOOPBACK, port))
    assert dest is not None
    return str(app.dashboard.rows.dest_row(service, dest, None)[-1])


async def move_to(pilot: Pilot[None], app: LvsTopApp, key: DestKey) -> None:
    grid = app.query_one("#dests", Grid)
    for step in ("up", "up", "down", "down"):
        if grid.cursor_key == key:
            return
        await pilot.press(step)
    assert grid.cursor_key == key, f"cursor on {grid.cursor_key}, focus {app.focused}"


def taken_out(app: LvsTopApp, port: int) -> bool:
    status = None if app.frame.health is None else app.frame.health.of(KEY, DestKey(LOOPBACK, port))
    return status is not None and status.taken_out and "unhealthy" in cell_text(app, port)


def status_line(app: LvsTopApp) -> str:
    return str(app.query_one("#status-line", Static).render())


async def test_health_column_status_and_timeline_follow_the_checker(tmp_path: Path) -> None:
    up, down = Listener(), Listener()
    await up.start()
    await down.start()
    sim = director([up.port, down.port])
    config = parse_config(config_text([up.port, down.port]))

    def feed(submit: SubmitJob) -> HealthFeed:
        return EngineFeed(Engine(config, submit, Journal(tmp_path / "journal.jsonl")))

    app = app_on(sim, tmp_path / "journal.jsonl", feed)
    async with app.run_test(size=(150, 40)) as pilot:
        def polled(condition: bool) -> bool:
            app.request_poll()
            return condition

        await until(pilot, lambda: polled("healthy" in cell_text(app, down.port)))
        assert "Health" in [column.label for column in app.query_one("#dests", Grid).columns]
        await down.stop()
        # The weight is 0 as soon as the round acts; the frame says "taken out" once the engine has
        # taken the round in: wait for that frame, the one the detail view must show.
        await until(pilot, lambda: polled(weights(sim)[down.port] == 0 and taken_out(app, down.port)))
        assert "health ✔1 ✖1" in status_line(app)
        await pilot.press("tab")
        await until(pilot, lambda: app.query_one("#dests", Grid).row_count == 2)
        await move_to(pilot, app, DestKey(LOOPBACK, down.port))
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        console = Console(width=150, record=True, file=io.StringIO())
        console.print(app.screen._fields())
        fields = console.export_text()
        assert "unhealthy since" in fields and "refused" in fields and "taken out by the checker" in fields
        assert "-w 0" in fields  # the checker's change, on the service's timeline
        await pilot.press("escape")
        # The healthy one is drained by hand: the checker stands aside and says so.
        await move_to(pilot, app, DestKey(LOOPBACK, up.port))
        await pilot.press("d")
        await pilot.press("y")
        await until(pilot, lambda: polled("disabled" in cell_text(app, up.port)))
        await asyncio.sleep(0.5)
        assert weights(sim)[up.port] == 0


async def test_a_checker_elsewhere_shows_through_its_state_file(tmp_path: Path) -> None:
    sim = director([8080, 8081])
    state = tmp_path / "health.json"
    app = app_on(sim, tmp_path / "journal.jsonl", lambda submit: StateFileFeed(state))
    async with app.run_test(size=(150, 40)) as pilot:
        app.request_poll()
        await until(pilot, lambda: app.frame.snapshot is not None)
        assert "Health" not in [column.label for column in app.query_one("#dests", Grid).columns]
        view = HealthView({(KEY, DestKey(LOOPBACK, 8080)): ServerStatus(Health.UNHEALTHY, 0.0, "HTTP 503")},
                          source="lvs-top health (pid 1)", updated=0.0)
        write_state(state, view, {}, pid=1)  # pid 1 is alive: a running checker

        def shown() -> bool:
            app.request_poll()
            return "Health" in [column.label for column in app.query_one("#dests", Grid).columns]

        await until(pilot, shown)
        assert "unhealthy" in cell_text(app, 8080) and cell_text(app, 8081) == "-"
        assert "✖1 (lvs-top health (pid 1))" in status_line(app)
        write_state(state, view, {}, pid=None)  # it stopped

        def polled_and_said() -> bool:
            app.request_poll()
            return "is not running" in status_line(app)

        await until(pilot, polled_and_said)


async def test_a_state_files_texts_are_shown_literally_never_as_markup_or_escapes(tmp_path: Path) -> None:
    sim = director([8080])
    state = tmp_path / "health.json"
    forged = "[link=https://evil.example]click[/link] \x1b[2J"
    view = HealthView({(KEY, DestKey(LOOPBACK, 8080)): ServerStatus(Health.UNHEALTHY, 0.0, forged)},
                      (HealthEvent(0.0, KEY, "warning", "[bold red]forged[/] \x9b31m"),),
                      source="lvs-top health \x1b]0;owned\x07", updated=0.0)
    write_state(state, view, {}, pid=1)  # pid 1 is alive: a running checker
    app = app_on(sim, tmp_path / "journal.jsonl", lambda submit: StateFileFeed(state))
    async with app.run_test(size=(150, 40)) as pilot:
        def shown() -> bool:
            app.request_poll()
            return "unhealthy" in cell_text(app, 8080) if app.frame.snapshot is not None else False

        await until(pilot, shown)
        assert "(lvs-top health \\x1b]0;owned\\x07)" in status_line(app)
        await pilot.press("tab")
        await move_to(pilot, app, DestKey(LOOPBACK, 8080))
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        console = Console(width=150, record=True, file=io.StringIO())
        console.print(app.screen._fields())
        fields = console.export_text()
        assert "[link=https://evil.example]click[/link] \\x1b[2J" in fields
        assert "[bold red]forged[/] \\x9b31m" in fields
        assert "\x1b" not in fields and "\x9b" not in fields


async def test_a_damaged_state_file_is_said_on_the_status_line(tmp_path: Path) -> None:
    sim = director([8080])
    state = tmp_path / "health.json"
    view = HealthView({(KEY, DestKey(LOOPBACK, 8080)): ServerStatus(Health.HEALTHY, 0.0, "ok")}, updated=0.0)
    write_state(state, view, {}, pid=1)
    state.write_text(state.read_text().replace('"since": 0.0', '"since": 1e300'))
    app = app_on(sim, tmp_path / "journal.jsonl", lambda submit: StateFileFeed(state))
    async with app.run_test(size=(200, 40)) as pilot:
        def said() -> bool:
            app.request_poll()
            return "damaged" in status_line(app)

        await until(pilot, said)
        assert "health: the checker's state file is damaged: servers[0].since must be a number" in \
            status_line(app)
