"""Entries of IPVS's connection table and who they belong to (pure: no I/O).

`lvs_tui.ops.conntable` reads them from the kernel's `/proc/net/ip_vs_conn`; the simulated
director spells its counts out as entries of the same shape.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple


class Connection(NamedTuple):
    """One entry of the connection table.

    A NamedTuple rather than a frozen dataclass: a big table builds millions of these and a tuple
    is several times cheaper to build; it is just as immutable.
    `protocol` is lower case as in `records.Protocol` ("tcp", "udp", "sctp"), plus "ip" for the
    templates of fwmark services; addresses are in canonical text form (IPv6 compressed).
    """

    protocol: str
    client: str
    client_port: int
    virtual: str
    virtual_port: int
    dest: str
    dest_port: int
    state: str
    expires: int  # seconds until the kernel drops the entry
    is_template: bool
    pe_name: str | None = None
    pe_data: str | None = None


def for_dest(conns: Iterable[Connection], address: str, port: int | None = None) -> Iterator[Connection]:
    """The entries (templates included) that point at real server `address` (and `port`)."""
    wanted = str(ipaddress.ip_address(address.strip("[]")))
    for conn in conns:
        if conn.dest == wanted and (port is None or conn.dest_port == port):
            yield conn


@dataclass(frozen=True, slots=True)
class ClientGroup:
    """One client's entries: connections by state, its persistence templates, the latest expiry.

    A template's client is the client address under the service's persistence netmask (the
    whole /24 with `-M 255.255.255.0`), so it groups apart from the client's connections then.
    """

    client: str
    states: dict[str, int] = field(hash=False)  # connections (not templates) by state name
    templates: int
    longest_expiry: int  # seconds until the last of its entries (templates included) goes

    @property
    def connections(self) -> int:
        return sum(self.states.values())


@dataclass(slots=True)
class _Tally:
    states: dict[str, int] = field(default_factory=dict)
    templates: int = 0
    longest_expiry: int = 0


def by_client(conns: Iterable[Connection]) -> list[ClientGroup]:
    """Group in one pass: most connections first, then by client address."""
    tallies: dict[str, _Tally] = {}
    for conn in conns:
        tally = tallies.get(conn.client)
        if tally is None:
            tally = tallies[conn.client] = _Tally()
        if conn.is_template:
            tally.templates += 1
        else:
            tally.states[conn.state] = tally.states.get(conn.state, 0) + 1
        tally.longest_expiry = max(tally.longest_expiry, conn.expires)
    groups = [
        ClientGroup(client, dict(sorted(t.states.items())), t.templates, t.longest_expiry)
        for client, t in tallies.items()
    ]
    groups.sort(key=lambda g: (-g.connections, -g.templates, _address_key(g.client)))
    return groups


def _address_key(address: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(address)
    return ip.version, int(ip)
