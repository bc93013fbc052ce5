"""Checks a write before it reaches the kernel, so the operator reads why in words, not an errno.

Each function returns the normalised value or raises InvalidArgument naming the object. The rules
follow what the kernel (net/netfilter/ipvs/ip_vs_ctl.c) and ipvsadm 1.31 enforce.
"""

from __future__ import annotations

import ipaddress
import re

from lvs_tui.ipvs.errors import InvalidArgument
from lvs_tui.model import flags as service_flags
from lvs_tui.model.records import Dest, DestKey, Family, Forward, ServiceKey, SyncDaemon, Tunnel, TunnelType

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,15}")  # IP_VS_SCHEDNAME_MAXLEN / IP_VS_PENAME_MAXLEN - NUL
U32_MAX = 0xFFFFFFFF
INT_MAX = 0x7FFFFFFF
# The kernel keeps timeouts in jiffies (seconds * HZ, HZ <= 1000) in an int.
MAX_TIMEOUT = INT_MAX // 1000
DEFAULT_PERSISTENCE = 300  # ipvsadm's `-p` without a value


def service_key(key: ServiceKey) -> None:
    if key.fwmark is not None:
        if not 0 < key.fwmark <= U32_MAX:
            raise InvalidArgument(f"service {key}: the firewall mark must be between 1 and {U32_MAX}.")
        return
    try:
        family = Family.of(key.address)
    except ValueError:
        raise InvalidArgument(f"service {key}: {key.address!r} is not an IP address.") from None
    if family is not key.family:
        raise InvalidArgument(f"service {key}: address {key.address} is not {key.family.value}.")
    if not 0 <= key.port <= 0xFFFF:
        raise InvalidArgument(f"service {key}: the port must be between 0 and 65535.")


def scheduler(key: ServiceKey, name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidArgument(f"service {key}: {name!r} is not a scheduler name (e.g. rr, wrr, wlc, sh, mh).")
    return name


def pe_name(key: ServiceKey, name: str | None) -> str | None:
    if not name:
        return None
    if not _NAME.fullmatch(name):
        raise InvalidArgument(f"service {key}: {name!r} is not a persistence engine name (e.g. sip).")
    return name


def flags(key: ServiceKey, names: tuple[str, ...], sched: str) -> int:
    try:
        return service_flags.encode(names, sched)
    except ValueError as exc:
        raise InvalidArgument(f"service {key}: {exc}.") from None


def persistence(key: ServiceKey, raw_flags: int, timeout: int) -> int:
    """The persistence timeout to send: as given, or ipvsadm's 300 s for a persistent service
    given none (0). A service that is not persistent keeps what it has (the kernel ignores it)."""
    if raw_flags & service_flags.PERSISTENT and timeout == 0:
        timeout = DEFAULT_PERSISTENCE
    if not 0 <= timeout <= MAX_TIMEOUT:
        raise InvalidArgument(f"service {key}: the persistence timeout must be at most {MAX_TIMEOUT} s.")
    if key.fwmark is None and key.port == 0 and not raw_flags & service_flags.PERSISTENT:
        # ipvsadm's rule: port 0 means "all ports", which only makes sense with persistence
        raise InvalidArgument(f"service {key}: port 0 is allowed only for a persistent service.")
    return timeout


def netmask(key: ServiceKey, mask: str | None) -> str:
    """ipvsadm's notation: IPv4 dotted mask (a prefix length is accepted too), IPv6 prefix length."""
    if mask is None:
        return "128" if key.family is Family.IPV6 else "255.255.255.255"
    text = mask.strip().lstrip("/")
    if key.family is Family.IPV6:
        if re.fullmatch("[0-9]{1,3}", text) and 1 <= int(text) <= 128:
            return str(int(text))
        raise InvalidArgument(f"service {key}: an IPv6 netmask is a prefix length (1-128), not {mask!r}.")
    try:
        return str(ipaddress.IPv4Network(f"0.0.0.0/{text}").netmask)
    except ValueError:
        raise InvalidArgument(
            f"service {key}: {mask!r} is not an IPv4 netmask (e.g. 255.255.255.0 or 24)."
        ) from None


def dest(service: ServiceKey, d: Dest) -> None:
    name = f"real server {d.key} of service {service}"
    try:
        family = Family.of(d.address)
    except ValueError:
        raise InvalidArgument(f"{name}: {d.address!r} is not an IP address.") from None
    if family is not d.family:
        raise InvalidArgument(f"{name}: address {d.address} is not {d.family.value}.")
    if family is not service.family and d.forward is not Forward.TUNNEL:
        # the kernel forwards to a server of the other family only by tunnelling
        raise InvalidArgument(
            f"{name}: an {family.value} server in an {service.family.value} service needs tunnel forwarding."
        )
    if not 0 <= d.port <= 0xFFFF:
        raise InvalidArgument(f"{name}: the port must be between 0 and 65535.")
    if not 0 <= d.weight <= INT_MAX:
        raise InvalidArgument(f"{name}: the weight must be between 0 and {INT_MAX}.")
    for label, value in (("upper", d.upper_threshold), ("lower", d.lower_threshold)):
        # The kernel keeps 32 bits, but ipvsadm 1.31 takes an int: one limit, so save/restore agree.
        if not 0 <= value <= INT_MAX:
            raise InvalidArgument(f"{name}: the {label} threshold must be between 0 and {INT_MAX}.")
    if d.lower_threshold > d.upper_threshold:
        # the kernel refuses it (ERANGE) even when the upper threshold is 0 (= no limit)
        raise InvalidArgument(
            f"{name}: the lower threshold ({d.lower_threshold}) is above the upper one ({d.upper_threshold})."
        )
    if d.tunnel is not None:
        if d.forward is not Forward.TUNNEL:
            raise InvalidArgument(f"{name}: tunnel settings need tunnel forwarding.")
        tunnel(name, d.tunnel)


def dest_port(service: ServiceKey, address: str, port: int, forward: Forward) -> None:
    """DR and TUN forward the packet as the client sent it, so the real server gets the VIP's port:
    ipvsadm silently replaces another port with the service's. Refused here, in words, instead."""
    if forward not in (Forward.ROUTE, Forward.TUNNEL) or service.fwmark is not None:
        return
    if service.port in (0, port):  # port 0: every port of the VIP, each kept as it came
        return
    mode = "DR" if forward is Forward.ROUTE else "TUN"
    raise InvalidArgument(
        f"real server {DestKey(address, port)} of service {service}: {mode} cannot change ports (packets "
        f"arrive for port {service.port}); use port {service.port}, or NAT forwarding to reach port {port}."
    )


def tunnel(name: str, t: Tunnel) -> None:
    known = {"nocsum", "csum", "remcsum"}
    unknown = set(t.flags) - known
    if unknown:
        raise InvalidArgument(f"{name}: unknown tunnel flag {sorted(unknown)[0]!r} (csum, nocsum, remcsum).")
    if len(set(t.flags)) > 1:
        raise InvalidArgument(f"{name}: choose one of nocsum, csum and remcsum.")
    if t.type is TunnelType.GUE:
        if not 0 < t.port <= 0xFFFF:
            raise InvalidArgument(f"{name}: a gue tunnel needs a port between 1 and 65535.")
        return
    if t.port:
        raise InvalidArgument(f"{name}: only gue tunnels have a port.")
    if t.type is TunnelType.IPIP and t.flags:
        raise InvalidArgument(f"{name}: ipip tunnels have no checksum options.")
    if "remcsum" in t.flags:
        raise InvalidArgument(f"{name}: remcsum is a gue option.")


def timeout(label: str, value: int) -> int:
    if not 0 <= value <= MAX_TIMEOUT:
        raise InvalidArgument(f"the {label} timeout must be between 0 (unchanged) and {MAX_TIMEOUT} s.")
    return value


DAEMON_STATES = ("master", "backup")
IFNAMSIZ = 16  # the kernel's limit on an interface name, its final NUL included


def daemon(d: SyncDaemon) -> None:
    """A sync daemon as ipvsadm --start-daemon takes it: master or backup, an interface name the
    kernel can hold, a sync id of 0 to 255 (0: a backup takes any)."""
    if d.state not in DAEMON_STATES:
        raise InvalidArgument(f"a sync daemon is a master or a backup, not {d.state!r}.")
    name = d.mcast_ifn
    if not name or len(name) >= IFNAMSIZ or name in (".", "..") or any(
            ch in "/:" or ch.isspace() or not ch.isprintable() for ch in name):
        raise InvalidArgument(f"sync {d.state}: {name!r} is not an interface name (1 to {IFNAMSIZ - 1} "
                              "characters, no blank, / or :).")
    if not 0 <= d.syncid <= 255:
        raise InvalidArgument(f"sync {d.state}: the sync id must be between 0 and 255.")
