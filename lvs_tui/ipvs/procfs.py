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
import re
from typing import NamedTuple

from lvs_tui.ipvs.errors import IpvsError, IpvsUnavailable, PermissionDenied
from lvs_tui.model.records import DestKey, Family, Forward, Protocol, ServiceKey

FORWARD = {"Masq": Forward.MASQ, "Local": Forward.LOCAL, "Tunnel": Forward.TUNNEL, "Route": Forward.ROUTE}
PROTOCOL = {"TCP": Protocol.TCP, "UDP": Protocol.UDP, "SCTP": Protocol.SCTP}
HEADER_LINES = 3
SERVICE_START = re.compile(r"\n(?=\S)")  # a service line starts at the margin, its servers' do not


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
        self._blocks: dict[str, tuple[ServiceKey, tuple[ProcDest, ...]]] = {}  # by a service's lines

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
        parts = text.split("\n", HEADER_LINES)
        body = parts[HEADER_LINES] if len(parts) > HEADER_LINES else ""
        table: ProcTable = {}
        previous, now = self._blocks, {}
        for block in SERVICE_START.split(body):
            if not block.strip():
                continue
            parsed = previous.get(block)  # a service whose lines did not change: nothing to parse
            if parsed is None:
                try:
                    parsed = self._block(block)
                except BadLine as bad:
                    raise _format_error(text, block, str(bad)) from None
            now[block] = parsed
            table[parsed[0]] = parsed[1]
        self._blocks = now
        if len(self._services) + len(self._dests) > 2 * (len(table) + sum(map(len, table.values()))) + 1000:
            self._services.clear()  # most are keys of a table long gone: start again
            self._dests.clear()
        return table

    def _block(self, block: str) -> tuple[ServiceKey, tuple[ProcDest, ...]]:
        """One service's line and its real servers' lines; BadLine names the first line that is not
        in the kernel's format."""
        lines = block.split("\n")
        dests = []
        for line in lines[1:]:
            fields = line.split()
            if fields:
                try:
                    dests.append(self._dest(fields))
                except (KeyError, IndexError, ValueError):
                    raise BadLine(line) from None
        try:
            return self._service(lines[0].split(), dests), tuple(dests)
        except (KeyError, IndexError, ValueError):
            raise BadLine(lines[0]) from None

    def _dest(self, fields: list[str]) -> ProcDest:
        if len(fields) != 6 or fields[0] != "->":
            raise ValueError
        dest = self._dests.get(fields[1])
        if dest is None:
            dest = self._dests[fields[1]] = DestKey(*_address_port(fields[1]))
        return ProcDest(dest, FORWARD[fields[2]], int(fields[3]), int(fields[4]), int(fields[5]))

    def _service(self, fields: list[str], dests: list[ProcDest]) -> ServiceKey:
        if len(fields) < 3:  # a service line names its scheduler
            raise ValueError
        if fields[0] == "FWM":
            return _mark(int(fields[1], 16), dests)
        token = f"{fields[0]} {fields[1]}"
        key = self._services.get(token)
        if key is None:
            key = self._services[token] = ServiceKey.inet(PROTOCOL[fields[0]], *_address_port(fields[1]))
        return key


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


class BadLine(Exception):
    """The line of a service's block that could not be read (its text is the argument)."""


def _format_error(text: str, block: str, line: str) -> ProcFormatError:
    number = text[:text.find(block) + block.find(line)].count("\n") + 1
    return ProcFormatError(f"/proc/net/ip_vs line {number} is not in the kernel's format: "
                           f"{line.strip()[:80]!r}")


def _mark(fwmark: int, dests: list[ProcDest]) -> ServiceKey:
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
