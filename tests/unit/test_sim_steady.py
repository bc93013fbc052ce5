"""The generated table's steady-state start (TrafficEngine.settle), bulk build and incremental snapshots."""

from __future__ import annotations

from lvs_tui.model.records import Dest, Family, Forward, Snapshot, Stats, Tunnel
from lvs_tui.sim import SimulatedDirector
from lvs_tui.sim.state import make_dest


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def director(seed: int = 5, size: tuple[int, int] = (300, 6)) -> tuple[SimulatedDirector, Clock]:
    clock = Clock()
    return SimulatedDirector(seed=seed, services=size[0], dests_per_service=size[1], clock=clock,
                             wall_clock=clock), clock  # fmt: skip


def test_steady_start_is_deterministic_per_seed() -> None:
    first = director(5)[0].snapshot().services
    again = director(5)[0].snapshot().services
    assert first == again
    assert director(6)[0].snapshot().services != first


def test_steady_start_is_mid_flight() -> None:
    snap = director()[0].snapshot()
    dests = [d for s in snap.services for d in s.dests]
    assert sum(d.active_conns for d in dests) > 0
    assert sum(d.inactive_conns for d in dests) > 0
    assert sum(d.persistent_conns for d in dests) > 0  # every 20th service is persistent
    assert sum(1 for s in snap.services if s.stats.conns) > len(snap.services) // 2
    busiest = snap.services[0]  # Zipf: the first service is the busiest
    assert busiest.stats.cps > 0 and busiest.stats.inbps > 0 and busiest.stats.inpps > 0
    assert all(d.stats.cps > 0 for d in busiest.dests)


def test_first_snapshot_service_counters_are_the_sum_of_their_dests() -> None:
    snap = director()[0].snapshot()
    for service in snap.services:
        for field in ("conns", "inpkts", "outpkts", "inbytes", "outbytes"):
            assert getattr(service.stats, field) == sum(getattr(d.stats, field) for d in service.dests), (
                service.key, field,
            )  # fmt: skip
        # Rates: the service's average is the sum of its dests' (each rounded once for display).
        assert abs(service.stats.cps - sum(d.stats.cps for d in service.dests)) <= len(service.dests)
        for dest in service.dests:
            assert dest.stats.conns >= dest.active_conns + dest.inactive_conns
            if dest.forward is not Forward.MASQ:
                assert dest.stats.outpkts == 0 and dest.stats.outbytes == 0


def test_steady_start_drains_and_counters_stay_monotonic() -> None:
    sim, clock = director()
    start = sim.snapshot()
    for service in start.services:
        sim.set_rate(service.key, 0)
    clock.now = 30.0
    later = sim.snapshot()
    for a, b in zip(start.services, later.services, strict=True):
        assert b.stats.conns >= a.stats.conns and b.stats.inbytes >= a.stats.inbytes
        assert all(d.active_conns >= 0 and d.inactive_conns >= 0 for d in b.dests)
    clock.now = 1500.0  # past every timeout: what settle() put in flight has aged out exactly
    end = sim.snapshot()
    dests = [d for s in end.services for d in s.dests]
    assert all(d.active_conns == d.inactive_conns == d.persistent_conns == 0 for d in dests)
    assert all(s.stats.cps == 0 for s in end.services)


def test_explicit_warm_up_still_simulates() -> None:
    clock = Clock()
    cold = SimulatedDirector(2, 20, 3, clock, clock, warm_up=0)
    assert all(s.stats.conns == 0 for s in cold.snapshot().services)
    warm = SimulatedDirector(2, 20, 3, clock, clock, warm_up=20)
    assert any(s.stats.conns for s in warm.snapshot().services)


def test_snapshots_rebuild_only_what_changed() -> None:
    sim, clock = director()
    first = sim.snapshot()
    same = sim.snapshot()  # no time passed: every record is reused
    assert all(a is b for a, b in zip(first.services, same.services, strict=True))
    clock.now = 1.0
    moved = sim.snapshot()
    reused = sum(a is b for a, b in zip(first.services, moved.services, strict=True))
    assert 0 < reused < len(first.services)
    assert moved.service(first.services[-1].key) is not None


def test_writes_on_a_generated_table() -> None:
    sim, clock = director(size=(50, 3))
    snap = sim.snapshot()
    key = snap.services[10].key
    sim.delete_service(key)
    after = sim.snapshot()
    assert after.service(key) is None and len(after.services) == 49
    sim.zero()
    assert all(s.stats.conns == 0 for s in sim.snapshot().services)
    clock.now = 5.0
    sim.snapshot()  # the engine keeps running over the deleted service's pending cohorts


def test_fast_dest_records_equal_plain_ones() -> None:
    args = ("198.51.100.7", 8080, Family.IPV4, Forward.TUNNEL, Tunnel(), 3, 10, 5, 1, 2, 0, Stats(1, 2))
    fast, plain = make_dest(*args), Dest(*args)
    assert fast == plain and hash(fast) == hash(plain) and repr(fast) == repr(plain)
    assert type(fast) is Dest


def test_snapshot_index_covers_every_service() -> None:
    snap: Snapshot = director(size=(40, 2))[0].snapshot()
    assert all(snap.service(s.key) is s for s in snap.services)
