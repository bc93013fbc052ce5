"""Where lvs-top keeps what must outlive one process on a director: the drain records, a rolling
maintenance's progress. One file of each per director (the host, or one network namespace).

Root keeps them under `/run/lvs-top/` (gone at a reboot, as the IPVS table is); anyone else under
the XDG state directory.
"""

from __future__ import annotations

import os
from pathlib import Path

RUN_DIR = Path("/run/lvs-top")


def state_dir() -> Path:
    if os.geteuid() == 0:
        return RUN_DIR
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "lvs-top"


def director_file(stem: str, netns: str | None) -> Path:
    """`drains.json` for this host's table, `drains-NETNS.json` for a namespace's."""
    return state_dir() / (f"{stem}.json" if netns is None else f"{stem}-{netns}.json")
