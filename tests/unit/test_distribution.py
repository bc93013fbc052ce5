from lvs_tui.model.distribution import DestState, is_overloaded, shares
from lvs_tui.model.rates import Rates
from lvs_tui.model.records import Dest, DestKey, Family, Service, ServiceKey

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)


def dest(n: int, weight: int, upper_threshold: int = 0, active_conns: int = 0,
         inactive_conns: int = 0) -> Dest:
    return Dest(f"198.51.100.{n}", 80, Family.IPV4, weight=weight, upper_threshold=upper_threshold,
                active_conns=active_conns, inactive_conns=inactive_conns)


def rates_of(*cps: float) -> dict[DestKey, Rates]:
    return {DestKey(f"198.51.100.{n}", 80): Rates(cps=c, inbps=100 * c) for n, c in enumerate(cps, 1)}


def test_traffic_that_follows_the_weights_is_ok() -> None:
    service = Service(WEB, "wrr", dests=(dest(1, 1), dest(2, 2), dest(3, 3)))
    result = shares(service, rates_of(10, 20, 30))
    assert [s.state for s in result] == [DestState.OK] * 3
    assert [round(s.expected, 3) for s in result] == [0.167, 0.333, 0.5]
    assert [round(s.conns or 0, 3) for s in result] == [0.167, 0.333, 0.5]
    assert round(result[2].bytes or 0, 3) == 0.5


def test_a_hot_spot_is_flagged_skewed() -> None:
    service = Service(WEB, "sh", dests=(dest(1, 1), dest(2, 1)))
    result = shares(service, rates_of(45, 5))
    assert [s.state for s in result] == [DestState.SKEWED, DestState.SKEWED]
    assert round(result[0].deviation or 0, 2) == 0.4


def test_a_quiet_service_gives_no_evidence() -> None:
    service = Service(WEB, "rr", dests=(dest(1, 1), dest(2, 1)))
    result = shares(service, rates_of(9, 0), seconds=1.0)  # 9 new connections: too few to judge
    assert [s.state for s in result] == [DestState.OK, DestState.OK]
    assert result[0].conns is None


def test_weight_zero_is_quiescent_and_entitled_to_nothing() -> None:
    service = Service(WEB, "wrr", dests=(dest(1, 0, active_conns=5), dest(2, 2)))
    result = shares(service, rates_of(0, 40))
    assert result[0].state is DestState.QUIESCENT and result[0].expected == 0.0
    assert result[1].state is DestState.OK and result[1].expected == 1.0


def test_over_the_upper_threshold_is_overloaded() -> None:
    full = dest(1, 1, upper_threshold=10, active_conns=7, inactive_conns=3)
    assert is_overloaded(full)
    assert not is_overloaded(dest(1, 1, active_conns=1000))  # 0 = no threshold
    result = shares(Service(WEB, "wrr", dests=(full, dest(2, 1))), rates_of(0, 30))
    assert result[0].state is DestState.OVERLOADED
    assert result[1].expected == 1.0 and result[1].state is DestState.OK


def test_a_reset_is_shown_as_such() -> None:
    service = Service(WEB, "rr", dests=(dest(1, 1), dest(2, 1)))
    rates = rates_of(0, 30)
    del rates[DestKey("198.51.100.1", 80)]
    result = shares(service, rates, resets=frozenset({DestKey("198.51.100.1", 80)}))
    assert result[0].state is DestState.RESET and result[0].conns is None
