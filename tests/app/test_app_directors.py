"""Two directors in one dashboard at 80x24: both in the strip, `n` shows the other, the rows whose
settings differ between them are marked and their detail says how, and a director read through its
agent is read-only on screen."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from textual.widgets import Checkbox, Static

from lvs_tui.ipvs.backend import DestEdit
from lvs_tui.model.records import DestKey
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.setup import OpsSetup
from lvs_tui.ops.sysctl import KERNEL_DEFAULTS, Sysctls
from lvs_tui.sim import SimulatedDirector
from lvs_tui.ui.app import LvsTopApp
from lvs_tui.ui.confirm import ConfirmScreen
from lvs_tui.ui.factory import AppSettings, OtherDirector, make_app
from lvs_tui.ui.screens import DetailScreen
from tests.app.pilot import SLOW, screen_lines, until
from tests.app.test_app_ops import WEB

REMOTE = "director lb2 is read through its agent, which only reads"


def pair_app(lb1: SimulatedDirector, lb2: SimulatedDirector, journal: Path) -> LvsTopApp:
    setup = OpsSetup(None, Journal(journal), lambda: Sysctls(dict(KERNEL_DEFAULTS)), None, lambda: ())
    other = OtherDirector("lb2", lambda: lb2, OpsSetup(read_only=REMOTE))
    return make_app(AppSettings(lambda: lb1, "director lb1", SLOW, setup, name="lb1", others=(other,)))


def both_read(app: LvsTopApp) -> bool:
    view = app.frame.directors
    return view is not None and all(state.polled_at is not None for state in view.directors)


def shown(app: LvsTopApp) -> str | None:
    return None if app.frame.directors is None else app.frame.directors.shown_name


def rendered(detail: DetailScreen) -> str:
    console = Console(width=150, record=True, file=io.StringIO())
    console.print(detail._fields())
    return console.export_text()


def status(app: LvsTopApp) -> str:
    return str(app.screen.query_one("#status-line", Static).render())


async def test_a_pair_on_one_screen_marks_its_drift_and_switches_with_n(tmp_path: Path) -> None:
    lb1, lb2 = SimulatedDirector(seed=1), SimulatedDirector(seed=2)
    lb2.held = frozenset()  # its backup: keepalived put the VIPs on lb1
    journal = tmp_path / "journal.jsonl"
    app = pair_app(lb1, lb2, journal)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: both_read(app) and app.dashboard.service_shown is not None
                    and app.frame.directors is not None and app.frame.directors.vips != {})
        top = screen_lines(app)[0]
        assert "▶lb1 ✔" in top and "lb2 ✔" in top and "same" in top  # the demo's table on both
        assert "VIP 5/5 │" in top and "VIP 0/5 same" in top and "✖" not in top
        assert "≠" not in "".join(screen_lines(app))
        await pilot.press("enter")  # the detail of the first service: who holds its VIP
        service_detail = app.screen
        assert isinstance(service_detail, DetailScreen)
        assert "192.0.2.10 is on lb1" in rendered(service_detail)
        await pilot.press("escape")

        dest = lb2.snapshot().service(WEB).dests[0]  # type: ignore[union-attr]
        lb2.edit_dest(WEB, dest.key, DestEdit(weight=dest.weight + 5))  # by hand, on lb2 only
        app.request_poll()
        await until(pilot, lambda: app.frame.directors is not None and WEB in app.frame.directors.marked)
        lines = screen_lines(app)
        assert "≠1" in lines[0]
        assert any(line.startswith("≠ TCP  192.0.2.10:80") for line in lines)  # the service...
        assert any(line.startswith(f"≠ {dest.key.id}") for line in lines)  # ...and its server below

        await pilot.press("n")
        await until(pilot, lambda: shown(app) == "lb2")
        assert "director lb2" in status(app) and "read-only" in status(app)
        shown_weight = app.dashboard.service_shown.dest(dest.key).weight  # type: ignore[union-attr]
        assert shown_weight == dest.weight + 5  # lb2's own table
        assert "▶lb2" in screen_lines(app)[0]

        await pilot.press("tab", "enter")  # the detail of the real server that differs
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        fields = rendered(detail)
        assert (f"tcp:192.0.2.10:80 -> {dest.key.id}: weight {dest.weight + 5} on lb2, {dest.weight} on lb1"
                in fields)
        await pilot.press("escape")

        await pilot.press("d")  # lb2 is read through its agent: no change from here
        assert app.screen is app.dashboard  # no confirmation opened
        assert lb2.snapshot().service(WEB).dest(dest.key).weight == dest.weight + 5  # type: ignore[union-attr]

        await pilot.press("n")
        await until(pilot, lambda: shown(app) == "lb1")
        assert "read-only" not in status(app)
    assert not journal.exists()  # nothing was changed


async def test_a_director_that_cannot_be_read_is_shown_so_and_the_other_goes_on(tmp_path: Path) -> None:
    class Gone(SimulatedDirector):
        def snapshot(self, whole: object = None) -> object:  # type: ignore[override]
            raise OSError("ssh: connect to host lb2 port 22: Connection refused")

    lb1 = SimulatedDirector(seed=1)
    app = pair_app(lb1, Gone(seed=2), tmp_path / "journal.jsonl")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.frame.directors is not None
                    and app.frame.directors.directors[1].error is not None and app.frame.snapshot is not None)
        top = screen_lines(app)[0]
        assert "▶lb1 ✔" in top and "lb2 ✖ unreachable" in top
        first = app.frame.number
        app.request_poll()
        await until(pilot, lambda: app.frame.number > first + 1)  # lb1 goes on polling
        await pilot.press("n")
        await until(pilot, lambda: shown(app) == "lb2")
        assert "✖" in status(app) and "Connection refused" in status(app)


def writable_pair(lb1: SimulatedDirector, lb2: SimulatedDirector, journal: Path) -> LvsTopApp:
    def setup(director: str | None) -> OpsSetup:
        return OpsSetup(None, Journal(journal), lambda: Sysctls(dict(KERNEL_DEFAULTS)), None, lambda: (),
                        director=director)

    other = OtherDirector("lb2", lambda: lb2, setup("lb2"))
    return make_app(AppSettings(lambda: lb1, "director lb1", SLOW, setup(None), name="lb1", others=(other,)))


def drift_on_lb2(app: LvsTopApp) -> tuple[object, ...] | None:
    view = app.frame.directors
    return None if view is None else view.directors[1].drift


def weight(director: SimulatedDirector, dest: DestKey) -> int:
    found = director.snapshot().service(WEB)
    assert found is not None and found.dest(dest) is not None
    return found.dest(dest).weight  # type: ignore[union-attr]


async def test_a_change_is_offered_for_both_directors_in_one_confirmation(tmp_path: Path) -> None:
    lb1, lb2 = SimulatedDirector(seed=1), SimulatedDirector(seed=2)
    journal = tmp_path / "journal.jsonl"
    app = writable_pair(lb1, lb2, journal)
    first, second = (dest.key for dest in lb1.snapshot().service(WEB).dests[:2])  # type: ignore[union-attr]
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: both_read(app) and app.dashboard.service_shown is not None)
        await pilot.press("tab", "d")
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        console = Console(width=150, record=True, file=io.StringIO())
        console.print(confirm.query_one("#confirm-plan", Static).render())
        listed = console.export_text()
        assert "on lb1 (shown):" in listed and "on lb2:" in listed
        assert listed.count(f"-r {first.id} -m -w 0") == 2  # the same command, on each
        assert confirm.query_one("#everywhere", Checkbox).value  # offered for both, ticked
        await pilot.press("y")
        await until(pilot, lambda: weight(lb1, first) == 0 and weight(lb2, first) == 0)
        await until(pilot, lambda: drift_on_lb2(app) == ())

        await pilot.press("down", "d")  # the next server, on the shown director only this time
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        confirm.query_one("#everywhere", Checkbox).value = False
        await pilot.pause()
        await pilot.press("y")
        await until(pilot, lambda: weight(lb1, second) == 0)
        await until(pilot, lambda: len(drift_on_lb2(app) or ()) == 1)
        assert weight(lb2, second) > 0
    directors = [entry.get("director") for entry in Journal(journal).entries() if entry["result"] == "ok"]
    assert directors == [None, "lb2", None]
