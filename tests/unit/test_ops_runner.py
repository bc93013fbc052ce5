"""lvs_tui.ops.runner: a plan is all or nothing for the operator, every write journaled before and
after it is made, and nothing but a report ever comes out of it."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from lvs_tui.ipvs.backend import DestConfig, DestEdit, ServiceConfig
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.model.export import JsonObject
from lvs_tui.model.records import DestKey, Service, ServiceKey
from lvs_tui.ops import changes
from lvs_tui.ops.changes import Plan
from lvs_tui.ops.commands import save_lines
from lvs_tui.ops.journal import INTENDED, Entry, Journal, outcomes, unfinished
from lvs_tui.ops.restore import plan_restore
from lvs_tui.ops.rules import parse_rules
from lvs_tui.ops.runner import JournalUnwritable, check_journal, run_plan
from lvs_tui.ops.sysctl import Sysctls
from lvs_tui.sim import SimulatedDirector

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
SERVERS = ("198.51.100.1", "198.51.100.2", "198.51.100.3")
WRITES = ("add_service", "edit_service", "delete_service", "add_dest", "edit_dest", "delete_dest", "zero")


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


class Refusing:
    """A backend that refuses its `refuse`-th write (1-based), as a kernel does when a module cannot
    load or another ipvsadm got there first; every other call goes to `inner`."""

    def __init__(self, inner: SimulatedDirector, refuse: int, error: Exception | None = None) -> None:
        self.inner = inner
        self.refuse = refuse
        self.writes = 0
        self.error = error or IpvsError("the kernel refused it.")

    def __getattr__(self, name: str) -> object:
        attribute = getattr(self.inner, name)
        if name not in WRITES:
            return attribute

        def write(*args: object) -> object:
            self.writes += 1
            if self.writes == self.refuse:
                raise self.error
            assert callable(attribute)
            return attribute(*args)

        return write


class BrokenJournal(Journal):
    """Accepts `good` lines, then fails as a full disk does."""

    def __init__(self, path: Path, good: int) -> None:
        super().__init__(path)
        self.good = good

    def append(self, entry: Entry, at: float | None = None, write: str | None = None) -> JsonObject:
        if self.good == 0:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        self.good -= 1
        return super().append(entry, at, write)


def accounted(journal: Journal) -> None:
    """Every write the journal announced has its outcome, and intents come first."""
    entries = list(journal.entries())
    assert unfinished(iter(entries)) == []
    assert sum(e["result"] == INTENDED for e in entries) == len(list(outcomes(iter(entries))))


def test_changes_are_applied_in_order_each_journaled_before_and_after(tmp_path: Path) -> None:
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
    assert [e["result"] for e in entries] == [INTENDED, "ok", INTENDED, "ok"]
    assert entries[0]["write"] == entries[1]["write"] != entries[2]["write"]
    assert [(e["action"], e["target"], e["command"]) for e in outcomes(iter(entries))] == [
        (c.action, c.target, c.command.display) for c in plan.changes]
    assert entries[3]["after"]["weight"] == 4
    assert "all 2 done" in report.summary()


def test_a_refused_change_undoes_the_ones_before_it(tmp_path: Path) -> None:
    sim = director()
    plan = drain_all(sim)
    sim.delete_dest(WEB, DestKey(SERVERS[1], 8080))  # gone since the plan was made
    journal = Journal(tmp_path / "journal.jsonl")
    report = run_plan(plan, sim, journal)
    assert weights(sim) == {SERVERS[0]: 5, SERVERS[2]: 5}  # the first drain was undone
    assert report.rolled_back and report.done == ()
    assert [(o.applied, o.undone) for o in report.outcomes] == [(True, True), (False, False), (False, False)]
    assert "not applied: an earlier change failed" in (report.outcomes[2].error or "")
    summary = report.summary()
    assert SERVERS[1] in summary and "1 change made before it was undone: the table is as it was" in summary
    assert [e["action"] for e in outcomes(journal.entries())] == ["edit_dest", "edit_dest", "rollback"]
    accounted(journal)


def test_keep_going_applies_the_rest_and_says_what_is_in_effect(tmp_path: Path) -> None:
    sim = director()
    plan = drain_all(sim)
    sim.delete_dest(WEB, DestKey(SERVERS[1], 8080))
    report = run_plan(plan, sim, Journal(tmp_path / "journal.jsonl"), keep_going=True)
    assert [outcome.applied for outcome in report.outcomes] == [True, False, True]
    assert weights(sim) == {SERVERS[0]: 0, SERVERS[2]: 0}
    assert "(2 of 3 changes are in effect)" in report.summary()


@pytest.mark.parametrize("failure", [OSError("illegal IP address string passed to inet_pton"),
                                     ValueError("a bug"), KeyError("x")])
def test_nothing_but_a_report_leaves_a_plan(tmp_path: Path, failure: Exception) -> None:
    sim = director()
    plan = drain_all(sim)
    report = run_plan(plan, Refusing(sim, 2, failure), Journal(tmp_path / "j.jsonl"))  # type: ignore[arg-type]
    assert report.rolled_back and set(weights(sim).values()) == {5}
    assert "failed unexpectedly" in (report.failed[0].error or "")


def restore_plan(sim: SimulatedDirector) -> Plan:
    """Converge on another table: one service edited, one added with servers, one removed."""
    text = "\n".join([
        "-A -t 192.0.2.10:80 -s rr",
        f"-a -t 192.0.2.10:80 -r {SERVERS[0]}:8080 -m -w 2",
        "-A -u 192.0.2.53:53 -s sh",
        "-a -u 192.0.2.53:53 -r 198.51.100.7:53 -m -w 1",
    ])
    sim.add_service(ServiceConfig(ServiceKey.inet("tcp", "192.0.2.20", 25), "lc"))
    return plan_restore(sim.snapshot(), parse_rules(text), "test")


def drain_host_plan(sim: SimulatedDirector) -> Plan:
    other = ServiceKey.inet("tcp", "192.0.2.10", 443)
    sim.add_service(ServiceConfig(other, "wlc"))
    sim.add_dest(other, DestConfig(SERVERS[0], 8443, weight=3))
    return changes.plan_drain(sim.snapshot().services, SERVERS[0], None, Sysctls({}))


def undo_plan(sim: SimulatedDirector) -> Plan:
    removal = changes.plan_remove_service(web(sim))
    removal.changes[0].write(sim)
    undo = changes.plan_undo(removal, removal.changes)
    assert undo is not None
    return undo


@pytest.mark.parametrize("make_plan", [restore_plan, drain_host_plan, undo_plan], ids=lambda f: f.__name__)
def test_a_refusal_at_any_write_leaves_the_table_as_it_was(
        tmp_path: Path, make_plan: Callable[[SimulatedDirector], Plan]) -> None:
    writes = len(make_plan(director()).changes)
    assert writes >= 2
    for k in range(1, writes + 1):
        sim = director()
        plan = make_plan(sim)
        before = save_lines(sim.snapshot())
        journal = Journal(tmp_path / f"journal-{k}.jsonl")
        report = run_plan(plan, Refusing(sim, k), journal)  # type: ignore[arg-type]
        assert save_lines(sim.snapshot()) == before, f"refused at write {k}"
        assert report.done == () and report.failed and (report.rolled_back or k == 1)
        accounted(journal)


def test_a_plan_the_kernel_cannot_do_is_refused_before_its_first_write(tmp_path: Path) -> None:
    """A file of one service with a scheduler this director lacks: nothing deleted, nothing added."""
    sim = director()
    before = save_lines(sim.snapshot())
    plan = plan_restore(sim.snapshot(), parse_rules("-A -t 192.0.2.99:80 -s foo"), "a file")
    journal = Journal(tmp_path / "j.jsonl")
    report = run_plan(plan, sim, journal)
    assert save_lines(sim.snapshot()) == before
    assert report.refused and "'foo' is not available on this director" in report.refused[0]
    assert report.summary().startswith("Restore the table from a file: nothing was applied:")
    assert list(journal.entries()) == []


class RaisesOnTheSecondServer(SimulatedDirector):
    """A backend that raises something no one planned for (not an IpvsError) on one server."""

    def edit_dest(self, service: ServiceKey, dest: DestKey, edit: DestEdit) -> None:
        if dest.address == SERVERS[1]:
            raise RuntimeError("cannot pack the address")
        super().edit_dest(service, dest, edit)


def _raises_on_the_second_server() -> RaisesOnTheSecondServer:
    sim = RaisesOnTheSecondServer(services=0, dests_per_service=0, clock=lambda: 0.0, wall_clock=lambda: 0.0)
    sim.add_service(ServiceConfig(WEB, "wrr"))
    for address in SERVERS:
        sim.add_dest(WEB, DestConfig(address, 8080, weight=5))
    return sim


def test_a_change_that_raises_unexpectedly_is_a_failed_change_and_what_came_before_is_undone(
        tmp_path: Path) -> None:
    sim = _raises_on_the_second_server()
    journal = Journal(tmp_path / "journal.jsonl")
    report = run_plan(drain_all(sim), sim, journal)  # returns: the report says what was applied
    assert [(outcome.applied, outcome.undone) for outcome in report.outcomes] == [
        (True, True), (False, False), (False, False)]
    assert report.failed[0].error == "failed unexpectedly (RuntimeError: cannot pack the address)"
    assert report.rolled_back and set(weights(sim).values()) == {5}
    assert unfinished(journal.entries()) == []
    results = [entry["result"] for entry in outcomes(journal.entries())]
    assert results == ["ok", report.failed[0].error, "ok"]  # the drain, the failure, the undo


def test_keep_going_runs_the_rest_after_a_change_that_raises_unexpectedly(tmp_path: Path) -> None:
    sim = _raises_on_the_second_server()
    journal = Journal(tmp_path / "journal.jsonl")
    report = run_plan(drain_all(sim), sim, journal, keep_going=True)
    assert [outcome.applied for outcome in report.outcomes] == [True, False, True]
    assert [entry["result"] for entry in outcomes(journal.entries())] == ["ok", report.failed[0].error, "ok"]
    assert sorted(weights(sim).values()) == [0, 0, 5]


def test_a_journal_that_cannot_be_written_stops_the_plan_before_any_change(tmp_path: Path) -> None:
    sim = director()
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    journal = Journal(blocker / "journal.jsonl")
    with pytest.raises(JournalUnwritable) as caught:
        run_plan(drain_all(sim), sim, journal)
    assert str(journal.path) in str(caught.value) and "--journal" in str(caught.value)
    assert set(weights(sim).values()) == {5}


@pytest.mark.parametrize("good", [0, 1, 2, 3, 4])
def test_a_full_disk_mid_plan_stops_before_the_first_change_it_cannot_announce(tmp_path: Path,
                                                                                good: int) -> None:
    sim = director()
    plan = drain_all(sim)
    report = run_plan(plan, sim, BrokenJournal(tmp_path / "journal.jsonl", good=good))
    announced = (good + 1) // 2  # intents written: each change takes an intent then an outcome
    made = [o.change for o in report.outcomes if o.applied]
    assert made == list(plan.changes[:announced])  # made exactly when announced first
    assert list(weights(sim).values()).count(0) == announced
    assert report.done == plan.changes[:announced]
    if announced < len(plan.changes):
        assert f"({announced} of 3 changes are in effect)" in report.summary()
        assert "the journal cannot be written" in (report.outcomes[announced].error or "")


def test_a_short_write_is_an_error_and_the_fragment_ends_its_line(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    real_write = os.write

    def short(fd: int, data: bytes) -> int:
        return real_write(fd, data[: len(data) // 2]) if len(data) > 1 else real_write(fd, data)

    monkeypatch.setattr(os, "write", short)
    with pytest.raises(OSError, match="took"):
        journal.append(Entry("zero", "all services", "ipvsadm -Z", None, None, "ok"))
    monkeypatch.undo()
    journal.append(Entry("zero", "all services", "ipvsadm -Z", None, None, "ok"))
    assert [e["action"] for e in journal.entries()] == ["zero"]  # the cut line is skipped, not merged


def test_the_journal_is_never_written_through_a_link_and_is_kept_private(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("")
    link = tmp_path / "journal.jsonl"
    link.symlink_to(target)
    with pytest.raises(OSError, match="symbolic link"):
        Journal(link).append(Entry("zero", "x", "ipvsadm -Z", None, None, "ok"))
    with pytest.raises(JournalUnwritable):
        check_journal(Journal(link))
    assert target.read_text() == ""
    shared = tmp_path / "shared.jsonl"
    shared.write_text("")
    shared.chmod(0o644)
    Journal(shared).append(Entry("zero", "x", "ipvsadm -Z", None, None, "ok"))
    assert shared.stat().st_mode & 0o777 == 0o600


def test_an_intent_without_its_outcome_is_found_as_unfinished(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    entry = Entry("edit_dest", f"{WEB.id}>{SERVERS[0]}:8080", "ipvsadm -e ...", None, {"weight": 0}, "")
    journal.settle(journal.intend(entry), entry)  # finished
    journal.intend(entry)  # the process was killed here
    (left,) = unfinished(journal.entries())
    assert left["target"] == entry.target and left["result"] == INTENDED


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
