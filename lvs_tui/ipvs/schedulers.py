"""Which IPVS schedulers and persistence engines this kernel can use: its modules, loaded or
loadable.

There is no netlink call that lists them. The kernel loads `ip_vs_NAME` (`ip_vs_pe_NAME`) on
demand when a service asks for it, so one is available when its module is loaded, built in, or
installed under /lib/modules for the running kernel, and loading is allowed: with
`kernel.modules_disabled=1` a module on disk that is not loaded yet cannot be used.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# Modules named ip_vs_* that are not schedulers.
NOT_SCHEDULERS = frozenset({"ftp", "proto_sctp"})
_MODULE = re.compile(r"ip_vs_([a-z0-9_]+)\.ko(?:\.[a-z]+)?$")
MODULES_DISABLED = Path("/proc/sys/kernel/modules_disabled")


def available_schedulers(
    modules_root: Path = Path("/lib/modules"),
    proc_modules: Path = Path("/proc/modules"),
    release: str | None = None,
    modules_disabled: Path = MODULES_DISABLED,
) -> tuple[str, ...]:
    """Scheduler names, sorted; empty when nothing can be found (the form then takes any name)."""
    names = _modules(modules_root, proc_modules, release, modules_disabled)
    return tuple(sorted(name for name in names - NOT_SCHEDULERS if not name.startswith("pe_")))


def available_engines(
    modules_root: Path = Path("/lib/modules"),
    proc_modules: Path = Path("/proc/modules"),
    release: str | None = None,
    modules_disabled: Path = MODULES_DISABLED,
) -> tuple[str, ...]:
    """Persistence engine names (`sip`), sorted; empty when nothing can be found."""
    names = _modules(modules_root, proc_modules, release, modules_disabled)
    return tuple(sorted(name.removeprefix("pe_") for name in names if name.startswith("pe_")))


def _modules(modules_root: Path, proc_modules: Path, release: str | None, modules_disabled: Path) -> set[str]:
    """The ip_vs_* module names (without the prefix) that can serve now."""
    release = release or os.uname().release
    names: set[str] = set()
    tree = modules_root / release
    ipvs_dir = tree / "kernel" / "net" / "netfilter" / "ipvs"
    listings = [tree / "modules.builtin", proc_modules]
    if _loading_allowed(modules_disabled):
        try:
            for entry in ipvs_dir.iterdir():
                match = _MODULE.fullmatch(entry.name)
                if match:
                    names.add(match.group(1))
        except OSError:
            pass
    for listing in listings:
        try:
            text = listing.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            word = line.split(" ", 1)[0].rsplit("/", 1)[-1]
            match = _MODULE.fullmatch(word) or re.fullmatch(r"ip_vs_([a-z0-9_]+)", word)
            if match:
                names.add(match.group(1))
    return names


def _loading_allowed(modules_disabled: Path) -> bool:
    try:
        return modules_disabled.read_text().strip() != "1"
    except OSError:
        return True
