"""Reading a host's network facts: interfaces and addresses and routes over rtnetlink (pyroute2),
the per-interface ARP and rp_filter settings and the IPVS sysctls from /proc/sys, modules from
/proc and /lib/modules. Everything is read in the calling thread's network namespace."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from lvs_tui.doctor.director import DirectorFacts, Route
from lvs_tui.doctor.realserver import HostFacts, Interface

CONF_KEYS = ("arp_ignore", "arp_announce", "rp_filter", "forwarding")
TUNNEL_MODULES = ("ipip", "fou", "ip_gre", "ip6_tunnel")
IFF_UP = 0x1


def read_host(proc: Path = Path("/proc")) -> HostFacts:
    """This host's facts, in the calling thread's network namespace."""
    from pyroute2 import IPRoute  # type: ignore[import-untyped]

    with IPRoute() as rtnl:
        names: dict[int, Interface] = {}
        for link in rtnl.get_links():
            info = link.get_attr("IFLA_LINKINFO")
            kind = info.get_attr("IFLA_INFO_KIND") if info is not None else None
            names[link["index"]] = Interface(link.get_attr("IFLA_IFNAME"), bool(link["flags"] & IFF_UP),
                                             (), int(link.get_attr("IFLA_MTU") or 0), kind)
        addresses: dict[int, list[str]] = {}
        for address in rtnl.get_addr():
            addresses.setdefault(address["index"], []).append(
                f"{address.get_attr('IFA_ADDRESS')}/{address['prefixlen']}")
        gateways = []
        for family in (2, 10):  # AF_INET, AF_INET6
            for route in rtnl.get_routes(family=family, table=254):
                gateway = route.get_attr("RTA_GATEWAY")
                if route["dst_len"] == 0 and gateway:
                    gateways.append(gateway)
    interfaces = tuple(Interface(i.name, i.up, tuple(addresses.get(index, [])), i.mtu, i.kind)
                       for index, i in sorted(names.items()))
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
    from pyroute2 import IPRoute

    from lvs_tui.ops.sysctl import read_sysctls

    host = read_host(proc)
    mtus = {interface.name: interface.mtu for interface in host.interfaces}
    routes: dict[str, Route | None] = {}
    with IPRoute() as rtnl:
        names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in rtnl.get_links()}
        for address in set(addresses):
            try:
                found = rtnl.route("get", dst=address)
            except Exception:  # pyroute2's NetlinkError: ENETUNREACH and the like, i.e. no route
                routes[address] = None
                continue
            interface = names.get(found[0].get_attr("RTA_OIF"), "?")
            routes[address] = Route(found[0].get_attr("RTA_GATEWAY"), interface, mtus.get(interface, 1500))
    local = frozenset(address.split("/")[0] for i in host.interfaces for address in i.addresses)
    return DirectorFacts(host.sysctls.get("net.ipv4.ip_forward", 0), local, routes.get, host.modules,
                         read_sysctls(proc / "sys" / "net" / "ipv4" / "vs").values)
