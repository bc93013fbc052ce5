"""What the dashboard computes from polls: rates over a kernel estimator period, connection sums,
the order of the services, totals (pure: no Textual, no I/O).

Client-side rates span at least one kernel estimator period (2 s): the kernel folds its per-CPU
counters into what netlink reports every 2 s, so a rate over a shorter span would swing between 0
and double.
"""

from __future__ import annotations

import ipaddress
import re
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lvs_tui.model.format import service_label, service_options
from lvs_tui.model.rates import Rates, SnapshotRates, snapshot_rates
from lvs_tui.model.records import Dest, DestKey, Service, ServiceKey, Snapshot

ESTIMATOR_PERIOD = 2.0
# Below this many real servers in all, every one is rated each poll; above it, only those of the
# services the operator watches (a 10,000 x 10 table would otherwise rate 100,000 every poll).
RATE_ALL_DESTS_UP_TO = 5000

ConnSums = Mapping[ServiceKey, tuple[int, int]]  # active, inactive per service


class RateWindow:
    """The recent snapshots that rates are measured against (owned by one thread)."""

    def __init__(self) -> None:
        self._window: deque[Snapshot] = deque()

    def rates(self, snapshot: Snapshot, watched: frozenset[ServiceKey]) -> SnapshotRates | None:
        """Rates against the newest snapshot at least one estimator period older; None for the
        first snapshot. Real servers are rated in every service of a table of up to
        RATE_ALL_DESTS_UP_TO of them, otherwise only in the `watched` services."""
        window = self._window
        window.append(snapshot)
        while len(window) > 2 and window[1].monotonic <= snapshot.monotonic - ESTIMATOR_PERIOD:
            window.popleft()
        base = window[0]
        if base is snapshot:
            return None
        rate_all = sum(len(service.dests) for service in snapshot.services) <= RATE_ALL_DESTS_UP_TO
        return snapshot_rates(base, snapshot, None if rate_all else watched.__contains__)


class ConnCounter:
    """Active and inactive connections per service, summed again only for changed records (backends
    reuse an unchanged record, so its sums still hold). Owned by one thread."""

    def __init__(self) -> None:
        self._cache: dict[ServiceKey, tuple[Service, tuple[int, int]]] = {}

    def sums(self, snapshot: Snapshot) -> dict[ServiceKey, tuple[int, int]]:
        previous, cache = self._cache, {}
        for service in snapshot.services:
            known = previous.get(service.key)
            cache[service.key] = known if known is not None and known[0] is service else \
                (service, conn_sums(service))
        self._cache = cache
        return {key: sums for key, (_, sums) in cache.items()}


def conn_sums(service: Service) -> tuple[int, int]:
    active = inactive = 0
    for dest in service.dests:
        active += dest.active_conns
        inactive += dest.inactive_conns
    return active, inactive


@dataclass(frozen=True, slots=True)
class SortKey:
    column: str
    reverse: bool = False


# Sort columns of the services table: name -> value of one service, given its rates (None sorts
# first) and its (active, inactive) connections.
SortValue = Callable[[Service, "Rates | None", tuple[int, int]], object]
SERVICE_SORTS: dict[str, SortValue] = {
    "service": lambda s, r, c: s.key.sort_key,
    "scheduler": lambda s, r, c: s.scheduler,
    "servers": lambda s, r, c: sum(1 for d in s.dests if d.weight > 0),
    "active": lambda s, r, c: c[0],
    "inactive": lambda s, r, c: c[1],
    "cps": lambda s, r, c: -1.0 if r is None else r.cps,
    "pps": lambda s, r, c: -1.0 if r is None else r.inpps + r.outpps,
    "bps": lambda s, r, c: -1.0 if r is None else r.inbps + r.outbps,
    "conns": lambda s, r, c: s.stats.conns,
}


# Numbers sort busiest first when a column is first chosen (`r` or a second click reverses that).
DESCENDING_FIRST = frozenset({"servers", "active", "inactive", "persistent", "weight", "cps", "pps", "bps",
                              "conns"})


def first_sort(column: str) -> SortKey:
    """The sort a column starts with: descending for numbers, ascending for names."""
    return SortKey(column, column in DESCENDING_FIRST)


# Sort columns of the real servers: name -> value of one real server, given its rates (None first).
DestSortValue = Callable[[Dest, "Rates | None"], object]
DEST_SORTS: dict[str, DestSortValue] = {
    "dest": lambda d, r: _address_order(d),
    "weight": lambda d, r: d.weight,
    "active": lambda d, r: d.active_conns,
    "inactive": lambda d, r: d.inactive_conns,
    "persistent": lambda d, r: d.persistent_conns,
    "cps": lambda d, r: -1.0 if r is None else r.cps,
    "bps": lambda d, r: -1.0 if r is None else r.inbps + r.outbps,
    "conns": lambda d, r: d.stats.conns,
}
KERNEL_ORDER = SortKey("")  # the real servers as the kernel lists them (the order sh and mh hash over)


def ordered_dests(service: Service, rates: Mapping[DestKey, Rates], sort: SortKey) -> list[DestKey]:
    """The keys of the service's real servers in `sort` order (ties by address); the kernel's own
    order for KERNEL_ORDER."""
    if sort.column not in DEST_SORTS:
        return [dest.key for dest in service.dests]
    value = DEST_SORTS[sort.column]
    shown = sorted(service.dests, key=lambda d: (value(d, rates.get(d.key)), _address_order(d)),
                   reverse=sort.reverse)
    return [dest.key for dest in shown]


def _address_order(dest: Dest) -> tuple[int, int, int]:
    address = ipaddress.ip_address(dest.address)
    return address.version, int(address), dest.port


@dataclass(frozen=True, slots=True)
class TextFilter:
    """The `/` filter: a regular expression when it compiles, else plain text (and `error` says why
    it is not a regex); case-insensitive either way. Runs of blanks match one blank."""

    text: str
    pattern: re.Pattern[str] | None
    error: str | None = None

    def __call__(self, haystack: str) -> bool:
        if not self.text:
            return True
        flat = " ".join(haystack.split())
        if self.pattern is not None:
            return self.pattern.search(flat) is not None
        return " ".join(self.text.split()).lower() in flat.lower()


def compile_filter(text: str) -> TextFilter:
    if not text:
        return TextFilter(text, None)
    try:
        return TextFilter(text, re.compile(" ".join(text.split()) or text, re.IGNORECASE))
    except re.error as error:
        return TextFilter(text, None, f"not a regex ({error.msg}): matched as plain text")


def filter_texts(service: Service) -> tuple[str, ...]:
    """What `/` searches, each on its own: the service's row as shown (`TCP 192.0.2.10:80 wrr
    persistent 300`), its id (`tcp:192.0.2.10:80`), and every real server's address:port."""
    row = f"{service_label(service)} {service_options(service)}"
    return (row, service.key.id, *(dest.key.id for dest in service.dests))


def ordered(snapshot: Snapshot | None, rates: Mapping[ServiceKey, Rates], conns: ConnSums, sort: SortKey,
            text: str) -> tuple[ServiceKey, ...]:
    """The keys of the services to show: those the filter `text` matches, sorted."""
    if snapshot is None:
        return ()
    shown = list(snapshot.services)
    if text:
        matches = compile_filter(text)
        shown = [s for s in shown if any(matches(part) for part in filter_texts(s))]
    if sort.column == "service":
        shown.sort(key=lambda s: s.key.sort_key, reverse=sort.reverse)
    else:
        value = SERVICE_SORTS[sort.column]
        shown.sort(key=lambda s: (value(s, rates.get(s.key), conns[s.key]), s.key.sort_key),
                   reverse=sort.reverse)  # fmt: skip
    return tuple(s.key for s in shown)


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums across services for the director strip."""

    services: int = 0
    dests: int = 0
    active: int = 0
    inactive: int = 0
    rates: Rates = field(default_factory=Rates)


def totals(snapshot: Snapshot | None, rates: Mapping[ServiceKey, Rates], conns: ConnSums) -> Totals:
    services = () if snapshot is None else snapshot.services
    every = rates.values()
    return Totals(
        services=len(services),
        dests=sum(len(s.dests) for s in services),
        active=sum(active for active, _ in conns.values()),
        inactive=sum(inactive for _, inactive in conns.values()),
        rates=Rates(
            cps=sum(r.cps for r in every),
            inpps=sum(r.inpps for r in every),
            outpps=sum(r.outpps for r in every),
            inbps=sum(r.inbps for r in every),
            outbps=sum(r.outbps for r in every),
        ),
    )
