"""The state file: written whole, read back the same, damaged files named, dead checkers noticed;
and the journal's cause of an automatic change (more on the state file in test_health_statefile.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lvs_tui.health.feed import StateFileFeed
from lvs_tui.health.state import Health
from lvs_tui.health.statefile import StateError, read_state, write_state
from lvs_tui.health.status import HealthEvent, HealthView, ServerStatus
from lvs_tui.ipvs.backend import DestConfig, ServiceConfig
from lvs_tui.model.records import DestKey, Forward, ServiceKey
from lvs_tui.ops import changes
from lvs_tui.ops.changes import Plan, parse_dest_target
from lvs_tui.ops.journal import Journal, outcomes
from lvs_tui.ops.runner import run_plan
from lvs_tui.sim import SimulatedDirector

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
V6 = ServiceKey.inet("tcp", "2001:db8::1", 443)
A = DestKey("198.51.100.11", 8080)
B6 = DestKey("2001:db8::11", 443)


def dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    return int(proc.stdout)


def test_what_is_written_is_read_back(tmp_path: Path) -> None:
    view = HealthView({(WEB, A): ServerStatus(Health.UNHEALTHY, 5.0, "HTTP 503, expected 200", True),
                       (V6, B6): ServerStatus(Health.HEALTHY, None, "HTTP 200")},
                      (HealthEvent(4.0, WEB, "warning", "198.51.100.11:8080 unhealthy"),),
                      ("held: x",), "lvs-top health (pid 1)", True, 6.0)
    taken_out = {WEB: {A: DestConfig(A.address, A.port, Forward.ROUTE, weight=7, upper_threshold=100)},
                 V6: {B6: DestConfig(B6.address, B6.port, weight=2)}}
    path = tmp_path / "run" / "health.json"
    write_state(path, view, taken_out, pid=1)
    read, memory, pid = read_state(path)
    assert pid == 1 and read == view
    assert memory == taken_out
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in path.parent.iterdir()] == ["health.json"]  # no temporary file left


def test_a_dead_checker_is_not_running_and_damage_is_named(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    write_state(path, HealthView(source="lvs-top health"), {}, pid=dead_pid())
    assert not read_state(path)[0].running
    assert StateFileFeed(path).view() is not None and not StateFileFeed(path).view().running  # type: ignore[union-attr]
    data = json.loads(path.read_text())
    del data["servers"]
    path.write_text(json.dumps(data))
    with pytest.raises(StateError, match=r"is damaged: servers is missing"):
        read_state(path)
    path.write_text('{"version": 99}')
    with pytest.raises(StateError, match="not an lvs-top health state file"):
        read_state(path)
    assert StateFileFeed(tmp_path / "missing.json").view() is None


def test_dest_targets_parse_back() -> None:
    assert parse_dest_target(changes.dest_target(V6, B6)) == (V6, B6)
    assert parse_dest_target(WEB.id) is None


def test_the_journal_carries_the_cause_of_an_automatic_change(tmp_path: Path) -> None:
    sim = SimulatedDirector(seed=1, services=0)
    sim.add_service(ServiceConfig(WEB, "wrr"))
    journal = Journal(tmp_path / "journal.jsonl")
    change = changes.add_dest(WEB, DestConfig(A.address, A.port, weight=3))
    report = run_plan(Plan("add", (change,), destructive=False), sim, journal, action="health",
                      causes={change.target: "health check healthy: HTTP 200"})
    assert not report.failed
    intent, entry = journal.entries()
    assert entry["action"] == "health" and entry["cause"] == "health check healthy: HTTP 200"
    assert intent["cause"] == entry["cause"]  # said before the change is made, too
    run_plan(Plan("again", (changes.delete_dest_key(WEB, A),), destructive=True), sim, journal)
    assert "cause" not in list(outcomes(journal.entries()))[1]  # a manual change has none
