"""What a dashboard of several directors shows of them (pure): each director's state, and how the
others' tables drift from the one on screen.

The screen shows one director's table at a time. Beside it, every director of the session: whether
its last poll worked and how long ago, its IPVS sync daemons and the VIPs it holds (its role in
the pair), and how many differences its table has from the one shown; the rows of the shown table
that differ on another director are marked. A VIP on two directors at once (split brain for a
keepalived pair), or on none while the pair holds the others, is said.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from lvs_tui.model.drift import Difference, drift, sync_problems
from lvs_tui.model.records import DestKey, ServiceKey, Snapshot, SyncDaemon

Marked = ServiceKey | tuple[ServiceKey, DestKey]


@dataclass(frozen=True, slots=True)
class DirectorReading:
    """One director as its own session last saw it."""

    name: str
    snapshot: Snapshot | None  # the newest good table; None until one was read
    polled_at: float | None  # monotonic start of the poll that read it
    error: str | None  # why the newest poll failed; None when it worked
    daemons: tuple[SyncDaemon, ...] | None  # None until read
    addresses: frozenset[str] | None = None  # on its interfaces; None until read


@dataclass(frozen=True, slots=True)
class DirectorState:
    name: str
    polled_at: float | None
    error: str | None
    daemons: tuple[SyncDaemon, ...] | None
    # From the shown director's table: None for the shown one itself, or while either table is unknown.
    drift: tuple[Difference, ...] | None
    holds: int | None = None  # how many VIPs of the table shown are on its interfaces; None: unknown


@dataclass(frozen=True, slots=True)
class DirectorsView:
    shown: int  # the index of the director on screen
    directors: tuple[DirectorState, ...]
    marked: frozenset[Marked] = frozenset()  # rows of the shown table that differ elsewhere
    sync: tuple[str, ...] = ()  # why a failover would lose connections (see drift.sync_problems)
    vips: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)  # VIP: who holds it
    vip_problems: tuple[str, ...] = ()  # a VIP on two directors, or on none
    _by_row: dict[Marked, tuple[tuple[str, Difference], ...]] = field(default_factory=dict, compare=False)

    @property
    def shown_name(self) -> str:
        return self.directors[self.shown].name

    def differences_of(self, service: ServiceKey, dest: DestKey | None) -> tuple[tuple[str, Difference], ...]:
        """(other director, difference) for one row: a service's own fields and presence, or one
        real server's."""
        return self._by_row.get(service if dest is None else (service, dest), ())

    def holders(self, service: ServiceKey) -> tuple[str, ...] | None:
        """The directors holding the VIP of `service`; None for a fwmark service or while unknown."""
        return None if service.fwmark is not None else self.vips.get(service.address)

    def only_elsewhere(self) -> list[tuple[str, ServiceKey]]:
        """Services that exist on another director and not on the one shown (no row to mark)."""
        return [(state.name, difference.service) for state in self.directors
                for difference in state.drift or ()
                if difference.what == "presence" and difference.dest is None and not difference.left]


Drifts = dict[int, tuple[Difference, ...] | None]  # by director: its drift from the one shown


def drifts_from(readings: Sequence[DirectorReading], shown: int) -> Drifts:
    """Each other director's drift from `readings[shown]` (None while either table is unknown)."""
    here = readings[shown].snapshot
    return {index: None if here is None or reading.snapshot is None else tuple(drift(here, reading.snapshot))
            for index, reading in enumerate(readings) if index != shown}


def directors_view(readings: Sequence[DirectorReading], shown: int,
                   drifts: Drifts | None = None) -> DirectorsView:
    """The view with `readings[shown]` on screen; `drifts` as `drifts_from` gives them (computed
    here when not given: a caller may compute them less often than it shows the view)."""
    here = readings[shown]
    if drifts is None:
        drifts = drifts_from(readings, shown)
    states: list[DirectorState] = []
    by_row: dict[Marked, list[tuple[str, Difference]]] = {}
    vips = table_vips(here.snapshot)
    for index, reading in enumerate(readings):
        differences = drifts.get(index)
        for difference in differences or ():
            _mark(by_row, reading.name, difference)
        holds = None if reading.addresses is None else sum(vip in reading.addresses for vip in vips)
        states.append(DirectorState(reading.name, reading.polled_at, reading.error, reading.daemons,
                                    differences, holds))
    holders, vip_problems = vip_holders(readings, vips)
    problems: list[str] = []
    if here.daemons is not None:
        for reading in readings:
            if reading is not here and reading.daemons is not None:
                problems += sync_problems(here.daemons, reading.daemons, here.name, reading.name)
    rows = {row: tuple(found) for row, found in by_row.items()}
    return DirectorsView(shown, tuple(states), frozenset(rows), tuple(problems), holders, tuple(vip_problems),
                         rows)


def _services(snapshot: Snapshot | None) -> list[ServiceKey]:
    return [] if snapshot is None else [service.key for service in snapshot.services]


def table_vips(*snapshots: Snapshot | None) -> list[str]:
    """The VIPs of these tables (fwmark services have none), sorted."""
    return sorted({key.address for snapshot in snapshots for key in _services(snapshot)
                   if key.fwmark is None})


def vip_holders(readings: Sequence[DirectorReading], vips: list[str]) -> tuple[dict[str, tuple[str, ...]],
                                                                                 list[str]]:
    """Who holds each VIP, once every director's addresses are known; and what looks wrong there: a
    VIP on two directors (a keepalived pair in split brain, both answering for it; directors behind
    ECMP share VIPs by design, hence a warning and not an error), or on none while the pair holds
    others (a pair that holds no VIP at all routes them some other way: nothing to say)."""
    if any(reading.addresses is None for reading in readings):
        return {}, []
    holders = {vip: tuple(reading.name for reading in readings if vip in (reading.addresses or ()))
               for vip in vips}
    problems = [f"VIP {vip} is on {' and '.join(names)} at once (split brain, unless they share it by "
                "design)" for vip, names in holders.items() if len(names) > 1]
    if any(holders.values()):
        problems += [f"VIP {vip} is on no director" for vip, names in holders.items() if not names]
    return holders, problems


def _mark(by_row: dict[Marked, list[tuple[str, Difference]]], name: str, difference: Difference) -> None:
    if difference.dest is None:
        if difference.what == "presence" and not difference.left:
            return  # not in the shown table: said apart (only_elsewhere)
        by_row.setdefault(difference.service, []).append((name, difference))
        return
    by_row.setdefault(difference.service, [])  # the service holds a real server that differs
    if difference.what == "presence" and not difference.left:
        by_row[difference.service].append((name, difference))  # no row of its own to mark here
        return
    by_row.setdefault((difference.service, difference.dest), []).append((name, difference))
