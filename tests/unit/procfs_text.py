"""/proc/net/ip_vs as the kernel prints it (ip_vs_ctl.c, ip_vs_info_seq_show), from a snapshot:
the parser's tests compare what it reads back with the snapshot it was printed from."""

from __future__ import annotations

import ipaddress

from lvs_tui.model.records import Family, Forward, Snapshot

NAMES = {Forward.MASQ: "Masq", Forward.LOCAL: "Local", Forward.TUNNEL: "Tunnel", Forward.ROUTE: "Route",
         Forward.BYPASS: "Masq"}


def _v6(address: str) -> str:
    return ipaddress.IPv6Address(address).exploded


def _v4(address: str) -> str:
    return f"{int(ipaddress.IPv4Address(address)):08X}"


def proc_text(snapshot: Snapshot, size: int = 4096) -> str:
    lines = [f"IP Virtual Server version 1, 2, 1 (size={size})".replace(", ", "."),
             "Prot LocalAddress:Port Scheduler Flags",
             "  -> RemoteAddress:Port Forward Weight ActiveConn InActConn"]
    for service in snapshot.services:
        key = service.key
        ops = "ops " if "ops" in service.flags else ""
        if key.fwmark is not None:
            line = f"FWM  {key.fwmark:08X} {service.scheduler} {ops}"
        elif key.family is Family.IPV6:
            line = f"{key.protocol.upper() if key.protocol else ''}  [{_v6(key.address)}]:{key.port:04X} " \
                   f"{service.scheduler} "
        else:
            line = f"{key.protocol.upper() if key.protocol else ''}  {_v4(key.address)}:{key.port:04X} " \
                   f"{service.scheduler} {ops}"
        if service.persistent:
            ipv4 = key.family is Family.IPV4
            mask = int(ipaddress.IPv4Address(service.netmask)) if ipv4 else int(service.netmask)
            line += f"persistent {service.persistence_timeout} {mask:08X}"
        lines.append(line)
        for dest in service.dests:
            address = f"[{_v6(dest.address)}]" if dest.family is Family.IPV6 else _v4(dest.address)
            lines.append(f"  -> {address}:{dest.port:04X}      {NAMES[dest.forward]:<7} {dest.weight:<6} "
                         f"{dest.active_conns:<10} {dest.inactive_conns:<10}")
    return "\n".join(lines) + "\n"
