"""Pilot tests of drains that end in a removal: the drain dialog's keys, the row's marker, and the
question on quit (a removal waiting for a drain lives only in this session)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Static

from lvs_tui.sim import SimulatedDirector
from lvs_tui.ui.confirm import ConfirmScreen, QuitScreen
from tests.app.pilot import until
from tests.app.test_app_ops import WEB, app_on, first_dest, ready, service


async def test_y_and_enter_apply_from_the_minutes_field(tmp_path: Path) -> None:
    app = app_on(SimulatedDirector(seed=3), tmp_path / "j.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        for answer in ("y", "enter"):
            dest = first_dest(app)
            await pilot.press("d")
            assert isinstance(app.screen, ConfirmScreen)
            app.screen.query_one("#deadline", Input).focus()
            await pilot.press("5", answer)
            assert not isinstance(app.screen, ConfirmScreen), f"{answer} did not apply"
            await until(pilot, lambda key=dest.key: app.frame.drains.ending(WEB, key) == "remove by deadline")
            await pilot.press("down")  # the next server, for the next answer


async def test_a_pending_removal_shows_on_its_row_and_is_named_before_quitting(tmp_path: Path) -> None:
    app = app_on(SimulatedDirector(seed=3), tmp_path / "j.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        dest = first_dest(app)
        assert dest.active_conns > 0  # so the drain takes a while
        await pilot.press("d")
        await pilot.click("#remove-when-drained")
        await pilot.press("y")
        await until(pilot, lambda: app.frame.drains.ending(WEB, dest.key) == "auto-remove")
        state = app.dashboard.rows.dest_row(service(app), first_dest(app), None)[-1]
        assert str(state).startswith("→rm ")
        await pilot.press("q")
        assert isinstance(app.screen, QuitScreen)
        listed = str(app.screen.query_one("#confirm-body Static", Static).render())
        assert f"tcp:192.0.2.10:80 > {dest.key}: auto-remove" in listed
        await pilot.press("n")  # stay: the drain goes on
        assert app.screen is app.dashboard  # type: ignore[comparison-overlap]
        await pilot.press("q", "y")
        await until(pilot, lambda: not app.is_running)


async def test_q_quits_at_once_without_a_pending_removal(tmp_path: Path) -> None:
    app = app_on(SimulatedDirector(seed=3), tmp_path / "j.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("d", "y")  # a drain, with no removal to follow
        await until(pilot, lambda: app.frame.drains.status(WEB, first_dest(app).key) is not None)
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running)
