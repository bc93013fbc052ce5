"""lvs_tui.ops.runner: a plan is applied item by item, each journaled, and a failure does not hide."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from lvs_tui.ipvs.backend import DestConfig, DestEdit, ServiceConfig
from lvs_tui.model.records import DestKey, Service, ServiceKey
from lvs_tui.ops import changes
from lvs_tui.ops.changes import Plan
from lvs_tui.ops.journal import Entry, Journal
from lvs_tui.ops.runner import JournalUnwritable, check_journal, run_plan
from lvs_tui.sim import SimulatedDirector

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
SERVERS = ("198.51.100.1", "198.51.100.2", "198.51.100.3")


def director() -> SimulatedDirector:
    """WEB with three real servers at weight 5, on a frozen clock."""
    sim = SimulatedDirector(services=0, dests_per_service=0, clock=lambda: 0.0, wall_clock=lambda: 0.0)
    sim.add_service(ServiceConfig(WEB, "wrr"))
    for address in reversed(SERVERS):
        sim.add_dest(WEB, DestConfig(address, 8080, weight=5))
    return sim


def web(sim: SimulatedDirector) -> Service:
    found = sim.snapshot().service(WEB)
    assert found is not None
    return found


def weights(sim: SimulatedDirector) -> dict[str, int]:
    return {dest.address: dest.weight for dest in web(sim).dests}


def drain_all(sim: SimulatedDirector) -> Plan:
    """Weight 0 for each server, in SERVERS order."""
    dests = sorted(web(sim).dests, key=lambda dest: dest.address)
    drains = tuple(changes.edit_dest(WEB, dest, DestEdit(weight=0)) for dest in dests)
    return Plan("Drain every server", drains, destructive=True)


class BrokenJournal(Journal):
    """Accepts `good` entries, then fails as a full disk does."""

    def __init__(self, path: Path, good: int) -> None:
        super().__init__(path)
        self.good = good

    def append(self, entry: Entry, at: float | None = None) -> dict[str, object]:
        if self.good == 0:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        self.good -= 1
        return super().append(entry, at)


def test_changes_are_applied_in_order_and_each_is_journaled_with_its_result(tmp_path: Path) -> None:
    sim = director()
    new = ServiceKey.inet("tcp", "192.0.2.30", 80)
    # The second change needs the first: applied out of order, it would fail.
    plan = Plan("Add a service", (changes.add_service(ServiceConfig(new, "rr")),
                                  changes.add_dest(new, DestConfig("198.51.100.9", 80, weight=4))), False)
    journal = Journal(tmp_path / "journal.jsonl")
    report = run_plan(plan, sim, journal)
    assert [outcome.ok for outcome in report.outcomes] == [True, True]
    assert report.done == plan.changes and report.failed == ()
    added = sim.snapshot().service(new)
    assert added is not None and added.dest(DestKey("198.51.100.9", 80)) is not None
    entries = list(journal.entries())
    assert [(e["action"], e["target"], e["command"], e["result"]) for e in entries] == [
        (c.action, c.target, c.command.display, "ok") for c in plan.changes]
    assert entries[1]["after"]["weight"] == 4
    assert "all 2 done" in report.summary()


def test_a_failed_change_does_not_stop_the_others_and_is_reported(tmp_path: Path) -> None:
    sim = director()
    plan = drain_all(sim)
    sim.delete_dest(WEB, DestKey(SERVERS[1], 8080))  # gone since the plan was made
    journal = Journal(tmp_path / "journal.jsonl")
    report = run_plan(plan, sim, journal)
    assert [outcome.applied for outcome in report.outcomes] == [True, False, True]
    assert weights(sim) == {SERVERS[0]: 0, SERVERS[2]: 0}
    failure = report.failed[0]
    assert failure.change is plan.changes[1] and failure.error is not None and SERVERS[1] in failure.error
    results = [entry["result"] for entry in journal.entries()]
    assert results == ["ok", failure.error, "ok"]
    summary = report.summary()
    assert "2 of 3" in summary and plan.changes[1].target in summary and failure.error in summary


class RaisesOnTheSecondServer(SimulatedDirector):
    """A backend that raises something no one planned for (not an IpvsError) on one server."""

    def edit_dest(self, service: ServiceKey, dest: DestKey, edit: DestEdit) -> None:
        if dest.address == SERVERS[1]:
            raise RuntimeError("cannot pack the address")
        super().edit_dest(service, dest, edit)


def test_a_change_that_raises_unexpectedly_is_a_failed_change_and_the_rest_still_run(tmp_path: Path) -> None:
    sim = RaisesOnTheSecondServer(services=0, dests_per_service=0, clock=lambda: 0.0, wall_clock=lambda: 0.0)
    sim.add_service(ServiceConfig(WEB, "wrr"))
    for address in SERVERS:
        sim.add_dest(WEB, DestConfig(address, 8080, weight=5))
    journal = Journal(tmp_path / "journal.jsonl")
    report = run_plan(drain_all(sim), sim, journal)  # returns: the report says what was applied
    assert [outcome.applied for outcome in report.outcomes] == [True, False, True]
    assert report.failed[0].error == "failed unexpectedly (RuntimeError: cannot pack the address)"
    assert [entry["result"] for entry in journal.entries()] == ["ok", report.failed[0].error, "ok"]


def test_a_journal_that_cannot_be_written_stops_the_plan_before_any_change(tmp_path: Path) -> None:
    sim = director()
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    journal = Journal(blocker / "journal.jsonl")
    with pytest.raises(JournalUnwritable) as caught:
        run_plan(drain_all(sim), sim, journal)
    assert str(journal.path) in str(caught.value) and "--journal" in str(caught.value)
    assert set(weights(sim).values()) == {5}


def test_a_journal_failing_mid_plan_stops_there_and_says_what_was_applied(tmp_path: Path) -> None:
    sim = director()
    plan = drain_all(sim)
    report = run_plan(plan, sim, BrokenJournal(tmp_path / "journal.jsonl", good=1))
    first, second, third = report.outcomes
    assert first.ok
    assert second.applied and second.error is not None and "journal" in second.error
    assert not third.applied and third.error is not None and "not applied" in third.error
    assert weights(sim) == {SERVERS[0]: 0, SERVERS[1]: 0, SERVERS[2]: 5}
    assert report.done == plan.changes[:2]


def test_check_journal_creates_the_missing_directories(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "state" / "lvs-top" / "journal.jsonl")
    check_journal(journal)
    assert journal.path.parent.is_dir()
    directory = tmp_path / "a-directory"
    directory.mkdir()
    with pytest.raises(JournalUnwritable):
        check_journal(Journal(directory))


def test_the_journal_action_can_name_the_operation(tmp_path: Path) -> None:
    sim = director()
    journal = Journal(tmp_path / "journal.jsonl")
    run_plan(drain_all(sim), sim, journal, action="undo")
    assert {entry["action"] for entry in journal.entries()} == {"undo"}


def test_a_single_change_is_summarised_by_its_title_or_its_error(tmp_path: Path) -> None:
    sim = director()
    dest = web(sim).dests[0]
    plan = Plan("Remove one", (changes.delete_dest(WEB, dest),), True)
    journal = Journal(tmp_path / "journal.jsonl")
    done = run_plan(plan, sim, journal)
    assert done.summary().startswith("Remove one") and "done" in done.summary()
    again = run_plan(plan, sim, journal)  # the server is gone now
    assert again.failed and again.summary() == again.failed[0].error


def test_a_journal_created_by_a_run_is_private_like_one_created_by_an_append(tmp_path: Path) -> None:
    sim = director()
    journal = Journal(tmp_path / "state" / "journal.jsonl")
    run_plan(drain_all(sim), sim, journal)
    assert journal.path.stat().st_mode & 0o777 == 0o600  # who did what, from which terminal
    assert journal.path.parent.stat().st_mode & 0o777 == 0o700
