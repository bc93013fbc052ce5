"""Whether this process may change IPVS: the kernel checks CAP_NET_ADMIN on every IPVS call."""

from __future__ import annotations

from pathlib import Path

CAP_NET_ADMIN = 12


def has_net_admin(status: Path = Path("/proc/self/status")) -> bool:
    """True when CAP_NET_ADMIN is in the effective set (unknown counts as no)."""
    try:
        for line in status.read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> CAP_NET_ADMIN & 1)
    except (OSError, ValueError, IndexError):
        pass
    return False
