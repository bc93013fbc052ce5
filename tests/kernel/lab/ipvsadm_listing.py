"""A parser of ipvsadm 1.31's listings: the independent oracle the kernel tests compare against.

Handles `ipvsadm -Ln [--exact]` plain and with `--stats`, `--rate`, `--thresholds`,
`--persistent-conn` and `--tun-info`. Services are keyed like lvs-top's `ServiceKey.id`
(`tcp:10.0.0.1:80`, `udp:[2001:db8::1]:53`, `fwm:5`, `fwm:5:ipv6`) and real servers like
`DestKey.id` (`10.0.0.2:80`, `[2001:db8::2]:80`), but nothing here imports lvs-top.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HEADER = re.compile(r"IP Virtual Server version (\S+) \(size=(\d+)\)")
_PROTOCOLS = {"TCP": "tcp", "UDP": "udp", "SCTP": "sctp"}


@dataclass
class ListedDest:
    address: str
    port: int
    columns: dict[str, str]  # column header -> text, e.g. {"Weight": "1", "Forward": "Masq"}

    def int(self, column: str) -> int:
        return int(self.columns[column])


@dataclass
class ListedService:
    id: str
    protocol: str | None  # "tcp", "udp", "sctp" or None for a fwmark service
    fwmark: int | None
    family: str  # "ipv4" | "ipv6"
    address: str | None  # None for fwmark services
    port: int | None
    # From the views that print the service's configuration (all but --stats and --rate):
    scheduler: str | None = None
    flags: tuple[str, ...] = ()  # as ipvsadm prints them in "(...)": sh-fallback, flag-1, ...
    persistent: int | None = None  # persistence timeout, None when not persistent
    mask: str | None = None  # printed only when not the host mask
    pe: str | None = None
    ops: bool = False
    columns: dict[str, str] = field(default_factory=dict)  # --stats / --rate figures
    dests: dict[str, ListedDest] = field(default_factory=dict)

    def int(self, column: str) -> int:
        return int(self.columns[column])


@dataclass
class Listing:
    version: str
    size: int
    service_columns: list[str]
    dest_columns: list[str]
    services: dict[str, ListedService]


def host_port(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def split_host_port(text: str) -> tuple[str, int]:
    if text.startswith("["):
        address, _, port = text[1:].partition("]:")
    else:
        address, _, port = text.rpartition(":")
    return address, int(port)


def parse_listing(text: str) -> Listing:
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    match = _HEADER.fullmatch(lines[0].strip())
    if not match:
        raise ValueError(f"not an ipvsadm listing: {lines[0]!r}")
    service_columns = lines[1].split()[2:]  # after "Prot LocalAddress:Port"
    dest_columns = lines[2].split()[2:] or service_columns  # stats views repeat the service columns
    services: dict[str, ListedService] = {}
    current: ListedService | None = None
    for line in lines[3:]:
        tokens = line.split()
        if tokens[0] == "->":
            if current is None:
                raise ValueError(f"real server before any service: {line!r}")
            address, port = split_host_port(tokens[1])
            values = tokens[2:]
            if len(values) != len(dest_columns):
                raise ValueError(f"expected columns {dest_columns}, got {values!r} in {line!r}")
            dest = ListedDest(address, port, dict(zip(dest_columns, values, strict=True)))
            current.dests[host_port(address, port)] = dest
            continue
        current = _service(tokens, service_columns, line)
        services[current.id] = current
    return Listing(match[1], int(match[2]), service_columns, dest_columns, services)


def _service(tokens: list[str], columns: list[str], line: str) -> ListedService:
    kind, rest = tokens[0], tokens[1:]
    if kind == "FWM":
        fwmark = int(rest.pop(0))
        family = "ipv4"
        if rest and rest[0] == "IPv6":
            family = "ipv6"
            rest.pop(0)
        service = ListedService(
            f"fwm:{fwmark}" + (":ipv6" if family == "ipv6" else ""), None, fwmark, family, None, None
        )
    elif kind in _PROTOCOLS:
        address, port = split_host_port(rest.pop(0))
        family = "ipv6" if ":" in address else "ipv4"
        protocol = _PROTOCOLS[kind]
        service = ListedService(
            f"{protocol}:{host_port(address, port)}", protocol, None, family, address, port
        )
    else:
        raise ValueError(f"unknown service line: {line!r}")
    if columns and columns[0] in ("Conns", "CPS"):  # --stats / --rate: numbers only
        if len(rest) != len(columns):
            raise ValueError(f"expected columns {columns}, got {rest!r} in {line!r}")
        service.columns = dict(zip(columns, rest, strict=True))
        return service
    service.scheduler = rest.pop(0)
    while rest:
        token = rest.pop(0)
        if token.startswith("("):
            service.flags = tuple(token.strip("()").split(","))
        elif token == "persistent":
            service.persistent = int(rest.pop(0))
        elif token == "mask":
            service.mask = rest.pop(0)
        elif token == "pe":
            service.pe = rest.pop(0)
        elif token == "ops":
            service.ops = True
        else:
            raise ValueError(f"unexpected {token!r} in service line {line!r}")
    return service


# --tun-info's TunnelInfo column: "n/a", "ipip", "gre[:csum]", "gue:PORT[:csum]" where csum is
# "-c" (nocsum), "+c" (csum) or "r+c" (remcsum).
_CSUM = {"-c": "nocsum", "+c": "csum", "r+c": "remcsum"}


@dataclass(frozen=True)
class TunnelInfo:
    type: str
    port: int
    flags: tuple[str, ...]


def parse_tunnel_info(text: str) -> TunnelInfo | None:
    if text == "n/a":
        return None
    parts = text.split(":")
    kind, port = parts.pop(0), 0
    if kind == "gue":
        port = int(parts.pop(0))
    flags = tuple(_CSUM[part] for part in parts)
    return TunnelInfo(kind, port, flags)


FORWARD = {"Masq": "masq", "Local": "local", "Tunnel": "tunnel", "Route": "route", "Bypass": "bypass"}


def parse_rules(lines: list[str]) -> dict[str, set[str]]:
    """`ipvsadm -Sn` lines -> {service id: {dest id, ...}} (only what identifies the objects)."""
    table: dict[str, set[str]] = {}
    for line in lines:
        tokens = line.split()
        sid = _rule_service(tokens)
        if tokens[0] == "-A":
            table[sid] = set()
        elif tokens[0] == "-a":
            address, port = split_host_port(tokens[tokens.index("-r") + 1])
            table[sid].add(host_port(address, port))
    return table


def _rule_service(tokens: list[str]) -> str:
    for option, protocol in (("-t", "tcp"), ("-u", "udp"), ("--sctp-service", "sctp")):
        if option in tokens:
            address, port = split_host_port(tokens[tokens.index(option) + 1])
            return f"{protocol}:{host_port(address, port)}"
    fwmark = tokens[tokens.index("-f") + 1]
    return f"fwm:{fwmark}" + (":ipv6" if "-6" in tokens else "")
