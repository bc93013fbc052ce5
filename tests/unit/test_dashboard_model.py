"""What the dashboard computes from polls: rate windows, resets, histories, sort, filter, totals."""

from __future__ import annotations

from lvs_tui.model.dashboard import (
    KERNEL_ORDER,
    ConnCounter,
    RateWindow,
    SortKey,
    compile_filter,
    first_sort,
    ordered,
    ordered_dests,
    totals,
)
from lvs_tui.model.history import Metric, RateHistory
from lvs_tui.model.rates import Rates
from lvs_tui.model.records import Dest, Family, Info, Service, ServiceKey, Snapshot, Stats

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
DNS = ServiceKey.inet("udp", "192.0.2.53", 53)
MARK = ServiceKey.mark(7)
NOTHING: frozenset[ServiceKey] = frozenset()


def snap(at: float, conns: dict[ServiceKey, int], active: int = 0) -> Snapshot:
    services = []
    for key, count in conns.items():
        dest = Dest("198.51.100.1", key.port, Family.IPV4, active_conns=active, stats=Stats(conns=count))
        services.append(Service(key, "wrr" if key is WEB else "sh", stats=Stats(conns=count), dests=(dest,)))
    return Snapshot(at, at, Info("1.2.1", 4096), tuple(services))


def test_rates_span_at_least_one_estimator_period() -> None:
    window = RateWindow()
    assert window.rates(snap(0.0, {WEB: 0}), NOTHING) is None  # the first poll has nothing to compare
    window.rates(snap(1.0, {WEB: 0}), NOTHING)  # counters land every 2 s: nothing yet
    window.rates(snap(2.0, {WEB: 40}), NOTHING)
    rates = window.rates(snap(3.0, {WEB: 40}), NOTHING)
    # At t=3 the base is t=1 (the newest at least 2 s older): 40 conns over 2 s, not 0 over 1 s.
    assert rates is not None and rates.seconds == 2.0
    assert rates.services[WEB].cps == 20.0


def test_a_counter_reset_is_shown_as_reset_not_a_rate() -> None:
    window = RateWindow()
    window.rates(snap(0.0, {WEB: 100}), NOTHING)
    rates = window.rates(snap(2.0, {WEB: 3}), NOTHING)  # ipvsadm -Z
    assert rates is not None and WEB in rates.resets and WEB not in rates.services


def test_history_keeps_the_last_points_oldest_first() -> None:
    history = RateHistory(points=3)
    for cps in (1.0, 2.0, 3.0, 4.0):
        history = history.add({WEB: Rates(cps=cps, inbps=10 * cps)})
    assert history.series(WEB, Metric.CPS) == [2.0, 3.0, 4.0]
    assert history.series(WEB, Metric.BPS) == [20.0, 30.0, 40.0]
    assert history.series(DNS, Metric.CPS) == []


def test_a_history_never_changes_once_made() -> None:
    """A frame's history is read on the UI thread while the poller makes the next one."""
    before = RateHistory(points=2).add({WEB: Rates(cps=1.0)}).add({WEB: Rates(cps=2.0), DNS: Rates(cps=9.0)})
    after = before.add({WEB: Rates(cps=3.0)}).add({DNS: Rates(cps=5.0)})
    assert before.series(WEB, Metric.CPS) == [1.0, 2.0]
    assert before.series(DNS, Metric.CPS) == [9.0]
    assert after.series(WEB, Metric.CPS) == [3.0]  # no rate in the newest poll: left out
    assert after.series(DNS, Metric.CPS) == [5.0]


def test_polls_with_the_same_keys_share_one_index() -> None:
    first = RateHistory().add({WEB: Rates(cps=1.0), DNS: Rates()})
    second = first.add({DNS: Rates(cps=2.0), WEB: Rates(cps=3.0)})
    assert second.polls[0].index is second.polls[1].index
    assert second.series(WEB, Metric.CPS) == [1.0, 3.0] and second.series(DNS, Metric.CPS) == [0.0, 2.0]


def test_a_large_table_rates_the_real_servers_of_watched_services_only() -> None:
    many = {ServiceKey.inet("tcp", "192.0.2.10", port): 0 for port in range(1, 5002)}
    window = RateWindow()
    window.rates(snap(0.0, many), frozenset({WEB}))
    rates = window.rates(snap(2.0, many), frozenset({ServiceKey.inet("tcp", "192.0.2.10", 7)}))
    assert rates is not None and len(rates.services) == len(many)
    assert [service for service, _ in rates.dests] == [ServiceKey.inet("tcp", "192.0.2.10", 7)]


def test_sort_by_column_and_reverse_and_marks_last() -> None:
    window, counter = RateWindow(), ConnCounter()
    window.rates(snap(0.0, {WEB: 0, DNS: 0, MARK: 0}), NOTHING)
    table = snap(2.0, {WEB: 10, DNS: 50, MARK: 30})
    rates = window.rates(table, NOTHING)
    assert rates is not None
    conns = counter.sums(table)

    def by(sort: SortKey) -> tuple[ServiceKey, ...]:
        return ordered(table, rates.services, conns, sort, "")

    assert by(SortKey("service")) == (WEB, DNS, MARK)  # tcp before udp, marks after addresses
    assert by(SortKey("cps", reverse=True)) == (DNS, MARK, WEB)
    assert by(SortKey("scheduler"))[-1] == WEB  # "sh" < "wrr"


def test_filter_is_regex_when_it_compiles_else_plain_text_and_says_so() -> None:
    table = snap(0.0, {WEB: 0, DNS: 0, MARK: 0})
    conns = ConnCounter().sums(table)

    def shown(text: str) -> tuple[ServiceKey, ...]:
        return ordered(table, {}, conns, SortKey("service"), text)

    assert shown("udp") == (DNS,)
    assert set(shown(r":(80|53)$")) == {WEB, DNS}
    assert shown("fwm:7 wrr(") == ()  # not a regex: a substring that matches nothing here
    assert compile_filter("[")("a[b") and not compile_filter("[")("ab")
    assert compile_filter("[").error == "not a regex (unterminated character set): matched as plain text"
    assert compile_filter("tcp").error is None
    assert len(shown("")) == 3


def test_filter_matches_the_rows_as_shown() -> None:
    table = snap(0.0, {WEB: 0, DNS: 0, MARK: 0})
    conns = ConnCounter().sums(table)

    def shown(text: str) -> tuple[ServiceKey, ...]:
        return ordered(table, {}, conns, SortKey("service"), text)

    assert shown("TCP 192") == (WEB,)  # shown as `TCP  192.0.2.10:80`: blanks match blanks
    assert shown("FWM 7") == (MARK,)
    assert shown("fwm  7 sh") == (MARK,)  # the row goes on with the scheduler
    assert shown("^udp 192.0.2.53:53 sh$") == (DNS,)
    assert shown("tcp:192.0.2.10:80") == (WEB,)  # the id, as ipvsadm and the journal write it


def test_numbers_start_descending_and_names_ascending() -> None:
    assert first_sort("cps") == SortKey("cps", True) and first_sort("active") == SortKey("active", True)
    assert first_sort("service") == SortKey("service") and first_sort("dest") == SortKey("dest")


def test_real_servers_sort_by_any_of_their_columns_or_keep_the_kernels_order() -> None:
    def dest(address: str, weight: int, active: int) -> Dest:
        return Dest(address, 80, Family.of(address), weight=weight, active_conns=active)

    service = Service(WEB, "wlc", dests=(dest("10.0.0.9", 1, 5), dest("10.0.0.10", 3, 2),
                                         dest("2001:db8::1", 2, 9)))
    rates = {service.dests[1].key: Rates(cps=7.0)}

    def addresses(sort: SortKey) -> list[str]:
        return [key.address for key in ordered_dests(service, rates, sort)]

    assert addresses(KERNEL_ORDER) == ["10.0.0.9", "10.0.0.10", "2001:db8::1"]
    assert addresses(first_sort("dest")) == ["10.0.0.9", "10.0.0.10", "2001:db8::1"]  # as numbers
    assert addresses(first_sort("weight")) == ["10.0.0.10", "2001:db8::1", "10.0.0.9"]
    assert addresses(first_sort("active")) == ["2001:db8::1", "10.0.0.9", "10.0.0.10"]
    assert addresses(first_sort("cps"))[0] == "10.0.0.10"  # the only one measured


def test_connection_sums_are_reused_for_an_unchanged_record() -> None:
    counter = ConnCounter()
    table = snap(0.0, {WEB: 0}, active=3)
    assert counter.sums(table)[WEB] == (3, 0)
    same_record = Snapshot(1.0, 1.0, table.info, table.services)
    assert counter.sums(same_record)[WEB] == (3, 0)
    assert counter.sums(snap(2.0, {WEB: 0}, active=5))[WEB] == (5, 0)


def test_totals_add_up_the_services() -> None:
    window = RateWindow()
    window.rates(snap(0.0, {WEB: 0, DNS: 0}, active=3), NOTHING)
    table = snap(2.0, {WEB: 20, DNS: 40}, active=5)
    rates = window.rates(table, NOTHING)
    assert rates is not None
    summed = totals(table, rates.services, ConnCounter().sums(table))
    assert (summed.services, summed.dests, summed.active) == (2, 2, 10)
    assert summed.rates.cps == 30.0
