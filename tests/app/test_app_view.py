"""Pilot tests of the keys that change what is shown: the filter, the sorts, the poll interval,
units, and what a key says when it cannot act."""

from __future__ import annotations

from textual.widgets import Input, Static

from lvs_tui.model.format import service_label
from lvs_tui.sim import SimulatedDirector
from lvs_tui.ui.app import LvsTopApp
from lvs_tui.ui.factory import AppSettings, make_app
from lvs_tui.ui.grid import Grid
from tests.app.pilot import SLOW, until


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
        await filtered(app, pilot, "[2001:db8")
        assert "filter /[2001:db8/ not a regex (unterminated character set): matched as plain text" \
            in status(app)
        await pilot.press("escape")
        assert "not a regex" not in status(app) and rows(app) > 0
