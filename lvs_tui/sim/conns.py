"""A connection table for the simulated director, so "who is still on it?" works in the demo.

The simulation keeps counts, not entries; this spells the counts of the latest snapshot out as
entries like the kernel's: ESTABLISHED for active, TIME_WAIT (TCP) or UDP for inactive, one
persistence template per persistent count, the last of which expires when the simulation's last
template does. Clients come from 198.18.0.0/15 (the benchmarking range), a few connections each,
and the same counts always give the same entries.
"""

from __future__ import annotations

import ipaddress
import zlib
from collections.abc import Iterator, Mapping

from lvs_tui.model.connections import Connection
from lvs_tui.model.records import DestKey, Protocol, Service, ServiceKey, Snapshot

CLIENTS = ipaddress.IPv4Network("198.18.0.0/15")
MAX_ENTRIES = 200_000  # per lookup: a demo, not a load test
TCP_ESTABLISHED, TCP_TIME_WAIT, UDP_TIMEOUT = 900, 120, 300


def _client(index: int) -> str:
    # About three entries per client, spread over the range.
    return str(CLIENTS[(index // 3 * 7919) % CLIENTS.num_addresses])


LastTemplates = Mapping[tuple[ServiceKey, DestKey], int]  # seconds until a server's last template expires


def _entries(service: Service, address: str, port: int | None, last: LastTemplates) -> Iterator[Connection]:
    key = service.key
    protocol = key.protocol.value if key.protocol is not None else "tcp"
    inactive_state = "UDP" if key.protocol is Protocol.UDP else "TIME_WAIT"
    inactive_expiry = UDP_TIMEOUT if key.protocol is Protocol.UDP else TCP_TIME_WAIT
    for dest in service.dests:
        if dest.address != address or (port is not None and dest.port != port):
            continue
        seed = zlib.crc32(f"{key.id}>{dest.key.id}".encode()) & 0xFFFF  # the same in every run
        for n in range(dest.active_conns):
            yield Connection(protocol, _client(seed + n), 1024 + (seed + n) % 60000, key.address, key.port,
                             dest.address, dest.port, "ESTABLISHED", TCP_ESTABLISHED - n * 37 % 880, False)
        for n in range(dest.inactive_conns):
            yield Connection(protocol, _client(seed + 5 * n + 1), 1024 + (seed + 7 * n) % 60000, key.address,
                             key.port, dest.address, dest.port, inactive_state,
                             inactive_expiry - n * 13 % (inactive_expiry - 1), False)
        latest = last.get((key, dest.key), service.persistence_timeout)
        for n in range(dest.persistent_conns):
            expires = latest if n == 0 else min(latest, service.persistence_timeout - n * 11 % 300)
            yield Connection(protocol, _client(seed + 3 * n), 0, key.address, key.port, dest.address,
                             dest.port, "NONE", max(1, expires), True)


def entries(snapshot: Snapshot | None, address: str, port: int | None,
            last: LastTemplates | None = None) -> Iterator[Connection]:
    """The entries of one real server (every port of it when `port` is None) in `snapshot`."""
    if snapshot is None:
        return
    count = 0
    for service in snapshot.services:
        for conn in _entries(service, address, port, last or {}):
            yield conn
            count += 1
            if count >= MAX_ENTRIES:
                return
