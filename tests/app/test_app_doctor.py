"""The doctor in the dashboard: a badge on the rows of services with a problem, the count on the
status line, and the findings with their fixes in the service's detail view."""

from __future__ import annotations

import io
from collections.abc import Iterable

from rich.console import Console
from textual.widgets import Static

from lvs_tui.doctor.director import DirectorFacts, Route
from lvs_tui.doctor.watch import DoctorWatch
from lvs_tui.ipvs.backend import DestConfig, ServiceConfig
from lvs_tui.model.records import Forward, ServiceKey
from lvs_tui.sim import SimulatedDirector
from lvs_tui.ui.factory import AppSettings, make_app
from lvs_tui.ui.grid import Grid
from lvs_tui.ui.screens import DetailScreen
from tests.app.pilot import SLOW, until

NAT = ServiceKey.inet("tcp", "10.10.0.1", 80)
DR = ServiceKey.inet("tcp", "10.10.0.2", 80)


def director() -> SimulatedDirector:
    sim = SimulatedDirector(seed=1, services=0)
    for key, forward in ((NAT, Forward.MASQ), (DR, Forward.ROUTE)):
        sim.add_service(ServiceConfig(key, "rr"))
        sim.add_dest(key, DestConfig("10.20.1.2", 80, forward))
    return sim


def facts(addresses: Iterable[str]) -> DirectorFacts:
    # Forwarding on; the DR VIP 10.10.0.2 is not on the director.
    return DirectorFacts(1, frozenset({"10.10.0.1"}), lambda a: Route(None, "eth1", 1500))


async def test_a_badge_a_count_and_the_findings_in_the_detail() -> None:
    doctor = DoctorWatch(facts)
    app = make_app(AppSettings(director, "test", SLOW, doctor=doctor))
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.frame.snapshot is not None)
        snapshot = app.frame.snapshot
        assert snapshot is not None
        doctor.examine(snapshot)
        app.request_poll()
        await until(pilot, lambda: "doctor ✖1" in str(app.query_one("#status-line", Static).render()))
        rows = {key: str(app.dashboard.rows.service_row(key)[0]) for key in (NAT, DR)}
        assert rows[DR].startswith("✖ ") and not rows[NAT].startswith("✖")
        grid = app.query_one("#services", Grid)
        grid.move_to(DR)
        await pilot.pause()
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        console = Console(width=140, record=True, file=io.StringIO())
        console.print(app.screen._fields())
        text = console.export_text()
        assert "is DR, but the VIP 10.10.0.2 is not configured on the director" in text
        assert "fix: ip addr add 10.10.0.2/32 dev <interface facing the router>" in text
