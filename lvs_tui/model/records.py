"""Frozen records of an IPVS table, named after the kernel's own fields.

Every backend (the kernel over netlink, the simulated director) produces these; everything above
the backend (batch output, the dashboard, operations) consumes only these.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from lvs_tui.model import inputs


class Family(StrEnum):
    IPV4 = "ipv4"
    IPV6 = "ipv6"

    @classmethod
    def of(cls, address: str) -> Family:
        return cls.IPV6 if ipaddress.ip_address(address).version == 6 else cls.IPV4


class Protocol(StrEnum):
    TCP = "tcp"
    UDP = "udp"
    SCTP = "sctp"


class Forward(StrEnum):
    """Forwarding method: the kernel's `conn_flags & 7`."""

    MASQ = "masq"  # NAT
    LOCAL = "local"
    TUNNEL = "tunnel"
    ROUTE = "route"  # DR
    BYPASS = "bypass"


class TunnelType(StrEnum):
    IPIP = "ipip"
    GUE = "gue"
    GRE = "gre"


# Decoded service flags. The scheduler decides what SCHED1..3 mean (see model.flags).
FLAG_PERSISTENT = "persistent"
FLAG_ONEPACKET = "ops"


class Stats(NamedTuple):
    """64-bit counters and the kernel's rate estimates (an ~8 s average refreshed every 2 s).

    Rates are per second; `inbps`/`outbps` are bytes per second, as the kernel reports them.
    A NamedTuple rather than a frozen dataclass: a poll builds one per record (11,000 for a big
    table) and a tuple is built ~5x faster; it is just as immutable. Copy-with-changes: `_replace`.
    """

    conns: int = 0
    inpkts: int = 0
    outpkts: int = 0
    inbytes: int = 0
    outbytes: int = 0
    cps: int = 0
    inpps: int = 0
    outpps: int = 0
    inbps: int = 0
    outbps: int = 0


ZERO_STATS = Stats()


def _host_port(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def parse_host_port(text: str) -> tuple[str, int]:
    """`192.0.2.1:80` or `[2001:db8::1]:80` as (the address in the kernel's form, port); InputError
    (a ValueError) otherwise. Port 0 is IPVS's "every port" (persistent services)."""
    return inputs.host_port(text)


@dataclass(frozen=True, slots=True)
class ServiceKey:
    """What identifies a virtual service to the kernel: protocol/address/port, or fwmark/family."""

    family: Family
    protocol: Protocol | None
    address: str
    port: int
    fwmark: int | None = None
    # Computed once: keys are hashed and sorted on every poll of tables with 10,000 services.
    _hash: int = field(init=False, repr=False, compare=False)
    _sort: tuple[bool, int, str, bytes, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.protocol is None) == (self.fwmark is None):
            raise ValueError("a service has either a protocol or a fwmark, not both or neither")
        fields = (self.family, self.protocol, self.address, self.port, self.fwmark)
        object.__setattr__(self, "_hash", hash(fields))
        object.__setattr__(self, "_sort", self._sort_key())

    def __hash__(self) -> int:
        return self._hash

    @classmethod
    def inet(cls, protocol: Protocol | str, address: str, port: int) -> ServiceKey:
        return cls(Family.of(address), Protocol(protocol), address, port, None)

    @classmethod
    def mark(cls, fwmark: int, family: Family | str = Family.IPV4) -> ServiceKey:
        family = Family(family)
        return cls(family, None, "::" if family is Family.IPV6 else "0.0.0.0", 0, fwmark)

    @classmethod
    def parse(cls, text: str) -> ServiceKey:
        """The key whose `id` is `text`; raises ValueError saying what is wrong with it."""
        kind, _, rest = text.strip().partition(":")
        try:
            if kind == "fwm":
                mark, _, family = rest.partition(":")
                if family not in ("", "ipv4", "ipv6"):
                    raise ValueError(f"{family!r} is not a family (ipv4 or ipv6)")
                return cls.mark(inputs.whole(mark, "the firewall mark", 1, inputs.U32_MAX),
                                family or Family.IPV4)
            if kind not in ("tcp", "udp", "sctp"):
                raise ValueError(f"{kind!r} is not a protocol (tcp, udp or sctp)")
            address, port = parse_host_port(rest)
            return cls.inet(kind, address, port)
        except ValueError as error:
            raise ValueError(f"{text!r} is not a service: write tcp:192.0.2.10:80, udp:[2001:db8::1]:53, "
                             f"sctp:..., fwm:7 or fwm:7:ipv6 ({error})") from None

    @property
    def id(self) -> str:
        """Stable text key, e.g. `tcp:10.0.0.1:80`, `udp:[2001:db8::1]:53`, `fwm:5`, `fwm:5:ipv6`."""
        if self.fwmark is not None:
            return f"fwm:{self.fwmark}" + (":ipv6" if self.family is Family.IPV6 else "")
        assert self.protocol is not None
        return f"{self.protocol.value}:{_host_port(self.address, self.port)}"

    @property
    def sort_key(self) -> tuple[bool, int, str, bytes, int]:
        """Orders services as an operator reads them: by family, protocol, address (numerically),
        port; firewall marks after addresses."""
        return self._sort

    def _sort_key(self) -> tuple[bool, int, str, bytes, int]:
        if self.fwmark is not None:
            return (self.family is Family.IPV6, 1, "", b"", self.fwmark)
        assert self.protocol is not None
        try:
            family = socket.AF_INET6 if self.family is Family.IPV6 else socket.AF_INET
            packed = socket.inet_pton(family, self.address)
        except OSError:  # not an address: validation names it when it matters
            packed = self.address.encode()
        return (self.family is Family.IPV6, 0, self.protocol.value, packed, self.port)

    def __str__(self) -> str:
        return self.id


@dataclass(frozen=True, slots=True, order=True)
class DestKey:
    """What identifies a real server within its service."""

    address: str
    port: int

    @property
    def id(self) -> str:
        return _host_port(self.address, self.port)

    def __str__(self) -> str:
        return self.id


@dataclass(frozen=True, slots=True)
class Tunnel:
    type: TunnelType = TunnelType.IPIP
    port: int = 0  # GUE's UDP port; 0 for ipip and gre
    flags: tuple[str, ...] = ()  # "nocsum", "csum", "remcsum"


@dataclass(frozen=True, slots=True)
class Dest:
    """A real server of one virtual service."""

    address: str
    port: int
    family: Family
    forward: Forward = Forward.MASQ
    tunnel: Tunnel | None = None  # only for Forward.TUNNEL
    weight: int = 1
    upper_threshold: int = 0  # 0 = no limit
    lower_threshold: int = 0
    active_conns: int = 0
    inactive_conns: int = 0
    persistent_conns: int = 0
    stats: Stats = ZERO_STATS

    @property
    def key(self) -> DestKey:
        return DestKey(self.address, self.port)


INDEX_DESTS_FROM = 16


@dataclass(frozen=True, slots=True)
class Service:
    """A virtual service and its real servers at one instant."""

    key: ServiceKey
    scheduler: str
    flags: tuple[str, ...] = ()  # decoded per scheduler, in kernel bit order (see model.flags)
    raw_flags: int = 0
    persistence_timeout: int = 0  # seconds; only meaningful with "persistent" in flags
    netmask: str = "255.255.255.255"  # ipvsadm's notation: dotted mask for IPv4, prefix length for IPv6
    pe: str | None = None  # persistence engine, e.g. "sip"
    stats: Stats = ZERO_STATS
    dests: tuple[Dest, ...] = ()
    # Real servers by key, for a service with many (a scan of a few is cheaper than building one).
    _by_key: dict[DestKey, Dest] | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.dests) > INDEX_DESTS_FROM:
            object.__setattr__(self, "_by_key", {dest.key: dest for dest in self.dests})

    @property
    def persistent(self) -> bool:
        return FLAG_PERSISTENT in self.flags

    def dest(self, key: DestKey) -> Dest | None:
        if self._by_key is not None:
            return self._by_key.get(key)
        for dest in self.dests:
            if dest.key == key:
                return dest
        return None


@dataclass(frozen=True, slots=True)
class Info:
    """GET_INFO: IPVS version and the size of the connection hash table."""

    version: str
    conn_table_size: int


@dataclass(frozen=True, slots=True)
class Timeouts:
    """GET_CONFIG: seconds; 0 in a write means "leave unchanged", as with `ipvsadm --set`."""

    tcp: int
    tcp_fin: int
    udp: int


@dataclass(frozen=True, slots=True)
class SyncDaemon:
    """One running connection-sync daemon (state is "master" or "backup")."""

    state: str
    mcast_ifn: str
    syncid: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The whole table at one instant.

    `time` is wall-clock (for display and JSON); `monotonic` is what client-side rates divide by.
    A poll that read some services' real servers only in part (their weights and connection counts,
    not their packet and byte counters: see lvs_tui.ipvs.tiers) says in `dests_read_at` when each
    of those was last read whole (monotonic); every other service was read whole at `monotonic`.
    """

    time: float
    monotonic: float
    info: Info
    services: tuple[Service, ...] = ()
    dests_read_at: Mapping[ServiceKey, float] = field(default_factory=dict, compare=False)
    _by_key: dict[ServiceKey, Service] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {service.key: service for service in self.services})

    def service(self, key: ServiceKey) -> Service | None:
        return self._by_key.get(key)

    def counters_age(self, key: ServiceKey | None = None) -> float:
        """Seconds since the real servers' counters of `key` (of the stalest service: None) were read."""
        if key is not None:
            return self.monotonic - self.dests_read_at.get(key, self.monotonic)
        return self.monotonic - min(self.dests_read_at.values(), default=self.monotonic)
