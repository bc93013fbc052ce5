"""`lvs-top --demo` builds its dashboard through the same factory as the tests: what the command
line asks for is what the app gets."""

from __future__ import annotations

import sys

from textual.widgets import Static

from lvs_tui.cli import parse
from lvs_tui.cli.dashboard import app_settings
from lvs_tui.ui import keys
from lvs_tui.ui.conns import ConnectionsScreen
from lvs_tui.ui.factory import make_app
from lvs_tui.ui.grid import Grid
from tests.app.pilot import until


async def test_the_demo_of_the_command_line_runs_through_the_factory() -> None:
    _, args = parse(["--demo", "--seed", "3", "--read-only", "-d", "5"])
    settings = app_settings(args)
    assert (settings.description, settings.interval, settings.health, settings.doctor) == ("demo", 5.0, None,
                                                                                          None)
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.query_one("#dests", Grid).row_count > 0)
        status = str(app.query_one("#status-line", Static).render())
        assert status.startswith("read-only demo · every 5s") and "read-only: --read-only" in status
        await pilot.press("tab", "c")  # the demo spells its connection table out of its counts
        assert isinstance(app.screen, ConnectionsScreen)
        summary = app.screen.query_one("#conns-summary", Static)
        await until(pilot, lambda: "clients" in str(summary.render()))


async def test_another_director_is_shown_read_only_through_its_agent_and_nothing_of_this_host() -> None:
    from lvs_tui.sim.director import SimulatedDirector

    agent = f"{sys.executable} -m lvs_tui agent --demo --name lb2"
    _, args = parse(["--director", f"lb2={agent}", "-d", "5"])
    settings = app_settings(args)
    assert (settings.description, settings.health, settings.doctor, settings.host) == ("director lb2", None,
                                                                                      None, None)
    assert settings.setup.connections is None and settings.setup.owners() == ()
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        services = app.query_one("#services", Grid)
        await until(pilot, lambda: services.row_count == len(SimulatedDirector(seed=1).snapshot().services),
                    timeout=20)
        status = str(app.query_one("#status-line", Static).render())
        assert status.startswith("read-only director lb2") and "which only reads" in status
        for key in [binding.key for binding in keys.bindings() if keys.is_change(binding)]:
            for pane in ("services", "dests"):
                app.query_one(f"#{pane}", Grid).focus()
                await pilot.press(key.split(",")[0], "y")
                assert app.screen is app.dashboard, f"{key} opened a screen for a director read-only"
        await pilot.press("tab", "c")  # this host's connection table is not that director's
        assert not isinstance(app.screen, ConnectionsScreen)
