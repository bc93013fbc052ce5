"""Draining against the real kernel, with real traffic from the client namespace: `plan_drain` +
`run_plan` stop new connections to the server at once and break none; a `DrainBoard` fed with
`backend.snapshot()` says "drained" within one poll of ipvsadm's counts meeting the criterion
(active connections for TCP, entries for UDP, persistence templates always), asks for removal
only then, and `plan_undo` puts every weight of a host drain back."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lvs_tui.model.records import DestKey, ServiceKey
from lvs_tui.ops.changes import DrainStart, plan_drain, plan_remove_dest, plan_undo
from lvs_tui.ops.drain import DrainBoard, DrainCounts
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.runner import run_plan
from lvs_tui.ops.sysctl import read_sysctls
from tests.kernel.lab.commands import flush_connections, ipvsadm, ipvsadm_lines, listing, save, wait_until
from tests.kernel.lab.drain_polls import active, check_polls, criterion, current, follow, sandwiched
from tests.kernel.lab.journal import settled
from tests.kernel.lab.topology import REAL_SERVERS, SLOW_HTTP_PORT, UDP_ECHO_PORT, VIP, NatLab

if TYPE_CHECKING:
    from lvs_tui.ipvs.kernel import KernelBackend

WEB = ServiceKey.inet("tcp", VIP, 80)
ECHO = ServiceKey.inet("udp", VIP, UDP_ECHO_PORT)
RS1 = REAL_SERVERS["rs1"]
LONG = 10  # seconds the long request takes; the drain lands while it is in flight


@pytest.fixture(autouse=True)
def no_connections(clean_table: None) -> Iterator[None]:
    """No entry of an earlier test in the connection table or in a re-added server's counts."""
    flush_connections()
    yield
    flush_connections()


def test_drain_under_load_lets_the_long_request_finish_and_removes_only_when_drained(
    topology: NatLab, backend: KernelBackend, tmp_path: Path
) -> None:
    sysctls = read_sysctls()
    journal = Journal(tmp_path / "journal.jsonl")
    rs1 = DestKey(RS1, SLOW_HTTP_PORT)
    others = [f"-a -t {VIP}:80 -r {address}:{SLOW_HTTP_PORT} -m -w 1"
              for name, address in REAL_SERVERS.items() if name != "rs1"]
    ipvsadm_lines([f"-A -t {VIP}:80 -s rr", f"-a -t {VIP}:80 -r {rs1} -m -w 2"])
    load = topology.load(pause=0.05)
    long_request = topology.load(path=f"/slow?s={LONG}", limit=1)
    try:
        # The long request first, alone in the service: it lands on rs1.
        long_request.wait_ready()
        long_request.go()
        wait_until("the long request on rs1", lambda: active(WEB, rs1) == 1, timeout=30)
        ipvsadm_lines(others)
        load.wait_ready()
        load.go()
        load.wait_for(12)
        assert {a.server for a in load.answers} == {"rs1", "rs2", "rs3"}

        service = current(backend, WEB)
        dest = service.dest(rs1)
        assert dest is not None and dest.active_conns >= 1
        plan = plan_drain([service], RS1, SLOW_HTTP_PORT, sysctls)
        assert plan.drains == (DrainStart(WEB, rs1, 2),)
        assert [change.action for change in plan.changes] == ["edit_dest"]
        board = DrainBoard()
        report = run_plan(plan, backend, journal)
        landed = time.monotonic()
        assert not report.failed, report.summary()
        assert not long_request.answers, "the long request ended before the drain: nothing to prove"
        board.start(WEB, dest, plan.drains[0].previous_weight, landed, remove_when_drained=True)

        polls, final = follow(board, backend, WEB, rs1, timeout=LONG + 60)
        drained = check_polls(polls, final, WEB, rs1)
        # Removal is asked for once, at the first drained poll, never before.
        assert [len(p.due) for p in polls] == [int(i == drained) for i in range(len(polls))]
        (due_service, due_dest), = polls[drained].due
        assert (due_service.key, due_dest.key, due_dest.weight) == (WEB, rs1, 0)

        removal = run_plan(plan_remove_dest(due_service, due_dest, sysctls), backend, journal)
        removed = time.monotonic()
        assert not removal.failed, removal.summary()
        assert board.update(backend.snapshot(), time.monotonic()) == []
        assert not board.active() and board.status(WEB, rs1) is None
        assert board.previous_weight(WEB, rs1) == 2  # remembered, to bring it back if re-added
        load.wait_for(10, since=removed)
    finally:
        answers = load.stop()
        long_answers = long_request.stop(timeout=LONG + 30)

    assert [a for a in answers if a.failed] == [], "client requests failed"
    (long_answer,) = long_answers
    assert long_answer.server == "rs1" and long_answer.end > landed
    assert "rs1" in {a.server for a in answers if a.end < landed}
    after_drain = [a for a in answers if a.start > landed]
    assert len(after_drain) >= 10
    assert {a.server for a in after_drain} == {"rs2", "rs3"}, "rs1 answered after its drain"
    assert {a.server for a in answers if a.start > removed} == {"rs2", "rs3"}

    assert not [rule for rule in save() if RS1 in rule]
    assert set(listing().services[WEB.id].dests) == {f"{address}:{SLOW_HTTP_PORT}"
                                                         for name, address in REAL_SERVERS.items()
                                                         if name != "rs1"}
    entries = settled(journal.path)
    assert [(e["action"], e["target"], e["result"]) for e in entries] == [
        ("edit_dest", f"{WEB.id}>{rs1.id}", "ok"), ("delete_dest", f"{WEB.id}>{rs1.id}", "ok")]
    assert (entries[0]["before"]["weight"], entries[0]["after"]["weight"]) == (2, 0)


def test_udp_drain_waits_for_the_persistence_template(
    topology: NatLab, backend: KernelBackend, tmp_path: Path
) -> None:
    """UDP flows count as inactive entries; a template alone keeps a server undrained."""
    sysctls = read_sysctls()
    original = backend.timeouts()
    ipvsadm("--set", "0", "0", "1")  # UDP entries expire 1 s after their last packet
    try:
        ipvsadm_lines([f"-A -u {VIP}:9000 -s rr -p 6",
                           f"-a -u {VIP}:9000 -r {RS1}:9000 -m -w 3",
                           f"-a -u {VIP}:9000 -r {REAL_SERVERS['rs2']}:9000 -m -w 1"])
        assert topology.udp(3, 10) == 3
        (sticky,) = [DestKey(d.address, d.port) for d in listing("--persistent-conn")
                     .services[ECHO.id].dests.values() if d.int("PersistConn") == 1]
        service = current(backend, ECHO)
        dest = service.dest(sticky)
        assert dest is not None
        plan = plan_drain([service], sticky.address, None, sysctls)
        quiescent = sysctls.get("expire_quiescent_template") == 0
        assert any("expire_quiescent_template" in w for w in plan.warnings) == quiescent
        report = run_plan(plan, backend, Journal(tmp_path / "journal.jsonl"))
        assert not report.failed, report.summary()
        board = DrainBoard()
        board.start(ECHO, dest, dest.weight, time.monotonic())
        polls, final = follow(board, backend, ECHO, sticky, timeout=90)
    finally:
        ipvsadm("--set", str(original.tcp), str(original.tcp_fin), str(original.udp))

    drained = check_polls(polls, final, ECHO, sticky)
    assert polls[0].counts.persistent == 1
    # The flow's entry went first; the template alone still held the drain.
    assert any(p.counts == DrainCounts(0, 0, 1) and not p.status.drained for p in polls[:drained])
    assert polls[drained].counts == DrainCounts(0, 0, 0) and polls[drained].status.progress == 1.0
    assert all(p.due == [] for p in polls)  # no removal asked for: remove_when_drained=False


HOST_RULES = (
    "-A -t 10.10.0.1:80 -s wrr",
    "-a -t 10.10.0.1:80 -r 10.20.2.2:80 -m -w 1",
    "-a -t 10.10.0.1:80 -r 10.20.1.2:80 -m -w 3",
    "-A -t 10.10.0.1:8080 -s wlc -p 60",
    "-a -t 10.10.0.1:8080 -r 10.20.3.2:8081 -m -w 1",
    "-a -t 10.10.0.1:8080 -r 10.20.1.2:8081 -m -w 2",
    "-A -u 10.10.0.1:9000 -s rr",
    "-a -u 10.10.0.1:9000 -r 10.20.2.2:9000 -m -w 1",
    "-a -u 10.10.0.1:9000 -r 10.20.1.2:9000 -m -w 5",
    "-A -t 10.10.0.1:443 -s rr",
    "-a -t 10.10.0.1:443 -r 10.20.2.2:80 -m -w 1",
    "-a -t 10.10.0.1:443 -r 10.20.1.2:80 -m -w 0",
)
HOST_DRAINS = {("tcp:10.10.0.1:80", "10.20.1.2:80", 3), ("tcp:10.10.0.1:8080", "10.20.1.2:8081", 2),
               ("udp:10.10.0.1:9000", "10.20.1.2:9000", 5)}


def test_host_drain_in_every_service_aggregates_and_undo_restores_every_weight(
    topology: NatLab, backend: KernelBackend, tmp_path: Path
) -> None:
    sysctls = read_sysctls()
    journal = Journal(tmp_path / "journal.jsonl")
    ipvsadm_lines(HOST_RULES)
    original = ipvsadm("-Sn").stdout
    assert topology.requests(4) == {"rs1": 3, "rs2": 1}  # wrr 3:1
    (sticky, count), = topology.requests(3, port=8080).items()  # persistent: one server takes all
    assert sticky in ("rs1", "rs3") and count == 3
    assert topology.udp(2, 10) == 2
    wait_until("no active connection", lambda: all(
        d.int("ActiveConn") == 0 for s in listing().services.values() for d in s.dests.values()))

    before = backend.snapshot()
    plan = plan_drain(before.services, RS1, None, sysctls)
    assert {(d.service.id, d.dest.id, d.previous_weight) for d in plan.drains} == HOST_DRAINS
    assert len(plan.changes) == 3 and plan.destructive
    assert plan.title == "Drain 10.20.1.2 in 3 services"
    assert plan.skipped == ("tcp:10.10.0.1:443>10.20.1.2:80: already at weight 0",)
    quiescent = sysctls.get("expire_quiescent_template") == 0
    assert any("expire_quiescent_template" in w for w in plan.warnings) == quiescent
    report = run_plan(plan, backend, journal)
    assert not report.failed, report.summary()

    weight = re.compile(r"-w \d+")
    assert ipvsadm("-Sn").stdout.splitlines() == [
        weight.sub("-w 0", line) if f"-r {RS1}:" in line else line for line in original.splitlines()]
    assert topology.requests(4) == {"rs2": 4}

    board = DrainBoard()
    at = time.monotonic()
    for start in plan.drains:
        service = before.service(start.service)
        dest = None if service is None else service.dest(start.dest)
        assert dest is not None
        board.start(start.service, dest, start.previous_weight, at)
    listed, snapshot = sandwiched(backend, plan.drains)
    assert board.update(snapshot, time.monotonic()) == []
    (host, draining, status), = board.hosts()
    assert (host, draining) == (RS1, 3)
    assert status.counts == DrainCounts(*(sum(getattr(c, f) for c in listed.values())
                                          for f in ("active", "inactive", "persistent")))
    assert status.counts.inactive >= 3  # at least the three HTTP requests rs1 answered
    assert status.remaining == sum(criterion(d.service)(listed[f"{d.service.id}>{d.dest.id}"])
                                   for d in plan.drains)
    assert status.drained == (status.remaining == 0)
    for start in plan.drains:
        one = board.status(start.service, start.dest)
        assert one is not None and one.counts == listed[f"{start.service.id}>{start.dest.id}"]

    undo = plan_undo(plan, report.done)
    assert undo is not None and len(undo.changes) == 3
    undone = run_plan(undo, backend, journal, action="undo")
    assert not undone.failed, undone.summary()
    assert ipvsadm("-Sn").stdout == original
    assert board.update(backend.snapshot(), time.monotonic()) == []
    assert board.hosts() == [] and not board.active()
    assert [(e["action"], e["result"]) for e in settled(journal.path)] == [("edit_dest", "ok")] * 3 + [
        ("undo", "ok")] * 3
