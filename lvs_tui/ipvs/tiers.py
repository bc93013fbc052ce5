"""Tiered polling: what a poll of a large table reads whole, and what it reads in part.

A GET_DEST dump per service is most of a poll's cost, and a screen shows the real servers of one
service at a time. So when the caller names the services whose real servers it needs whole (the
selected ones, those draining, those a checker watches), a poll reads:
- every service, with its counters and rates (one GET_SERVICE dump);
- every real server's weight, forwarding method and active/inactive counts (one read of
  /proc/net/ip_vs): what the services table sums, sorts and judges by, fresh at every poll;
- the real servers of the services named in full (their packet and byte counters, thresholds,
  persistent counts), and in rotation, the stalest of the others: each service is read whole at
  least once every ROTATION_POLLS polls while that takes at most ROTATION_AT_MOST services a poll
  (a table of up to 1,200 services); a larger table takes longer to go round, so that a poll's
  cost follows what is named, not the table. The snapshot says how old what it holds is
  (`Snapshot.dests_read_at`), and the status line shows the oldest.
A service read in part keeps the rest of its real servers' fields from when it was last read whole
(a real server never read whole yet has zero counters until its turn comes).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import Protocol

from lvs_tui.ipvs.poll import with_dests
from lvs_tui.model.records import Dest, DestKey, Family, Forward, Service, ServiceKey

ROTATION_POLLS = 30  # every service is read whole at least once in this many polls ...
ROTATION_AT_MOST = 40  # ... unless that would take more than this many services a poll


class ListedDest(Protocol):
    """A real server as /proc/net/ip_vs lists it."""

    @property
    def key(self) -> DestKey: ...

    @property
    def forward(self) -> Forward: ...

    @property
    def weight(self) -> int: ...

    @property
    def active(self) -> int: ...

    @property
    def inactive(self) -> int: ...


class Tiers:
    """What each service's real servers were when last read whole, and when; owned by one
    backend (one poller thread)."""

    def __init__(self, rotation: int = ROTATION_POLLS, at_most: int = ROTATION_AT_MOST) -> None:
        self._rotation = rotation
        self._at_most = at_most
        self._whole: dict[ServiceKey, Service] = {}
        self._index: dict[ServiceKey, dict[DestKey, Dest]] = {}  # the last whole read's, by key
        # The last read in part: (the service as dumped, /proc's lines, what was made of them); the
        # dump and the file reader return the same objects for what did not change.
        self._parts: dict[ServiceKey, tuple[Service, Sequence[ListedDest], Service]] = {}
        self._read_at: dict[ServiceKey, float] = {}
        self._began: float | None = None  # the first tiered poll: the age of what was never read

    def chosen(self, keys: Sequence[ServiceKey], named: Collection[ServiceKey], at: float) -> set[ServiceKey]:
        """The services to read whole this poll: those named, and the stalest of the others (those
        never read whole first), enough that every one is read within the rotation (or at most
        `at_most` of them)."""
        if self._began is None:
            self._began = at
        wanted = {key for key in keys if key in named}
        others = [key for key in keys if key not in wanted]
        share = min(math.ceil(len(others) / self._rotation), self._at_most)
        never = float("-inf")
        others.sort(key=lambda key: self._read_at.get(key, never))
        wanted.update(others[:share])
        return wanted

    def whole(self, service: Service, at: float) -> Service:
        """A service just read whole: kept for the polls that read it in part."""
        self._whole[service.key] = service
        self._index.pop(service.key, None)
        self._parts.pop(service.key, None)
        self._read_at[service.key] = at
        return service

    def in_part(self, service: Service, listed: Sequence[ListedDest]) -> Service:
        """`service` (read without its real servers) with the real servers /proc lists: their
        weights, forwarding and connection counts of now, the rest as last read whole."""
        key = service.key
        last = self._parts.get(key)
        if last is not None and last[0] is service and last[1] is listed:
            return last[2]  # nothing changed since the last poll
        index = self._index.get(key)
        if index is None:
            before = self._whole.get(key)
            index = self._index[key] = {} if before is None else {dest.key: dest for dest in before.dests}
        made = with_dests(service, tuple(_overlaid(index.get(item.key), item) for item in listed))
        self._parts[key] = (service, listed, made)
        return made

    def read_at(self, key: ServiceKey) -> float:
        """When `key` was last read whole (the first tiered poll if never)."""
        found = self._read_at.get(key)
        if found is not None:
            return found
        return self._began if self._began is not None else 0.0

    def keep_only(self, keys: Collection[ServiceKey]) -> None:
        """Forget the services the table no longer has."""
        present = set(keys)
        for gone in [key for key in self._read_at if key not in present]:
            self._whole.pop(gone, None)
            self._index.pop(gone, None)
            self._parts.pop(gone, None)
            del self._read_at[gone]


def _overlaid(old: Dest | None, item: ListedDest) -> Dest:
    key = item.key
    if old is None:
        family = Family.IPV6 if ":" in key.address else Family.IPV4
        return Dest(key.address, key.port, family, item.forward, None, item.weight, 0, 0, item.active,
                    item.inactive)
    if (item.forward is old.forward and item.weight == old.weight and item.active == old.active_conns
            and item.inactive == old.inactive_conns):
        return old
    # Positional, as poll.with_dests: dataclasses.replace costs several times as much.
    return Dest(old.address, old.port, old.family, item.forward, old.tunnel if item.forward is old.forward
                else None, item.weight, old.upper_threshold, old.lower_threshold, item.active, item.inactive,
                old.persistent_conns, old.stats)


def read_ages(tiers: Tiers, services: Sequence[Service],
              whole: Collection[ServiceKey]) -> Mapping[ServiceKey, float]:
    """`Snapshot.dests_read_at` of a tiered poll: the services read in part, and when each was last
    read whole."""
    return {service.key: tiers.read_at(service.key) for service in services if service.key not in whole}
