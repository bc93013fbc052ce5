"""The distribution check against the simulated director's schedulers at steady state: no `skewed`
where the scheduler behaves as designed, `skewed` where a server silently gets nothing."""

from __future__ import annotations

import pytest

from lvs_tui.ipvs.backend import DestConfig, DestEdit, ServiceConfig
from lvs_tui.model.distribution import DestState, ServiceMemory, Spread, Verdict, spreads
from lvs_tui.model.records import DestKey, ServiceKey
from lvs_tui.sim import SimulatedDirector

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
STEADY = 120  # seconds of traffic before the check is watched


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Watch:
    """A director polled once a second, each poll judged as the dashboard's poller judges it."""

    def __init__(self, director: SimulatedDirector, clock: Clock) -> None:
        self.director, self.clock = director, clock
        self.memory: dict[ServiceKey, ServiceMemory] = {}

    def run(self, seconds: int) -> list[dict[ServiceKey, Spread]]:
        found = []
        for _ in range(seconds):
            self.clock.now += 1.0
            snapshot = self.director.snapshot()
            spread, self.memory = spreads(snapshot, snapshot.monotonic, self.memory)
            found.append(spread)
        return found


def one_service(scheduler: str, weights: list[int], flags: tuple[str, ...] = (), rate: float = 40.0,
                upper: int = 0, lower: int = 0) -> Watch:
    clock = Clock()
    director = SimulatedDirector(seed=7, services=0, dests_per_service=0, clock=clock, wall_clock=clock)
    persistent = "persistent" in flags  # clients grouped by /24, so that many of them return
    director.add_service(ServiceConfig(WEB, scheduler, flags, 300 if persistent else 0,
                                       "255.255.255.0" if persistent else "255.255.255.255"))
    for i, weight in reversed(list(enumerate(weights))):
        director.add_dest(WEB, DestConfig(f"198.51.100.{i + 1}", 8080, weight=weight,
                                          upper_threshold=upper if i == 0 else 0,
                                          lower_threshold=lower if i == 0 else 0))  # fmt: skip
    director.set_rate(WEB, rate)
    watch = Watch(director, clock)
    watch.run(STEADY)
    return watch


def skewed(polls: list[dict[ServiceKey, Spread]]) -> list[tuple[int, ServiceKey, DestKey]]:
    return [(t, key, share.dest) for t, poll in enumerate(polls) for key, spread in poll.items()
            for share in spread.shares if share.state is DestState.SKEWED]  # fmt: skip


FAMILIES = [
    ("rr", [1, 1, 1], (), Verdict.OK),
    ("wrr", [3, 2, 1], (), Verdict.OK),
    ("lc", [1, 1, 1], (), Verdict.OK),
    ("wlc", [3, 2, 1], (), Verdict.OK),
    ("sed", [3, 2, 1], (), Verdict.OK),
    ("nq", [3, 2, 1], (), Verdict.OK),
    ("sh", [1, 1, 1], ("sh-fallback",), Verdict.NA),
    ("sh", [2, 1, 1], (), Verdict.NA),
    ("mh", [1, 2, 3], ("mh-fallback",), Verdict.NA),
    ("wlc", [100, 100, 50], ("persistent",), Verdict.NA),
    ("rr", [1, 1, 1], ("persistent",), Verdict.NA),
]


@pytest.mark.parametrize(("scheduler", "weights", "flags", "verdict"), FAMILIES)
def test_a_scheduler_that_behaves_as_designed_is_never_skewed(
    scheduler: str, weights: list[int], flags: tuple[str, ...], verdict: Verdict
) -> None:
    polls = one_service(scheduler, weights, flags).run(300)
    assert skewed(polls) == []
    verdicts = [poll[WEB].verdict for poll in polls]
    assert verdicts.count(verdict) >= 0.9 * len(verdicts), verdicts  # judged, not merely waiting


@pytest.mark.parametrize(("scheduler", "weights", "flags"), [
    ("rr", [1, 1, 1], ()), ("wrr", [3, 2, 1], ()), ("lc", [1, 1, 1], ()), ("wlc", [3, 2, 1], ()),
    ("sed", [3, 2, 1], ()), ("nq", [3, 2, 1], ()), ("sh", [1, 1, 1], ("sh-fallback",)), ("sh", [1, 1, 1], ()),
    ("mh", [1, 2, 3], ()),
])  # fmt: skip
def test_a_server_that_silently_gets_nothing_is_skewed(
    scheduler: str, weights: list[int], flags: tuple[str, ...]
) -> None:
    watch = one_service(scheduler, weights, flags)
    starved = DestKey("198.51.100.2", 8080)
    watch.director.starve(WEB, starved)
    polls = watch.run(90)
    late = polls[60:]  # within a minute: the long window of the hash schedulers is 30 s
    assert all(poll[WEB].verdict is Verdict.SKEWED for poll in late)
    assert all(poll[WEB].of(starved).state is DestState.SKEWED for poll in late)  # type: ignore[union-attr]


def test_a_weight_change_and_a_bring_back_raise_no_alarm() -> None:
    for scheduler in ("wrr", "wlc", "lc", "sed"):
        watch = one_service(scheduler, [2, 2, 1])
        first, second = DestKey("198.51.100.1", 8080), DestKey("198.51.100.2", 8080)
        watch.director.edit_dest(WEB, first, DestEdit(weight=5))
        changed = watch.run(60)
        watch.director.edit_dest(WEB, second, DestEdit(weight=0))  # drained...
        drained = watch.run(200)
        watch.director.edit_dest(WEB, second, DestEdit(weight=2))  # ... and brought back
        back = watch.run(120)
        assert skewed(changed + drained + back) == [], scheduler
        assert changed[0][WEB].verdict is Verdict.WAIT  # no verdict right after the change
        assert back[-1][WEB].verdict is Verdict.OK, scheduler


def test_a_drained_server_of_a_persistent_service_still_serves_its_clients_without_alarm() -> None:
    watch = one_service("wrr", [1, 1, 1], ("persistent",))
    drained = DestKey("198.51.100.2", 8080)
    watch.director.edit_dest(WEB, drained, DestEdit(weight=0))
    before = watch.director.snapshot().service(WEB)
    polls = watch.run(120)
    after = watch.director.snapshot().service(WEB)
    assert before is not None and after is not None
    was, now = before.dest(drained), after.dest(drained)
    assert was is not None and now is not None
    served = now.stats.conns - was.stats.conns
    assert served > 20  # returning clients follow their templates to it, at weight 0
    assert skewed(polls) == []
    assert all(poll[WEB].of(drained).state is DestState.QUIESCENT for poll in polls)  # type: ignore[union-attr]


def test_an_overloaded_server_keeps_its_neighbours_out_of_alarm() -> None:
    # The first server (weight 3) reaches its upper threshold again and again at this rate; the
    # kernel keeps it out until it falls under the lower one.
    watch = one_service("wrr", [3, 2, 1], rate=40.0, upper=1500, lower=1200)
    polls = watch.run(600)
    overloaded = [poll[WEB].shares[0].state is DestState.OVERLOADED for poll in polls]
    assert any(overloaded) and not all(overloaded)
    assert skewed(polls) == []


@pytest.mark.parametrize("seed", [1, 3])
def test_the_demo_shows_no_false_alarm(seed: int) -> None:
    clock = Clock()
    watch = Watch(SimulatedDirector(seed=seed, clock=clock, wall_clock=clock), clock)
    polls = watch.run(600)
    assert skewed(polls) == []
    by_scheduler = {key: poll[key] for poll in polls[-1:] for key in poll}
    assert {spread.promise.value for spread in by_scheduler.values()} == {"new", "active", "hash", "none"}
    rr = ServiceKey.inet("tcp", "2001:db8::80", 80)
    assert sum(poll[rr].verdict is Verdict.OK for poll in polls) >= 500  # judged, and found right
