"""The checker's state file: written so that a crash never leaves half of it, read so that nothing
in it can crash its reader.

Writing: a temporary file in the same directory, fsync'ed, renamed over the old one, then the
directory fsync'ed, so after a power cut the file is the old one or the new one, whole. Mode
0644: health is not secret, and other users' dashboards read it.

Reading: every field is checked for its type and range (times finite and before the year 2286,
pids within the kernel's limit, texts of bounded length, service and server ids and the saved
`ipvsadm -a` lines through the strict parsers); anything else is a `StateError` naming the field,
never another exception. The texts (source, details, events) are returned as written: whoever
puts them on a terminal passes them through `printable()`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lvs_tui.health.state import Health
from lvs_tui.health.status import EVENTS_KEPT, HealthEvent, HealthView, ServerStatus, TakenOut
from lvs_tui.ipvs.backend import DestConfig
from lvs_tui.model import inputs
from lvs_tui.model.records import DestKey, ServiceKey
from lvs_tui.ops import commands, rules
from lvs_tui.ops.atomic import write_atomically
from lvs_tui.ops.drainrecords import pid_alive

STATE_VERSION = 1
MAX_BYTES = 16 * 1024 * 1024
MAX_ITEMS = 200_000  # servers or events: more is not a file we wrote
MAX_TEXT = 16_384  # characters of a detail or an event's text
TIME_MAX = 1e10  # seconds since 1970: the year 2286; later is damage, not a date
PID_MAX = 4_194_304  # the kernel's PID_MAX_LIMIT
LEVELS = ("info", "warning", "error")

Memory = dict[ServiceKey, dict[DestKey, DestConfig]]


class StateError(ValueError):
    """A state file that cannot be read (`damaged` False: the file system said no) or is not one
    written by a checker (`damaged`)."""

    def __init__(self, path: Path, reason: str, damaged: bool = True) -> None:
        self.path, self.reason, self.damaged = path, reason, damaged
        how = "is damaged" if damaged else "cannot be read"
        super().__init__(f"the checker's state file {how}: {reason} ({path})")


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
    write_atomically(path, json.dumps(data, indent=1))


def read_state(path: Path) -> tuple[HealthView, Memory, int | None]:
    """The view, the servers the checker took out, and its pid (None after a clean stop)."""
    try:
        with open(path, "rb") as source:
            raw = source.read(MAX_BYTES + 1)
    except OSError as error:
        raise StateError(path, error.strerror or str(error), damaged=False) from None
    if len(raw) > MAX_BYTES:
        raise StateError(path, f"larger than {MAX_BYTES // 2**20} MiB")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise StateError(path, f"not JSON, perhaps cut short: {_clause(error)}") from None
    try:
        return _parse(data)
    # InputError and RuleError are ValueErrors; the others only if a check above missed a case:
    # this file is anyone's input, and its reader (a dashboard) must get a sentence, not a crash.
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
        raise StateError(path, _clause(error)) from None


def _clause(error: BaseException) -> str:
    text = " ".join(str(error).split()).rstrip(".")
    return text if len(text) <= 200 else text[:197] + "..."


def _parse(data: object) -> tuple[HealthView, Memory, int | None]:
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        raise ValueError(f"not an lvs-top health state file of version {STATE_VERSION}")
    pid = _get(data, "pid", "")
    if pid is not None:
        pid = inputs.bounded_int(pid, "pid", 1, PID_MAX)
    servers = {}
    for number, item in enumerate(_list(data, "servers")):
        where = f"servers[{number}]."
        key = (_service(_get(item, "service", where), where), _dest(_get(item, "dest", where), where))
        since = _get(item, "since", where)
        servers[key] = ServerStatus(_health(_get(item, "state", where), where),
                                    None if since is None else _time(since, where + "since"),
                                    _text(_get(item, "detail", where), where + "detail"),
                                    _bool(_get(item, "taken_out", where), where + "taken_out"))
    events = []
    for number, item in enumerate(_list(data, "events")):
        where = f"events[{number}]."
        level = _get(item, "level", where)
        if not isinstance(level, str) or level not in LEVELS:
            raise ValueError(f"{where}level must be one of {', '.join(LEVELS)}, not {_shown(level)}")
        events.append(HealthEvent(_time(_get(item, "at", where), where + "at"),
                                  _service(_get(item, "service", where), where), level,
                                  _text(_get(item, "text", where), where + "text")))
    held = tuple(_text(line, f"held[{number}]") for number, line in enumerate(_list(data, "held")))
    view = HealthView(servers, tuple(events), held, _text(_get(data, "source", ""), "source"),
                      pid is not None and pid_alive(pid), _time(_get(data, "updated", ""), "updated"))
    return view, _memory(_get(data, "taken_out", "")), pid


def _memory(value: object) -> Memory:
    if not isinstance(value, dict):
        raise ValueError(f"taken_out must be an object, not {_shown(value)}")
    memory: Memory = {}
    for service_id, lines in value.items():
        where = f"taken_out[{service_id!r}]"
        service = _service(service_id, where + ".")
        if not isinstance(lines, list):
            raise ValueError(f"{where} must be a list of ipvsadm -a lines, not {_shown(lines)}")
        for line in lines:
            rule = rules.parse_dest_rule(_text(line, where))
            if rule.service != service:
                raise ValueError(f"{where} holds a line of another service: {_shown(line)}")
            memory.setdefault(service, {})[rule.config.key] = rule.config
    return memory


def _get(item: object, key: str, where: str) -> Any:
    if not isinstance(item, dict):
        raise ValueError(f"{where.rstrip('.') or 'the file'} must be an object, not {_shown(item)}")
    if key not in item:
        raise ValueError(f"{where}{key} is missing")
    return item[key]


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = _get(data, key, "")
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise ValueError(f"{key} must be a list of at most {MAX_ITEMS} items, not {_shown(value)}")
    return value


def _service(value: object, where: str) -> ServiceKey:
    return ServiceKey.parse(_text(value, where + "service"))


def _dest(value: object, where: str) -> DestKey:
    return DestKey(*inputs.host_port(_text(value, where + "dest"), where + "dest"))


def _health(value: object, where: str) -> Health:
    if not isinstance(value, str) or value not in {state.value for state in Health}:
        raise ValueError(f"{where}state must be one of {', '.join(Health)}, not {_shown(value)}")
    return Health(value)


def _time(value: object, where: str) -> float:
    return inputs.finite(value, where, 0.0, TIME_MAX)


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ValueError(f"{where} must be a text of at most {MAX_TEXT} characters, not {_shown(value)}")
    return value


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where} must be true or false, not {_shown(value)}")
    return value


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
