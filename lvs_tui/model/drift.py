"""Drift between the tables of two directors (pure): what an HA pair must agree on.

Two directors of a pair must send a client's connection to the same real servers with the same
weights, or a failover changes where traffic goes. Compared: which services and real servers
exist, and each one's settings (scheduler, flags, persistence, netmask, engine; forwarding method,
tunnel, weight, thresholds). Counters and connection counts are the directors' own and are not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from lvs_tui.model.records import Dest, DestKey, Service, ServiceKey, Snapshot, SyncDaemon, Tunnel

ServiceField = tuple[str, Callable[[Service], object]]
DestField = tuple[str, Callable[[Dest], object]]
Record = TypeVar("Record", Service, Dest)

SERVICE_FIELDS: tuple[ServiceField, ...] = (
    ("scheduler", lambda service: service.scheduler),
    ("flags", lambda service: service.flags),
    # The timeout and netmask mean something only for a persistent service: the kernel keeps them otherwise.
    ("persistence timeout", lambda service: service.persistence_timeout if _persistent(service) else 0),
    ("netmask", lambda service: service.netmask if _persistent(service) else None),
    ("persistence engine", lambda service: service.pe),
)
DEST_FIELDS: tuple[DestField, ...] = (
    ("forwarding", lambda dest: dest.forward.value),
    ("tunnel", lambda dest: dest.tunnel),
    ("weight", lambda dest: dest.weight),
    ("upper threshold", lambda dest: dest.upper_threshold),
    ("lower threshold", lambda dest: dest.lower_threshold),
)


@dataclass(frozen=True, slots=True)
class Difference:
    """One thing two directors disagree on. `what` is a field's name, or "presence" when the
    service or real server exists on one side only (its value then says where: True or False)."""

    service: ServiceKey
    dest: DestKey | None
    what: str
    left: object
    right: object

    @property
    def subject(self) -> str:
        return self.service.id if self.dest is None else f"{self.service.id} -> {self.dest.id}"

    def sentence(self, left: str, right: str) -> str:
        """e.g. `tcp:192.0.2.10:80 -> 10.0.0.2:80: weight 3 on lb1, 1 on lb2`."""
        if self.what == "presence":
            return f"{self.subject}: only on {left if self.left else right}"
        return f"{self.subject}: {self.what} {shown(self.left)} on {left}, {shown(self.right)} on {right}"


def shown(value: object) -> str:
    if isinstance(value, tuple) and not isinstance(value, Tunnel):
        return ",".join(map(str, value)) or "none"
    if isinstance(value, Tunnel):
        flags = f" {','.join(value.flags)}" if value.flags else ""
        return f"{value.type.value}" + (f":{value.port}" if value.port else "") + flags
    return "none" if value is None else str(value)


def drift(left: Snapshot, right: Snapshot) -> list[Difference]:
    """Every difference between the two tables, in the order an operator reads a table."""
    by_service: dict[ServiceKey, list[Difference]] = {}
    for ours in left.services:
        theirs = right.service(ours.key)
        if theirs is None:
            by_service[ours.key] = [Difference(ours.key, None, "presence", True, False)]
        elif _settings(ours) != _settings(theirs):  # most services of a pair are equal at a glance
            found = _fields(ours.key, None, SERVICE_FIELDS, ours, theirs) + _dests(ours.key, ours.dests,
                                                                                    theirs.dests)
            if found:
                by_service[ours.key] = found
    for theirs in right.services:
        if left.service(theirs.key) is None:
            by_service[theirs.key] = [Difference(theirs.key, None, "presence", False, True)]
    # Sorted once found: a large table of a pair has few differences, and sorting it all costs.
    return [difference for key in sorted(by_service, key=lambda key: key.sort_key)
            for difference in by_service[key]]


def _dests(key: ServiceKey, left: Sequence[Dest], right: Sequence[Dest]) -> list[Difference]:
    ours, theirs = {dest.key: dest for dest in left}, {dest.key: dest for dest in right}
    found: list[Difference] = []
    for dest_key in sorted({*ours, *theirs}):
        one, other = ours.get(dest_key), theirs.get(dest_key)
        if one is None or other is None:
            found.append(Difference(key, dest_key, "presence", one is not None, other is not None))
        else:
            found += _fields(key, dest_key, DEST_FIELDS, one, other)
    return found


def _settings(service: Service) -> tuple[object, ...]:
    """Everything drift compares, as one value: equal values have no difference (a pair that lists
    the same servers in another order, or differs only where a field means nothing, is compared
    field by field)."""
    return (service.scheduler, service.flags, service.persistence_timeout, service.netmask, service.pe,
            tuple((dest.address, dest.port, dest.forward, dest.tunnel, dest.weight, dest.upper_threshold,
                   dest.lower_threshold) for dest in service.dests))


def _persistent(service: Service) -> bool:
    return "persistent" in service.flags


def _fields(key: ServiceKey, dest: DestKey | None, fields: Sequence[tuple[str, Callable[[Record], object]]],
            left: Record, right: Record) -> list[Difference]:
    return [Difference(key, dest, name, read(left), read(right)) for name, read in fields
            if read(left) != read(right)]


# --- the IPVS sync daemons: what a pair needs for connections to survive a failover ---------------

def sync_roles(daemons: Sequence[SyncDaemon]) -> str:
    """e.g. `master (sync id 5, eth1)`, `master (sync id 5, eth1), backup (sync id 5, eth1)`, `none`."""
    return ", ".join(f"{d.state} (sync id {d.syncid}, {d.mcast_ifn or '?'})" for d in daemons) or "none"


def sync_problems(left: Sequence[SyncDaemon], right: Sequence[SyncDaemon], left_name: str,
                  right_name: str) -> list[str]:
    """Why connections a master holds would not reach the other director: no backup there, or one
    that ignores the master's sync id (a backup with sync id 0 takes every id). A pair that runs no
    sync daemon at all has nothing to say here: it chose to drop connections at a failover."""
    problems = []
    for masters, backups, sender, receiver in ((left, right, left_name, right_name),
                                               (right, left, right_name, left_name)):
        for master in (d for d in masters if d.state == "master"):
            listening = [d.syncid for d in backups if d.state == "backup"]
            if not listening:
                problems.append(f"{receiver} runs no sync backup for {sender}'s master: the connections "
                                f"{sender} holds are lost if {receiver} takes over")
            elif not any(syncid in (0, master.syncid) for syncid in listening):
                taken = ", ".join(map(str, listening))
                problems.append(f"{sender}'s sync master sends sync id {master.syncid}, {receiver}'s backup "
                                f"takes only {taken}: it ignores what {sender} sends")
    return problems
