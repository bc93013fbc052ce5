"""The simulated director: determinism, schedulers, draining, thresholds, counters, write ops."""

from __future__ import annotations

import pytest

from lvs_tui.ipvs.backend import DestConfig, DestEdit, ServiceConfig, ServiceEdit
from lvs_tui.ipvs.errors import InvalidArgument, ObjectExists, ObjectNotFound, SchedulerMissing
from lvs_tui.model.records import DestKey, Forward, ServiceKey, Timeouts
from lvs_tui.sim import SimulatedDirector, parse_demo_size

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def empty(scheduler: str, weights: list[int], flags: tuple[str, ...] = ()) -> tuple[SimulatedDirector, Clock]:
    clock = Clock()
    director = SimulatedDirector(seed=3, services=0, dests_per_service=0, clock=clock, wall_clock=clock)
    director.add_service(ServiceConfig(WEB, scheduler, flags))
    director.set_rate(WEB, 0)
    for i, weight in reversed(list(enumerate(weights))):
        director.add_dest(WEB, DestConfig(f"198.51.100.{i + 1}", 8080, weight=weight))
    return director, clock


def conns(director: SimulatedDirector, key: ServiceKey = WEB) -> list[int]:
    service = director.snapshot().service(key)
    assert service is not None
    return [d.active_conns + d.inactive_conns for d in service.dests]


def test_same_seed_and_clock_give_identical_snapshots() -> None:
    runs = []
    for _ in range(2):
        clock = Clock()
        director = SimulatedDirector(seed=7, clock=clock, wall_clock=clock)
        snaps = []
        for t in (1.0, 2.5, 7.0, 30.0):
            clock.now = t
            snaps.append(director.snapshot().services)
        runs.append(snaps)
    assert runs[0] == runs[1]
    other = SimulatedDirector(seed=8, clock=Clock(), wall_clock=Clock())
    assert other.snapshot().services != runs[0][0]


def test_wrr_1_2_3_exact_over_full_cycles() -> None:
    director, _ = empty("wrr", [1, 2, 3])
    assert director.inject(WEB, 60) == 60
    assert conns(director) == [10, 20, 30]
    director.zero()
    director2, _ = empty("wrr", [1, 2, 3])
    for _ in range(12):  # one by one, not in a batch
        director2.inject(WEB, 1, client="198.51.100.200")
    assert conns(director2) == [2, 4, 6]


def test_rr_even() -> None:
    director, _ = empty("rr", [1, 5, 1])
    director.inject(WEB, 30)
    assert conns(director) == [10, 10, 10]


def test_weight_zero_gets_nothing_and_drains() -> None:
    director, clock = empty("wlc", [1, 1])
    director.inject(WEB, 40)
    assert conns(director) == [20, 20]
    director.edit_dest(WEB, DestKey("198.51.100.1", 8080), DestEdit(weight=0))
    director.inject(WEB, 40)
    assert conns(director) == [20, 60]
    clock.now = 3600.0
    assert conns(director) == [0, 0]


@pytest.mark.parametrize("fallback", [False, True])
def test_sh_weight_zero_with_and_without_fallback(fallback: bool) -> None:
    flags = ("sh-fallback",) if fallback else ()
    director, _ = empty("sh", [1, 1, 1], flags)
    director.inject(WEB, 1, client="203.0.113.9")
    first = conns(director).index(1)
    director.edit_dest(WEB, DestKey(f"198.51.100.{first + 1}", 8080), DestEdit(weight=0))
    placed = director.inject(WEB, 1, client="203.0.113.9")
    if fallback:
        assert placed == 1 and conns(director)[first] == 1 and sum(conns(director)) == 2
    else:
        assert placed == 0 and sum(conns(director)) == 1


def test_upper_threshold_overloads() -> None:
    director, _ = empty("wlc", [1, 1])
    director.edit_dest(WEB, DestKey("198.51.100.1", 8080), DestEdit(upper_threshold=5, lower_threshold=2))
    director.inject(WEB, 30, client="198.51.100.250")
    assert conns(director)[0] == 5 and conns(director)[1] == 25


def test_counters_monotonic_and_zero() -> None:
    clock = Clock()
    director = SimulatedDirector(seed=1, clock=clock, wall_clock=clock)
    last = director.snapshot()
    for t in range(1, 20):
        clock.now = float(t)
        snap = director.snapshot()
        for a, b in zip(last.services, snap.services, strict=True):
            assert b.stats.conns >= a.stats.conns and b.stats.inbytes >= a.stats.inbytes
        last = snap
    web6 = ServiceKey.inet("tcp", "2001:db8::80", 80)  # its real servers are DR
    service = last.service(web6)
    assert service is not None and service.stats.conns > 0
    assert all(d.stats.outpkts == 0 for d in service.dests)  # DR: replies bypass the director
    nat = last.service(ServiceKey.inet("tcp", "192.0.2.10", 443))
    assert nat is not None and all(d.stats.outpkts > 0 for d in nat.dests if d.stats.conns)
    director.zero()
    assert all(s.stats.conns == 0 for s in director.snapshot().services)


def test_write_errors() -> None:
    director, _ = empty("wrr", [1])
    with pytest.raises(ObjectExists, match="already exists"):
        director.add_service(ServiceConfig(WEB))
    with pytest.raises(SchedulerMissing):
        director.add_service(ServiceConfig(ServiceKey.inet("tcp", "192.0.2.11", 80), "nope"))
    with pytest.raises(InvalidArgument, match="sh-port"):
        director.add_service(ServiceConfig(ServiceKey.inet("tcp", "192.0.2.11", 80), "wrr", ("sh-port",)))
    with pytest.raises(ObjectNotFound):
        director.delete_dest(WEB, DestKey("198.51.100.99", 1))
    with pytest.raises(ObjectNotFound):
        director.edit_service(ServiceKey.inet("udp", "192.0.2.11", 53), ServiceEdit(scheduler="rr"))
    with pytest.raises(ObjectExists):
        director.add_dest(WEB, DestConfig("198.51.100.1", 8080))
    with pytest.raises(InvalidArgument):
        director.add_dest(WEB, DestConfig("198.51.100.7", 80, upper_threshold=1, lower_threshold=5))
    with pytest.raises(InvalidArgument):
        director.set_timeouts(Timeouts(-1, 0, 0))


def test_edit_is_read_modify_write() -> None:
    director, _ = empty("wrr", [4])
    key = DestKey("198.51.100.1", 8080)
    director.edit_dest(WEB, key, DestEdit(upper_threshold=100, lower_threshold=50))
    director.edit_dest(WEB, key, DestEdit(weight=7))
    service = director.snapshot().service(WEB)
    assert service is not None
    dest = service.dest(key)
    assert dest is not None and (dest.weight, dest.upper_threshold, dest.lower_threshold) == (7, 100, 50)
    assert dest.forward is Forward.MASQ
    director.edit_service(WEB, ServiceEdit(flags=("persistent",), persistence_timeout=60))
    director.edit_service(WEB, ServiceEdit(scheduler="wlc"))
    service = director.snapshot().service(WEB)
    assert service is not None and service.persistent and service.persistence_timeout == 60
    director.delete_service(WEB)
    assert director.snapshot().service(WEB) is None


def test_size_knob() -> None:
    director = SimulatedDirector(services=50, dests_per_service=4, clock=Clock(), wall_clock=Clock())
    snap = director.snapshot()
    assert len(snap.services) == 50 and all(len(s.dests) == 4 for s in snap.services)
    assert parse_demo_size("10000x10") == (10000, 10)
    with pytest.raises(ValueError, match="SERVICESxSERVERS"):
        parse_demo_size("big")
