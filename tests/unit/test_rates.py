import pytest

from lvs_tui.model.rates import Rates, is_reset, rates_between, snapshot_rates
from lvs_tui.model.records import (
    Dest,
    DestKey,
    Family,
    Info,
    Service,
    ServiceKey,
    Snapshot,
    Stats,
)

BEFORE = Stats(conns=100, inpkts=1000, outpkts=900, inbytes=64_000, outbytes=1_280_000)
AFTER = Stats(conns=120, inpkts=1400, outpkts=1300, inbytes=96_000, outbytes=2_560_000)
WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
RS1 = DestKey("198.51.100.1", 80)


def test_rates_are_deltas_over_the_interval() -> None:
    assert rates_between(BEFORE, AFTER, 2.0) == Rates(
        cps=10.0, inpps=200.0, outpps=200.0, inbps=16_000.0, outbps=640_000.0
    )


@pytest.mark.parametrize("field", ["conns", "inpkts", "outpkts", "inbytes", "outbytes"])
def test_any_counter_going_backwards_is_a_reset(field: str) -> None:
    zeroed = AFTER._replace(**{field: 0})
    assert is_reset(BEFORE, zeroed)
    assert rates_between(BEFORE, zeroed, 1.0) is None


def test_unchanged_counters_give_zero_rates_not_a_reset() -> None:
    assert not is_reset(BEFORE, BEFORE)
    assert rates_between(BEFORE, BEFORE, 1.0) == Rates()


def test_no_rate_from_an_empty_interval() -> None:
    assert rates_between(BEFORE, AFTER, 0.0) is None


def test_kernel_rates_keep_their_units() -> None:
    stats = Stats(cps=3, inpps=4, outpps=5, inbps=6, outbps=7)
    assert Rates.from_kernel(stats) == Rates(3, 4, 5, 6, 7)


def _snapshot(at: float, service_stats: Stats, dests: tuple[Dest, ...]) -> Snapshot:
    service = Service(WEB, "wrr", stats=service_stats, dests=dests)
    return Snapshot(time=1000.0 + at, monotonic=at, info=Info("1.2.1", 4096), services=(service,))


def _dest(address: str, stats: Stats) -> Dest:
    return Dest(address, 80, Family.IPV4, stats=stats)


def test_snapshot_rates_match_objects_by_key_and_flag_resets() -> None:
    prev = _snapshot(10.0, BEFORE, (_dest("198.51.100.1", BEFORE), _dest("198.51.100.2", AFTER)))
    # rs2 was deleted and re-added (counters restart), rs3 is new.
    cur = _snapshot(
        12.0,
        AFTER,
        (_dest("198.51.100.1", AFTER), _dest("198.51.100.2", BEFORE), _dest("198.51.100.3", AFTER)),
    )
    rates = snapshot_rates(prev, cur)
    assert rates.seconds == 2.0
    assert rates.services[WEB].cps == 10.0
    assert rates.dests[(WEB, RS1)].inbps == 16_000.0
    assert (WEB, DestKey("198.51.100.2", 80)) in rates.resets
    assert (WEB, DestKey("198.51.100.2", 80)) not in rates.dests
    assert (WEB, DestKey("198.51.100.3", 80)) not in rates.dests
    assert WEB not in rates.resets


def test_a_service_that_vanished_and_returned_is_a_reset() -> None:
    prev = _snapshot(1.0, AFTER, ())
    cur = _snapshot(2.0, BEFORE, ())
    rates = snapshot_rates(prev, cur)
    assert WEB in rates.resets and WEB not in rates.services
