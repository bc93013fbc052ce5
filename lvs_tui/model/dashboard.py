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

from lvs_tui.model.rates import Rates, rates_between
from lvs_tui.model.records import DestKey, Service, ServiceKey, Snapshot, Stats

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
    """The last HISTORY_POINTS values of every Metric per key, in compact arrays."""

    def __init__(self, points: int = HISTORY_POINTS) -> None:
        self._points = points
        self._series: dict[object, tuple[array[float], ...]] = {}

    def add(self, key: object, rates: Rates) -> None:
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = tuple(array("d") for _ in Metric)
        for values, metric in zip(series, Metric, strict=True):
            values.append(metric.of(rates))
            if len(values) > self._points:
                del values[0]

    def get(self, key: object, metric: Metric) -> list[float]:
        series = self._series.get(key)
        return [] if series is None else series[list(Metric).index(metric)].tolist()

    def forget_missing(self, alive: set[object]) -> None:
        for key in [key for key in self._series if key not in alive]:
            del self._series[key]


@dataclass(frozen=True, slots=True)
class SortKey:
    column: str
    reverse: bool = False


# Sort columns of the services table: name -> value of one service (rates may be None: sort last).
def _conns(service: Service, attr: str) -> int:
    return sum(getattr(dest, attr) for dest in service.dests)


SERVICE_SORTS: dict[str, Callable[[Service, Rates | None], object]] = {
    "service": lambda s, r: s.key.sort_key,
    "scheduler": lambda s, r: s.scheduler,
    "servers": lambda s, r: sum(1 for d in s.dests if d.weight > 0),
    "active": lambda s, r: _conns(s, "active_conns"),
    "inactive": lambda s, r: _conns(s, "inactive_conns"),
    "cps": lambda s, r: -1.0 if r is None else r.cps,
    "pps": lambda s, r: -1.0 if r is None else r.inpps + r.outpps,
    "bps": lambda s, r: -1.0 if r is None else r.inbps + r.outbps,
    "conns": lambda s, r: s.stats.conns,
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
        self._matches: Callable[[str], bool] = compile_filter("")
        self._window: deque[Snapshot] = deque()
        self.service_rates: dict[ServiceKey, Rates] = {}
        self.dest_rates: dict[tuple[ServiceKey, DestKey], Rates] = {}
        self.resets: set[ServiceKey | tuple[ServiceKey, DestKey]] = set()
        self.rate_seconds = 0.0
        self.service_history = History()
        self.dest_history = History()
        self.watched: deque[ServiceKey] = deque(maxlen=32)  # services whose servers keep history
        self._order: list[ServiceKey] | None = None

    # --- input ---------------------------------------------------------------------------------

    def apply(self, snapshot: Snapshot) -> None:
        """Take a new snapshot: rates against the newest one at least one estimator period older."""
        window = self._window
        window.append(snapshot)
        while len(window) > 2 and window[1].monotonic <= snapshot.monotonic - ESTIMATOR_PERIOD:
            window.popleft()
        base = window[0]
        self.snapshot = snapshot
        self._order = None
        if base is snapshot:
            return
        self.rate_seconds = snapshot.monotonic - base.monotonic
        self._compute_rates(base, snapshot)

    def _compute_rates(self, base: Snapshot, cur: Snapshot) -> None:
        seconds = self.rate_seconds
        service_rates: dict[ServiceKey, Rates] = {}
        dest_rates: dict[tuple[ServiceKey, DestKey], Rates] = {}
        resets: set[ServiceKey | tuple[ServiceKey, DestKey]] = set()
        track_all = sum(len(s.dests) for s in cur.services) <= TRACK_ALL_DESTS_UP_TO
        watched = set(self.watched)
        for service in cur.services:
            old = base.service(service.key)
            if old is None:
                continue
            rates = _rates(old.stats, service.stats, seconds)
            if rates is None:
                resets.add(service.key)
                continue
            service_rates[service.key] = rates
            self.service_history.add(service.key, rates)
            if not (track_all or service.key in watched):
                continue
            old_dests = {dest.key: dest.stats for dest in old.dests}
            for dest in service.dests:
                before = old_dests.get(dest.key)
                if before is None:
                    continue
                key = (service.key, dest.key)
                dest_rate = _rates(before, dest.stats, seconds)
                if dest_rate is None:
                    resets.add(key)
                    continue
                dest_rates[key] = dest_rate
                self.dest_history.add(key, dest_rate)
        self.service_rates, self.dest_rates, self.resets = service_rates, dest_rates, resets
        self.service_history.forget_missing(set(service_rates))

    def watch(self, key: ServiceKey) -> None:
        """Keep rates and history for this service's real servers from now on (on large tables)."""
        if key not in self.watched:
            self.watched.append(key)

    def set_filter(self, text: str) -> None:
        self._filter_text = text
        self._matches = compile_filter(text)
        self._order = None

    @property
    def filter(self) -> str:
        return self._filter_text

    def set_sort(self, sort: SortKey) -> None:
        if sort.column not in SERVICE_SORTS:
            raise ValueError(f"unknown sort column {sort.column!r}")
        self.sort = sort
        self._order = None

    # --- output --------------------------------------------------------------------------------

    def services(self) -> list[ServiceKey]:
        """Keys of the services to show, filtered and sorted (cached until something changes)."""
        if self._order is None:
            snapshot = self.snapshot
            if snapshot is None:
                return []
            value = SERVICE_SORTS[self.sort.column]
            rates = self.service_rates
            shown = [s for s in snapshot.services if self._matches(filter_text(s))]
            shown.sort(key=lambda s: (value(s, rates.get(s.key)), s.key.sort_key), reverse=self.sort.reverse)
            self._order = [s.key for s in shown]
        return self._order

    def totals(self) -> Totals:
        snapshot = self.snapshot
        services = () if snapshot is None else snapshot.services
        rates = self.service_rates.values()
        return Totals(
            services=len(services),
            dests=sum(len(s.dests) for s in services),
            active=sum(_conns(s, "active_conns") for s in services),
            inactive=sum(_conns(s, "inactive_conns") for s in services),
            rates=Rates(
                cps=sum(r.cps for r in rates),
                inpps=sum(r.inpps for r in rates),
                outpps=sum(r.outpps for r in rates),
                inbps=sum(r.inbps for r in rates),
                outbps=sum(r.outbps for r in rates),
            ),
        )


def _rates(before: Stats, after: Stats, seconds: float) -> Rates | None:
    if before is after:  # unchanged record (reused by the backend): nothing moved
        return Rates()
    return rates_between(before, after, seconds)
