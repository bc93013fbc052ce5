"""Pilot tests of the preferences: what is changed on screen is saved and comes back at the next
start; the command line's --sort and --interval win over them; a damaged file is said, not fatal;
the palette's screenshot says where it went."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvs_tui.cli import parse
from lvs_tui.cli.dashboard import app_settings
from lvs_tui.model.dashboard import SortKey
from lvs_tui.model.history import Metric
from lvs_tui.sim import SimulatedDirector
from lvs_tui.ui.app import LvsTopApp
from lvs_tui.ui.factory import AppSettings, make_app
from lvs_tui.ui.grid import Grid
from lvs_tui.ui.preferences import Preferences, PreferenceStore, default_path
from tests.app.pilot import SLOW, until


def app_with(store: PreferenceStore) -> LvsTopApp:
    chosen = store.load()
    return make_app(AppSettings(lambda: SimulatedDirector(seed=3), "demo", chosen.interval,
                                preferences=chosen, store=store, auto_poll=False))


def said(app: LvsTopApp) -> list[str]:
    return [notification.message for notification in app._notifications]


async def test_what_is_changed_on_screen_is_saved_and_comes_back(tmp_path: Path) -> None:
    path = tmp_path / "preferences.toml"
    app = app_with(PreferenceStore(path))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.query_one("#services", Grid).row_count > 0)
        assert not path.exists()  # nothing changed yet
        await pilot.press("s", "t", "x", "m", "plus", "tab", "s", "s")  # scheduler; weight
        app.theme = "nord"
        app.dashboard.set_hidden("Trend", True)
        await pilot.pause()
    expected = Preferences(SortKey("scheduler"), SortKey("weight", True), 2.0, True, True, Metric.PPS, "nord",
                           frozenset({"Trend"}))
    assert PreferenceStore(path).load() == expected
    again = app_with(PreferenceStore(path))
    async with again.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: again.query_one("#services", Grid).row_count > 0)
        screen = again.dashboard
        assert (screen.view.sort, screen.dest_sort, again.interval, again.theme) == (
            SortKey("scheduler"), SortKey("weight", True), 2.0, "nord")
        assert screen.table_display.exact and screen.table_display.counters
        assert "Trend" not in [column.label for column in screen.rows.service_columns()]


async def test_a_damaged_file_is_said_once_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "preferences.toml"
    path.write_text("interval = -1\n")
    app = app_with(PreferenceStore(path))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.query_one("#services", Grid).row_count > 0)
        assert [message for message in said(app) if "preferences" in message] == [
            f"The preferences in {path} were ignored and will not be written over (interval must be a "
            "number of seconds from 0.1 to 3600); fix or remove that file."]
        await pilot.press("s")
    assert path.read_text() == "interval = -1\n"


async def test_the_command_line_wins_over_the_saved_preferences() -> None:
    PreferenceStore().save(Preferences(SortKey("active", True), interval=5.0))
    _, args = parse(["--demo", "--sort", "cps:asc"])
    settings = app_settings(args)
    assert settings.preferences.sort == SortKey("cps", False) and settings.interval == 5.0
    _, args = parse(["--demo", "--interval", "2"])
    settings = app_settings(args)
    assert settings.preferences.sort == SortKey("active", True) and settings.interval == 2.0
    assert settings.store is not None and settings.store.path == default_path()


async def test_the_palettes_screenshot_says_where_it_went(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # a director: no ~/Downloads
    monkeypatch.chdir(tmp_path)
    app = make_app(AppSettings(lambda: SimulatedDirector(seed=3), "demo", SLOW))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.frame.snapshot is not None)
        saved = app.deliver_screenshot()
        await pilot.pause()
    assert saved is not None and Path(saved).parent == tmp_path and Path(saved).read_text().startswith("<svg")
    assert f"Saved in {saved}" in said(app)
