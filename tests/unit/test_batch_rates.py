"""Batch mode's rates on the simulated director, whose counters fold every 2 s like the kernel's:
never 0 then double at `-d 1`, never a false 0 at `-d 0`, `-` until 2 s of counters were seen."""

from __future__ import annotations

import io
import itertools
import json

import pytest

from lvs_tui.cli.batch import COLUMNS, BatchOptions, run_batch
from lvs_tui.ipvs.backend import DestConfig
from lvs_tui.model.rates import ESTIMATOR_PERIOD, FoldedRateWindow, fold_error
from lvs_tui.model.records import ServiceKey
from lvs_tui.sim.director import SimulatedDirector

pytestmark = pytest.mark.unit

CPS = [label for label, _ in COLUMNS].index("CPS")
WEB = "TCP  192.0.2.10:80 wrr"  # the demo's busiest service: about 45 new connections a second


class FakeClock:
    """Simulated time: `sleep` moves it on, and each reading costs `latency` (a snapshot takes time)."""

    def __init__(self, latency: float) -> None:
        self.now = 1000.0
        self.latency = latency

    def __call__(self) -> float:
        self.now += self.latency
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def batch_text(delay: float, count: int, latency: float = 0.003) -> list[str]:
    clock = FakeClock(latency)
    director = SimulatedDirector(seed=1, clock=clock, wall_clock=lambda: 0.0)
    out = io.StringIO()
    run_batch(director, BatchOptions(count=count, delay=delay, exact=True), out, clock.sleep, clock)
    return out.getvalue().split("\n\n")


def json_web_cps(delay: float, count: int) -> list[float | None]:
    clock = FakeClock(0.003)
    director = SimulatedDirector(seed=1, clock=clock, wall_clock=lambda: 0.0)
    out = io.StringIO()
    run_batch(director, BatchOptions(count=count, delay=delay, json=True), out, clock.sleep, clock)
    docs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {round(doc["interval"], 2) for doc in docs[2:]} == {2.0}  # the span client_rates cover
    rates = [doc["services"][0]["client_rates"] for doc in docs]
    return [None if rate is None else rate["cps"] for rate in rates]


def web_cps(snapshot: str) -> str:
    """The CPS cell of the web service's totals row."""
    lines = snapshot.splitlines()
    row = lines[lines.index(WEB) + 1].split()
    assert row[:2] == ["=", "(service)"]
    return row[CPS]


def test_the_simulated_counters_move_only_at_a_2_s_fold() -> None:
    clock = FakeClock(0.0)
    director = SimulatedDirector(seed=1, clock=clock, wall_clock=lambda: 0.0)
    moved, last = [], None
    for _ in range(80):  # 20 s in quarter seconds
        clock.sleep(0.25)
        conns = director.snapshot().services[0].stats.conns
        if last is not None and conns != last:
            moved.append(clock.now)
        last = conns
    gaps = {round(later - earlier, 2) for earlier, later in itertools.pairwise(moved)}
    assert len(moved) >= 9 and gaps == {ESTIMATOR_PERIOD}


@pytest.mark.parametrize("delay", [1.0, 0.5, 3.0, 5.0])
def test_batch_rates_never_alternate_between_zero_and_double(delay: float) -> None:
    snapshots = batch_text(delay, count=round(40 / delay))
    settled = [float(web_cps(text)) for text in snapshots if "rates: measured over" in text]
    assert len(settled) >= len(snapshots) - 4
    assert min(settled) > 0
    assert max(settled) < 1.8 * min(settled)  # traffic varies (31 to 51); a double fold is 2x or more


def test_json_client_rates_at_d_1_never_alternate_between_zero_and_double() -> None:
    cps = json_web_cps(1.0, count=30)
    assert cps[:2] == [None, None]  # the first has no previous snapshot, the second 1 s of counters
    measured = [value for value in cps if value is not None]
    assert len(measured) == 28
    assert min(measured) > 0 and max(measured) < 1.8 * min(measured)


def test_back_to_back_batch_rates_wait_for_two_seconds_of_counters() -> None:
    snapshots = batch_text(0.0, count=60, latency=0.05)  # two clock readings: a snapshot every 0.1 s
    cells = [web_cps(text) for text in snapshots]
    assert cells[0] != "-" and "rates: kernel 8 s average" in snapshots[0]
    first_rate = next(index for index, cell in enumerate(cells) if index and cell != "-")
    assert 18 <= first_rate <= 21  # 2 s of snapshots 0.1 s apart, each of which said "-"
    assert set(cells[1:first_rate]) == {"-"}
    assert "rates: - (not yet over whole 2 s counter periods)" in snapshots[1]
    measured = [float(cell) for cell in cells[first_rate:]]
    assert min(measured) > 0 and max(measured) < 1.8 * min(measured)


def test_the_window_prefers_the_shortest_span_of_whole_folds() -> None:
    assert fold_error(2.0) == 0 and fold_error(6.0) == 0
    assert fold_error(3.0) > 0.3  # 2 or 4 s of traffic over 3 s: a third off either way
    window = FoldedRateWindow()
    assert window.longest >= 10  # room for 6 s at -d 3
    spans = []
    for text in batch_text(3.0, count=6):
        if "measured over" in text:
            spans.append(text.split("measured over ")[1].split(" s")[0])
    assert spans and {round(float(span)) for span in spans} == {6}


def test_polls_further_apart_than_the_window_still_get_rates() -> None:
    snapshots = batch_text(45.0, count=3)
    assert [text.split("rates: ")[1].split("\n")[0] for text in snapshots] == [
        "kernel 8 s average", "measured over 45.00 s", "measured over 45.00 s"]
    assert all(float(web_cps(text)) > 0 for text in snapshots)


def test_a_server_added_since_the_base_has_no_rate_yet_rather_than_a_reset() -> None:
    clock = FakeClock(0.003)
    director = SimulatedDirector(seed=1, clock=clock, wall_clock=lambda: 0.0)
    window = FoldedRateWindow()
    window.rates(director.snapshot())
    clock.sleep(1.0)
    web = ServiceKey.inet("tcp", "192.0.2.10", 80)
    director.add_dest(web, DestConfig("198.51.100.19", 8080, weight=1))
    window.rates(director.snapshot())
    clock.sleep(1.0)
    rates = window.rates(director.snapshot())
    assert rates is not None and rates.seconds == pytest.approx(2.0, abs=0.01)
    new = (web, DestConfig("198.51.100.19", 8080).key)
    assert new not in rates.dests and new not in rates.resets
