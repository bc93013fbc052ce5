"""lvs_tui.ops.journal.drained_weights: what a new session learns from the journal of earlier ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lvs_tui.ipvs.backend import DestConfig, DestEdit, ServiceConfig
from lvs_tui.model.records import Dest, DestKey, ServiceKey
from lvs_tui.ops import changes
from lvs_tui.ops.changes import Plan
from lvs_tui.ops.commands import save_lines
from lvs_tui.ops.journal import Journal, drained_weights
from lvs_tui.ops.restore import plan_restore
from lvs_tui.ops.rules import parse_rules
from lvs_tui.ops.runner import run_plan
from lvs_tui.sim import SimulatedDirector

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
TARGET = "tcp:192.0.2.10:80>198.51.100.7:8080"
OTHER = "tcp:192.0.2.10:80>198.51.100.8:8080"


def director() -> tuple[SimulatedDirector, Dest]:
    """WEB with the real server of TARGET at weight 6, on a frozen clock."""
    sim = SimulatedDirector(services=0, dests_per_service=0, clock=lambda: 0.0, wall_clock=lambda: 0.0)
    sim.add_service(ServiceConfig(WEB, "wrr"))
    sim.add_dest(WEB, DestConfig("198.51.100.7", 8080, weight=6))
    service = sim.snapshot().service(WEB)
    dest = None if service is None else service.dest(DestKey("198.51.100.7", 8080))
    assert dest is not None
    return sim, dest


def entry(before: int | None, after: int | None, action: str = "edit_dest", target: str = TARGET,
          result: str = "ok") -> dict[str, Any]:
    return {"action": action, "target": target, "result": result,
            "before": None if before is None else {"weight": before},
            "after": None if after is None else {"weight": after}}


def test_a_drain_remembers_the_weight_before_it() -> None:
    assert drained_weights(iter([entry(5, 0), entry(2, 3, target=OTHER)])) == {TARGET: 5}


def test_bringing_a_server_back_forgets_it() -> None:
    assert drained_weights(iter([entry(5, 0), entry(0, 5)])) == {}
    assert drained_weights(iter([entry(5, 0), entry(0, 5, action="undo")])) == {}
    assert drained_weights(iter([entry(5, 0), entry(None, 2, action="add_dest")])) == {}


def test_the_latest_drain_wins_and_an_edit_while_drained_keeps_the_weight() -> None:
    assert drained_weights(iter([entry(5, 0), entry(0, 3), entry(3, 0)])) == {TARGET: 3}
    assert drained_weights(iter([entry(5, 0), entry(0, 0)])) == {TARGET: 5}


def test_failed_changes_and_other_actions_are_ignored() -> None:
    failed = entry(5, 0, result="real server 198.51.100.7:8080 does not exist.")
    assert drained_weights(iter([failed])) == {}
    assert drained_weights(iter([entry(5, 0), entry(0, None, action="delete_dest")])) == {TARGET: 5}
    assert drained_weights(iter([{"action": "zero", "target": "all services", "result": "ok",
                                  "before": None, "after": None}])) == {}


def test_a_restore_that_gives_a_drained_server_a_weight_again_forgets_it(tmp_path: Path) -> None:
    assert drained_weights(iter([entry(5, 0), entry(0, 5, action="restore")])) == {}
    sim, dest = director()
    saved = parse_rules("\n".join(save_lines(sim.snapshot())))
    journal = Journal(tmp_path / "journal.jsonl")
    run_plan(Plan("Drain", (changes.edit_dest(WEB, dest, DestEdit(weight=0)),), True), sim, journal)
    assert drained_weights(journal.entries()) == {TARGET: 6}
    restore = plan_restore(sim.snapshot(), saved, "saved")
    run_plan(restore, sim, journal, action="restore")  # as `lvs-top restore` runs it
    assert drained_weights(journal.entries()) == {}


def test_a_session_s_drain_is_read_back_from_the_journal_it_wrote(tmp_path: Path) -> None:
    sim, dest = director()
    journal = Journal(tmp_path / "journal.jsonl")
    run_plan(Plan("Drain", (changes.edit_dest(WEB, dest, DestEdit(weight=0)),), True), sim, journal)
    assert drained_weights(journal.entries()) == {TARGET: 6}
