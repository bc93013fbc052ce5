"""The IPVS sysctls that change what an operation does, and the warnings they call for.

They live in `/proc/sys/net/ipv4/vs/` (per network namespace), not on netlink.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lvs_tui.model.records import Dest, Forward, Protocol, Service

SYSCTL_DIR = Path("/proc/sys/net/ipv4/vs")

# The ones operations depend on, with what their values mean.
MEANINGS: dict[str, dict[int, str]] = {
    "expire_quiescent_template": {
        0: "persistence templates outlive a weight of 0: returning clients keep reaching a drained server",
        1: "templates of a weight-0 server expire: returning clients go elsewhere",
    },
    "expire_nodest_conn": {
        0: "connections to a removed server stay until they time out (packets to them are dropped)",
        1: "connections to a removed server are expired at once: their clients are reset",
    },
    "run_estimation": {
        0: "the kernel's rate estimates are off: its rates read 0 (lvs-top's measured rates still work)",
        1: "the kernel estimates rates every 2 s",
    },
    "conn_reuse_mode": {
        0: "a reused client port goes to the server of the previous connection, drained or not",
        1: "a reused client port is rescheduled when that is safe (TIME_WAIT, seen in NAT)",
        2: "as 1, and from FIN_WAIT too (the last state a DR or TUN director sees)",
        3: "as 2 (both bits set)",
    },
    "conntrack": {
        0: "IPVS connections are not tracked by netfilter (the fastest): iptables NAT and stateful "
           "rules do not see them",
        1: "IPVS connections are tracked by netfilter, so iptables NAT and stateful firewall rules see "
           "them",
    },
}


# What a kernel starts with; the simulated director behaves as if it had these.
KERNEL_DEFAULTS = {"expire_quiescent_template": 0, "expire_nodest_conn": 0, "run_estimation": 1,
                   "conn_reuse_mode": 1}


@dataclass(frozen=True, slots=True)
class Sysctls:
    values: dict[str, int]

    def get(self, name: str, default: int = 0) -> int:
        return self.values.get(name, default)

    def meaning(self, name: str) -> str:
        value = self.get(name)
        return MEANINGS.get(name, {}).get(value, f"{name}={value}")


def read_sysctls(directory: Path = SYSCTL_DIR) -> Sysctls:
    """Every integer sysctl of the directory; missing IPVS gives an empty set."""
    values: dict[str, int] = {}
    try:
        entries = sorted(directory.iterdir())
    except FileNotFoundError:
        return Sysctls(values)
    for entry in entries:
        try:
            text = entry.read_text().split()
        except OSError:  # write-only or vanished
            continue
        if len(text) == 1 and re.fullmatch(r"-?[0-9]{1,19}", text[0]):
            values[entry.name] = int(text[0])
    return Sysctls(values)


def drain_warnings(service: Service, sysctls: Sysctls, dest: Dest | None = None) -> list[str]:
    """What will surprise an operator who sets real server `dest` of `service` to weight 0."""
    warnings = []
    reuse = sysctls.get("conn_reuse_mode", KERNEL_DEFAULTS["conn_reuse_mode"])
    if (dest is not None and dest.forward in (Forward.ROUTE, Forward.TUNNEL) and not reuse & 2
            and service.key.protocol is not Protocol.UDP):
        # Seen in the kernel lab: a DR drain still sent new connections there, until bit 2 was set.
        warnings.append(
            f"net.ipv4.vs.conn_reuse_mode={reuse} with DR or TUN forwarding: the director sees those "
            "connections end in FIN_WAIT, and a client that reuses the port of one within its FIN timeout "
            "(120 s by default) still reaches the drained server; set net.ipv4.vs.conn_reuse_mode=3."
        )
    if service.persistent and sysctls.get("expire_quiescent_template") == 0:
        warnings.append(
            f"service {service.key} is persistent and net.ipv4.vs.expire_quiescent_template=0: "
            "returning clients keep reaching the drained server until their templates expire "
            f"({service.persistence_timeout} s after their last connection)."
        )
    if service.scheduler in ("sh", "mh") and f"{service.scheduler}-fallback" not in service.flags:
        warnings.append(
            f"service {service.key} uses {service.scheduler} without {service.scheduler}-fallback: "
            "new flows that hash to a weight-0 server are dropped, not sent elsewhere."
        )
    return warnings


def remove_warnings(sysctls: Sysctls) -> list[str]:
    if sysctls.get("expire_nodest_conn") == 1:
        return ["net.ipv4.vs.expire_nodest_conn=1: removing the server resets its remaining connections."]
    return []


def rate_warnings(sysctls: Sysctls) -> list[str]:
    if sysctls.values and sysctls.get("run_estimation", 1) == 0:
        return [f"net.ipv4.vs.run_estimation=0: {MEANINGS['run_estimation'][0]}."]
    return []
