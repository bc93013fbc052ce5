"""What a real server needs for its forwarding method, what it has, and the commands between.

- NAT: replies must go back through the director, so the director is the default gateway.
- DR: the director only rewrites the MAC, so the packet still says VIP: the real server must hold
  the VIP (on `lo`, as /32 or /128, so it never claims it on the wire) and must neither answer
  ARP for it (`arp_ignore` 1 or 2) nor announce it (`arp_announce` 2); otherwise it steals the
  director's traffic from the router.
- TUN: the packet arrives IP-in-IP: the host needs the tunnel interface up with the VIP on it, and
  reverse-path filtering relaxed on it (the inner source is a client routed elsewhere); the ARP
  settings of DR apply too, since the VIP is a local address.

`plan` gives the commands as argument lists (`--print` shows them, `--apply` runs them, never
through a shell); `check` compares the plan's intent with `HostFacts` and reports findings.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from lvs_tui.doctor.findings import Finding, Severity
from lvs_tui.doctor.knowledge import ARP_ANNOUNCE, ARP_IGNORE, effective, meaning

MODES = ("nat", "dr", "tun")
TUNNEL = "tunl0"  # the ipip module's fallback device: receives IP-in-IP for any local address


@dataclass(frozen=True, slots=True)
class Interface:
    name: str
    up: bool
    addresses: tuple[str, ...] = ()  # "10.10.0.1/32"
    mtu: int = 1500
    kind: str | None = None  # "ipip", "veth", ...; None for a plain device


@dataclass(frozen=True, slots=True)
class HostFacts:
    interfaces: tuple[Interface, ...]
    sysctls: Mapping[str, int] = field(default_factory=dict)  # "net.ipv4.conf.all.arp_ignore" -> 1
    default_gateways: tuple[str, ...] = ()
    modules: frozenset[str] = frozenset()  # loaded or loadable: "ipip", "fou", "ip_gre"

    def interface(self, name: str) -> Interface | None:
        return next((i for i in self.interfaces if i.name == name), None)

    def holding(self, address: str) -> list[Interface]:
        return [i for i in self.interfaces if any(a.split("/")[0] == address for a in i.addresses)]

    def conf(self, interface: str, key: str) -> int:
        return self.sysctls.get(f"net.ipv4.conf.{interface}.{key}", 0)


@dataclass(frozen=True, slots=True)
class Step:
    argv: tuple[str, ...]
    why: str


def _host_prefix(vip: str) -> str:
    return f"{vip}/{128 if ipaddress.ip_address(vip).version == 6 else 32}"


def _arp_steps(interfaces: tuple[str, ...]) -> list[Step]:
    steps = []
    for name in ("all", *interfaces):
        steps.append(Step(("sysctl", "-w", f"net.ipv4.conf.{name}.arp_ignore=1"),
                          f"{name}: answer ARP only for the incoming interface's addresses, not the VIP"))
        steps.append(Step(("sysctl", "-w", f"net.ipv4.conf.{name}.arp_announce=2"),
                          f"{name}: never use the VIP as the source of an ARP request"))
    return steps


def plan(mode: str, vip: str, director: str | None = None, interfaces: tuple[str, ...] = ()) -> list[Step]:
    """The commands that make this host a real server of VIP with forwarding method `mode`."""
    if mode == "nat":
        if director is None:
            raise ValueError("NAT: give the director's address on this host's network with --director, "
                             "the gateway replies must go through")
        return [Step(("ip", "route", "replace", "default", "via", director),
                     "replies go back through the director, which rewrites their source to the VIP")]
    address = _host_prefix(vip)
    six = ipaddress.ip_address(vip).version == 6
    if mode == "dr":
        return [Step(("ip", "addr", "replace", address, "dev", "lo"),
                     "accept packets addressed to the VIP, without claiming it on the network"),
                *([] if six else _arp_steps(interfaces))]
    if mode == "tun":
        return [Step(("modprobe", "ip6_tunnel" if six else "ipip"), "decapsulate IP-in-IP from the director"),
                Step(("ip", "link", "set", TUNNEL, "up"), "the device that receives the tunnelled packets"),
                Step(("ip", "addr", "replace", address, "dev", TUNNEL), "accept the inner packets"),
                Step(("sysctl", "-w", "net.ipv4.conf.all.rp_filter=0"),
                     "the inner source is a client, not routed via the tunnel: strict rp_filter drops it"),
                Step(("sysctl", "-w", f"net.ipv4.conf.{TUNNEL}.rp_filter=0"), "likewise on the tunnel"),
                *([] if six else _arp_steps(interfaces))]
    raise ValueError(f"{mode!r} is not a forwarding method: nat, dr or tun")


def check(mode: str, vip: str, facts: HostFacts, director: str | None = None) -> list[Finding]:
    if mode == "nat":
        return _check_nat(facts, director)
    findings = _check_vip(mode, vip, facts)
    if ipaddress.ip_address(vip).version == 4:
        findings += _check_arp(facts)
    if mode == "tun":
        findings += _check_tunnel(facts)
    return findings


def _check_nat(facts: HostFacts, director: str | None) -> list[Finding]:
    via = ", ".join(facts.default_gateways) or "nothing"
    if director is None:
        return [Finding(Severity.INFO, "default route", f"via {via}; give --director to check that replies "
                        "go through it")]
    if director in facts.default_gateways:
        return [Finding(Severity.OK, "default route", f"via the director {director}: replies go through it")]
    return [Finding(Severity.ERROR, "default route",
                    f"goes via {via}, not the director {director}: replies bypass the director, keep the "
                    "real server's address, and clients drop them",
                    f"ip route replace default via {director}")]


def _check_vip(mode: str, vip: str, facts: HostFacts) -> list[Finding]:
    holders = facts.holding(vip)
    # DR needs it on lo; TUN on lo or on the tunnel (the decapsulated packet only has to be local).
    homes = ("lo",) if mode == "dr" else (TUNNEL, "lo")
    findings = []
    held = [i.name for i in holders if i.name in homes]
    if not held:
        findings.append(Finding(Severity.ERROR, f"VIP {vip}", f"is not on {' or '.join(homes)}: this host "
                                "drops the packets the director forwards to it",
                                f"ip addr add {_host_prefix(vip)} dev {homes[0]}"))
    else:
        findings.append(Finding(Severity.OK, f"VIP {vip}", f"is on {held[0]}"))
    for other in holders:
        if other.name not in ("lo", TUNNEL):
            findings.append(Finding(Severity.ERROR, f"VIP {vip}", f"is on {other.name}, a network interface: "
                                    "this host claims the VIP on the wire and takes the director's traffic",
                                    f"ip addr del {_host_prefix(vip)} dev {other.name}"))
    return findings


def _check_arp(facts: HostFacts) -> list[Finding]:
    findings = []
    for interface in facts.interfaces:
        if interface.name == "lo" or not interface.up or interface.kind == "ipip":
            continue
        ignore = effective(facts.conf("all", "arp_ignore"), facts.conf(interface.name, "arp_ignore"))
        announce = effective(facts.conf("all", "arp_announce"), facts.conf(interface.name, "arp_announce"))
        name = interface.name
        cause = f"this host {meaning(ARP_IGNORE, ignore)}."
        if ignore in (1, 2):
            findings.append(Finding(Severity.OK, f"{name} arp_ignore={ignore}", cause))
        else:
            findings.append(Finding(Severity.ERROR, f"{name} arp_ignore={ignore}", cause,
                                    "sysctl -w net.ipv4.conf.all.arp_ignore=1 "
                                    f"net.ipv4.conf.{name}.arp_ignore=1"))
        cause = f"this host {meaning(ARP_ANNOUNCE, announce)}."
        if announce == 2:
            findings.append(Finding(Severity.OK, f"{name} arp_announce={announce}", cause))
        else:
            findings.append(Finding(Severity.WARNING, f"{name} arp_announce={announce}", cause,
                                    f"sysctl -w net.ipv4.conf.all.arp_announce=2 "
                                    f"net.ipv4.conf.{name}.arp_announce=2"))
    return findings


def _check_tunnel(facts: HostFacts) -> list[Finding]:
    tunnel = facts.interface(TUNNEL)
    if tunnel is None:
        state = "loaded" if "ipip" in facts.modules else "not loaded"
        return [Finding(Severity.ERROR, TUNNEL, f"does not exist (the ipip module is {state}): IP-in-IP from "
                        "the director is dropped", f"modprobe ipip && ip link set {TUNNEL} up")]
    findings = []
    if not tunnel.up:
        findings.append(Finding(Severity.ERROR, TUNNEL, "is down: IP-in-IP from the director is dropped",
                                f"ip link set {TUNNEL} up"))
    # rp_filter: the higher of all and the interface; 1 (strict) drops the decapsulated packets.
    strict = effective(facts.conf("all", "rp_filter"), facts.conf(TUNNEL, "rp_filter"))
    if strict == 1:
        findings.append(Finding(Severity.ERROR, f"{TUNNEL} rp_filter=1",
                                "strict reverse-path filtering drops the decapsulated packets, whose clients "
                                f"are not routed via {TUNNEL}",
                                "sysctl -w net.ipv4.conf.all.rp_filter=0 "
                                f"net.ipv4.conf.{TUNNEL}.rp_filter=0"))
    elif tunnel.up:
        findings.append(Finding(Severity.OK, TUNNEL, f"is up, rp_filter={strict}"))
    return findings
