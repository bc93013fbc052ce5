"""Reading the checker's config once tomllib has parsed it: every table checked for its type,
every value through the strict parsers of lvs_tui.model.inputs, every mistake collected.

Each setting keeps the key path it was written at (a value inherited from `[defaults]` is
blamed there), and `tomlpos.key_lines` gives that path its line, so a mistake is said as
`FILE:LINE: KEY: problem.` on the line that holds KEY. A table without a required key is said on
its header, named by its own key (`server: the address is missing`). Problems are deduplicated
(a bad default is wrong once, not once per server) and listed in the order of the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from lvs_tui.health.checks import Check, CommandCheck, HttpCheck, TcpCheck
from lvs_tui.health.config import ConfigError, HealthConfig, ServerHealth, ServiceHealth
from lvs_tui.health.tomlpos import Path, key_lines
from lvs_tui.model import inputs
from lvs_tui.model.printable import printable
from lvs_tui.model.records import DestKey, ServiceKey

ACTIONS = ("quiesce", "remove")
CHECK_TYPES = ("tcp", "http", "https", "command")
# Settings a level may carry, and where they may appear.
CHECK_KEYS = {"check", "interval", "timeout", "rise", "fall", "path", "host", "expect", "body", "verify",
              "command", "port"}
SERVICE_KEYS = CHECK_KEYS | {"action", "slow_start", "min_healthy"}
DEFAULT_KEYS = SERVICE_KEYS | {"parallel"}
# `check` unset: tcp, or command when a command is given.
BUILT_IN: dict[str, Any] = {"check": None, "interval": 5.0, "timeout": 3.0, "rise": 2, "fall": 3,
                            "path": "/", "expect": [200], "verify": True, "action": "quiesce",
                            "slow_start": 0.0, "min_healthy": 0, "parallel": 64}
# Bounds: finite, and no wider than what makes sense on a director.
INTERVAL = (0.1, 86_400.0)  # a check more often than 10 times a second is a flood, not a check
TIMEOUT = (0.01, 3_600.0)
SLOW_START = (0.0, 86_400.0)
PARALLEL = (1, 4_096)
PATH = re.compile(r"/[!-~]*")  # a request target: printable ASCII, no spaces (it goes in the request line)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Setting:
    value: Any
    where: Path  # the key path it was written at; () for a built-in default


Settings = dict[str, Setting]


def read_config(data: dict[str, Any], text: str, path: str) -> HealthConfig:
    reader = _Reader(text, path)
    config = reader.config(data)
    if reader.problems or config is None:
        raise ConfigError(reader.said())
    return config


def _closest_check(inherited: Settings, own: Settings) -> Settings:
    """The settings of a level over those it inherits, where the check type said closest wins: a
    command given here makes a command check whatever an outer level says, and a check type given
    here drops a command inherited from outside."""
    settings = {**inherited, **own}
    if "command" in own and "check" not in own:
        settings["check"] = Setting("command", own["command"].where)
    elif "check" in own and "command" not in own and own["check"].value != "command":
        settings.pop("command", None)
    return settings


def _said(error: ValueError) -> str:
    """An inputs message made without its subject ("must be ..."): the key names the subject."""
    return str(error).strip()


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Reader:
    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.lines = key_lines(text)
        self.problems: list[tuple[int, str]] = []
        self._said: set[str] = set()

    # --- problems ----------------------------------------------------------------------------------

    def fail(self, where: Path, key: str, problem: str) -> None:
        """A problem with `key`, written at `where` (the nearest table written, if not there)."""
        line = None
        for length in range(len(where), 0, -1):
            line = self.lines.get(where[:length])
            if line is not None:
                break
        at = printable(self.path) + ("" if line is None else f":{line}")
        said = f"{at}: {printable(key)}: {printable(problem.rstrip('.'))}."
        if said not in self._said:  # a bad default is one mistake, not one per server
            self._said.add(said)
            self.problems.append((line or 0, said))

    def said(self) -> list[str]:
        return [said for _, said in sorted(self.problems, key=lambda problem: problem[0])]

    def parsed(self, setting: Setting, key: str, parse: Callable[[Any], T]) -> T | None:
        """`parse(value)`, or None once a problem is recorded (parse raises ValueError)."""
        try:
            return parse(setting.value)
        except ValueError as error:
            self.fail(setting.where, key, _said(error))
            return None

    # --- tables ------------------------------------------------------------------------------------

    def table(self, where: Path, key: str, value: object, allowed: set[str], how: str) -> Settings | None:
        if not isinstance(value, dict):
            self.fail(where, key, f"must be a table ({how}), not {_shown(value)}")
            return None
        for name in value:
            if name not in allowed:
                self.fail((*where, name), name, f"unknown setting here (known: {', '.join(sorted(allowed))})")
        return {name: Setting(item, (*where, name)) for name, item in value.items()}

    def tables(self, where: Path, key: str, value: object, how: str) -> list[tuple[Path, object]]:
        if not isinstance(value, list):
            self.fail(where, key, f"must be an array of tables ({how}), not {_shown(value)}")
            return []
        return [((*where, index), item) for index, item in enumerate(value)]

    def config(self, data: dict[str, Any]) -> HealthConfig | None:
        for name in data:
            if name not in ("defaults", "service"):
                self.fail((name,), name, "unknown; the file has a [defaults] table and [[service]] tables")
        defaults = self.table(("defaults",), "defaults", data.get("defaults", {}), DEFAULT_KEYS,
                              "[defaults], its settings below it") or {}
        settings = {**{name: Setting(value, ()) for name, value in BUILT_IN.items()}, **defaults}
        if "service" not in data:
            self.fail((), "service", "no [[service]] table: at least one service is needed")
        listed = self.tables(("service",), "service", data.get("service", []),
                             "[[service]], once per service")
        services = [self.service(where, item, settings) for where, item in listed]
        seen: dict[ServiceKey, Path] = {}
        for service in services:
            if service is not None and seen.setdefault(service[0].key, service[1]) != service[1]:
                self.fail((*service[1], "service"), "service", f"{service[0].key} is configured twice")
        parallel = self.parsed(settings["parallel"], "parallel", _whole(*PARALLEL))
        if self.problems or parallel is None:
            return None
        return HealthConfig(self.path, tuple(service[0] for service in services if service is not None),
                            parallel)

    def service(self, where: Path, value: object, inherited: Settings) -> tuple[ServiceHealth, Path] | None:
        table = self.table(where, "service", value, SERVICE_KEYS | {"service", "server", "sorry"},
                           "[[service]] and its settings")
        if table is None:
            return None
        key = None
        if "service" not in table:
            self.fail(where, "service", 'the virtual service is missing: write service = "tcp:192.0.2.10:80"')
        else:
            key = self.parsed(table["service"], "service", lambda value: ServiceKey.parse(_text(value)))
        own = {name: setting for name, setting in table.items() if name not in ("server", "service", "sorry")}
        settings = _closest_check(inherited, own)
        if "server" not in table:
            self.fail(where, "service", "lists no real server: add [[service.server]] tables below it")
        listed = self.tables((*where, "server"), "server", table["server"].value if "server" in table else [],
                             "[[service.server]], once per real server")
        servers = [self.server(place, item, settings) for place, item in listed]
        dests: dict[DestKey, Path] = {}
        for server in servers:
            if server is not None and dests.setdefault(server[0].dest, server[1]) != server[1]:
                self.fail((*server[1], "address"), "address", f"{server[0].dest} is listed twice here")
        sorry = None
        if "sorry" in table:
            sorry = self.dest(table["sorry"], "sorry")
            if sorry is not None and sorry in dests:
                self.fail(table["sorry"].where, "sorry", f"{sorry} is one of the service's servers; the "
                                                         "sorry server stands in for them: name another")
        action = self.parsed(settings["action"], "action", lambda value: _choice(value, ACTIONS))
        slow_start = self.parsed(settings["slow_start"], "slow_start", _seconds(*SLOW_START))
        min_healthy = self.parsed(settings["min_healthy"], "min_healthy", _whole(0, inputs.INT_MAX))
        if min_healthy is not None and min_healthy > len(servers):
            self.fail(settings["min_healthy"].where, "min_healthy",
                      f"{min_healthy} is more than the {len(servers)} servers listed")
        parsed = tuple(server[0] for server in servers if server is not None)
        if None in (key, action, slow_start, min_healthy) or not parsed or len(parsed) < len(servers):
            return None
        assert key is not None and action is not None and slow_start is not None and min_healthy is not None
        return ServiceHealth(key, parsed, action, slow_start, min_healthy, sorry), where

    def dest(self, setting: Setting, key: str) -> DestKey | None:
        parsed = self.parsed(setting, key, lambda value: inputs.host_port(_text(value), ""))
        return None if parsed is None else DestKey(*parsed)

    def server(self, where: Path, value: object, inherited: Settings) -> tuple[ServerHealth, Path] | None:
        table = self.table(where, "server", value, CHECK_KEYS | {"address", "weight"},
                           "[[service.server]] and its settings")
        if table is None:
            return None
        dest = None
        if "address" not in table:
            self.fail(where, "server", 'the address is missing: write address = "198.51.100.11:80"')
        else:
            dest = self.dest(table["address"], "address")
        settings = _closest_check(inherited, {name: setting for name, setting in table.items()
                                              if name not in ("address", "weight")})
        weight = None
        if "weight" in table:
            weight = self.parsed(table["weight"], "weight", _whole(0, inputs.INT_MAX))
        rise = self.parsed(settings["rise"], "rise", _whole(1, inputs.INT_MAX))
        fall = self.parsed(settings["fall"], "fall", _whole(1, inputs.INT_MAX))
        interval = self.parsed(settings["interval"], "interval", _seconds(*INTERVAL))
        check = self.check(settings)
        port = self.check_port(settings, table, dest, check)
        if dest is None or check is None or port is None or rise is None or fall is None or interval is None:
            return None
        if "weight" in table and weight is None:
            return None
        return ServerHealth(dest, weight, check, port, interval, rise, fall), where

    def check_port(self, settings: Settings, table: Settings, dest: DestKey | None,
                   check: Check | None) -> int | None:
        if "port" in settings:
            return self.parsed(settings["port"], "port", _whole(1, inputs.PORT_MAX))
        if dest is not None and dest.port == 0 and not isinstance(check, CommandCheck):
            self.fail(table["address"].where, "address", "port 0 (every port) leaves the check nowhere to "
                                                         "connect: set port = the port to check")
            return None
        return None if dest is None else dest.port

    def check(self, settings: Settings) -> Check | None:
        kind_setting = settings["check"]
        if kind_setting.value is None:  # not said: a command check if a command is given, else tcp
            kind_setting = Setting("command" if "command" in settings else "tcp", kind_setting.where)
        kind = self.parsed(kind_setting, "check", lambda value: _choice(value, CHECK_TYPES))
        timeout = self.parsed(settings["timeout"], "timeout", _seconds(*TIMEOUT))
        # Every setting given is read, whatever the check type: a default serves several types.
        expect = self.parsed(settings["expect"], "expect", _statuses)
        path = self.parsed(settings["path"], "path", _path)
        verify = self.parsed(settings["verify"], "verify", _boolean)
        host = body = argv = None
        if "host" in settings:
            host = self.parsed(settings["host"], "host", lambda value: inputs.hostname(_text(value), ""))
        if "body" in settings:
            body = self.parsed(settings["body"], "body", lambda value: inputs.text(_text(value), ""))
        if "command" in settings:
            argv = self.parsed(settings["command"], "command", _argv)
            if kind not in (None, "command"):
                self.fail(settings["command"].where, "command",
                          f'a command is given but check = "{kind}": set check = "command"')
                return None
        elif kind == "command":
            self.fail(kind_setting.where, "check", 'a command check needs its program: command = '
                                                   '["/usr/local/bin/check-db", "--quick"]')
            return None
        if kind is None or timeout is None or expect is None or path is None or verify is None or (
                "host" in settings and host is None) or ("body" in settings and body is None):
            return None
        if kind == "tcp":
            return TcpCheck(timeout)
        if kind == "command":
            return None if argv is None else CommandCheck(argv, timeout)
        return HttpCheck(path, host, expect, body, kind == "https", verify, timeout)


def _whole(low: int, high: int) -> Callable[[Any], int]:
    return lambda value: inputs.bounded_int(value, "", low, high)


def _seconds(low: float, high: float) -> Callable[[Any], float]:
    return lambda value: inputs.finite(value, "", low, high)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise inputs.InputError(f" must be a string, not {_shown(value)}")
    return value


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise inputs.InputError(f" must be true or false, not {_shown(value)}")
    return value


def _statuses(value: object) -> tuple[int, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= 32:
        raise inputs.InputError(f" must list the HTTP statuses accepted, e.g. [200, 204], "
                                f"not {_shown(value)}")
    return tuple(inputs.bounded_int(status, " each status", 100, 599) for status in value)


def _path(value: object) -> str:
    path = inputs.text(_text(value), "")
    if not PATH.fullmatch(path):
        raise inputs.InputError(f" must be a request path: / then printable ASCII without spaces, e.g. "
                                f"/healthz, not {_shown(value)}")
    return path


def _argv(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= 64 or not value[0] \
            or not all(isinstance(argument, str) for argument in value):
        raise inputs.InputError(' must give the program and its arguments as a list of strings, e.g. '
                                '["/usr/local/bin/check-db", "--quick"] (no shell)')
    return tuple(inputs.text(arg, f" argument {number}", 1024) for number, arg in enumerate(value, 1))


def _choice(value: object, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise inputs.InputError(f" must be one of {', '.join(choices)}, not {_shown(value)}")
    assert isinstance(value, str)
    return value
