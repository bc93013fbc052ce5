"""Formatting helpers shared by the batch output and the dashboard (pure, no Textual)."""

from __future__ import annotations

from lvs_tui.model.records import Dest, Forward, Service

_PREFIXES = ("", "K", "M", "G", "T", "P", "E")

FORWARD_LABELS: dict[Forward, str] = {
    Forward.MASQ: "Masq",
    Forward.ROUTE: "Route",
    Forward.TUNNEL: "Tunnel",
    Forward.LOCAL: "Local",
    Forward.BYPASS: "Bypass",
}

# What operators call the methods (ipvsadm's -m/-g/-i).
FORWARD_MODES: dict[Forward, str] = {
    Forward.MASQ: "NAT",
    Forward.ROUTE: "DR",
    Forward.TUNNEL: "TUN",
    Forward.LOCAL: "local",
    Forward.BYPASS: "bypass",
}


def human(value: float, exact: bool = False) -> str:
    """`1234567` -> `1.2M` (SI, 1000-based, like ipvsadm's rates); `exact` gives the integer."""
    if exact:
        return str(round(value))
    magnitude = abs(value)
    for prefix in _PREFIXES:
        if magnitude < 999.5:
            whole = prefix == "" and float(magnitude).is_integer()
            if whole or magnitude >= 9.95:
                return f"{'-' if value < 0 else ''}{magnitude:.0f}{prefix}"
            return f"{'-' if value < 0 else ''}{magnitude:.1f}{prefix}"
        magnitude /= 1000
    return f"{value:.3g}"


def bits(bytes_per_second: float, exact: bool = False) -> str:
    """Bytes per second shown as bits per second, the unit links are sold in."""
    return human(bytes_per_second * 8, exact) + ("" if exact else "b")


def service_label(service: Service) -> str:
    """`TCP  10.0.0.1:80` / `FWM  5` / `FWM  5 IPv6`, like ipvsadm's first column pair."""
    key = service.key
    if key.fwmark is not None:
        suffix = " IPv6" if key.family.value == "ipv6" else ""
        return f"FWM  {key.fwmark}{suffix}"
    assert key.protocol is not None
    return f"{key.protocol.value.upper():<4} {key.id.split(':', 1)[1]}"


def service_options(service: Service) -> str:
    """Scheduler, flags and persistence in ipvsadm's words: `wrr persistent 300 mask 255.255.255.0`."""
    parts = [service.scheduler]
    sched_flags = [flag for flag in service.flags if flag not in ("persistent", "ops")]
    if sched_flags:
        parts.append(f"({','.join(sched_flags)})")
    if service.persistent:
        parts.append(f"persistent {service.persistence_timeout}")
        host_mask = "128" if service.key.family.value == "ipv6" else "255.255.255.255"
        if service.netmask != host_mask:
            parts.append(f"mask {service.netmask}")
    if "ops" in service.flags:
        parts.append("ops")
    if service.pe:
        parts.append(f"pe {service.pe}")
    return " ".join(parts)


def forward_label(dest: Dest) -> str:
    """`Masq`, `Route`, `Tunnel`, or `Tunnel(gue:6080)` when the tunnel is not plain ipip."""
    label = FORWARD_LABELS[dest.forward]
    tunnel = dest.tunnel
    if dest.forward is Forward.TUNNEL and tunnel is not None and tunnel.type.value != "ipip":
        port = f":{tunnel.port}" if tunnel.port else ""
        label += f"({tunnel.type.value}{port})"
    return label


def duration(seconds: float) -> str:
    """`45s`, `3m05s`, `1h02m`: an ETA at a glance."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole // 60 % 60:02d}m"
