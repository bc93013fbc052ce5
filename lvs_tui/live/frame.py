"""One frame of the dashboard: everything the screen shows after one poll, frozen.

The poller thread builds a frame per poll (see `builder.FrameBuilder`) and hands it over whole;
the screen swaps its one reference and repaints. Nothing in a frame changes after it is built, so
the screen can read it while the next one is being made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lvs_tui.doctor.watch import DoctorReport
from lvs_tui.health.status import HealthView
from lvs_tui.live.hostload import HostLoad
from lvs_tui.model.dashboard import SortKey, Totals, ordered
from lvs_tui.model.distribution import Spread
from lvs_tui.model.history import RateHistory
from lvs_tui.model.pairview import DirectorsView
from lvs_tui.model.rates import Rates
from lvs_tui.model.records import DestKey, ServiceKey, Snapshot, SyncDaemon
from lvs_tui.ops.changes import Change, Plan
from lvs_tui.ops.drain import DrainView
from lvs_tui.ops.sysctl import Sysctls

Pair = tuple[ServiceKey, DestKey]
WATCHED_AT_MOST = 32  # services whose real servers keep a rate history on a large table


@dataclass(frozen=True, slots=True)
class ViewSettings:
    """What the operator asked to see, handed to the poller with each change: the order of the
    services, and the services whose real servers are rated on a large table."""

    sort: SortKey = field(default_factory=lambda: SortKey("service"))
    filter: str = ""
    watched: tuple[ServiceKey, ...] = ()  # most recently selected last

    def watching(self, key: ServiceKey) -> ViewSettings:
        if key in self.watched:
            return self
        return ViewSettings(self.sort, self.filter, (*self.watched, key)[-WATCHED_AT_MOST:])


@dataclass(frozen=True, slots=True)
class DirectorFacts:
    """What the poller learns of the director besides its table, refreshed now and then."""

    schedulers: tuple[str, ...] = ()  # empty while unknown: any name may be tried
    sysctls: Sysctls | None = None
    owner_warnings: tuple[str, ...] = ()  # another manager of the table (keepalived, ...)
    sysctl_warnings: tuple[str, ...] = ()  # e.g. the kernel's rate estimation switched off
    interrupted: tuple[str, ...] = ()  # changes a killed lvs-top began and never reported (journal)
    record_warnings: tuple[str, ...] = ()  # the drain records cannot be read or written
    daemons: tuple[SyncDaemon, ...] | None = None  # the IPVS sync daemons running; None until read
    addresses: frozenset[str] | None = None  # on its interfaces (the VIPs it holds); None until read


@dataclass(frozen=True, slots=True)
class AppliedPlan:
    """A plan that took effect (at least in part), kept so that `u` can reverse it."""

    plan: Plan
    changes: tuple[Change, ...]  # the changes that took effect, in order


@dataclass(frozen=True, slots=True)
class DashboardFrame:
    number: int = 0  # 0 before the first poll
    snapshot: Snapshot | None = None  # the newest good snapshot (kept while polls fail)
    polled_at: float | None = None  # monotonic start of the poll that read it
    error: str | None = None  # why the newest poll failed; None when it succeeded
    rate_seconds: float = 0.0  # the span the rates were measured over; 0 before there are any
    service_rates: Mapping[ServiceKey, Rates] = field(default_factory=dict)
    dest_rates: Mapping[Pair, Rates] = field(default_factory=dict)
    resets: frozenset[ServiceKey | Pair] = frozenset()
    conns: Mapping[ServiceKey, tuple[int, int]] = field(default_factory=dict)  # active, inactive
    totals: Totals = field(default_factory=Totals)
    view: ViewSettings = field(default_factory=ViewSettings)  # the settings `order` was computed for
    order: tuple[ServiceKey, ...] = ()
    service_history: RateHistory = field(default_factory=RateHistory)
    dest_history: RateHistory = field(default_factory=RateHistory)
    # The distribution check of each judged service (all of them on a table of up to
    # RATE_ALL_DESTS_UP_TO real servers, else the watched ones).
    distribution: Mapping[ServiceKey, Spread] = field(default_factory=dict)
    drains: DrainView = field(default_factory=DrainView)
    undo: tuple[AppliedPlan, ...] = ()  # newest last
    health: HealthView | None = None  # None: no checker known
    doctor: DoctorReport | None = None  # None: no doctor in this session
    host: HostLoad | None = None
    facts: DirectorFacts = field(default_factory=DirectorFacts)
    directors: DirectorsView | None = None  # several directors in one dashboard: all of them

    def order_for(self, sort: SortKey, text: str) -> tuple[ServiceKey, ...]:
        """The services in the order asked for: the precomputed one unless it has changed since."""
        if (sort, text) == (self.view.sort, self.view.filter):
            return self.order
        return ordered(self.snapshot, self.service_rates, self.conns, sort, text)
