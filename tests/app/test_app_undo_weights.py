"""Pilot tests of what the confirmations say and let do: weight steps taken in one confirmation,
and undo dialogs that say what the undo does."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from lvs_tui.sim import SimulatedDirector
from lvs_tui.ui.confirm import ConfirmScreen
from tests.app.pilot import until
from tests.app.test_app_ops import app_on, first_dest, journal_entries, ready


def title(app: object) -> str:
    return str(app.screen.query_one("#confirm-title", Static).render())  # type: ignore[attr-defined]


def body(app: object) -> str:
    return str(app.screen.query_one("#confirm-plan", Static).render())  # type: ignore[attr-defined]


async def test_weight_steps_add_up_in_one_confirmation(tmp_path: Path) -> None:
    app = app_on(SimulatedDirector(seed=3), tmp_path / "j.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        dest = first_dest(app)
        weight = dest.weight
        await pilot.press("right_square_bracket")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("right_square_bracket", "right_square_bracket", "right_curly_bracket")
        assert title(app) == (f"Set the weight of {dest.key} in tcp:192.0.2.10:80 from {weight} to "
                              f"{weight + 13}?")
        assert f"-w {weight + 13}" in body(app)
        await pilot.press("enter")
        await until(pilot, lambda: first_dest(app).weight == weight + 13)
        [entry] = journal_entries(tmp_path / "j.jsonl")  # one change, not one per step
        assert entry["after"]["weight"] == weight + 13  # type: ignore[index]


async def test_weight_steps_stop_short_of_a_drain(tmp_path: Path) -> None:
    app = app_on(SimulatedDirector(seed=3), tmp_path / "j.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        dest = first_dest(app)
        assert dest.weight > 1
        await pilot.press("left_square_bracket", *["left_square_bracket"] * dest.weight)
        assert isinstance(app.screen, ConfirmScreen)
        assert title(app).endswith(f"from {dest.weight} to 1?")  # 0 would drain: d does that
        await pilot.press("escape")


async def test_an_undo_says_what_it_will_do(tmp_path: Path) -> None:
    app = app_on(SimulatedDirector(seed=3), tmp_path / "j.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        dest = first_dest(app)
        await pilot.press("delete", "y")
        await until(pilot, lambda: first_dest(app).key != dest.key)
        await pilot.press("u")
        assert isinstance(app.screen, ConfirmScreen)
        assert title(app) == (f"Undo: put back real server {dest.key} in tcp:192.0.2.10:80 at weight "
                              f"{dest.weight}?")
        said = body(app)
        assert f"This reverses: Remove real server {dest.key}" in said
        assert "cannot be undone" not in said
