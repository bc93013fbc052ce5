"""What the dashboard shows, computed from polls (pure: no Textual, no I/O).

The screen reads this state and formats only the rows it shows; per poll the work here is one pass
over the services (rates, history, order) plus the real servers whose counters moved.

Client-side rates span at least one kernel estimator period (2 s): the kernel folds its per-CPU
counters into what netlink reports every 2 s, so a rate over a shorter span would swing between 0
and double.
"""

from __future__ import annotations

import re
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from lvs_tui.model.rates import Rates, snapshot_rates
from lvs_tui.model.records import DestKey, Service, ServiceKey, Snapshot

ESTIMATOR_PERIOD = 2.0
HISTORY_POINTS = 120
# Below this many real servers in all, every one keeps a rate history; above it, only those of
# services the operator has selected (a 10,000 x 10 table would otherwise hold 100,000 histories).
TRACK_ALL_DESTS_UP_TO = 5000


class Metric(StrEnum):
    """The rate a sparkline follows."""

    CPS = "cps"
    PPS = "pps"
    BPS = "bps"

    def of(self, rates: Rates) -> float:
        if self is Metric.CPS:
            return rates.cps
        if self is Metric.PPS:
            return rates.inpps + rates.outpps
        return rates.inbps + rates.outbps


class History:
    """The last `points` values of every Metric per key: one flat ring buffer per key, so that a
    poll of 10,000 services costs one slice assignment each."""

    _WIDTH = len(Metric)

    def __init__(self, points: int = HISTORY_POINTS) -> None:
        self._points = points
        self._rings: dict[object, tuple[array[float], list[int]]] = {}  # values, [next slot, count]

    def add(self, key: object, rates: Rates) -> None:
        ring = self._rings.get(key)
        if ring is None:
            ring = self._rings[key] = (array("d", bytes(8 * self._WIDTH * self._points)), [0, 0])
        values, state = ring
        slot = state[0] * self._WIDTH
        values[slot : slot + 3] = array(
            "d", (rates.cps, rates.inpps + rates.outpps, rates.inbps + rates.outbps)
        )
        state[0] = (state[0] + 1) % self._points
        state[1] = min(state[1] + 1, self._points)

    def get(self, key: object, metric: Metric) -> list[float]:
        """Oldest first."""
        ring = self._rings.get(key)
        if ring is None:
            return []
        values, (next_slot, count) = ring
        column = list(Metric).index(metric)
        order = range(next_slot - count, next_slot)
        return [values[(i % self._points) * self._WIDTH + column] for i in order]

    def forget_missing(self, alive: set[object]) -> None:
        for key in [key for key in self._rings if key not in alive]:
            del self._rings[key]


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


def compile_filter(text: str) -> Callable[[str], bool]:
    """A filter over row text: a regular expression when it compiles, else a plain substring;
    case-insensitive either way. Raises nothing: a half-typed regex falls back to substring."""
    if not text:
        return lambda _: True
    try:
        pattern = re.compile(text, re.IGNORECASE)
    except re.error:
        needle = text.lower()
        return lambda haystack: needle in haystack.lower()
    return lambda haystack: pattern.search(haystack) is not None


def filter_text(service: Service) -> str:
    """What `/` searches: service id, scheduler, and every real server's address:port."""
    return " ".join([service.key.id, service.scheduler, *(dest.key.id for dest in service.dests)])


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums across services for the director strip."""

    services: int
    dests: int
    active: int
    inactive: int
    rates: Rates


class Dashboard:
    """Polls in, rows out. Call `apply` per snapshot; read the rest."""

    def __init__(self, metric: Metric = Metric.CPS) -> None:
        self.metric = metric
        self.snapshot: Snapshot | None = None
        self.sort = SortKey("service")
        self._filter_text = ""
        self._window: deque[Snapshot] = deque()
        self.service_rates: dict[ServiceKey, Rates] = {}
        self.dest_rates: dict[tuple[ServiceKey, DestKey], Rates] = {}
        self.resets: set[object] = set()  # service keys and (service, dest) keys
        self.rate_seconds = 0.0
        self.conns: dict[ServiceKey, tuple[int, int]] = {}  # active, inactive per service
        self._conn_cache: dict[ServiceKey, tuple[Service, tuple[int, int]]] = {}
        self.service_history = History()
        self.dest_history = History()
        self.watched: deque[ServiceKey] = deque(maxlen=32)  # services whose servers keep history
        self._order: tuple[SortKey, str, list[ServiceKey]] | None = None

    # --- input ---------------------------------------------------------------------------------

    def apply(self, snapshot: Snapshot) -> None:
        """Take a new snapshot: rates against the newest one at least one estimator period older.

        It may run on the poller thread while the screen reads the published state: everything is
        computed first and published at the end, one attribute at a time (each is consistent on
        its own; the next poll mends any frame that mixed two polls).
        """
        window = self._window
        window.append(snapshot)
        while len(window) > 2 and window[1].monotonic <= snapshot.monotonic - ESTIMATOR_PERIOD:
            window.popleft()
        base = window[0]
        conns = self._conn_sums(snapshot)
        if base is snapshot:
            rates: tuple[float, dict[ServiceKey, Rates], dict[tuple[ServiceKey, DestKey], Rates], set[object]]
            rates = (0.0, {}, {}, set())
        else:
            rates = self._compute_rates(base, snapshot)
        order = self._ordered(snapshot, rates[1], conns, self.sort, self._filter_text)
        self.snapshot, self.conns = snapshot, conns
        self.rate_seconds, self.service_rates, self.dest_rates, self.resets = rates
        self._order = order

    def _conn_sums(self, snapshot: Snapshot) -> dict[ServiceKey, tuple[int, int]]:
        previous = self._conn_cache
        self._conn_cache = cache = {}
        for service in snapshot.services:
            known = previous.get(service.key)
            # backends reuse an unchanged record, so its sums are still right
            cache[service.key] = (
                known if known is not None and known[0] is service else (service, _conn_sums(service))
            )
        return {key: sums for key, (_, sums) in cache.items()}

    def _compute_rates(
        self, base: Snapshot, cur: Snapshot
    ) -> tuple[float, dict[ServiceKey, Rates], dict[tuple[ServiceKey, DestKey], Rates], set[object]]:
        track_all = sum(len(s.dests) for s in cur.services) <= TRACK_ALL_DESTS_UP_TO
        watched = set(self.watched)
        rates = snapshot_rates(base, cur, None if track_all else watched.__contains__)
        for key, service_rates in rates.services.items():
            self.service_history.add(key, service_rates)
        for dest_key, dest_rates in rates.dests.items():
            self.dest_history.add(dest_key, dest_rates)
        self.service_history.forget_missing(set(rates.services))
        return rates.seconds, rates.services, rates.dests, set(rates.resets)

    def watch(self, key: ServiceKey) -> None:
        """Keep rates and history for this service's real servers from now on (on large tables)."""
        if key not in self.watched:
            self.watched.append(key)

    def set_filter(self, text: str) -> None:
        self._filter_text = text

    @property
    def filter(self) -> str:
        return self._filter_text

    def set_sort(self, sort: SortKey) -> None:
        if sort.column not in SERVICE_SORTS:
            raise ValueError(f"unknown sort column {sort.column!r}")
        self.sort = sort

    # --- output --------------------------------------------------------------------------------

    def services(self) -> list[ServiceKey]:
        """Keys of the services to show, filtered and sorted (cached until something changes)."""
        sort, text = self.sort, self._filter_text
        cached = self._order
        if cached is None or cached[0] != sort or cached[1] != text:
            if self.snapshot is None:
                return []
            cached = self._ordered(self.snapshot, self.service_rates, self.conns, sort, text)
            self._order = cached
        return cached[2]

    def _ordered(
        self,
        snapshot: Snapshot,
        rates: dict[ServiceKey, Rates],
        conns: dict[ServiceKey, tuple[int, int]],
        sort: SortKey,
        text: str,
    ) -> tuple[SortKey, str, list[ServiceKey]]:
        shown = list(snapshot.services)
        if text:
            matches = compile_filter(text)
            shown = [s for s in shown if matches(filter_text(s))]
        if sort.column == "service":
            shown.sort(key=lambda s: s.key.sort_key, reverse=sort.reverse)
        else:
            value = SERVICE_SORTS[sort.column]
            shown.sort(key=lambda s: (value(s, rates.get(s.key), conns[s.key]), s.key.sort_key),
                       reverse=sort.reverse)  # fmt: skip
        return sort, text, [s.key for s in shown]

    def totals(self) -> Totals:
        snapshot = self.snapshot
        services = () if snapshot is None else snapshot.services
        rates = self.service_rates.values()
        sums = self.conns.values()
        return Totals(
            services=len(services),
            dests=sum(len(s.dests) for s in services),
            active=sum(active for active, _ in sums),
            inactive=sum(inactive for _, inactive in sums),
            rates=Rates(
                cps=sum(r.cps for r in rates),
                inpps=sum(r.inpps for r in rates),
                outpps=sum(r.outpps for r in rates),
                inbps=sum(r.inbps for r in rates),
                outbps=sum(r.outbps for r in rates),
            ),
        )


def _conn_sums(service: Service) -> tuple[int, int]:
    active = inactive = 0
    for dest in service.dests:
        active += dest.active_conns
        inactive += dest.inactive_conns
    return active, inactive


