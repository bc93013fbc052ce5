"""Client-side rates from the counter deltas between two snapshots.

The kernel's own rates are an ~8 s moving average refreshed every 2 s, and read 0 when
`net.ipv4.vs.run_estimation=0`; rates from deltas follow the traffic as fast as lvs-top polls.
A counter that goes backwards (`ipvsadm -Z`, or a real server deleted and re-added) is a reset:
the rate for that interval is unknown, never negative or huge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lvs_tui.model.records import Dest, DestKey, ServiceKey, Snapshot, Stats


@dataclass(frozen=True, slots=True)
class Rates:
    """Per-second rates; `inbps`/`outbps` are bytes per second, like the kernel's."""

    cps: float = 0.0
    inpps: float = 0.0
    outpps: float = 0.0
    inbps: float = 0.0
    outbps: float = 0.0

    @classmethod
    def from_kernel(cls, stats: Stats) -> Rates:
        """The kernel's own estimates, in the same shape."""
        return cls(stats.cps, stats.inpps, stats.outpps, stats.inbps, stats.outbps)


_COUNTERS = ("conns", "inpkts", "outpkts", "inbytes", "outbytes")


def is_reset(prev: Stats, cur: Stats) -> bool:
    """True when any counter went backwards between `prev` and `cur`."""
    return any(getattr(cur, name) < getattr(prev, name) for name in _COUNTERS)


def rates_between(prev: Stats, cur: Stats, seconds: float) -> Rates | None:
    """Rates over an interval, or None when the counters were reset within it.

    A non-positive interval (two polls in the same clock tick) also yields None: no rate can be
    known from it.
    """
    if seconds <= 0 or is_reset(prev, cur):
        return None
    return Rates(
        cps=(cur.conns - prev.conns) / seconds,
        inpps=(cur.inpkts - prev.inpkts) / seconds,
        outpps=(cur.outpkts - prev.outpkts) / seconds,
        inbps=(cur.inbytes - prev.inbytes) / seconds,
        outbps=(cur.outbytes - prev.outbytes) / seconds,
    )


@dataclass(frozen=True, slots=True)
class SnapshotRates:
    """Client-side rates for every service and real server present in both snapshots.

    A key missing from `services`/`dests` is new since the previous snapshot (no rate yet);
    a key in `resets` had its counters reset in the interval.
    """

    seconds: float
    services: dict[ServiceKey, Rates]
    dests: dict[tuple[ServiceKey, DestKey], Rates]
    resets: frozenset[ServiceKey | tuple[ServiceKey, DestKey]]


def snapshot_rates(
    prev: Snapshot, cur: Snapshot, with_dests: Callable[[ServiceKey], bool] | None = None
) -> SnapshotRates:
    """Rates from `prev` to `cur`, matched by key (objects may come and go between polls).

    `with_dests` limits the real servers rated to those of the services it accepts (a dashboard
    over 10,000 services rates the servers of the services it shows); None rates them all.
    """
    seconds = cur.monotonic - prev.monotonic
    services: dict[ServiceKey, Rates] = {}
    dests: dict[tuple[ServiceKey, DestKey], Rates] = {}
    resets: set[ServiceKey | tuple[ServiceKey, DestKey]] = set()
    for service in cur.services:
        before = prev.service(service.key)
        if before is None:
            continue
        rates = _between(before.stats, service.stats, seconds)
        if rates is None:
            if seconds > 0:
                resets.add(service.key)
        else:
            services[service.key] = rates
        if with_dests is not None and not with_dests(service.key):
            continue
        for dest, old in _matched(before.dests, service.dests):
            key = (service.key, dest.key)
            dest_rates = _between(old.stats, dest.stats, seconds)
            if dest_rates is None:
                if seconds > 0:
                    resets.add(key)
            else:
                dests[key] = dest_rates
    return SnapshotRates(seconds, services, dests, frozenset(resets))


NO_TRAFFIC = Rates()


def _between(before: Stats, after: Stats, seconds: float) -> Rates | None:
    if before is after and seconds > 0:  # the backend reused an unchanged record: nothing moved
        return NO_TRAFFIC
    return rates_between(before, after, seconds)


def _matched(old: tuple[Dest, ...], new: tuple[Dest, ...]) -> Iterator[tuple[Dest, Dest]]:
    """Pairs (new, old) of the same real server; positions usually agree, so try that first."""
    if len(old) == len(new) and all(
        a.port == b.port and a.address == b.address for a, b in zip(old, new, strict=True)
    ):
        yield from zip(new, old, strict=True)
        return
    by_key = {dest.key: dest for dest in old}
    for dest in new:
        before = by_key.get(dest.key)
        if before is not None:
            yield dest, before
