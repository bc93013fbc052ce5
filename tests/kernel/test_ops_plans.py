"""Planned changes (lvs_tui.ops.changes) applied with `run_plan` against the real kernel: weight
steps and a scheduler change move real traffic as the schedulers promise, a zero clears the
counters, and every change leaves the table exactly as its own `command.argv` (the ipvsadm
equivalent shown before confirming) does on an identical table."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from lvs_tui.ipvs.backend import DestConfig, DestEdit, ServiceEdit
from lvs_tui.model.records import DestKey, Forward, Service, ServiceKey, Snapshot
from lvs_tui.ops.changes import (
    DrainStart,
    Plan,
    plan_add_dest,
    plan_drain,
    plan_edit_dest,
    plan_edit_service,
    plan_remove_dest,
    plan_remove_service,
    plan_restore_weight,
    plan_undo,
    plan_weight,
    plan_zero,
)
from lvs_tui.ops.commands import save_lines
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.runner import Report, run_plan
from lvs_tui.ops.sysctl import read_sysctls
from tests.kernel.lab.commands import (
    clear,
    flush_connections,
    ipvsadm,
    ipvsadm_lines,
    landed,
    listing,
    sh,
    wait_until,
)
from tests.kernel.lab.journal import settled
from tests.kernel.lab.topology import REAL_SERVERS, UDP_ECHO_PORT, VIP, NatLab

if TYPE_CHECKING:
    from lvs_tui.ipvs.kernel import KernelBackend

WEB = ServiceKey.inet("tcp", VIP, 80)
RS1, RS2, RS3 = (DestKey(address, 80) for address in REAL_SERVERS.values())


@pytest.fixture(autouse=True)
def no_connections(clean_table: None) -> Iterator[None]:
    """No entry of an earlier test in the connection table or in a re-added server's counts."""
    flush_connections()
    yield
    flush_connections()


def service_of(snapshot: Snapshot, key: ServiceKey) -> Service:
    service = snapshot.service(key)
    assert service is not None, f"{key} is not in the table"
    return service


def apply(plan: Plan, backend: KernelBackend, journal: Journal) -> Report:
    report = run_plan(plan, backend, journal)
    assert not report.failed, report.summary()
    assert len(report.done) == len(plan.changes)
    return report


def test_weight_steps_and_a_scheduler_change_move_the_traffic(
    topology: NatLab, backend: KernelBackend, tmp_path: Path
) -> None:
    sysctls = read_sysctls()
    journal = Journal(tmp_path / "journal.jsonl")
    ipvsadm_lines(["-A -t 10.10.0.1:80 -s wrr", f"-a -t 10.10.0.1:80 -r {RS1} -m -w 1",
                       f"-a -t 10.10.0.1:80 -r {RS2} -m -w 1"])

    def dest(key: DestKey) -> tuple[Service, Any]:
        service = service_of(backend.snapshot(), WEB)
        return service, service.dest(key)

    plan = plan_weight(*dest(RS1), 3, sysctls)
    assert not plan.destructive and not plan.drains
    apply(plan, backend, journal)
    assert listing().services[WEB.id].dests[RS1.id].int("Weight") == 3
    assert topology.requests(40) == {"rs1": 30, "rs2": 10}  # wrr 3:1

    plan = plan_edit_service(service_of(backend.snapshot(), WEB), ServiceEdit(scheduler="rr"))
    assert plan.destructive and plan.title == f"Change the scheduler of {WEB} from wrr to rr"
    apply(plan, backend, journal)
    listed = listing().services[WEB.id]
    assert listed.scheduler == "rr"
    assert {did: d.int("Weight") for did, d in listed.dests.items()} == {RS1.id: 3, RS2.id: 1}
    assert topology.requests(40) == {"rs1": 20, "rs2": 20}  # rr: weights no longer count

    plan = plan_weight(*dest(RS2), 0, sysctls)  # weight 0 is a drain
    assert plan.destructive and plan.drains == (DrainStart(WEB, RS2, 1),)
    apply(plan, backend, journal)
    assert topology.requests(10) == {"rs1": 10}

    plan = plan_restore_weight(*dest(RS2), 1)
    assert not plan.destructive
    apply(plan, backend, journal)
    assert topology.requests(10) == {"rs1": 5, "rs2": 5}
    assert [e["after"]["weight"] for e in settled(journal.path) if e["action"] == "edit_dest"] == [3, 0, 1]


def test_zero_clears_one_service_then_all(topology: NatLab, backend: KernelBackend, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    echo = ServiceKey.inet("udp", VIP, UDP_ECHO_PORT)
    ipvsadm_lines(["-A -t 10.10.0.1:80 -s rr", f"-a -t 10.10.0.1:80 -r {RS1} -m",
                       f"-a -t 10.10.0.1:80 -r {RS2} -m", "-A -u 10.10.0.1:9000 -s rr",
                       "-a -u 10.10.0.1:9000 -r 10.20.1.2:9000 -m"])
    assert topology.requests(6) == {"rs1": 3, "rs2": 3}
    assert topology.udp(4, 50) == 4

    def stats() -> dict[str, Any]:
        return {sid: (s.columns, {did: d.columns for did, d in s.dests.items()})
                for sid, s in listing("--stats").services.items()}

    wait_until("the counters", lambda: stats()[WEB.id][0]["Conns"] == "6"
                   and stats()[echo.id][0]["InPkts"] == "4", timeout=30)
    landed(stats)  # the kernel folds its per-CPU counters in every 2 s
    before = stats()

    apply(plan_zero(WEB, backend.snapshot()), backend, journal)
    after = stats()
    service, dests = after[WEB.id]
    assert set(service.values()) == {"0"}
    assert all(set(d.values()) == {"0"} for d in dests.values())
    assert after[echo.id] == before[echo.id], "zeroing one service touched another"

    plan = plan_zero(None, backend.snapshot())
    assert plan.title == "Zero the counters of all 2 services" and plan.warnings
    apply(plan, backend, journal)
    listed = listing("--stats").services
    assert all(s.int("Conns") == 0 and s.int("InPkts") == 0 for s in listed.values())
    assert all(d.int("Conns") == 0 for s in listed.values() for d in s.dests.values())
    assert plan_undo(plan, [plan.changes[0]]) is None  # counters cannot come back


# --- every change equals its ipvsadm command -----------------------------------------------------

TABLE = (
    "-A -t 10.10.0.1:80 -s wrr",
    "-a -t 10.10.0.1:80 -r 10.20.1.2:80 -m -w 3 -x 100 -y 10",
    "-a -t 10.10.0.1:80 -r 10.20.2.2:80 -m -w 1",
    "-A -u 10.10.0.1:9000 -s rr -p 60",
    "-a -u 10.10.0.1:9000 -r 10.20.1.2:9000 -m -w 2",
    "-a -u 10.10.0.1:9000 -r 10.20.2.2:9000 -m -w 1",
    "-A -t 10.10.0.1:443 -s wlc -p 300 -M 255.255.255.0",
    "-a -t 10.10.0.1:443 -r 10.20.1.2:443 -i -w 2 --tun-type gue --tun-port 6080 --tun-csum",
    "-a -t 10.10.0.1:443 -r 10.20.3.2:443 -g -w 1",
    "-A -f 5 -s sh -b sh-port",
    "-a -f 5 -r 10.20.1.2:0 -g -w 1",
    "-a -f 5 -r 10.20.2.2:0 -g -w 4",
    "-A -f 7 -s rr",
)
ECHO = ServiceKey.inet("udp", VIP, 9000)
HTTPS = ServiceKey.inet("tcp", VIP, 443)


def table_state() -> tuple[str, dict[str, Any]]:
    """`ipvsadm -Sn` and what it leaves out: thresholds (and, to be sure, the tunnel columns)."""
    thresholds = listing("--thresholds").services
    tunnels = listing("--tun-info").services
    extra = {sid: {did: (d.columns, tunnels[sid].dests[did].columns) for did, d in s.dests.items()}
             for sid, s in thresholds.items()}
    return ipvsadm("-Sn").stdout, extra


Step = Callable[[Snapshot, dict[str, tuple[Plan, Report]]], Plan]


def _dest_step(build: Callable[..., Plan], service: ServiceKey, dest: DestKey, *args: Any) -> Step:
    def step(snapshot: Snapshot, _: dict[str, tuple[Plan, Report]]) -> Plan:
        owner = service_of(snapshot, service)
        found = owner.dest(dest)
        assert found is not None, f"{dest} is not in {service}"
        return build(owner, found, *args)

    return step


def _undo(name: str) -> Step:
    def step(_: Snapshot, done: dict[str, tuple[Plan, Report]]) -> Plan:
        plan, report = done[name]
        undo = plan_undo(plan, report.done)
        assert undo is not None
        return undo

    return step


def steps() -> list[tuple[str, Step]]:
    sysctls = read_sysctls()
    return [
        ("drain", lambda s, _: plan_drain([service_of(s, WEB)], "10.20.1.2", 80, sysctls)),
        ("weight step", _dest_step(plan_weight, WEB, RS2, 5, sysctls)),
        ("thresholds", _dest_step(plan_edit_dest, WEB, RS2, DestEdit(upper_threshold=40, lower_threshold=4),
                                  sysctls)),
        ("scheduler and persistence",
         lambda s, _: plan_edit_service(service_of(s, ECHO), ServiceEdit(scheduler="wrr",
                                                                          persistence_timeout=120))),
        ("sh flags", lambda s, _: plan_edit_service(service_of(s, ServiceKey.mark(5)),
                                                    ServiceEdit(flags=("sh-fallback", "sh-port")))),
        ("remove dest", _dest_step(plan_remove_dest, ECHO, DestKey("10.20.2.2", 9000), sysctls)),
        ("add dest", lambda s, _: plan_add_dest(WEB, DestConfig("10.20.3.2", 80, Forward.MASQ, weight=2,
                                                                upper_threshold=7))),
        ("host drain", lambda s, _: plan_drain(s.services, "10.20.1.2", None, sysctls)),
        ("undo the scheduler", _undo("scheduler and persistence")),
        ("undo the host drain", _undo("host drain")),
        ("bring back", _dest_step(plan_restore_weight, WEB, RS1, 6)),
        ("remove service", lambda s, _: plan_remove_service(service_of(s, ServiceKey.mark(7)))),
    ]


def test_every_change_equals_its_ipvsadm_command(backend: KernelBackend, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    ipvsadm_lines(TABLE)
    start = table_state()
    commands: list[list[str]] = []
    done: dict[str, tuple[Plan, Report]] = {}
    for name, step in steps():
        snapshot = backend.snapshot()
        plan = step(snapshot, done)
        assert plan.changes, name
        done[name] = (plan, apply(plan, backend, journal))
        # save_lines renders thresholds and tunnels too: a cheap "did it change anything?"
        assert save_lines(backend.snapshot()) != save_lines(snapshot), f"{name} changed nothing"
        commands += [change.command.argv for change in plan.changes]
    with_backend = table_state()
    assert with_backend != start
    assert len(commands) >= 15  # the host drain and its undo are three changes each

    clear()
    ipvsadm_lines(TABLE)
    assert table_state() == start
    for argv in commands:
        sh(*argv)
    with_ipvsadm = table_state()
    assert with_backend[0] == with_ipvsadm[0], "ipvsadm -Sn differs"
    assert with_backend[1] == with_ipvsadm[1], "thresholds or tunnels differ"
