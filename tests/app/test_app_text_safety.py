"""Words from outside (the kernel's addresses, a state file, a damaged journal, an error) reach the
screen as they are: never read as markup, never driving the terminal, never crashing the start."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from textual.widgets import Static

from lvs_tui.health.state import Health
from lvs_tui.health.status import HealthView, ServerStatus
from lvs_tui.ipvs.backend import DestConfig, ServiceConfig
from lvs_tui.model.records import DestKey, ServiceKey
from lvs_tui.ops.journal import Entry, Journal
from lvs_tui.ops.setup import OpsSetup
from lvs_tui.ops.sysctl import Sysctls
from lvs_tui.sim import SimulatedDirector
from lvs_tui.ui.app import LvsTopApp
from lvs_tui.ui.factory import AppSettings, make_app
from lvs_tui.ui.frozen import FixedHealth
from lvs_tui.ui.grid import Grid
from lvs_tui.ui.screens import DetailScreen
from tests.app.pilot import SLOW, until

V6 = ServiceKey.inet("tcp", "fd00::1", 80)
SERVER = DestKey("fd00::2", 80)


def director() -> SimulatedDirector:
    sim = SimulatedDirector(seed=1, services=0)
    sim.add_service(ServiceConfig(V6, "rr"))
    sim.add_dest(V6, DestConfig(SERVER.address, SERVER.port))
    return sim


def detail_text(app: LvsTopApp) -> str:
    screen = app.screen
    assert isinstance(screen, DetailScreen)
    console = Console(width=160, record=True, file=io.StringIO())
    console.print(screen._fields())
    return console.export_text()


def toasts(app: LvsTopApp) -> list[str]:
    """What the toasts on screen say, as rendered."""
    return [str(toast.render()) for toast in app.screen.query("Toast")]


async def test_an_ipv6_service_and_a_checkers_words_show_literally_in_the_detail() -> None:
    hostile = "[link=https://example.invalid]click[/link] \x1b]8;;x\x07 [bold]"
    view = HealthView({(V6, SERVER): ServerStatus(Health.UNHEALTHY, 0.0, hostile)}, source="\x1b[2Jchecker")
    app = make_app(AppSettings(director, "test", SLOW, health=lambda submit: FixedHealth(view)))
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: app.query_one("#dests", Grid).row_count > 0)
        await pilot.press("enter")
        assert "tcp:[fd00::1]:80" in detail_text(app)  # once shown as tcp::80: brackets read as markup
        await pilot.press("escape", "tab", "enter")
        text = detail_text(app)
        assert "[link=https://example.invalid]click[/link]" in text and "\\x1b]8;;x\\x07 [bold]" in text
        await pilot.press("escape")
        status = str(app.query_one("#status-line", Static).render())
        assert "\\x1b[2Jchecker" in status and "\x1b" not in status


async def test_a_toast_quoting_an_address_and_escapes_shows_them_as_they_are() -> None:
    app = make_app(AppSettings(director, "test", SLOW))
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await until(pilot, lambda: app.frame.snapshot is not None)
        app.dashboard.operator.say("real server [fd00::2]:80 [b]bold[/b] \x1b[2J is gone", title="[b]odd[/b]")
        await pilot.pause()
        assert toasts(app) == ["[b]odd[/b]\nreal server [fd00::2]:80 [b]bold[/b] \\x1b[2J is gone"]


async def test_a_damaged_journal_does_not_stop_the_dashboard_and_an_interrupted_change_is_said(
        tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    command = "ipvsadm -e -t [fd00::1]:80 -r [fd00::2]:80 -w 0"
    killed = Entry("edit_dest", f"{V6.id}>{SERVER.id}", command, None, {"weight": 0}, "")
    journal.intend(killed)  # and the process was killed before its outcome
    with path.open("ab") as raw:
        raw.write(b"\xff\xfe not utf-8\n5\n[1, 2]\n")
        raw.write(b'{"action": "edit_dest", "result": "ok", "target": 5, "after": {"weight": "x"}}\n')
        raw.write(b'{"action": "edit_dest", "result": "ok", "target": "t", "before": {"weight": 1e300},'
                  b' "after": {"weight": 0}}\n')
    setup = OpsSetup(None, journal, lambda: Sysctls({}), None, lambda: ())
    app = make_app(AppSettings(director, "test", SLOW, setup))
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await until(pilot, lambda: app.frame.facts.interrupted != ())
        (said,) = app.frame.facts.interrupted
        assert "ipvsadm -e -t [fd00::1]:80" in said and "never said how it ended" in said
        await pilot.pause()
        assert any("never said how it ended" in toast for toast in toasts(app))
