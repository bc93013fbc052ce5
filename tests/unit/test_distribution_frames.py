"""The distribution check as the dashboard gets it: judged on the poller side, one verdict per
service in each frame, shown on the service's own row."""

from __future__ import annotations

from pathlib import Path

from lvs_tui.live.builder import FrameBuilder
from lvs_tui.live.frame import DashboardFrame, ViewSettings
from lvs_tui.model.distribution import DestState, Verdict
from lvs_tui.model.records import DestKey, ServiceKey
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.poller import PollResult
from lvs_tui.ops.setup import OpsSetup
from lvs_tui.ops.sysctl import Sysctls
from lvs_tui.sim import SimulatedDirector
from lvs_tui.ui.rows import RowRenderer, spread_cell

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)  # the demo's wrr service
MH = ServiceKey.inet("tcp", "192.0.2.20", 8080)  # the demo's mh service


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def builder(tmp_path: Path) -> FrameBuilder:
    setup = OpsSetup(None, Journal(tmp_path / "journal.jsonl"), lambda: Sysctls({}), None, lambda: ())
    return FrameBuilder(setup)


def polls(frames: FrameBuilder, director: SimulatedDirector, clock: Clock, seconds: int) -> DashboardFrame:
    frame = frames.frame
    for _ in range(seconds):
        clock.now += 1.0
        frame, _ = frames.build(PollResult(director.snapshot(), None, clock.now, 0.01))
    return frame


def test_every_service_of_the_demo_gets_a_verdict_on_its_row(tmp_path: Path) -> None:
    clock = Clock()
    director = SimulatedDirector(seed=1, clock=clock, wall_clock=clock)
    frames = builder(tmp_path)
    frame = polls(frames, director, clock, 30)
    assert frame.snapshot is not None
    assert set(frame.distribution) == {service.key for service in frame.snapshot.services}
    assert frame.distribution[WEB].verdict is Verdict.OK
    assert frame.distribution[MH].verdict is Verdict.NA

    director.starve(MH, DestKey("203.0.113.42", 8080))  # silently out of rotation
    frame = polls(frames, director, clock, 60)
    assert frame.distribution[MH].verdict is Verdict.SKEWED
    rows = RowRenderer()
    rows.show(frame, rows.display)
    assert str(spread_cell(frame, MH)) == "skewed"
    assert "skewed" in [str(cell) for cell in rows.service_row(MH)]  # visible without selecting it
    service = None if frame.snapshot is None else frame.snapshot.service(MH)
    assert service is not None
    assert rows.dest_shares(service)[DestKey("203.0.113.42", 8080)].state is DestState.SKEWED


def test_a_big_table_judges_only_the_watched_services(tmp_path: Path) -> None:
    clock = Clock()
    director = SimulatedDirector(seed=2, services=600, dests_per_service=10, clock=clock, wall_clock=clock)
    frames = builder(tmp_path)
    watched = director.snapshot().services[0].key
    frames.view = ViewSettings(watched=(watched,))
    frame = polls(frames, director, clock, 3)
    assert set(frame.distribution) == {watched}
    assert str(spread_cell(frame, director.snapshot().services[1].key)) == ""
