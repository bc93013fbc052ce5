"""The director's side of NAT, DR and TUN: what each service's forwarding methods need from the
director, checked against its facts, and the live symptom of NAT replies that bypass it.

`diagnose` is pure: the table twice (`before`, `after`, some seconds apart, for the symptom) and
`DirectorFacts` read by `read_director`. Findings name the object and say cause and fix.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from lvs_tui.doctor.findings import Finding, Severity
from lvs_tui.model.records import Dest, Forward, Protocol, Service, Snapshot, TunnelType
from lvs_tui.ops.sysctl import MEANINGS

# Bytes each encapsulation adds in front of the inner packet (outer IPv4 header, and UDP + GUE or GRE).
TUNNEL_OVERHEAD = {TunnelType.IPIP: 20, TunnelType.GUE: 20 + 8 + 4, TunnelType.GRE: 20 + 4}
TUNNEL_MODULE = {TunnelType.IPIP: "ipip", TunnelType.GUE: "fou", TunnelType.GRE: "ip_gre"}
FULL_PACKET = 1500  # what clients on Ethernet send; less room than this needs fragmentation or PMTU
# The NAT symptom: this many packets in with none out, between the two samples.
SYMPTOM_PACKETS = 10


@dataclass(frozen=True, slots=True)
class Route:
    gateway: str | None  # None: directly connected
    interface: str
    mtu: int


@dataclass(frozen=True, slots=True)
class DirectorFacts:
    ip_forward: int
    local_addresses: frozenset[str]
    route: Callable[[str], Route | None]  # how the director reaches an address; None: no route
    modules: frozenset[str] = frozenset()
    vs_sysctls: Mapping[str, int] = field(default_factory=dict)  # "conntrack" -> 0


def diagnose(before: Snapshot, after: Snapshot, facts: DirectorFacts, seconds: float) -> list[Finding]:
    findings: list[Finding] = []
    nat = [service for service in after.services if _uses(service, Forward.MASQ)]
    if nat and facts.ip_forward == 0:
        names = ", ".join(service.key.id for service in nat[:3]) + (" ..." if len(nat) > 3 else "")
        findings.append(_error("sysctl net.ipv4.ip_forward",
                               f"is 0: the director does not forward, so the NAT services ({names}) reach "
                               "no real server", "sysctl -w net.ipv4.ip_forward=1"))
    for service in after.services:
        findings += [replace(finding, service=service.key.id)
                     for finding in _service(service, before.service(service.key), facts, seconds)]
    findings += _port_reuse(after, facts)
    for name, values in MEANINGS.items():
        if name in facts.vs_sysctls:
            value = facts.vs_sysctls[name]
            findings.append(Finding(Severity.INFO, f"sysctl net.ipv4.vs.{name}={value}",
                                    values.get(value, f"{value} is not a documented value") + "."))
    return findings


def _port_reuse(table: Snapshot, facts: DirectorFacts) -> list[Finding]:
    """DR and TUN services under conn_reuse_mode without bit 2: a drained server keeps getting the
    new connections of clients that reuse a port (seen in the kernel lab during a drain)."""
    reuse = facts.vs_sysctls.get("conn_reuse_mode")
    if reuse is None or reuse & 2:
        return []
    routed = [service.key.id for service in table.services if service.key.protocol is not Protocol.UDP
              and (_uses(service, Forward.ROUTE) or _uses(service, Forward.TUNNEL))]
    if not routed:
        return []
    names = ", ".join(routed[:3]) + (" ..." if len(routed) > 3 else "")
    return [Finding(Severity.WARNING, f"sysctl net.ipv4.vs.conn_reuse_mode={reuse}",
                    f"the DR and TUN services ({names}) see their connections end in FIN_WAIT, where "
                    "this mode does not reschedule: a client that reuses a port within the FIN timeout "
                    "reaches the same real server, even once it is drained (weight 0).",
                    "sysctl -w net.ipv4.vs.conn_reuse_mode=3")]


def _error(subject: str, cause: str, fix: str) -> Finding:
    return Finding(Severity.ERROR, subject, cause, fix)


def _uses(service: Service, forward: Forward) -> bool:
    return any(dest.forward is forward for dest in service.dests)


def _service(service: Service, earlier: Service | None, facts: DirectorFacts,
             seconds: float) -> list[Finding]:
    findings: list[Finding] = []
    key = service.key
    if _uses(service, Forward.ROUTE) and key.fwmark is None and key.address not in facts.local_addresses:
        findings.append(_error(f"service {key}",
                               f"is DR, but the VIP {key.address} is not configured on the director: the "
                               "router's ARP for the VIP finds nobody, or a real server",
                               f"ip addr add {_host(key.address)} dev <interface facing the router>"))
    for dest in service.dests:
        subject = f"real server {dest.key} of {key}"
        route = facts.route(dest.address)
        if route is None:
            findings.append(_error(subject, "has no route from the director: nothing reaches it",
                                   f"ip route add {dest.address} via <gateway>"))
            continue
        if dest.forward is Forward.MASQ:
            findings += _nat_symptom(subject, dest, earlier, seconds)
        elif dest.forward is Forward.ROUTE:
            findings += _dr(subject, service, dest, route)
        elif dest.forward is Forward.TUNNEL:
            findings += _tun(subject, dest, route, facts)
    return findings


def _nat_symptom(subject: str, dest: Dest, earlier: Service | None, seconds: float) -> list[Finding]:
    old = None if earlier is None else earlier.dest(dest.key)
    if old is None:
        return []
    received = dest.stats.inpkts - old.stats.inpkts
    sent = dest.stats.outpkts - old.stats.outpkts
    if received < SYMPTOM_PACKETS or sent != 0:
        return []
    return [_error(subject,
                   f"took {received} packets from clients and sent none back through the director in "
                   f"{seconds:g} s: real server {dest.address} is probably not using the director as its "
                   "gateway, so its replies bypass it and clients drop them",
                   f"on {dest.address}: lvs-top realserver --mode nat --vip <VIP> --director <this "
                   "director's address on its network> --apply")]


def _dr(subject: str, service: Service, dest: Dest, route: Route) -> list[Finding]:
    findings = []
    if route.gateway is not None:
        findings.append(_error(subject,
                               f"is reached via the gateway {route.gateway}: DR rewrites only the MAC "
                               "address, so a real server must be on a network directly connected to the "
                               "director", "move it onto a directly connected network, or use TUN (-i)"))
    port = service.key.port
    if service.key.fwmark is None and port != 0 and dest.port != port:
        findings.append(_error(subject, f"has port {dest.port} but DR cannot change ports: packets arrive "
                               f"for port {port}", f"serve on port {port} and add it with that port"))
    return findings


def _tun(subject: str, dest: Dest, route: Route, facts: DirectorFacts) -> list[Finding]:
    kind = dest.tunnel.type if dest.tunnel is not None else TunnelType.IPIP
    findings = []
    module = TUNNEL_MODULE[kind]
    if module not in facts.modules:
        findings.append(_error(subject, f"tunnels with {kind.value} but the {module} module is neither "
                               "loaded nor installed: the director cannot encapsulate", f"modprobe {module}"))
    overhead = TUNNEL_OVERHEAD[kind]
    room = route.mtu - overhead
    if room < FULL_PACKET:
        findings.append(Finding(Severity.WARNING, subject,
                                f"{kind.value} adds {overhead} bytes and the path via {route.interface} has "
                                f"MTU {route.mtu}: full-size client packets (over {room} bytes) need "
                                "fragmentation or path-MTU discovery",
                                f"raise the MTU of {route.interface} to {FULL_PACKET + overhead}, or clamp "
                                f"the clients' TCP MSS to {room - 40}"))
    return findings


def _host(address: str) -> str:
    return f"{address}/{128 if ipaddress.ip_address(address.strip('[]')).version == 6 else 32}"
