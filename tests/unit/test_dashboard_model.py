"""The dashboard's state: rate windows, resets, histories, sort and filter (no Textual)."""

from __future__ import annotations

from lvs_tui.model.dashboard import Dashboard, History, Metric, SortKey, compile_filter
from lvs_tui.model.rates import Rates
from lvs_tui.model.records import Dest, Family, Info, Service, ServiceKey, Snapshot, Stats

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
DNS = ServiceKey.inet("udp", "192.0.2.53", 53)
MARK = ServiceKey.mark(7)


def snap(at: float, conns: dict[ServiceKey, int], active: int = 0) -> Snapshot:
    services = []
    for key, count in conns.items():
        dest = Dest("198.51.100.1", key.port, Family.IPV4, active_conns=active, stats=Stats(conns=count))
        services.append(Service(key, "wrr" if key is WEB else "sh", stats=Stats(conns=count), dests=(dest,)))
    return Snapshot(at, at, Info("1.2.1", 4096), tuple(services))


def test_rates_span_at_least_one_estimator_period() -> None:
    dash = Dashboard()
    dash.apply(snap(0.0, {WEB: 0}))
    dash.apply(snap(1.0, {WEB: 0}))  # counters land every 2 s: nothing yet
    dash.apply(snap(2.0, {WEB: 40}))
    dash.apply(snap(3.0, {WEB: 40}))
    # At t=3 the base is t=1 (the newest at least 2 s older): 40 conns over 2 s, not 0 over 1 s.
    assert dash.rate_seconds == 2.0
    assert dash.service_rates[WEB].cps == 20.0


def test_a_counter_reset_is_shown_as_reset_not_a_rate() -> None:
    dash = Dashboard()
    dash.apply(snap(0.0, {WEB: 100}))
    dash.apply(snap(2.0, {WEB: 3}))  # ipvsadm -Z
    assert WEB in dash.resets and WEB not in dash.service_rates


def test_history_keeps_the_last_points_oldest_first() -> None:
    history = History(points=3)
    for cps in (1.0, 2.0, 3.0, 4.0):
        history.add(WEB, Rates(cps=cps, inbps=10 * cps))
    assert history.get(WEB, Metric.CPS) == [2.0, 3.0, 4.0]
    assert history.get(WEB, Metric.BPS) == [20.0, 30.0, 40.0]
    assert history.get(DNS, Metric.CPS) == []


def test_sort_by_column_and_reverse_and_marks_last() -> None:
    dash = Dashboard()
    dash.apply(snap(0.0, {WEB: 0, DNS: 0, MARK: 0}))
    dash.apply(snap(2.0, {WEB: 10, DNS: 50, MARK: 30}))
    assert dash.services() == [WEB, DNS, MARK]  # by service: tcp before udp, marks after addresses
    dash.set_sort(SortKey("cps", reverse=True))
    assert dash.services() == [DNS, MARK, WEB]
    dash.set_sort(SortKey("scheduler"))
    assert dash.services()[-1] == WEB  # "sh" < "wrr"


def test_filter_is_regex_when_it_compiles_else_substring() -> None:
    dash = Dashboard()
    dash.apply(snap(0.0, {WEB: 0, DNS: 0, MARK: 0}))
    dash.set_filter("udp")
    assert dash.services() == [DNS]
    dash.set_filter(r":(80|53)$")
    assert set(dash.services()) == {WEB, DNS}
    dash.set_filter("fwm:7 wrr(")  # not a regex: a substring that matches nothing here
    assert dash.services() == []
    assert compile_filter("[")("a[b") and not compile_filter("[")("ab")
    dash.set_filter("")
    assert len(dash.services()) == 3


def test_totals_add_up_the_services() -> None:
    dash = Dashboard()
    dash.apply(snap(0.0, {WEB: 0, DNS: 0}, active=3))
    dash.apply(snap(2.0, {WEB: 20, DNS: 40}, active=5))
    totals = dash.totals()
    assert (totals.services, totals.dests, totals.active) == (2, 2, 10)
    assert totals.rates.cps == 30.0
