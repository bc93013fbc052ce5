"""lvs_tui.ipvs.readonly: --read-only reads through and refuses every write before the backend."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lvs_tui.ipvs.backend import Backend, DestConfig, DestEdit, ServiceConfig, ServiceEdit
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.ipvs.readonly import ReadOnly, ReadOnlyBackend
from lvs_tui.model.records import DestKey, ServiceKey, SyncDaemon, Timeouts
from lvs_tui.ops import changes
from lvs_tui.ops.journal import Journal, outcomes
from lvs_tui.ops.runner import run_plan
from lvs_tui.sim import SimulatedDirector

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
SERVER = DestKey("198.51.100.11", 8080)
READS = {"description", "snapshot", "snapshot_of", "timeouts", "daemons", "addresses", "schedulers",
         "persistence_engines", "close"}


class Spy:
    """A demo director holding WEB and SERVER that records every method called on it."""

    def __init__(self) -> None:
        frozen = lambda: 0.0  # noqa: E731  (no time passes: no traffic moves)
        self.inner = SimulatedDirector(services=0, dests_per_service=0, clock=frozen, wall_clock=frozen)
        self.inner.add_service(ServiceConfig(WEB, "wrr"))
        self.inner.add_dest(WEB, DestConfig(SERVER.address, SERVER.port, weight=3))
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self.inner, name)


Write = Callable[[Backend], None]
WRITES: dict[str, tuple[Write, str]] = {
    "add_service": (lambda b: b.add_service(ServiceConfig(ServiceKey.inet("tcp", "192.0.2.99", 80))),
                    "192.0.2.99:80"),
    "edit_service": (lambda b: b.edit_service(WEB, ServiceEdit(scheduler="rr")), str(WEB)),
    "delete_service": (lambda b: b.delete_service(WEB), str(WEB)),
    "add_dest": (lambda b: b.add_dest(WEB, DestConfig("198.51.100.99", 8080)), "198.51.100.99:8080"),
    "edit_dest": (lambda b: b.edit_dest(WEB, SERVER, DestEdit(weight=0)), str(SERVER)),
    "delete_dest": (lambda b: b.delete_dest(WEB, SERVER), str(SERVER)),
    "zero": (lambda b: b.zero(WEB), str(WEB)),
    "set_timeouts": (lambda b: b.set_timeouts(Timeouts(1, 1, 1)), "timeouts"),
    "start_daemon": (lambda b: b.start_daemon(SyncDaemon("backup", "eth2", 3)), "sync backup"),
    "stop_daemon": (lambda b: b.stop_daemon("master"), "sync master"),
}


def protocol_methods() -> set[str]:
    return {name for name in vars(Backend) if not name.startswith("_")}


def test_every_write_of_the_backend_protocol_is_covered_here() -> None:
    assert protocol_methods() - READS == set(WRITES)


@pytest.mark.parametrize("name", sorted(WRITES))
def test_a_write_is_refused_naming_its_object_and_never_reaches_the_backend(name: str) -> None:
    spy = Spy()
    before = spy.inner.snapshot()
    backend = ReadOnlyBackend(spy, reason="--read-only")
    write, subject = WRITES[name]
    with pytest.raises(ReadOnly) as caught:
        write(backend)
    assert subject in str(caught.value) and "--read-only" in str(caught.value)
    assert isinstance(caught.value, IpvsError)  # shown like any refused change
    assert spy.calls == []
    assert spy.inner.snapshot() == before and spy.inner.timeouts() != Timeouts(1, 1, 1)


def test_reads_pass_through_to_the_backend() -> None:
    spy = Spy()
    backend = ReadOnlyBackend(spy, reason="no CAP_NET_ADMIN")
    assert backend.snapshot() == spy.inner.snapshot()
    assert backend.snapshot_of([WEB]) == spy.inner.snapshot_of([WEB])
    assert backend.timeouts() == spy.inner.timeouts()
    assert backend.daemons() == spy.inner.daemons()
    assert backend.addresses() == spy.inner.addresses()
    assert backend.schedulers() == spy.inner.schedulers()
    assert backend.persistence_engines() == spy.inner.persistence_engines()
    assert spy.inner.description in backend.description and "read-only" in backend.description
    backend.close()
    assert set(spy.calls) == READS


def test_a_plan_run_read_only_fails_item_by_item_and_journals_the_refusals(tmp_path: Path) -> None:
    spy = Spy()
    web = spy.inner.snapshot().service(WEB)
    assert web is not None
    plan = changes.plan_remove_service(web)
    journal = Journal(tmp_path / "journal.jsonl")
    report = run_plan(plan, ReadOnlyBackend(spy), journal)
    assert report.done == () and len(report.failed) == 1
    assert [entry["result"] for entry in outcomes(journal.entries())] == [report.failed[0].error]
    assert spy.inner.snapshot().service(WEB) is not None
