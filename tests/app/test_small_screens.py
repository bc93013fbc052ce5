"""The screens over the dashboard on a small terminal: the detail view scrolls down to its last
section, a form scrolls its fields and keeps its result and buttons in sight."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Checkbox, Static

from lvs_tui.doctor.watch import DoctorWatch
from lvs_tui.ui.app import LvsTopApp
from lvs_tui.ui.factory import AppSettings, make_app
from lvs_tui.ui.forms import FormScreen
from lvs_tui.ui.frozen import advance, frozen_app
from lvs_tui.ui.grid import Grid
from lvs_tui.ui.screens import DetailScreen
from tests.app.pilot import SLOW, screen_lines, until
from tests.app.test_app_doctor import DR, director, facts

SIZES = [(80, 24), (120, 40)]
FIX = "router>"  # the end of the doctor's fix, the detail view's last line (one word: never wrapped)


def shown(app: LvsTopApp) -> str:
    return "\n".join(screen_lines(app))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_detail_view_scrolls_to_the_doctors_findings(size: tuple[int, int]) -> None:
    doctor = DoctorWatch(facts)
    app = make_app(AppSettings(director, "test", SLOW, doctor=doctor))
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.frame.snapshot is not None)
        assert app.frame.snapshot is not None
        doctor.examine(app.frame.snapshot)
        app.request_poll()
        await until(pilot, lambda: app.frame.doctor is not None and bool(app.frame.doctor.of(DR)))
        app.query_one("#services", Grid).move_to(DR)
        await pilot.pause()
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        await pilot.pause()
        assert FIX not in shown(app)  # below the plots and the fields, at either size
        await pilot.press("end")
        await until(pilot, lambda: FIX in shown(app))
        await pilot.press("home")
        await until(pilot, lambda: FIX not in shown(app))
        await pilot.press(*["pagedown"] * 6)
        await until(pilot, lambda: FIX in shown(app))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_a_form_keeps_apply_reachable(tmp_path: Path, size: tuple[int, int]) -> None:
    app, clock = frozen_app(journal=tmp_path / "journal.jsonl")
    async with app.run_test(size=size) as pilot:
        await advance(app, clock, 2)
        await pilot.press("tab", "A")
        assert isinstance(app.screen, FormScreen)
        await pilot.press(*"198.51.100.77")
        for _ in range(20):  # Tab through the fields to the button, as a user would
            if app.focused is not None and app.focused.id == "apply":
                break
            await pilot.press("tab")
        assert app.focused is app.screen.query_one("#apply")
        assert "Apply (ctrl+s)" in shown(app)  # on screen, not cut off below the form
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, FormScreen))
        app.request_poll()
        await until(pilot, lambda: "198.51.100.77:80" in shown(app))  # applied: on screen


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_a_form_error_is_shown_whole(tmp_path: Path, size: tuple[int, int]) -> None:
    app, clock = frozen_app(journal=tmp_path / "journal.jsonl")
    async with app.run_test(size=size) as pilot:
        await advance(app, clock, 1)
        await pilot.press("a")
        assert isinstance(app.screen, FormScreen)
        await pilot.press(*"192.0.2.99", "tab", *"999999")
        app.screen.query_one("#persistent", Checkbox).value = True  # one more field: the timeout
        await pilot.pause()
        result = app.screen.query_one("#form-result", Static)
        error = " ".join(str(result.render()).split())
        assert error.startswith("✖") and "999999" in error
        await pilot.pause()
        box = result.content_region
        lines = screen_lines(app)[box.y:box.bottom]
        on_screen = " ".join(" ".join(line[box.x:box.right] for line in lines).split())
        assert error in on_screen
        assert "Apply (ctrl+s)" in shown(app)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_a_confirmation_keeps_its_warning_and_buttons_in_sight(tmp_path: Path,
                                                                     size: tuple[int, int]) -> None:
    app, clock = frozen_app(journal=tmp_path / "journal.jsonl")
    async with app.run_test(size=size) as pilot:
        await advance(app, clock, 2)
        await pilot.press("tab", "down", "D")  # a host behind two services, one of them persistent
        await pilot.pause()
        text = shown(app)
        assert "connection)." in text  # the last word of the persistence warning
        assert "Apply (y)" in text and "Cancel (n)" in text
