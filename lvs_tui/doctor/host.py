"""Reading a host's network facts: interfaces and addresses and routes over rtnetlink (doctor.rtnl),
the per-interface ARP and rp_filter settings and the IPVS sysctls from /proc/sys, modules from
/proc and /lib/modules. Everything is read in the calling thread's network namespace."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from lvs_tui.doctor.director import DirectorFacts, Route
from lvs_tui.doctor.realserver import HostFacts, Interface
from lvs_tui.ipvs import rtnl
from lvs_tui.ipvs.netlink import RouteSocket

CONF_KEYS = ("arp_ignore", "arp_announce", "rp_filter", "forwarding")
TUNNEL_MODULES = ("ipip", "fou", "ip_gre", "ip6_tunnel")


def read_host(proc: Path = Path("/proc")) -> HostFacts:
    """This host's facts, in the calling thread's network namespace."""
    with RouteSocket() as sock:
        found = rtnl.links(sock)
        addresses: dict[int, list[str]] = {}
        for index, address in rtnl.addresses(sock):
            addresses.setdefault(index, []).append(address)
        gateways = rtnl.default_gateways(sock)
    interfaces = tuple(Interface(link.name, link.up, tuple(addresses.get(link.index, ())), link.mtu,
                                 link.kind) for link in sorted(found, key=lambda link: link.index))
    return HostFacts(interfaces, _conf_sysctls(proc, [i.name for i in interfaces]), tuple(gateways),
                     _modules(proc))


def _conf_sysctls(proc: Path, interfaces: list[str]) -> dict[str, int]:
    values = {}
    base = proc / "sys" / "net" / "ipv4"
    for name in ("all", "default", *interfaces):
        for key in CONF_KEYS:
            try:
                values[f"net.ipv4.conf.{name}.{key}"] = int((base / "conf" / name / key).read_text())
            except (OSError, ValueError):
                continue
    with contextlib.suppress(OSError, ValueError):
        values["net.ipv4.ip_forward"] = int((base / "ip_forward").read_text())
    return values


def _modules(proc: Path) -> frozenset[str]:
    """Tunnel modules loaded, built in, or installed for the running kernel."""
    found = set()
    with contextlib.suppress(OSError):
        found |= {line.split(" ", 1)[0] for line in (proc / "modules").read_text().splitlines()}
    tree = Path("/lib/modules") / os.uname().release
    try:
        builtin = (tree / "modules.builtin").read_text()
    except OSError:
        builtin = ""
    for module in TUNNEL_MODULES:
        if f"/{module}.ko" in builtin or any(tree.glob(f"kernel/net/**/{module}.ko*")):
            found.add(module)
    return frozenset(found & set(TUNNEL_MODULES))


def read_director(addresses: Iterable[str], proc: Path = Path("/proc")) -> DirectorFacts:
    """The director's facts, with its routes to `addresses` (the real servers) looked up now."""
    from lvs_tui.ops.sysctl import read_sysctls

    host = read_host(proc)
    mtus = {interface.name: interface.mtu for interface in host.interfaces}
    routes: dict[str, Route | None] = {}
    with RouteSocket() as sock:
        names = {link.index: link.name for link in rtnl.links(sock)}
        for address in set(addresses):
            found = rtnl.route_to(sock, address)
            if found is None:
                routes[address] = None
                continue
            gateway, index = found
            interface = names.get(index, "?")
            routes[address] = Route(gateway, interface, mtus.get(interface, 1500))
    local = frozenset(address.split("/")[0] for i in host.interfaces for address in i.addresses)
    return DirectorFacts(host.sysctls.get("net.ipv4.ip_forward", 0), local, routes.get, host.modules,
                         read_sysctls(proc / "sys" / "net" / "ipv4" / "vs").values)
