"""Drain tracking: is a real server (or a whole host) empty yet, and when will it be?

Draining sets the weight to 0: existing connections finish, new ones go elsewhere. A drain is
complete when the kernel's counts for the server meet its protocol's criterion:
- TCP and SCTP: no active connections (and, if asked, no inactive ones: TIME_WAIT entries);
- UDP: no entries left (the kernel counts UDP entries as inactive);
- firewall-mark services: no entries at all, active or inactive. A mark selects TCP as well as
  UDP, and the kernel counts the TCP connections it carries as active once established: the
  counts cannot tell a TIME_WAIT entry from a UDP flow, so both are waited for;
- always: no persistence templates, or returning clients would still be sent to the server.
The ETA comes from the observed decay over a recent window, not from timeouts alone.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from lvs_tui.model.records import Dest, DestKey, Protocol, Service, ServiceKey, Snapshot

Pair = tuple[ServiceKey, DestKey]
ETA_WINDOW = 30.0  # seconds of samples the ETA is fitted over
# The kernel folds its per-CPU counts every 2 s: a decay seen over less than this is noise.
ETA_MIN_SPAN = 4.0


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
    eta: float | None  # seconds; None while nothing is seen to decay
    drained: bool


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
    ) -> None:
        self.service = service
        self.dest = dest
        self.previous_weight = previous_weight
        self.started_at = started_at
        self.wait_inactive = wait_inactive
        self.initial = remaining(service, start, wait_inactive)
        self._samples: deque[tuple[float, int]] = deque([(started_at, self.initial)])
        self.status = self._status(start, started_at)

    def update(self, counts: DrainCounts, at: float) -> DrainStatus:
        self._samples.append((at, remaining(self.service, counts, self.wait_inactive)))
        while len(self._samples) > 2 and self._samples[1][0] <= at - ETA_WINDOW:
            self._samples.popleft()
        self.status = self._status(counts, at)
        return self.status

    def _status(self, counts: DrainCounts, at: float) -> DrainStatus:
        left = remaining(self.service, counts, self.wait_inactive)
        progress = 1.0 if self.initial == 0 else max(0.0, min(1.0, 1 - left / self.initial))
        return DrainStatus(counts, left, progress, self._eta(left, at), left == 0)

    def _eta(self, left: int, at: float) -> float | None:
        if left == 0:
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
    return DrainStatus(counts, left, progress, eta, all(s.drained for s in statuses))


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

    def __init__(self) -> None:
        self._drains: dict[Pair, _Drain] = {}
        self._weights: dict[Pair, int] = {}

    def start(self, service: ServiceKey, dest: Dest, previous_weight: int, at: float,
              remove_when_drained: bool = False, deadline: float | None = None,
              wait_inactive: bool = False) -> None:
        tracker = DrainTracker(service, dest.key, DrainCounts.of(dest), at, previous_weight, wait_inactive)
        self._drains[(service, dest.key)] = _Drain(tracker, remove_when_drained, deadline)
        self._weights[(service, dest.key)] = previous_weight

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
            status = drain.tracker.update(DrainCounts.of(dest), at)
            late = drain.deadline is not None and at >= drain.deadline
            if ((drain.remove_when_drained and status.drained) or late) and not drain.removal_due:
                drain.removal_due = True
                due.append((service, dest))
        return due

    def status(self, service: ServiceKey, dest: DestKey) -> DrainStatus | None:
        drain = self._drains.get((service, dest))
        return None if drain is None else drain.tracker.status

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
