"""The dashboard and the drain records: a drain a script started is followed; the dashboard's own
drains (with their "remove once drained") are written, and survive the dashboard's restart; a
removal stays with the live process that asked for it; a read-only dashboard writes nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

from lvs_tui.ipvs.backend import DestConfig, ServiceConfig
from lvs_tui.live.builder import FrameBuilder
from lvs_tui.live.frame import DashboardFrame
from lvs_tui.model.records import DestKey
from lvs_tui.ops import changes
from lvs_tui.ops.changes import Plan
from lvs_tui.ops.drain import DrainOptions
from lvs_tui.ops.drainrecords import DrainRecord, DrainRecords
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.poller import PollResult
from lvs_tui.ops.runner import run_plan
from lvs_tui.ops.setup import OpsSetup
from lvs_tui.sim import SimulatedDirector
from tests.unit.test_live_frames import NO_SYSCTLS, WEB, Clock, web

SERVER = DestKey("198.51.100.99", 8080)
OTHER = DestKey("198.51.100.98", 8080)


def quiet_director() -> SimulatedDirector:
    """Two real servers and no traffic (its time stands): a drained server is drained at once."""
    director = SimulatedDirector(seed=3, clock=lambda: 0.0, services=0)
    director.add_service(ServiceConfig(WEB, "wrr"))
    director.add_dest(WEB, DestConfig(SERVER.address, SERVER.port, weight=4))
    director.add_dest(WEB, DestConfig(OTHER.address, OTHER.port, weight=2))
    return director


def session(tmp_path: Path, read_only: str | None = None) -> tuple[FrameBuilder, DrainRecords, Clock]:
    records = DrainRecords(tmp_path / "drains.json")
    setup = OpsSetup(read_only, Journal(tmp_path / "journal.jsonl"), lambda: NO_SYSCTLS, None, lambda: (),
                     drains=records)
    return FrameBuilder(setup, clock=(clock := Clock())), records, clock


def poll(builder: FrameBuilder, director: SimulatedDirector,
         clock: Clock) -> tuple[DashboardFrame, list[Plan]]:
    clock.now += 1.0
    return builder.build(PollResult(director.snapshot(), None, clock.now, 0.01))


def drained_elsewhere(director: SimulatedDirector, records: DrainRecords, pid: int, remove: bool) -> None:
    """What `lvs-top drain` does from another process: weight 0, then the record."""
    service = director.snapshot().service(WEB)
    assert service is not None
    run_plan(changes.plan_drain([service], SERVER.address, SERVER.port, NO_SYSCTLS), director,
             Journal(records.path.with_name("other.jsonl")) if records.path else Journal())
    records.add([DrainRecord(WEB, SERVER, 4, 1_700_000_000.0, "drain", pid, remove, initial=7)])


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_drain_a_script_started_is_followed_but_its_removal_stays_with_the_script(tmp_path: Path) -> None:
    director = quiet_director()
    builder, records, clock = session(tmp_path)
    poll(builder, director, clock)
    drained_elsewhere(director, records, pid=1, remove=True)  # pid 1 lives: the script still runs
    frame, due = poll(builder, director, clock)
    status = frame.drains.status(WEB, SERVER)
    assert status is not None and status.drained and frame.drains.previous_weight(WEB, SERVER) == 4
    assert due == [] and frame.drains.ending(WEB, SERVER) is None


def test_a_removal_whose_process_is_gone_is_carried_out_once(tmp_path: Path) -> None:
    director = quiet_director()
    builder, records, clock = session(tmp_path)
    drained_elsewhere(director, records, pid=dead_pid(), remove=True)
    frame, due = poll(builder, director, clock)
    assert frame.drains.ending(WEB, SERVER) == "auto-remove"
    assert [plan.changes[0].target for plan in due] == [f"{WEB}>{SERVER}"]
    for plan in due:
        run_plan(plan, director, Journal(tmp_path / "journal.jsonl"))
    _, again = poll(builder, director, clock)
    assert again == [] and records.read() == {}  # the server is gone: its record too


def test_a_dashboard_drain_with_auto_remove_survives_a_restart_of_the_dashboard(tmp_path: Path) -> None:
    director = quiet_director()
    first, records, clock = session(tmp_path)
    frame, _ = poll(first, director, clock)
    plan = changes.plan_drain([web(frame)], SERVER.address, SERVER.port, NO_SYSCTLS)
    first.applied(run_plan(plan, director, Journal(tmp_path / "journal.jsonl")),
                  DrainOptions(remove_when_drained=True, deadline_minutes=30), undoable=True)
    (kept,) = records.read().values()
    assert (kept.origin, kept.previous_weight, kept.remove_when_drained) == ("dashboard", 4, True)
    assert kept.deadline is not None and kept.deadline - kept.started == 30 * 60
    # The dashboard ends before the next poll; its successor (another pid in life: here the record's
    # pid is made a dead one) takes the drain and its removal over.
    records.add([DrainRecord(WEB, SERVER, 4, kept.started, "dashboard", dead_pid(), True, kept.deadline)])
    second, _, clock2 = session(tmp_path)
    frame, due = poll(second, director, clock2)
    assert frame.drains.ending(WEB, SERVER) == "remove by deadline"
    assert [plan.changes[0].action for plan in due] == ["delete_dest"]


def test_records_of_servers_back_in_rotation_end_and_a_read_only_dashboard_writes_none(
    tmp_path: Path,
) -> None:
    director = quiet_director()
    watcher, records, clock = session(tmp_path, read_only="--read-only")
    drained_elsewhere(director, records, pid=1, remove=False)
    frame, _ = poll(watcher, director, clock)
    assert frame.drains.status(WEB, SERVER) is not None
    service = director.snapshot().service(WEB)
    assert service is not None
    dest = service.dest(SERVER)
    assert dest is not None
    run_plan(changes.plan_restore_weight(service, dest, 4), director, Journal(tmp_path / "journal.jsonl"))
    frame, _ = poll(watcher, director, clock)
    assert frame.drains.status(WEB, SERVER) is None
    assert list(records.read()) == [(WEB, SERVER)]  # read-only: left for a writer to end
    writer, _, clock2 = session(tmp_path)
    poll(writer, director, clock2)
    assert records.read() == {}


def test_a_damaged_records_file_is_a_warning_on_screen_not_a_crash(tmp_path: Path) -> None:
    director = quiet_director()
    builder, records, clock = session(tmp_path)
    assert records.path is not None
    records.path.write_text("{not json")
    frame, _ = poll(builder, director, clock)
    assert frame.snapshot is not None and len(frame.facts.record_warnings) == 1
    assert "drains.json are damaged" in frame.facts.record_warnings[0]
