"""Which IPVS schedulers this kernel can use: its scheduler modules, loaded or loadable.

There is no netlink call that lists them. The kernel loads `ip_vs_NAME` on demand when a service
asks for scheduler NAME, so a scheduler is available when its module is loaded, built in, or
installed under /lib/modules for the running kernel.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# Modules named ip_vs_* that are not schedulers.
NOT_SCHEDULERS = frozenset({"ftp", "pe_sip", "proto_sctp"})
_MODULE = re.compile(r"ip_vs_([a-z0-9]+)\.ko(?:\.[a-z]+)?$")


def available_schedulers(
    modules_root: Path = Path("/lib/modules"),
    proc_modules: Path = Path("/proc/modules"),
    release: str | None = None,
) -> tuple[str, ...]:
    """Scheduler names, sorted; empty when nothing can be found (the form then takes any name)."""
    release = release or os.uname().release
    names: set[str] = set()
    tree = modules_root / release
    ipvs_dir = tree / "kernel" / "net" / "netfilter" / "ipvs"
    try:
        for entry in ipvs_dir.iterdir():
            match = _MODULE.fullmatch(entry.name)
            if match:
                names.add(match.group(1))
    except OSError:
        pass
    for listing in (tree / "modules.builtin", proc_modules):
        try:
            text = listing.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            word = line.split(" ", 1)[0].rsplit("/", 1)[-1]
            match = _MODULE.fullmatch(word) or re.fullmatch(r"ip_vs_([a-z0-9]+)", word)
            if match:
                names.add(match.group(1))
    return tuple(sorted(names - NOT_SCHEDULERS))
