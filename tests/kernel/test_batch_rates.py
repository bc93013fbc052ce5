"""`lvs-top --batch --json -d 1` on the real kernel, under a steady stream of connections: the
kernel adds its per-CPU counters into the ones it reports only every 2 s, so rates measured over
1 s would read 0, then double. Batch mode measures over whole 2 s periods: no rate for the second
snapshot (1 s of counters), then never 0 while connections keep coming. Run with -s to see them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.kernel.lab import lvs_top
from tests.kernel.lab.commands import flush_connections, ipvsadm_lines
from tests.kernel.lab.topology import CLIENT, REAL_SERVERS, VIP, NatLab
from tests.kernel.lab.traffic import Flood


@pytest.fixture(scope="module", autouse=True)
def no_connections_left(ipvs_modules: None) -> Iterator[None]:
    """The stream leaves TIME_WAIT entries behind: flush them for the modules after."""
    yield
    flush_connections()


def test_batch_rates_at_d_1_never_read_zero_then_double(topology: NatLab) -> None:
    ipvsadm_lines([f"-A -t {VIP}:80 -s rr",
                   *(f"-a -t {VIP}:80 -r {address}:80 -m" for address in REAL_SERVERS.values())])
    with Flood(CLIENT, VIP, every=0.05) as flood:
        run = lvs_top.here("--batch", "--json", "-n", "12", "-d", "1")
    assert run.code == 0, run.err
    assert flood.established > 0
    lines = run.lines()
    rates = [line["services"][0]["client_rates"] for line in lines]
    spans = [line["interval"] for line in lines]
    print(f"cps: {[None if r is None else round(r['cps'], 1) for r in rates]}, spans: {spans}")
    assert rates[0] is None and rates[1] is None  # no earlier snapshot; then only 1 s of counters
    measured = [rate["cps"] for rate in rates[2:] if rate is not None]
    assert len(measured) >= 6
    assert min(measured) > 0, "a rate of 0 under a steady stream: measured over a span with no fold"
    assert all(span is None or span >= 1.98 for span in spans)
