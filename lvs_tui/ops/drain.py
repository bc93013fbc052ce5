"""Drain tracking: is a real server (or a whole host) empty yet, and when will it be?

Draining sets the weight to 0: existing connections finish, new ones go elsewhere. A drain is
complete when the kernel's counts for the server meet its protocol's criterion:
- TCP and SCTP: no active connections (and, if asked, no inactive ones: TIME_WAIT entries);
- UDP: no entries left (the kernel counts UDP entries as inactive);
- firewall-mark services: no entries at all, active or inactive. A mark selects TCP as well as
  UDP, and the kernel counts the TCP connections it carries as active once established: the
  counts cannot tell a TIME_WAIT entry from a UDP flow, so both are waited for;
- always: no persistence templates, or returning clients would still be sent to the server.

The ETA of the connections comes from their observed decay over a recent window. Templates do not
decay: each expires a persistence timeout after its last use, and a returning client or a
connection still attached to it renews it. So while templates remain, the ETA is a floor, "at
least until the last template the connection table lists expires" (read every
TEMPLATES_READ_EVERY seconds, the table can be large), which the connections may outlast; without
a connection table it is unknown.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.model.connections import Connection
from lvs_tui.model.format import duration
from lvs_tui.model.printable import printable
from lvs_tui.model.records import Dest, DestKey, Protocol, Service, ServiceKey, Snapshot

Pair = tuple[ServiceKey, DestKey]
ETA_WINDOW = 30.0  # seconds of samples the ETA is fitted over
# The kernel folds its per-CPU counts every 2 s: a decay seen over less than this is noise.
ETA_MIN_SPAN = 4.0
TEMPLATES_READ_EVERY = 15.0  # seconds between two reads of a drained server's templates
TEMPLATES_RECHECK = 2.0  # sooner when the last template listed should be gone but the count says not
NO_TABLE = "no connection table"

# The entries of one real server (address, port): OpsSetup.connections.
ConnectionReader = Callable[[str, int | None], Iterable[Connection]]


@dataclass(frozen=True, slots=True)
class DrainOptions:
    """How the operator wants a drain to end, given when it is confirmed."""

    remove_when_drained: bool = False
    deadline_minutes: float | None = None  # remove then even if connections remain
    wait_inactive: bool = False  # TCP: drained only once TIME_WAIT entries are gone too


@dataclass(frozen=True, slots=True)
class DrainCounts:
    active: int
    inactive: int
    persistent: int

    @classmethod
    def of(cls, dest: Dest) -> DrainCounts:
        return cls(dest.active_conns, dest.inactive_conns, dest.persistent_conns)


@dataclass(frozen=True, slots=True)
class DrainStatus:
    counts: DrainCounts
    remaining: int  # what the criterion still waits for
    progress: float  # 0..1 against the count at drain start
    eta: float | None  # seconds; None while nothing is seen to decay, or templates cannot be read
    drained: bool
    eta_at_least: bool = False  # the ETA is a floor: templates remain, and returning clients renew them
    eta_unknown: str | None = None  # why there is no ETA when it is not just "nothing decays yet"
    renewed: bool = False  # the last template's expiry moved out between two reads: clients return


@dataclass(frozen=True, slots=True)
class TemplateReading:
    """A drained server's persistence templates as the connection table listed them at `at`."""

    at: float
    count: int
    last_expiry: int  # seconds from `at` until the last of them expires (0: none listed)

    def left(self, now: float) -> float:
        """Seconds until the last template listed expires, unless something renews it."""
        return max(0.0, self.last_expiry - (now - self.at))


def read_templates(service: ServiceKey, entries: Iterable[Connection], at: float) -> TemplateReading:
    """The templates of `service` among the entries of one real server."""
    count = last = 0
    for entry in entries:
        if entry.is_template and _of_service(service, entry):
            count += 1
            last = max(last, entry.expires)
    return TemplateReading(at, count, last)


def _of_service(service: ServiceKey, entry: Connection) -> bool:
    if service.fwmark is not None:  # the kernel keys a mark's templates by protocol IP
        return entry.protocol == "ip"
    assert service.protocol is not None
    # Port-zero services and FTP key their templates by port 0.
    return entry.protocol == service.protocol.value and entry.virtual_port in (service.port, 0) and \
        entry.virtual == service.address.strip("[]")


def remaining(service: ServiceKey, counts: DrainCounts, wait_inactive: bool = False) -> int:
    """How many entries the completion criterion still waits for."""
    if service.fwmark is not None:  # TCP, SCTP and UDP alike: see the module's docstring
        waiting = counts.active + counts.inactive
    elif service.protocol in (Protocol.TCP, Protocol.SCTP):
        waiting = counts.active + (counts.inactive if wait_inactive else 0)
    else:  # UDP counts its entries as inactive
        waiting = counts.inactive
    return waiting + counts.persistent


class DrainTracker:
    """Follows one drained real server from the polls; `update` once per snapshot."""

    def __init__(
        self,
        service: ServiceKey,
        dest: DestKey,
        start: DrainCounts,
        started_at: float,
        previous_weight: int,
        wait_inactive: bool = False,
        initial: int | None = None,
    ) -> None:
        self.service = service
        self.dest = dest
        self.previous_weight = previous_weight
        self.started_at = started_at
        self.wait_inactive = wait_inactive
        left = remaining(service, start, wait_inactive)
        # A drain started elsewhere (its record) keeps its own 0 %: what it waited for at its start.
        self.initial = left if initial is None else max(initial, left)
        # Connections only: templates do not decay, their expiries are read instead.
        self._samples: deque[tuple[float, int]] = deque([(started_at, left - start.persistent)])
        self.templates: TemplateReading | None = None
        self._unreadable: str | None = None  # why the templates cannot be read
        self._failed_at: float | None = None  # when reading them last failed (None: never retried)
        self._renewed = False
        self.status = self._status(start, started_at)

    def update(self, counts: DrainCounts, at: float, templates: TemplateReading | None = None) -> DrainStatus:
        """Follow the drain to these counts; `templates` when the connection table was just read."""
        if templates is not None:
            before = self.templates
            # Whole seconds in the table: a move of more than 2 s is a renewal, not rounding.
            self._renewed = before is not None and templates.at + templates.last_expiry > \
                before.at + before.last_expiry + 2
            self.templates, self._unreadable = templates, None
        self._samples.append((at, remaining(self.service, counts, self.wait_inactive) - counts.persistent))
        while len(self._samples) > 2 and self._samples[1][0] <= at - ETA_WINDOW:
            self._samples.popleft()
        self.status = self._status(counts, at)
        return self.status

    def wants_templates(self, persistent: int, at: float) -> bool:
        """Whether the connection table should be read for this drain now."""
        reading = self.templates
        if persistent == 0:
            return False
        if self._unreadable is not None:
            return self._failed_at is not None and at - self._failed_at >= TEMPLATES_READ_EVERY
        if reading is None:
            return True
        age = at - reading.at
        expired = reading.count > 0 and reading.left(at) == 0
        return age >= TEMPLATES_READ_EVERY or (expired and age >= TEMPLATES_RECHECK)

    def unreadable(self, why: str, failed_at: float | None) -> None:
        """The connection table cannot be read (`failed_at`: try again later; None: there is none):
        the ETA of the templates is unknown."""
        self._unreadable, self._failed_at = why, failed_at

    def _status(self, counts: DrainCounts, at: float) -> DrainStatus:
        left = remaining(self.service, counts, self.wait_inactive)
        progress = 1.0 if self.initial == 0 else max(0.0, min(1.0, 1 - left / self.initial))
        if left == 0 or counts.persistent == 0:
            return DrainStatus(counts, left, progress, self._eta(left - counts.persistent, at), left == 0)
        if self.templates is None or self._unreadable is not None:
            return DrainStatus(counts, left, progress, None, False,
                               eta_unknown=self._unreadable or "templates not read yet")
        if self.templates.count == 0:  # counted by the kernel, yet not listed as this service's
            return DrainStatus(counts, left, progress, None, False, eta_unknown="templates not listed")
        # The last template goes no sooner than it expires: a true floor. The connections' decay is
        # no bound (returning clients renew templates and bring connections), so it is left out.
        return DrainStatus(counts, left, progress, self.templates.left(at), False, eta_at_least=True,
                           renewed=self._renewed)

    def _eta(self, left: int, at: float) -> float | None:
        if left <= 0:
            return 0.0
        first_at, first_left = self._samples[0]
        elapsed = at - first_at
        drop = first_left - left
        if elapsed < ETA_MIN_SPAN or drop <= 0:
            return None
        return left / (drop / elapsed)


def aggregate(statuses: list[DrainStatus]) -> DrainStatus:
    """One status for a host drained across several services."""
    counts = DrainCounts(
        sum(s.counts.active for s in statuses),
        sum(s.counts.inactive for s in statuses),
        sum(s.counts.persistent for s in statuses),
    )
    left = sum(s.remaining for s in statuses)
    etas = [s.eta for s in statuses]
    eta = None if any(e is None for e in etas) else max((e for e in etas if e is not None), default=0.0)
    progress = sum(s.progress for s in statuses) / len(statuses) if statuses else 1.0
    unknown = next((s.eta_unknown for s in statuses if s.eta is None and s.eta_unknown), None)
    return DrainStatus(counts, left, progress, eta, all(s.drained for s in statuses),
                       any(s.eta_at_least for s in statuses if not s.drained), unknown,
                       any(s.renewed for s in statuses if not s.drained))


def eta_text(status: DrainStatus, short: bool = False) -> str:
    """`ETA 4m10s`, `ETA ≥ 6m00s (templates)`, `ETA ≥ 6m00s (templates renewed)` (returning clients
    push the end back), `ETA ? (no connection table)`; short: `4m10s`, `≥6m00s`, `?`."""
    if status.eta is None:
        if short:
            return "?"
        return "ETA ?" + (f" ({status.eta_unknown})" if status.eta_unknown else "")
    if status.eta_at_least:
        if short:
            return f"≥{duration(status.eta)}"
        return f"ETA ≥ {duration(status.eta)} (templates{' renewed' if status.renewed else ''})"
    return duration(status.eta) if short else f"ETA {duration(status.eta)}"


@dataclass(slots=True)
class _Drain:
    tracker: DrainTracker
    remove_when_drained: bool
    deadline: float | None  # monotonic; remove then even if not drained
    removal_due: bool = False

    @property
    def ending(self) -> str | None:
        if self.deadline is not None:
            return "remove by deadline"
        return "auto-remove" if self.remove_when_drained else None


class DrainBoard:
    """Every drain of this session, followed poll by poll.

    Owned by the thread that polls (starts, updates and reads all happen there); the screen reads
    the frozen `view()` of each poll. A drain ends by itself when its server is gone or has a weight
    again. The weight it had before is remembered beyond that, so a removed-then-re-added server
    can be brought back.
    """

    def __init__(self, connections: ConnectionReader | None = None) -> None:
        self._drains: dict[Pair, _Drain] = {}
        self._weights: dict[Pair, int] = {}
        self._connections = connections  # None: no connection table (templates' ETA unknown)

    def start(self, service: ServiceKey, dest: Dest, previous_weight: int, at: float,
              remove_when_drained: bool = False, deadline: float | None = None,
              wait_inactive: bool = False, initial: int | None = None) -> DrainTracker:
        tracker = DrainTracker(service, dest.key, DrainCounts.of(dest), at, previous_weight, wait_inactive,
                               initial)
        self._drains[(service, dest.key)] = _Drain(tracker, remove_when_drained, deadline)
        self._weights[(service, dest.key)] = previous_weight
        return tracker

    def update(self, snapshot: Snapshot, at: float) -> list[tuple[Service, Dest]]:
        """Follow every drain to this snapshot; return the servers now due for removal, once each."""
        due: list[tuple[Service, Dest]] = []
        for key, drain in list(self._drains.items()):
            service = snapshot.service(key[0])
            dest = None if service is None else service.dest(key[1])
            if service is None or dest is None or dest.weight > 0:
                del self._drains[key]  # removed, or brought back
                if dest is not None and dest.weight > 0:
                    self._weights.pop(key, None)
                continue
            templates = self._templates(drain.tracker, key[0], dest, at)
            status = drain.tracker.update(DrainCounts.of(dest), at, templates)
            late = drain.deadline is not None and at >= drain.deadline
            if ((drain.remove_when_drained and status.drained) or late) and not drain.removal_due:
                drain.removal_due = True
                due.append((service, dest))
        return due

    def _templates(
        self, tracker: DrainTracker, service: ServiceKey, dest: Dest, at: float
    ) -> TemplateReading | None:
        """The server's templates from the connection table, when it is time to read them."""
        if not tracker.wants_templates(dest.persistent_conns, at):
            return None
        if self._connections is None:
            tracker.unreadable(NO_TABLE, None)
            return None
        try:
            return read_templates(service, self._connections(dest.address, dest.port), at)
        except (OSError, IpvsError) as error:
            tracker.unreadable(f"{NO_TABLE}: {printable(str(error))}", at)
            return None

    def status(self, service: ServiceKey, dest: DestKey) -> DrainStatus | None:
        drain = self._drains.get((service, dest))
        return None if drain is None else drain.tracker.status

    def tracker(self, service: ServiceKey, dest: DestKey) -> DrainTracker | None:
        drain = self._drains.get((service, dest))
        return None if drain is None else drain.tracker

    def auto_remove(self, service: ServiceKey, dest: DestKey) -> str | None:
        """How this drain ends, for its row: "auto-remove", "remove by deadline", or None."""
        drain = self._drains.get((service, dest))
        return None if drain is None else drain.ending

    def previous_weight(self, service: ServiceKey, dest: DestKey) -> int | None:
        return self._weights.get((service, dest))

    def remember(self, service: ServiceKey, dest: DestKey, weight: int) -> None:
        """A weight known from elsewhere (the journal of an earlier session)."""
        self._weights.setdefault((service, dest), weight)

    def active(self) -> bool:
        return bool(self._drains)

    def services(self) -> set[ServiceKey]:
        """The services with a real server draining."""
        return {service for service, _ in self._drains}

    def hosts(self) -> list[tuple[str, int, DrainStatus]]:
        """(address, servers draining, aggregated status) per drained host, by address."""
        by_host: dict[str, list[DrainStatus]] = {}
        for (_, dest), drain in self._drains.items():
            by_host.setdefault(dest.address, []).append(drain.tracker.status)
        return [(address, len(statuses), aggregate(statuses))
                for address, statuses in sorted(by_host.items())]

    def view(self) -> DrainView:
        """The drains as they stand now, frozen."""
        return DrainView(
            {key: drain.tracker.status for key, drain in self._drains.items()},
            {key: drain.ending for key, drain in self._drains.items() if drain.ending is not None},
            dict(self._weights),
            tuple(self.hosts()),
        )


@dataclass(frozen=True, slots=True)
class DrainView:
    """The drains at one poll, for the screen: frozen, so any thread may read it."""

    statuses: Mapping[Pair, DrainStatus] = field(default_factory=dict)
    endings: Mapping[Pair, str] = field(default_factory=dict)  # "auto-remove", "remove by deadline"
    weights: Mapping[Pair, int] = field(default_factory=dict)  # the weight before each drain
    hosts: tuple[tuple[str, int, DrainStatus], ...] = ()  # per drained host: servers, sum

    def status(self, service: ServiceKey, dest: DestKey) -> DrainStatus | None:
        return self.statuses.get((service, dest))

    def ending(self, service: ServiceKey, dest: DestKey) -> str | None:
        return self.endings.get((service, dest))

    def previous_weight(self, service: ServiceKey, dest: DestKey) -> int | None:
        return self.weights.get((service, dest))
