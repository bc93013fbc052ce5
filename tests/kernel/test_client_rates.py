"""(d) Client-side rates from two snapshots agree with the packets and bytes actually sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.kernel.lab.commands import ipvsadm, ipvsadm_lines, landed
from tests.kernel.lab.topology import NatLab
from tests.kernel.lab.traffic import IPV4_UDP_OVERHEAD

if TYPE_CHECKING:
    from lvs_tui.ipvs.kernel import KernelBackend
    from lvs_tui.model.records import Snapshot, Stats

N, SIZE = 200, 400


def settled_snapshot(backend: KernelBackend) -> Snapshot:
    """A snapshot taken once the counters landed (on the kernel's 2 s estimator tick)."""
    return landed(backend.snapshot)


def test_client_side_rates_match_the_udp_traffic_sent(topology: NatLab, backend: KernelBackend) -> None:
    from lvs_tui.model.rates import rates_between, snapshot_rates
    from lvs_tui.model.records import DestKey, ServiceKey

    ipvsadm_lines(["-A -u 10.10.0.1:9000 -s rr", "-a -u 10.10.0.1:9000 -r 10.20.1.2:9000 -m"])
    key, rs1 = ServiceKey.inet("udp", "10.10.0.1", 9000), DestKey("10.20.1.2", 9000)
    prev = settled_snapshot(backend)
    assert topology.udp(N, SIZE) == N  # every datagram went through and came back
    cur = settled_snapshot(backend)

    seconds = cur.monotonic - prev.monotonic
    assert seconds > 0
    prev_svc, cur_svc = prev.service(key), cur.service(key)
    assert prev_svc is not None and cur_svc is not None
    rates = rates_between(prev_svc.stats, cur_svc.stats, seconds)
    assert rates is not None
    wire = N * (SIZE + IPV4_UDP_OVERHEAD)  # IPVS counts whole IP packets
    assert rates.inpps * seconds == pytest.approx(N)
    assert rates.outpps * seconds == pytest.approx(N)
    assert rates.inbps * seconds == pytest.approx(wire)
    assert rates.outbps * seconds == pytest.approx(wire)
    assert rates.cps * seconds == pytest.approx(1)  # one client socket: one IPVS connection

    # The per-snapshot helper agrees for the service and its one real server, and sees no reset.
    both = snapshot_rates(prev, cur)
    assert both.seconds == pytest.approx(seconds)
    assert both.services[key] == rates
    assert both.dests[(key, rs1)] == rates
    assert not both.resets

    # Zeroing between two snapshots is a reset, never a negative rate.
    ipvsadm("-Z")
    zeroed = backend.snapshot()
    after_zero = snapshot_rates(cur, zeroed)
    assert key in after_zero.resets and key not in after_zero.services


def stats_tuple(stats: Stats) -> tuple[int, ...]:
    return stats.conns, stats.inpkts, stats.outpkts, stats.inbytes, stats.outbytes
