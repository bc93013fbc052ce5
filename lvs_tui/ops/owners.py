"""Who else manages this IPVS table: keepalived, ldirectord or kube-proxy revert manual changes.

keepalived re-applies its virtual_server blocks on reload and on every checker transition,
ldirectord on every check cycle, kube-proxy (in IPVS mode) on every sync. A manual change on a
table they own lasts until then; the operator must know before making one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psutil

# name -> (how to recognise its process, its usual configuration files)
KNOWN: dict[str, tuple[str, tuple[str, ...]]] = {
    "keepalived": ("keepalived", ("/etc/keepalived/keepalived.conf",)),
    "ldirectord": ("ldirectord", ("/etc/ha.d/ldirectord.cf", "/etc/ldirectord.cf")),
    "kube-proxy": ("kube-proxy", ("/var/lib/kube-proxy/config.conf",)),
}


@dataclass(frozen=True, slots=True)
class Owner:
    name: str
    pid: int
    config: str | None  # the first of its configuration files that exists

    def warning(self) -> str:
        where = f", configured in {self.config}" if self.config else ""
        return (f"{self.name} (pid {self.pid}{where}) manages this IPVS table: a manual change may be "
                f"reverted on its next reload or check; change its configuration for a lasting one.")


def _matches(marker: str, name: str, cmdline: list[str]) -> bool:
    if name == marker or (cmdline and Path(cmdline[0]).name == marker):
        return True
    # ldirectord is a Perl script (`#!/usr/bin/perl -w`): its process may be named perl, and its
    # command line is `perl -w /usr/sbin/ldirectord start`: the script is perl's first non-option.
    if not (cmdline and Path(cmdline[0]).name.startswith("perl")):
        return False
    script = next((arg for arg in cmdline[1:] if not arg.startswith("-")), "")
    return Path(script).name == marker


def find_owners() -> tuple[Owner, ...]:
    """Running table managers, one per kind (the lowest pid: the parent of a daemon's children)."""
    found: dict[str, Owner] = {}
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        info = proc.info
        name, cmdline = info.get("name") or "", info.get("cmdline") or []
        for owner, (marker, configs) in KNOWN.items():
            if not _matches(marker, name, cmdline):
                continue
            pid = int(info["pid"])
            if owner in found and found[owner].pid < pid:
                continue
            config = next((path for path in configs if Path(path).exists()), None)
            found[owner] = Owner(owner, pid, config)
    return tuple(found[name] for name in KNOWN if name in found)
