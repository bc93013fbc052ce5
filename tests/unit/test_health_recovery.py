"""A checker killed between its change and its state file's next write: the next one reads what it
took out from the journal, and brings those servers back; what was drained by hand stays out."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from lvs_tui.health.claim import claim_state
from lvs_tui.health.state import Health
from lvs_tui.health.statefile import write_state
from lvs_tui.health.status import HealthView, ServerStatus
from lvs_tui.ipvs.backend import DestConfig, DestEdit, ServiceConfig
from lvs_tui.model.records import DestKey, ServiceKey
from lvs_tui.ops import changes
from lvs_tui.ops.changes import Plan
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.runner import run_plan
from lvs_tui.sim import SimulatedDirector

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
A, B = DestKey("198.51.100.1", 8080), DestKey("198.51.100.2", 8080)
DEAD = 4_000_000  # the killed checker's pid: the state file says it never stopped cleanly


def director() -> SimulatedDirector:
    sim = SimulatedDirector(seed=1, services=0, clock=lambda: 0.0)
    sim.add_service(ServiceConfig(WEB, "wrr"))
    sim.add_dest(WEB, DestConfig(A.address, A.port, weight=5, upper_threshold=90))
    sim.add_dest(WEB, DestConfig(B.address, B.port, weight=3))
    return sim


def taken_out_by_a_killed_checker(tmp_path: Path, view: HealthView, monkeypatch: pytest.MonkeyPatch,
                                  failing: bool = False) -> Journal:
    """The state file as the killed checker last wrote it (`view`, nothing taken out), then its
    change to A's weight, journaled (intent and outcome) after that write, in its name."""
    state = tmp_path / "health.json"
    write_state(state, view, {}, pid=DEAD)
    sim = director()
    journal = Journal(tmp_path / "journal.jsonl")
    service = sim.snapshot().service(WEB)
    assert service is not None
    dest = service.dest(A)
    assert dest is not None
    if failing:
        sim.delete_dest(WEB, A)
    plan = Plan("health", (changes.edit_dest(WEB, dest, DestEdit(weight=0)),), destructive=True)
    with monkeypatch.context() as patched:
        patched.setattr(os, "getpid", lambda: DEAD)  # the journal names the killed process
        run_plan(plan, sim, journal, action="health")
    return journal


def test_a_server_taken_out_after_the_last_write_is_remembered_with_its_settings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = taken_out_by_a_killed_checker(tmp_path, HealthView(updated=time.time()), monkeypatch)
    claim = claim_state(tmp_path / "health.json", "test", journal=journal)
    os.close(claim.lock)
    assert claim.taken_out == {WEB: {A: DestConfig(A.address, A.port, weight=5, upper_threshold=90)}}
    assert "did not stop cleanly" in claim.notes[0] and str(A) in claim.notes[0]


def test_a_change_the_kernel_refused_is_not_remembered(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    view = HealthView(updated=time.time())
    journal = taken_out_by_a_killed_checker(tmp_path, view, monkeypatch, failing=True)
    claim = claim_state(tmp_path / "health.json", "test", journal=journal)
    os.close(claim.lock)
    assert claim.taken_out == {}


def test_a_server_it_stood_aside_for_stays_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    by_hand = ServerStatus(Health.DISABLED, time.time(), "weight 0 set by hand")
    view = HealthView({(WEB, A): by_hand}, updated=time.time())
    journal = taken_out_by_a_killed_checker(tmp_path, view, monkeypatch)
    claim = claim_state(tmp_path / "health.json", "test", journal=journal)
    os.close(claim.lock)
    assert claim.taken_out == {}


def test_after_a_clean_stop_or_long_before_it_the_journal_is_not_replayed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = taken_out_by_a_killed_checker(tmp_path, HealthView(updated=time.time() + 3600), monkeypatch)
    claim = claim_state(tmp_path / "health.json", "test", journal=journal)  # the change is older
    os.close(claim.lock)
    assert claim.taken_out == {}
    write_state(tmp_path / "health.json", HealthView(updated=time.time() - 10), {}, pid=None)  # clean stop
    claim = claim_state(tmp_path / "health.json", "test", journal=journal)
    os.close(claim.lock)
    assert claim.taken_out == {}
