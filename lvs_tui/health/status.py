"""What the checker knows, for the screen and for other lvs-top instances: the health view.

The engine publishes a frozen `HealthView` (read from any thread without locks). The headless
checker, and a dashboard running one, also write it to a state file (health/statefile.py), so
another `lvs-top` on the director shows the same health column, and a restarted checker knows
which servers it took out itself (it must bring those back; a server at weight 0 that it did not
take out was drained by hand and stays out).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lvs_tui.health.state import Health
from lvs_tui.ipvs.backend import DestConfig
from lvs_tui.model.records import DestKey, ServiceKey

EVENTS_KEPT = 200

Pair = tuple[ServiceKey, DestKey]
TakenOut = Mapping[ServiceKey, Mapping[DestKey, DestConfig]]


@dataclass(frozen=True, slots=True)
class ServerStatus:
    state: Health
    since: float | None  # wall-clock time of the last change of state
    detail: str  # the last check's result, or why the checker stands aside
    taken_out: bool = False  # out of rotation because of its checks; the checker brings it back


@dataclass(frozen=True, slots=True)
class HealthEvent:
    at: float  # wall-clock time
    service: ServiceKey
    level: str  # "info", "warning" or "error"
    text: str


@dataclass(frozen=True, slots=True)
class HealthView:
    servers: Mapping[Pair, ServerStatus] = field(default_factory=dict)
    events: tuple[HealthEvent, ...] = ()
    held: tuple[str, ...] = ()  # servers min_healthy keeps in rotation although they fail
    source: str = ""  # who checks: "this dashboard", "lvs-top health (pid 812)"
    running: bool = True  # False: read from the state file of a checker that has stopped
    updated: float = 0.0  # wall-clock time
    problem: str | None = None  # the state file could not be read: why, in a sentence (nothing else known)

    def of(self, service: ServiceKey, dest: DestKey) -> ServerStatus | None:
        return self.servers.get((service, dest))

    def events_of(self, service: ServiceKey) -> list[HealthEvent]:
        return [event for event in self.events if event.service == service]

    def counts(self) -> dict[Health, int]:
        counts = dict.fromkeys(Health, 0)
        for status in self.servers.values():
            counts[status.state] += 1
        return counts


def default_state_path() -> Path:
    """`/run/lvs-top/health.json` for root (where a systemd service runs), else the user's
    runtime directory."""
    if os.geteuid() == 0:
        return Path("/run/lvs-top/health.json")
    runtime = os.environ.get("XDG_RUNTIME_DIR") or os.environ.get("XDG_STATE_HOME") \
        or str(Path.home() / ".local" / "state")
    return Path(runtime) / "lvs-top" / "health.json"
