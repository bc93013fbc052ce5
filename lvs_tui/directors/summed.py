"""What a drain of a pair waits on: every director's connection counts added up.

The sync daemon copies a master's connections to its backup, and after a failover the backup holds
them: a real server is drained only when no director of the pair has a connection on it. So the
drain follows one table whose real servers carry the sum of every director's counts, and the
highest weight any of them gives the server (a weight given back on one director ends the drain).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from lvs_tui.ipvs.backend import Backend
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.model.records import Dest, DestKey, Service, ServiceKey, Snapshot


def summed(tables: Sequence[Snapshot]) -> Snapshot:
    """One table: the services and real servers of every table in `tables` (as the first that has
    each lists it), with their connection counts summed and the highest weight."""
    if not tables:
        raise ValueError("no table to sum")
    services: dict[ServiceKey, Service] = {}
    dests: dict[ServiceKey, dict[DestKey, list[Dest]]] = {}
    for table in tables:
        for service in table.services:
            services.setdefault(service.key, service)
            found = dests.setdefault(service.key, {})
            for dest in service.dests:
                found.setdefault(dest.key, []).append(dest)
    first = tables[0]
    return Snapshot(time=first.time, monotonic=first.monotonic, info=first.info, services=tuple(
        replace(service, dests=tuple(_added(same) for same in dests[key].values()))
        for key, service in services.items()))


def _added(same: list[Dest]) -> Dest:
    return replace(same[0], weight=max(dest.weight for dest in same),
                   active_conns=sum(dest.active_conns for dest in same),
                   inactive_conns=sum(dest.inactive_conns for dest in same),
                   persistent_conns=sum(dest.persistent_conns for dest in same))


class SummedDirectors:
    """Reads every director in turn and gives the `summed` table; a director that cannot be read
    raises an IpvsError naming it: the drain is not over while one director's counts are unknown.
    `counts` gives each director's own, from the last read (where the connections are: after a
    failover, the old master's entries of moved connections stay until they time out)."""

    def __init__(self, directors: Sequence[tuple[str, Backend]]) -> None:
        self._directors = tuple(directors)
        self._last: dict[str, Snapshot] = {}

    def snapshot(self) -> Snapshot:
        tables = []
        for name, backend in self._directors:
            try:
                tables.append(backend.snapshot())
            except IpvsError as error:
                said = str(error)
                raise IpvsError(said if said.startswith(f"director {name}") else f"director {name}: {said}") \
                    from None  # the sentence names the director either way
        self._last = {name: table for (name, _), table in zip(self._directors, tables, strict=True)}
        return summed(tables)

    def counts(self, service: ServiceKey, dest: DestKey) -> dict[str, dict[str, int]]:
        """Each director's active, inactive and persistent counts of `dest` in `service` at the last
        read; a director without that server is left out."""
        found = {}
        for name, table in self._last.items():
            listed = table.service(service)
            server = None if listed is None else listed.dest(dest)
            if server is not None:
                found[name] = {"active": server.active_conns, "inactive": server.inactive_conns,
                               "persistent": server.persistent_conns}
        return found
