"""/proc/net/ip_vs: every real server's weight, forwarding method and connection counts in one read.

The kernel prints it from the same objects GET_DEST reads (ip_vs_ctl.c, ip_vs_info_seq_show):

    IP Virtual Server version 1.2.1 (size=4096)
    Prot LocalAddress:Port Scheduler Flags
      -> RemoteAddress:Port Forward Weight ActiveConn InActConn
    TCP  0A0A0001:0050 wrr persistent 300 FFFFFFFF
      -> 0A140301:1F91      Masq    3      0          0
    UDP  [2001:0db8:0000:0000:0000:0000:0000:0001]:0035 rr
    FWM  00000001 rr ops

One read of this file costs less than one GET_DEST dump per service (the tiered poll's point: see
lvs_tui.ipvs.tiers). A fwmark line does not say its family: it is taken from its real servers'
addresses (IPv4 without any); a service whose key the caller does not find here is read by netlink.
The file is per network namespace: `read_ip_vs(netns)` reads it from a thread inside `netns`.
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

from lvs_tui.ipvs.errors import IpvsError, IpvsUnavailable, PermissionDenied
from lvs_tui.model.records import DestKey, Family, Forward, Protocol, ServiceKey

FORWARD = {"Masq": Forward.MASQ, "Local": Forward.LOCAL, "Tunnel": Forward.TUNNEL, "Route": Forward.ROUTE}
PROTOCOL = {"TCP": Protocol.TCP, "UDP": Protocol.UDP, "SCTP": Protocol.SCTP}
HEADER_LINES = 3


class ProcDest(NamedTuple):
    """A real server as the file lists it (tiers.ListedDest)."""

    key: DestKey
    forward: Forward
    weight: int
    active: int
    inactive: int


ProcTable = dict[ServiceKey, tuple[ProcDest, ...]]


class ProcFormatError(IpvsError):
    """A line of /proc/net/ip_vs that is not in the kernel's format."""


class ProcReader:
    """Reads the file of one namespace, poll after poll: the keys of services and real servers
    recur from one read to the next, so each is parsed once (most of a read's cost otherwise)."""

    def __init__(self, netns: str | None = None) -> None:
        self._netns = netns
        self._services: dict[str, ServiceKey] = {}  # by the service line's "PROTO ADDRESS:PORT"
        self._dests: dict[str, DestKey] = {}  # by the "ADDRESS:PORT" of a real server's line

    def read(self) -> ProcTable:
        """The real servers of every service, by service."""
        if self._netns is None:
            return self.parse(_read("/proc/net/ip_vs"))
        from lvs_tui.ipvs.netlink import in_netns

        # /proc/net follows the reading process's namespace; thread-self follows this thread's.
        return self.parse(in_netns(self._netns, lambda: _read("/proc/thread-self/net/ip_vs")))

    def parse(self, text: str) -> ProcTable:
        if not text.startswith("IP Virtual Server version"):
            raise ProcFormatError(f"/proc/net/ip_vs does not start as the kernel's does: {text[:40]!r}")
        if len(self._services) + len(self._dests) > 4 * text.count("\n") + 1000:
            self._services.clear()  # keys of a table long gone: start again
            self._dests.clear()
        table: ProcTable = {}
        services, addresses = self._services, self._dests
        key: ServiceKey | None = None
        fwmark: int | None = None
        dests: list[ProcDest] = []
        for number, line in enumerate(text.splitlines()[HEADER_LINES:], start=HEADER_LINES + 1):
            fields = line.split()
            if not fields:
                continue
            try:
                if fields[0] == "->":
                    if len(fields) != 6:
                        raise ValueError(line)
                    dest = addresses.get(fields[1])
                    if dest is None:
                        dest = addresses[fields[1]] = DestKey(*_address_port(fields[1]))
                    dests.append(ProcDest(dest, FORWARD[fields[2]], int(fields[3]), int(fields[4]),
                                          int(fields[5])))
                    continue
                if key is not None or fwmark is not None:
                    table[_key(key, fwmark, dests)] = tuple(dests)
                dests = []
                if len(fields) < 3:  # a service line names its scheduler
                    raise ValueError(line)
                if fields[0] == "FWM":
                    key, fwmark = None, int(fields[1], 16)
                    continue
                token = f"{fields[0]} {fields[1]}"
                key, fwmark = services.get(token), None
                if key is None:
                    key = services[token] = ServiceKey.inet(PROTOCOL[fields[0]], *_address_port(fields[1]))
            except (KeyError, IndexError, ValueError):
                raise ProcFormatError(f"/proc/net/ip_vs line {number} is not in the kernel's format: "
                                      f"{line.strip()[:80]!r}") from None
        if key is not None or fwmark is not None:
            table[_key(key, fwmark, dests)] = tuple(dests)
        return table


def read_ip_vs(netns: str | None = None) -> ProcTable:
    """The real servers of every service in this namespace (or `netns`), by service."""
    return ProcReader(netns).read()


def parse_ip_vs(text: str) -> ProcTable:
    return ProcReader().parse(text)


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii") as source:
            return source.read()
    except FileNotFoundError:
        raise IpvsUnavailable(f"{path} is missing: the ip_vs module is not loaded") from None
    except PermissionError:
        raise PermissionDenied(f"{path} cannot be read: run as root (CAP_NET_ADMIN)") from None


def _key(key: ServiceKey | None, fwmark: int | None, dests: list[ProcDest]) -> ServiceKey:
    if key is not None:
        return key
    assert fwmark is not None
    family = Family.IPV6 if dests and ":" in dests[0].key.address else Family.IPV4
    return ServiceKey.mark(fwmark, family)


def _address_port(text: str) -> tuple[str, int]:
    """`0A0A0001:0050` (IPv4, hex) or `[2001:0db8:...:0001]:0035` (IPv6 in full, port in hex)."""
    if text.startswith("["):
        address, _, port = text[1:].rpartition("]:")
        return str(ipaddress.IPv6Address(address)), int(port, 16)
    address, _, port = text.partition(":")
    if len(address) != 8:
        raise ValueError(text)
    return str(ipaddress.IPv4Address(int(address, 16))), int(port, 16)
