"""The distribution check, scheduler by scheduler, on hand-made polls (pure)."""

from __future__ import annotations

from dataclasses import replace

from lvs_tui.model import distribution as D
from lvs_tui.model.distribution import DestState, Spread, Verdict, judge, spreads
from lvs_tui.model.evidence import below_lower, is_overloaded
from lvs_tui.model.promise import Promise, help_rows, promise_of
from lvs_tui.model.records import Dest, Family, Info, Service, ServiceKey, Snapshot, Stats

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)


def dest(n: int, weight: int, conns: int = 0, active: int = 0, inactive: int = 0, upper: int = 0,
         lower: int = 0, templates: int = 0) -> Dest:
    return Dest(f"198.51.100.{n}", 80, Family.IPV4, weight=weight, upper_threshold=upper,
                lower_threshold=lower, active_conns=active, inactive_conns=inactive,
                persistent_conns=templates, stats=Stats(conns=conns))  # fmt: skip


class Polls:
    """Feeds one service's polls to the check, one second apart, as the dashboard does."""

    def __init__(self, scheduler: str, flags: tuple[str, ...] = ()) -> None:
        self.scheduler, self.flags = scheduler, flags
        self.now = 0.0
        self.memory: D.ServiceMemory | None = None

    def poll(self, *dests: Dest) -> Spread:
        service = Service(WEB, self.scheduler, self.flags, 1 if "persistent" in self.flags else 0,
                          300 if "persistent" in self.flags else 0, dests=dests)  # fmt: skip
        spread, self.memory = judge(service, self.now, self.memory)
        self.now += 1.0
        return spread

    def run(self, seconds: int, make: object) -> list[Spread]:
        """`make(t)` gives the real servers at second t."""
        assert callable(make)
        return [self.poll(*make(t)) for t in range(seconds)]


def states(spread: Spread) -> list[DestState]:
    return [share.state for share in spread.shares]


def test_wrr_traffic_that_follows_the_weights_is_ok() -> None:
    polls = Polls("wrr")
    result = polls.run(12, lambda t: (dest(1, 1, 10 * t), dest(2, 2, 20 * t), dest(3, 3, 30 * t)))
    last = result[-1]
    assert last.verdict is Verdict.OK and last.promise is Promise.NEW
    assert states(last) == [DestState.OK] * 3
    assert [round(s.expected or 0, 3) for s in last.shares] == [0.167, 0.333, 0.5]
    assert [round(s.got or 0, 3) for s in last.shares] == [0.167, 0.333, 0.5]
    assert result[1].verdict is Verdict.WAIT  # one second of counters is no evidence yet


def test_rr_promises_equal_shares_whatever_the_weights() -> None:
    result = Polls("rr").run(8, lambda t: (dest(1, 1, 10 * t), dest(2, 5, 10 * t)))
    assert result[-1].verdict is Verdict.OK
    assert [s.expected for s in result[-1].shares] == [0.5, 0.5]


def test_a_wrr_server_off_its_share_is_skewed_once_it_stays_off() -> None:
    result = Polls("wrr").run(12, lambda t: (dest(1, 1, 45 * t), dest(2, 1, 5 * t)))
    assert states(result[5]) == [DestState.OK, DestState.OK]  # off for less than OFF_SECONDS: not yet
    assert states(result[-1]) == [DestState.SKEWED, DestState.SKEWED]
    assert result[-1].verdict is Verdict.SKEWED
    assert round(result[-1].shares[0].deviation or 0, 2) == 0.4


def test_a_quiet_service_gives_no_evidence() -> None:
    result = Polls("rr").run(12, lambda t: (dest(1, 1, t), dest(2, 1, 0)))  # 11 new connections in all
    assert result[-1].verdict is Verdict.WAIT
    assert states(result[-1]) == [DestState.OK, DestState.OK] and result[-1].shares[0].got is None


def test_weight_zero_is_quiescent_and_entitled_to_nothing() -> None:
    result = Polls("wrr").run(12, lambda t: (dest(1, 0, 100, active=5), dest(2, 2, 40 * t)))
    assert states(result[-1]) == [DestState.QUIESCENT, DestState.OK]
    assert [s.expected for s in result[-1].shares] == [0.0, 1.0]
    assert result[-1].verdict is Verdict.OK


def test_new_connections_at_weight_zero_are_skewed_after_the_counters_lag() -> None:
    result = Polls("sh").run(12, lambda t: (dest(1, 0, 100 + t), dest(2, 2, 40 * t)))
    assert states(result[2]) == [DestState.QUIESCENT, DestState.OK]  # within the counters' lag
    assert result[-1].shares[0].state is DestState.SKEWED and result[-1].verdict is Verdict.SKEWED
    assert result[-1].shares[0].why == "new connections at weight 0"


def test_persistence_explains_new_connections_at_weight_zero_while_templates_remain() -> None:
    flags = ("persistent",)
    kept = Polls("wlc", flags).run(20, lambda t: (dest(1, 0, 100 + t, templates=3), dest(2, 2, 40 * t)))
    assert kept[-1].shares[0].state is DestState.QUIESCENT
    assert kept[-1].verdict is Verdict.NA and kept[-1].promise is Promise.NONE
    gone = Polls("wlc", flags).run(20, lambda t: (dest(1, 0, 100 + t, templates=0), dest(2, 2, 40 * t)))
    assert gone[-1].shares[0].state is DestState.SKEWED


def test_lc_family_is_judged_by_connections_held_not_by_new_ones() -> None:
    # wlc: new connections go 90/10 (a busy server's connections ended), held ones follow the weights.
    def servers(t: int) -> tuple[Dest, ...]:
        return dest(1, 2, 90 * t, active=40, inactive=400), dest(2, 1, 10 * t, active=20, inactive=200)

    result = Polls("wlc").run(12, servers)
    assert result[-1].promise is Promise.ACTIVE and result[-1].verdict is Verdict.OK
    assert [round(s.got or 0, 2) for s in result[-1].shares] == [0.67, 0.33]


def test_lc_ignores_weights_and_flags_a_server_holding_too_many() -> None:
    result = Polls("lc").run(12, lambda t: (dest(1, 3, 9 * t, active=60), dest(2, 1, 9 * t, active=20)))
    assert [s.expected for s in result[-1].shares] == [0.5, 0.5]
    assert states(result[-1]) == [DestState.SKEWED, DestState.SKEWED]


def test_sed_with_too_few_connections_held_is_not_judged() -> None:
    result = Polls("sed").run(12, lambda t: (dest(1, 1, 9 * t, active=9), dest(2, 1, 9 * t, active=1)))
    assert result[-1].verdict is Verdict.WAIT and states(result[-1]) == [DestState.OK] * 2


def test_hash_shares_follow_the_clients_and_are_not_skewed() -> None:
    result = Polls("mh").run(20, lambda t: (dest(1, 1, 67 * t), dest(2, 1, 23 * t), dest(3, 1, 10 * t)))
    assert result[-1].verdict is Verdict.NA and result[-1].promise is Promise.HASH
    assert states(result[-1]) == [DestState.OK] * 3
    assert result[-1].shares[0].expected is None and round(result[-1].shares[0].got or 0, 2) == 0.67


def test_a_hash_server_with_weight_that_gets_nothing_for_long_is_skewed() -> None:
    result = Polls("sh").run(40, lambda t: (dest(1, 1, 50 * t), dest(2, 1, 50 * t), dest(3, 1, 7)))
    assert states(result[20]) == [DestState.OK] * 3  # not long enough to be sure
    assert states(result[-1]) == [DestState.OK, DestState.OK, DestState.SKEWED]
    assert result[-1].shares[2].why.startswith("no new connection")


def test_persistent_wlc_is_not_held_to_shares() -> None:
    def servers(t: int) -> tuple[Dest, ...]:
        return (dest(1, 100, 67 * t, active=300), dest(2, 100, 23 * t, active=50),
                dest(3, 50, 10 * t, active=5))

    result = Polls("wlc", ("persistent",)).run(40, servers)
    assert result[-1].verdict is Verdict.NA and states(result[-1]) == [DestState.OK] * 3


def test_overload_lasts_down_to_the_lower_threshold_and_the_neighbours_are_not_skewed() -> None:
    # Server 1 reaches its upper threshold (10) at t=5, then drains; the kernel keeps it out until
    # active+inactive is under the lower threshold (6) at t=15. Its neighbour takes everything meanwhile.
    def servers(t: int) -> tuple[Dest, ...]:
        if t < 5:
            one = dest(1, 1, 30 * t, active=5 + t)
        elif t < 15:
            one = dest(1, 1, 150, active=10 - (t - 5) // 3, upper=10, lower=6)
        else:
            one = dest(1, 1, 150 + 30 * (t - 15), active=5, upper=10, lower=6)
        two = dest(2, 1, 30 * t if t < 5 else 150 + 60 * (t - 5) if t < 15 else 750 + 30 * (t - 15))
        return replace(one, upper_threshold=10, lower_threshold=6), two

    result = Polls("rr").run(40, servers)
    for t in range(5, 15):
        assert result[t].shares[0].state is DestState.OVERLOADED, t
        assert result[t].shares[1].state is not DestState.SKEWED, t
        assert result[t].shares[1].expected == 1.0, t
    assert all(r.verdict is not Verdict.SKEWED for r in result)
    assert result[-1].verdict is Verdict.OK and states(result[-1]) == [DestState.OK] * 2


def test_an_overload_between_two_polls_is_seen_from_the_stalled_counter() -> None:
    # Never seen at its upper threshold (10), but between the thresholds its counter stands still
    # while the service's moves: the kernel is keeping it out.
    def servers(t: int) -> tuple[Dest, ...]:
        one = dest(1, 1, 30 * min(t, 10), active=8, upper=10, lower=5)
        return one, dest(2, 1, 30 * t)

    result = Polls("rr").run(30, servers)
    assert result[-1].shares[0].state is DestState.OVERLOADED
    assert all(r.verdict is not Verdict.SKEWED for r in result)


def test_the_kernels_release_point() -> None:
    assert is_overloaded(dest(1, 1, active=7, inactive=3, upper=10))
    assert not is_overloaded(dest(1, 1, active=1000))  # 0 = no threshold
    assert below_lower(dest(1, 1, active=5, upper=10, lower=6))
    assert not below_lower(dest(1, 1, active=6, upper=10, lower=6))
    assert not below_lower(dest(1, 1, active=9, upper=12))  # lower 0: under 3/4 of the upper (9)
    assert below_lower(dest(1, 1, active=8, upper=12))


def test_a_weight_change_gives_no_verdict_while_the_neighbours_settle() -> None:
    def servers(t: int) -> tuple[Dest, ...]:
        if t < 20:
            return dest(1, 1, 30 * t), dest(2, 1, 30 * t)
        # weight 1 -> 3 at t=20; the counters follow two seconds later
        lag = max(0, t - 22)
        return dest(1, 3, 600 + 30 * (t - 20) + 15 * lag), dest(2, 1, 600 + 30 * (t - 20) - 15 * lag)

    result = Polls("wrr").run(40, servers)
    assert result[19].verdict is Verdict.OK
    assert all(r.verdict is not Verdict.SKEWED for r in result)
    assert result[20].verdict is Verdict.WAIT and states(result[20]) == [DestState.SETTLING] * 2
    assert result[-1].verdict is Verdict.OK
    assert [round(s.got or 0, 2) for s in result[-1].shares] == [0.75, 0.25]


def test_a_reset_is_shown_as_such() -> None:
    result = Polls("rr").run(12, lambda t: (dest(1, 1, 30 * t if t < 11 else 0), dest(2, 1, 30 * t)))
    assert result[-1].shares[0].state is DestState.RESET and result[-1].shares[0].got is None
    assert result[-1].verdict is not Verdict.SKEWED


def test_every_scheduler_states_its_promise() -> None:
    rows = dict(help_rows())
    for name in ("rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "mh", "dh", "lblc", "lblcr", "fo", "ovf"):
        assert rows[name], name
    assert "keeps its server" in rows["persist."]
    persistent = Service(WEB, "rr", ("persistent",), 1, 300)
    assert promise_of(persistent) is Promise.NONE
    assert promise_of(Service(WEB, "twos")) is Promise.NONE


def test_an_unchanged_service_is_judged_again_only_every_two_seconds_but_a_weight_change_at_once() -> None:
    def snapshot(t: float, weight: int) -> Snapshot:
        service = Service(WEB, "wrr", dests=(dest(1, weight, int(30 * t)), dest(2, 1, int(30 * t))))
        return Snapshot(t, t, Info("1.2.1", 4096), (service,))

    found, memory = spreads(snapshot(0.0, 1), 0.0, {})
    again, memory = spreads(snapshot(1.0, 1), 1.0, memory)
    assert again[WEB] is found[WEB]  # the counters fold every 2 s: nothing new to learn yet
    later, memory = spreads(snapshot(2.0, 1), 2.0, memory)
    assert later[WEB] is not found[WEB]
    changed, memory = spreads(snapshot(2.5, 3), 2.5, memory)
    assert changed[WEB].verdict is Verdict.WAIT
    assert [share.state for share in changed[WEB].shares] == [DestState.SETTLING] * 2
