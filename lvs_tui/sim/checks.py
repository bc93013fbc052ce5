"""What the kernel (and ipvsadm before it) refuses, as one-sentence errors about the object concerned."""

from __future__ import annotations

import ipaddress

from lvs_tui.ipvs.errors import InvalidArgument, SchedulerMissing
from lvs_tui.model import flags as F
from lvs_tui.model.records import DestKey, Family, Forward, ServiceKey, Tunnel, TunnelType
from lvs_tui.sim.schedulers import SCHEDULERS

KNOWN_PES = ("sip",)


def scheduler(key: ServiceKey, name: str) -> None:
    if name not in SCHEDULERS:
        known = ", ".join(sorted(SCHEDULERS))
        raise SchedulerMissing(
            f"Scheduler {name!r} for virtual service {key} is not available in the demo director "
            f"(it has {known})."
        )


def service_flags(key: ServiceKey, name: str, names: tuple[str, ...]) -> int:
    scheduler(key, name)
    try:
        return F.encode(names, name)
    except ValueError as error:
        raise InvalidArgument(f"Virtual service {key}: {error}.") from None


def netmask(key: ServiceKey, value: str | None) -> str:
    """Normalise to ipvsadm's notation: a dotted mask for IPv4, a prefix length for IPv6."""
    if key.family is Family.IPV6:
        text = "128" if value is None else value.lstrip("/")
        if not text.isdigit() or not 1 <= int(text) <= 128:
            raise InvalidArgument(f"Netmask {value!r} of virtual service {key} is not a prefix length 1-128.")
        return str(int(text))
    text = "255.255.255.255" if value is None else value
    try:
        net = ipaddress.IPv4Network(f"0.0.0.0/{text.lstrip('/')}")
    except ValueError:
        raise InvalidArgument(
            f"Netmask {value!r} of virtual service {key} is not a valid IPv4 mask."
        ) from None
    if net.prefixlen == 0:
        raise InvalidArgument(f"Netmask {value!r} of virtual service {key} must not be empty.")
    return str(net.netmask)


def timeout(key: ServiceKey, seconds: int) -> int:
    if seconds < 1:
        raise InvalidArgument(f"Persistence timeout of virtual service {key} must be at least 1 second.")
    return seconds


def pe(key: ServiceKey, name: str | None) -> str | None:
    if name in (None, ""):
        return None
    if name not in KNOWN_PES:
        raise InvalidArgument(
            f"Persistence engine {name!r} for virtual service {key} is unknown (known: sip)."
        )
    return name


def dest(
    service: ServiceKey,
    dest_key: DestKey,
    address: str,
    forward: Forward,
    tunnel: Tunnel | None,
    weight: int,
    upper: int,
    lower: int,
) -> Tunnel | None:
    """Validate a real server's settings; returns the tunnel as stored (None unless tunnelling)."""
    where = f"real server {dest_key} of virtual service {service}"
    if weight < 0:
        raise InvalidArgument(f"The weight of {where} must not be negative.")
    if upper < 0 or lower < 0:
        raise InvalidArgument(f"The thresholds of {where} must not be negative.")
    if lower > upper:  # the kernel's ERANGE: "lower threshold is higher than upper threshold"
        raise InvalidArgument(f"The lower threshold of {where} is higher than its upper threshold.")
    # A mixed family is allowed only for tunnelling (an IPv6 real server behind an IPv4 VIP).
    if Family.of(address) is not service.family and forward is not Forward.TUNNEL:
        raise InvalidArgument(
            f"The address family of {where} differs from the service's; only tunnels allow that."
        )
    if forward is not Forward.TUNNEL:
        return None
    tunnel = tunnel or Tunnel()
    if tunnel.type is TunnelType.GUE and not 1 <= tunnel.port <= 65535:
        raise InvalidArgument(f"The GUE tunnel of {where} needs a UDP port.")
    if tunnel.type is not TunnelType.GUE and tunnel.port:
        raise InvalidArgument(
            f"Only a GUE tunnel takes a port, not the {tunnel.type.value} tunnel of {where}."
        )
    return tunnel
