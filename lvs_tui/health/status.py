"""What the checker knows, for the screen and for other lvs-top instances: the health view and the
state file.

The engine publishes a frozen `HealthView` (read from any thread without locks). The headless
checker, and a dashboard running one, also write it to a state file, atomically (temp + rename),
so another `lvs-top` on the director shows the same health column, and a restarted checker knows
which servers it took out itself (it must bring those back; a server at weight 0 that it did not
take out was drained by hand and stays out).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lvs_tui.health.state import Health
from lvs_tui.ipvs.backend import DestConfig
from lvs_tui.model.records import DestKey, ServiceKey, parse_host_port
from lvs_tui.ops import commands, rules

STATE_VERSION = 1
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


def write_state(path: Path, view: HealthView, taken_out: TakenOut, pid: int | None) -> None:
    """Replace the state file at once: a reader sees the old file or the new one, never half."""
    data: dict[str, Any] = {
        "version": STATE_VERSION,
        "pid": pid,
        "source": view.source,
        "updated": view.updated,
        "servers": [
            {"service": service.id, "dest": dest.id, "state": status.state.value, "since": status.since,
             "detail": status.detail, "taken_out": status.taken_out}
            for (service, dest), status in view.servers.items()
        ],
        "events": [{"at": event.at, "service": event.service.id, "level": event.level, "text": event.text}
                   for event in view.events[-EVENTS_KEPT:]],
        "held": list(view.held),
        # The settings to bring each server back with, as `ipvsadm -a` lines.
        "taken_out": {service.id: [commands.add_dest(service, config).rule for config in dests.values()]
                      for service, dests in taken_out.items() if dests},
    }
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    fd, temporary = tempfile.mkstemp(prefix=".health-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1)
        os.chmod(temporary, 0o644)  # health is not secret: other users' dashboards read it
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class StateError(ValueError):
    """A state file that cannot be read or is not one."""


def read_state(path: Path) -> tuple[HealthView, dict[ServiceKey, dict[DestKey, DestConfig]], int | None]:
    """The view, the servers the checker took out, and its pid (None after a clean stop)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise StateError(f"{path} is not an lvs-top health state file (version {STATE_VERSION}).")
        servers = {
            (ServiceKey.parse(item["service"]), _dest_key(item["dest"])): ServerStatus(
                Health(item["state"]), item["since"], str(item["detail"]), bool(item["taken_out"]))
            for item in data["servers"]
        }
        events = tuple(HealthEvent(float(item["at"]), ServiceKey.parse(item["service"]), str(item["level"]),
                                   str(item["text"])) for item in data["events"])
        taken_out: dict[ServiceKey, dict[DestKey, DestConfig]] = {}
        for service_id, lines in data["taken_out"].items():
            service = ServiceKey.parse(service_id)
            for line in lines:
                rule = rules.parse_dest_rule(line)
                taken_out.setdefault(service, {})[rule.config.key] = rule.config
        pid = data["pid"]
        running = isinstance(pid, int) and pid_alive(pid)
        view = HealthView(servers, events, tuple(data["held"]), str(data["source"]), running,
                          float(data["updated"]))
        return view, taken_out, pid if isinstance(pid, int) else None
    except OSError as error:
        raise StateError(f"{path}: cannot read it ({error.strerror or error}).") from None
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        if isinstance(error, StateError):
            raise
        raise StateError(f"{path} is damaged ({error!r}); remove it to start afresh.") from None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _dest_key(text: str) -> DestKey:
    address, port = parse_host_port(text)
    return DestKey(address, port)

