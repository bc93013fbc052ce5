"""The dashboard's poller side without a screen: one frozen frame per poll, built and published on
the thread that owns the backend, with the drains, the undo list and the director's facts."""

from __future__ import annotations

import dataclasses
import queue
import threading
from pathlib import Path

import pytest

from lvs_tui.ipvs.backend import DestConfig, ServiceConfig
from lvs_tui.live.builder import FrameBuilder
from lvs_tui.live.frame import DashboardFrame, ViewSettings
from lvs_tui.live.session import Applied, LiveSession
from lvs_tui.model.dashboard import SortKey
from lvs_tui.model.history import Metric
from lvs_tui.model.records import Service, ServiceKey
from lvs_tui.ops import changes
from lvs_tui.ops.drain import DrainOptions
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.poller import PollResult
from lvs_tui.ops.runner import run_plan
from lvs_tui.ops.setup import OpsSetup
from lvs_tui.ops.sysctl import Sysctls
from lvs_tui.sim import SimulatedDirector

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)  # the demo's first service: wrr, four real servers
NO_SYSCTLS = Sysctls({})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def setup(tmp_path: Path, read: list[str] | None = None) -> OpsSetup:
    def sysctls() -> Sysctls:
        if read is not None:
            read.append(threading.current_thread().name)
        return NO_SYSCTLS

    return OpsSetup(None, Journal(tmp_path / "journal.jsonl"), sysctls, None, lambda: ())


def polled(builder: FrameBuilder, director: SimulatedDirector, clock: Clock) -> DashboardFrame:
    clock.now += 1.0
    frame, due = builder.build(PollResult(director.snapshot(), None, clock.now, 0.01))
    assert due == []
    return frame


def web(frame: DashboardFrame) -> Service:
    assert frame.snapshot is not None
    service = frame.snapshot.service(WEB)
    assert service is not None
    return service


def test_each_poll_makes_a_new_frame_and_an_older_frame_never_changes(tmp_path: Path) -> None:
    clock = Clock()
    director = SimulatedDirector(seed=3, clock=clock)
    builder = FrameBuilder(setup(tmp_path), clock=clock)
    frames = [polled(builder, director, clock) for _ in range(4)]
    assert [frame.number for frame in frames] == [1, 2, 3, 4]
    third = frames[2]
    def contents(frame: DashboardFrame) -> object:
        return (frame.snapshot, dict(frame.service_rates), frame.order,
                frame.service_history.series(WEB, Metric.CPS))

    kept = contents(third)
    for _ in range(5):
        polled(builder, director, clock)
    assert contents(third) == kept
    with pytest.raises(dataclasses.FrozenInstanceError):
        third.snapshot = None  # type: ignore[misc]


def test_a_failed_poll_keeps_the_last_good_figures_and_says_why(tmp_path: Path) -> None:
    clock = Clock()
    director = SimulatedDirector(seed=3, clock=clock)
    builder = FrameBuilder(setup(tmp_path), clock=clock)
    polled(builder, director, clock)
    good = polled(builder, director, clock)
    failed, _ = builder.build(PollResult(None, "IPVS is not available in this kernel.", clock.now + 1, 0.0))
    assert failed.error == "IPVS is not available in this kernel."
    assert failed.snapshot is good.snapshot and failed.polled_at == good.polled_at
    assert failed.service_rates == good.service_rates and failed.order == good.order
    assert polled(builder, director, clock).error is None  # it recovers by itself


def test_the_order_follows_the_view_the_screen_hands_over(tmp_path: Path) -> None:
    clock = Clock()
    director = SimulatedDirector(seed=3, clock=clock)
    builder = FrameBuilder(setup(tmp_path), clock=clock)
    for _ in range(3):
        frame = polled(builder, director, clock)
    by_service = frame.order
    assert list(by_service) == sorted(by_service, key=lambda key: key.sort_key)
    busiest = SortKey("active", reverse=True)
    recomputed = frame.order_for(busiest, "")  # the screen's new sort, before the next frame
    builder.view = ViewSettings(busiest, "")
    frame = polled(builder, director, clock)
    assert frame.view.sort == busiest and frame.order_for(busiest, "") is frame.order
    actives = [frame.conns[key][0] for key in frame.order]
    assert actives == sorted(actives, reverse=True) and len(recomputed) == len(frame.order)
    builder.view = ViewSettings(busiest, "udp")
    assert all(key.id.startswith("udp") for key in polled(builder, director, clock).order)


def test_a_drain_is_followed_and_its_removal_is_due_once_when_drained(tmp_path: Path) -> None:
    clock = Clock()
    director = SimulatedDirector(seed=3, clock=lambda: 0.0, services=0)  # its time stands: no traffic
    director.add_service(ServiceConfig(WEB, "wrr"))
    director.add_dest(WEB, DestConfig("198.51.100.99", 8080, weight=4))
    journal = Journal(tmp_path / "journal.jsonl")
    builder = FrameBuilder(setup(tmp_path), clock=clock)
    frame = polled(builder, director, clock)
    dest = web(frame).dests[0]
    plan = changes.plan_drain([web(frame)], dest.address, dest.port, NO_SYSCTLS)
    report = run_plan(plan, director, journal)
    builder.applied(report, DrainOptions(remove_when_drained=True), undoable=True)
    clock.now += 1.0
    frame, due = builder.build(PollResult(director.snapshot(), None, clock.now, 0.01))
    status = frame.drains.status(WEB, dest.key)
    assert status is not None and status.drained
    assert frame.drains.previous_weight(WEB, dest.key) == 4
    assert [p.changes[0].action for p in due] == ["delete_dest"]
    clock.now += 1.0
    _, again = builder.build(PollResult(director.snapshot(), None, clock.now, 0.01))
    assert again == []  # handed out once: the session removes it once
    assert [entry.plan for entry in frame.undo] == [plan]


def test_an_undo_entry_is_taken_once(tmp_path: Path) -> None:
    clock = Clock()
    director = SimulatedDirector(seed=3, clock=clock)
    builder = FrameBuilder(setup(tmp_path), clock=clock)
    frame = polled(builder, director, clock)
    dest = web(frame).dests[0]
    plan = changes.plan_weight(web(frame), dest, dest.weight + 1, NO_SYSCTLS)
    builder.applied(run_plan(plan, director, Journal(tmp_path / "j.jsonl")), None, undoable=True)
    (entry,) = polled(builder, director, clock).undo
    assert builder.take_undo(entry) and not builder.take_undo(entry)
    assert polled(builder, director, clock).undo == ()


def test_the_survey_learns_what_the_director_offers_and_the_weights_drained_before(tmp_path: Path) -> None:
    clock = Clock()
    director = SimulatedDirector(seed=3, clock=clock)
    earlier = setup(tmp_path)
    snapshot = director.snapshot()
    service = snapshot.service(WEB)
    assert service is not None
    dest = service.dests[0]
    # An earlier session drained it and left it at weight 0.
    run_plan(changes.plan_drain([service], dest.address, dest.port, NO_SYSCTLS), director, earlier.journal)
    builder = FrameBuilder(earlier, clock=clock)
    polled(builder, director, clock)
    frame = builder.survey(("rr", "wrr"))
    assert frame.facts.schedulers == ("rr", "wrr")
    assert frame.drains.previous_weight(WEB, dest.key) == dest.weight


def test_the_session_polls_applies_and_reads_sysctls_on_its_own_thread(tmp_path: Path) -> None:
    director = SimulatedDirector(seed=3)
    read: list[str] = []
    session = LiveSession(lambda: director, setup(tmp_path, read))
    frames: queue.Queue[tuple[DashboardFrame, str]] = queue.Queue()
    reports: queue.Queue[Applied] = queue.Queue()
    session.start(lambda frame: frames.put((frame, threading.current_thread().name)), reports.put)
    try:
        frame, thread = frames.get(timeout=10)
        assert thread == "lvs-top-poller" and frame.snapshot is not None
        dest = web(frame).dests[0]
        session.apply(changes.plan_weight(web(frame), dest, dest.weight + 3, NO_SYSCTLS))
        applied = reports.get(timeout=10)
        assert not isinstance(applied.outcome, Exception) and not applied.outcome.failed
        while True:  # a poll follows the change at once: its frame shows the new weight
            frame, thread = frames.get(timeout=10)
            shown = web(frame).dest(dest.key)
            if shown is not None and shown.weight == dest.weight + 3:
                break
        assert thread == "lvs-top-poller" and frame.undo
    finally:
        session.stop()
    assert read and set(read) == {"lvs-top-poller"}  # sysctls: never on the caller's (UI) thread


def test_the_view_is_handed_over_whole(tmp_path: Path) -> None:
    builder = FrameBuilder(setup(tmp_path))
    view = ViewSettings(SortKey("cps"), "tcp").watching(WEB).watching(WEB)
    assert view.watched == (WEB,)
    many = view
    for port in range(40):
        many = many.watching(ServiceKey.inet("tcp", "192.0.2.10", 1000 + port))
    assert len(many.watched) == 32 and WEB not in many.watched  # the oldest watched are let go
    builder.view = view
    frame, _ = builder.build(PollResult(None, "not yet", 0.0, 0.0))
    assert frame.view is view



def test_the_services_read_whole_are_those_watched_and_draining(tmp_path: Path) -> None:
    clock = Clock()
    director = SimulatedDirector(seed=3, clock=clock)
    builder = FrameBuilder(setup(tmp_path), clock=clock)
    frame = polled(builder, director, clock)
    assert builder.whole() == frozenset()
    other = frame.order[-1]
    builder.view = builder.view.watching(other)
    dest = web(frame).dests[0]
    report = run_plan(changes.plan_drain([web(frame)], dest.address, dest.port, NO_SYSCTLS), director,
                      Journal(tmp_path / "journal.jsonl"))
    builder.applied(report, DrainOptions(), undoable=False)
    assert builder.whole() == {other, WEB}
