"""Drain tracking: is a real server (or a whole host) empty yet, and when will it be?

Draining sets the weight to 0: existing connections finish, new ones go elsewhere. A drain is
complete when the kernel's counts for the server meet its protocol's criterion:
- TCP and SCTP: no active connections (and, if asked, no inactive ones: TIME_WAIT entries);
- UDP and firewall-mark services have no active count: no inactive entries left;
- always: no persistence templates, or returning clients would still be sent to the server.
The ETA comes from the observed decay over a recent window, not from timeouts alone.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from lvs_tui.model.records import Dest, DestKey, Protocol, ServiceKey

ETA_WINDOW = 30.0  # seconds of samples the ETA is fitted over


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
    connection_oriented = service.protocol in (Protocol.TCP, Protocol.SCTP)
    if connection_oriented:
        waiting = counts.active + (counts.inactive if wait_inactive else 0)
    else:  # UDP and fwmark services count their entries as inactive
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
        if elapsed <= 0 or drop <= 0:
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
