"""A change made in a dashboard of several directors, on every one of them: the same change rebuilt
on each director's own table (what is already so there is skipped, its own sysctls warn it), made
director by director, and undone on all when one refuses."""

from __future__ import annotations

import queue
from collections.abc import Callable
from pathlib import Path

import pytest

from lvs_tui.ipvs.backend import Backend, DestConfig, DestEdit
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.live.directors import DirectorsSession
from lvs_tui.live.frame import DashboardFrame
from lvs_tui.live.session import Applied, LiveSession
from lvs_tui.model.records import Dest, DestKey, Family, Forward, Info, Service, ServiceKey, Snapshot
from lvs_tui.ops import changes
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.pairplan import counterpart, for_every_director
from lvs_tui.ops.runner import Report
from lvs_tui.ops.setup import OpsSetup
from lvs_tui.ops.sysctl import Sysctls
from lvs_tui.sim import SimulatedDirector

pytestmark = pytest.mark.unit

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
ONE, TWO, NEW = DestKey("10.0.0.1", 80), DestKey("10.0.0.2", 80), DestKey("10.0.0.9", 80)
DEFAULTS = Sysctls({})
EVERY = "The change on every director"  # the title of the sentence a refusal ends with


def table(*dests: Dest, service: bool = True) -> Snapshot:
    services = (Service(WEB, "wrr", dests=dests),) if service else ()
    return Snapshot(time=0.0, monotonic=0.0, info=Info("1.2.1", 4096), services=services)


def server(key: DestKey, weight: int = 1, forward: Forward = Forward.MASQ) -> Dest:
    return Dest(key.address, key.port, Family.IPV4, forward=forward, weight=weight)


def web(snapshot: Snapshot) -> Service:
    found = snapshot.service(WEB)
    assert found is not None
    return found


def commands(plan: changes.Plan) -> list[str]:
    return [change.command.display for change in plan.changes]


def test_a_drain_is_made_again_on_the_other_table_with_its_own_weight_and_its_own_warnings() -> None:
    here = table(server(ONE, 3), server(TWO))
    there = table(server(ONE, 5, Forward.ROUTE), server(TWO))  # drifted: another weight, DR
    plan = changes.plan_drain([web(here)], ONE.address, ONE.port, DEFAULTS)
    assert for_every_director(plan)
    other = counterpart(plan, there, DEFAULTS)
    assert commands(other) == ["ipvsadm -e -t 192.0.2.10:80 -r 10.0.0.1:80 -g -w 0"]
    assert [(start.dest, start.previous_weight) for start in other.drains] == [(ONE, 5)]  # its own
    assert other.destructive and other.title == plan.title
    assert any("conn_reuse_mode=1" in warning for warning in other.warnings)  # DR there, NAT here
    assert not any("conn_reuse_mode" in warning for warning in plan.warnings)
    assert counterpart(plan, there, Sysctls({"conn_reuse_mode": 3})).warnings == ()


def test_a_weight_sets_the_weight_the_server_gets_on_screen_and_what_is_so_already_is_skipped() -> None:
    here, there = table(server(ONE, 3)), table(server(ONE, 1))
    plan = changes.plan_weight(web(here), web(here).dests[0], 4, DEFAULTS)
    assert commands(counterpart(plan, there, DEFAULTS)) == \
        ["ipvsadm -e -t 192.0.2.10:80 -r 10.0.0.1:80 -m -w 4"]
    same = counterpart(plan, table(server(ONE, 4)), DEFAULTS)
    assert same.changes == () and same.skipped == ("tcp:192.0.2.10:80>10.0.0.1:80: already so in this "
                                                   "director's table",)


def test_adds_and_removals_follow_what_is_there_and_a_service_change_stays_on_the_shown_director() -> None:
    here = table(server(ONE), server(TWO))
    add = changes.plan_add_dest(WEB, DestConfig(NEW.address, NEW.port, Forward.MASQ, None, 2, 0, 0))
    assert commands(counterpart(add, table(server(ONE)), DEFAULTS)) == \
        ["ipvsadm -a -t 192.0.2.10:80 -r 10.0.0.9:80 -m -w 2"]
    assert counterpart(add, table(server(NEW)), DEFAULTS).skipped == \
        ("tcp:192.0.2.10:80>10.0.0.9:80: already in this director's table",)
    remove = changes.plan_remove_dest(web(here), web(here).dests[1], DEFAULTS)
    busy = table(server(ONE), Dest(TWO.address, TWO.port, Family.IPV4, weight=1, active_conns=7))
    removal = counterpart(remove, busy, DEFAULTS)
    assert commands(removal) == ["ipvsadm -d -t 192.0.2.10:80 -r 10.0.0.2:80"]
    assert "still has 7 active" in removal.warnings[0]  # that director's own connections
    assert counterpart(remove, table(server(ONE)), DEFAULTS).skipped == \
        ("tcp:192.0.2.10:80>10.0.0.2:80: not in this director's table",)
    gone = counterpart(remove, table(service=False), DEFAULTS)
    assert gone.changes == ()
    assert gone.skipped == ("tcp:192.0.2.10:80>10.0.0.2:80: service tcp:192.0.2.10:80 is not in this "
                            "director's table",)
    assert not for_every_director(changes.plan_remove_service(web(here)))
    assert not for_every_director(changes.plan_zero(None, here))


# --- made on every director, undone on all when one refuses ----------------------------------------


class Refusing(SimulatedDirector):
    """A director whose kernel says no to every change of a real server."""

    def edit_dest(self, service: ServiceKey, dest: DestKey, edit: DestEdit) -> None:
        raise IpvsError(f"real server {dest} of {service}: Operation not permitted.")


def session_of(director: Backend, journal: Path, name: str | None = None) -> LiveSession:
    setup = OpsSetup(None, Journal(journal), lambda: DEFAULTS, None, lambda: (), director=name)
    return LiveSession(lambda: director, setup)


def weight_of(director: SimulatedDirector, dest: DestKey) -> int:
    service = director.snapshot().service(DEMO_WEB)
    assert service is not None
    found = service.dest(dest)
    assert found is not None
    return found.weight


DEMO_WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)  # the demo's first service
FIRST = DestKey("198.51.100.11", 8080)  # its first real server, weight 3


def run_pair(lb1: SimulatedDirector, lb2: SimulatedDirector, tmp_path: Path,
             ended: Callable[[list[Applied]], bool]) -> list[Applied]:
    """Drain FIRST on both, as the dashboard's confirmation would; the reports until `ended`."""
    journal = tmp_path / "journal.jsonl"
    pair = DirectorsSession([("lb1", session_of(lb1, journal)), ("lb2", session_of(lb2, journal, "lb2"))])
    frames: queue.Queue[DashboardFrame] = queue.Queue()
    reports: queue.Queue[Applied] = queue.Queue()
    pair.start(frames.put, reports.put)
    try:
        while True:
            frame = frames.get(timeout=10)
            view = frame.directors
            if view is not None and frame.snapshot is not None and view.directors[1].drift is not None:
                break
        assert frame.snapshot is not None
        plan = changes.plan_drain([web(frame.snapshot)], FIRST.address, FIRST.port, DEFAULTS)
        (other,) = pair.counterparts(plan)
        assert other.director == "lb2" and other.plan is not None
        pair.apply_everywhere([("lb1", plan), ("lb2", other.plan)])
        said: list[Applied] = []
        while not ended(said):
            said.append(reports.get(timeout=10))
        return said
    finally:
        pair.stop()


def test_a_change_made_on_every_director_is_journaled_with_each_directors_name(tmp_path: Path) -> None:
    lb1, lb2 = SimulatedDirector(seed=1), SimulatedDirector(seed=2)
    said = run_pair(lb1, lb2, tmp_path, lambda said: len(said) == 2)
    assert [applied.plan.title for applied in said] == [
        "Drain 198.51.100.11:8080 in tcp:192.0.2.10:80", "lb2: Drain 198.51.100.11:8080 in tcp:192.0.2.10:80"]
    assert all(isinstance(applied.outcome, Report) and not applied.outcome.failed for applied in said)
    assert weight_of(lb1, FIRST) == 0 and weight_of(lb2, FIRST) == 0
    entries = list(Journal(tmp_path / "journal.jsonl").entries())
    assert [(entry.get("director"), entry["result"]) for entry in entries] == [
        (None, "intended"), (None, "ok"), ("lb2", "intended"), ("lb2", "ok")]


def test_when_one_director_refuses_what_the_others_made_is_undone_and_one_sentence_says_so(
    tmp_path: Path,
) -> None:
    lb1, lb2 = SimulatedDirector(seed=1), Refusing(seed=2)
    said = run_pair(lb1, lb2, tmp_path, lambda said: bool(said) and said[-1].plan.title == EVERY)
    assert weight_of(lb1, FIRST) == 3 and weight_of(lb2, FIRST) == 3  # both as they were
    last = said[-1]
    assert isinstance(last.outcome, IpvsError)
    assert str(last.outcome) == ("director lb2 refused a change; what was made on lb1 was undone: every "
                                 "director is as it was.")
    titles = [applied.plan.title for applied in said]
    assert titles[0] == "Drain 198.51.100.11:8080 in tcp:192.0.2.10:80"
    assert "lb1: Undo: set real server 198.51.100.11:8080 of tcp:192.0.2.10:80 back to weight 3" in titles
    actions = [entry["action"] for entry in Journal(tmp_path / "journal.jsonl").entries()
               if entry["result"] == "ok"]
    assert actions == ["edit_dest", "rollback"]  # lb1's drain, and lb1's rollback
