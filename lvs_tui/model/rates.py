"""Client-side rates from the counter deltas between two snapshots.

The kernel's own rates are an ~8 s moving average refreshed every 2 s, and read 0 when
`net.ipv4.vs.run_estimation=0`; rates from deltas follow the traffic as fast as lvs-top polls.
A counter that goes backwards (`ipvsadm -Z`, or a real server deleted and re-added) is a reset:
the rate for that interval is unknown, never negative or huge.
"""

from __future__ import annotations

from collections import deque
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


ESTIMATOR_PERIOD = 2.0  # seconds: the kernel folds its per-CPU counters into the dumped ones this often

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


class FoldedRateWindow:
    """Recent snapshots, and rates over a span that holds a whole number of counter folds.

    The counters the kernel reports move only when its 2 s estimator folds them, so a delta over a
    span of S seconds holds the traffic of either floor(S/2) or ceil(S/2) folds: over 1 s it is 0
    or 2 s worth (0, then double), over 3 s it is 2 or 4 s worth. Of the spans available (at least
    about one period, at most `longest`), the shortest whose expected error is small is taken (a
    multiple of 2 s: two polls back at `-d 1` and at `-d 3`), else the one whose expected error
    is smallest, if that is small enough.
    Owned by one thread.
    """

    def __init__(self, longest: float = 20.0, resolution: float = 0.05) -> None:
        self.longest = longest
        self.resolution = resolution  # snapshots closer together than this are not all kept
        self._window: deque[Snapshot] = deque()

    def rates(self, snapshot: Snapshot) -> SnapshotRates | None:
        """Rates from the best base to `snapshot`; None while the snapshots kept span less than
        about one estimator period (no honest rate yet)."""
        now = snapshot.monotonic
        window = self._window
        while len(window) > 1 and window[1].monotonic <= now - self.longest:
            window.popleft()  # the newest snapshot older than `longest` stays: polls may be further apart
        spans = [old for old in reversed(window) if now - old.monotonic >= SHORTEST_SPAN]  # newest first
        base = next((old for old in spans if fold_error(now - old.monotonic) <= GOOD_ENOUGH), None)
        if base is None:
            base = min(spans, key=lambda old: fold_error(now - old.monotonic), default=None)
            if base is not None and fold_error(now - base.monotonic) > WORST_ACCEPTED:
                base = None  # e.g. 3 s at -d 3: better wait one poll for 6 s than be a third off
        if not window or now - window[-1].monotonic >= self.resolution:
            window.append(snapshot)
        return None if base is None else snapshot_rates(base, snapshot)


# Polls due 2 s apart may be a few ms short of it; a span much shorter may hold no fold at all (a false 0).
SHORTEST_SPAN = ESTIMATOR_PERIOD - 0.02
GOOD_ENOUGH = 0.05  # expected relative error of a span accepted without looking further back
WORST_ACCEPTED = 0.15  # beyond this expected error no rate is shown (every span of 7 s or more is below)


def fold_error(span: float) -> float:
    """The expected relative error of a rate measured over `span` seconds of folded counters.

    With span = (n + f) periods, the delta holds n periods of traffic with probability 1 - f and
    n + 1 with probability f: the mean error is 2 f (1 - f) / (n + f), zero for whole periods.
    """
    periods = span / ESTIMATOR_PERIOD
    fraction = periods - int(periods)
    return 2 * fraction * (1 - fraction) / periods
