"""The checker's configuration: a TOML file of services and real servers to check.

    [defaults]                  # every service, unless it says otherwise
    check = "http"              # tcp, http, https or command
    interval = 5                # seconds between checks of one server
    timeout = 3
    rise = 2                    # successes in a row to become healthy
    fall = 3                    # failures in a row to become unhealthy
    action = "quiesce"          # quiesce: weight 0, restored on recovery; remove: delete, re-add

    [[service]]
    service = "tcp:192.0.2.10:80"
    path = "/healthz"
    expect = [200]
    min_healthy = 1             # never take out the last server on the strength of checks alone
    sorry = "198.51.100.99:80"  # added when no server is healthy

      [[service.server]]
      address = "198.51.100.11:8080"
      weight = 3                # the weight it has when healthy

A setting on a server overrides its service's, which overrides `[defaults]`. Every mistake is
reported as `FILE:LINE: KEY: what is wrong`, and nothing is returned half-configured.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lvs_tui.health.checks import Check, CommandCheck, HttpCheck, TcpCheck
from lvs_tui.model.records import DestKey, ServiceKey, parse_host_port

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


@dataclass(frozen=True, slots=True)
class ServerHealth:
    dest: DestKey
    weight: int | None  # when healthy; None: the weight it has when the checker starts
    check: Check
    check_port: int  # where the check connects (the real server's port unless `port` says)
    interval: float
    rise: int
    fall: int


@dataclass(frozen=True, slots=True)
class ServiceHealth:
    key: ServiceKey
    servers: tuple[ServerHealth, ...]
    action: str  # "quiesce" or "remove"
    slow_start: float  # seconds over which a recovered server's weight ramps up; 0 = at once
    min_healthy: int
    sorry: DestKey | None


@dataclass(frozen=True, slots=True)
class HealthConfig:
    path: str
    services: tuple[ServiceHealth, ...]
    parallel: int


def describe(config: HealthConfig) -> str:
    """`2 services, 5 real servers`: what a config checks, for logs."""
    services = len(config.services)
    servers = sum(len(service.servers) for service in config.services)
    return f"{services} service{'s' * (services != 1)}, {servers} real server{'s' * (servers != 1)}"


class ConfigError(ValueError):
    """`FILE:LINE: KEY: problem`: what an operator needs to fix the file."""


def load_config(path: str | Path) -> HealthConfig:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read it ({error.strerror or error}).") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file.") from None
    return parse_config(text, str(path))


def parse_config(text: str, path: str = "<config>") -> HealthConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"\(at line ([0-9]+), column [0-9]+\)", str(error))
        line = match.group(1) if match else "?"
        problem = re.sub(r"\s*\(at line [0-9]+, column [0-9]+\)", "", str(error))
        raise ConfigError(f"{path}:{line}: not valid TOML: {problem}.") from None
    return _Reader(text, path).config(data)


def _closest_check(inherited: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """The settings of a level over those it inherits, where the check type said closest wins: a
    command given here makes a command check whatever an outer level says, and a check type given
    here drops a command inherited from outside."""
    settings = {**inherited, **own}
    if "command" in own and "check" not in own:
        settings["check"] = "command"
    elif "check" in own and "command" not in own and own["check"] != "command":
        settings.pop("command", None)
    return settings


class _Reader:
    def __init__(self, text: str, path: str) -> None:
        self.lines = text.splitlines()
        self.path = path

    def fail(self, where: tuple[str | int, ...], key: str, problem: str) -> ConfigError:
        # A value may be inherited: look for the key in the table, then in its service, then in
        # [defaults]; without it anywhere, name the table's own header line.
        for scope in (where, where[:2], ("defaults",)):
            line = self.line_of(scope, key, exact=True)
            if line is not None:
                break
        else:
            line = self.line_of(where, key, exact=False)
        return ConfigError(f"{self.path}:{line}: {key}: {problem}.")

    def line_of(self, where: tuple[str | int, ...], key: str, exact: bool) -> int | None:
        """The line of `key` in the table at `where` (e.g. ("service", 1, "server", 0)); without
        `exact`, the table's header line when the key is not there."""
        start = 0
        if where and where[0] == "service":
            start = self._nth_header("[[service]]", int(where[1]), 0)
            if len(where) > 2:
                start = self._nth_header("[[service.server]]", int(where[3]), start)
        elif where == ("defaults",):
            start = next((i for i, line in enumerate(self.lines) if line.strip() == "[defaults]"), -1)
            if start < 0:
                return None if exact else 1
        for number in range(start, len(self.lines)):
            stripped = self.lines[number].strip()
            if number > start and stripped.startswith("["):
                break
            if re.match(rf"{re.escape(key)}\s*=", stripped):
                return number + 1
        if exact:
            return None
        return start + 1

    def _nth_header(self, header: str, index: int, after: int) -> int:
        seen = -1
        for number in range(after, len(self.lines)):
            stripped = self.lines[number].strip()
            if header == "[[service.server]]" and number > after and stripped == "[[service]]":
                break
            if stripped == header:
                seen += 1
                if seen == index:
                    return number
        return after

    def config(self, data: dict[str, Any]) -> HealthConfig:
        unknown = set(data) - {"defaults", "service"}
        if unknown:
            key = sorted(unknown)[0]
            raise self.fail((), key, "unknown; the file has [defaults] and [[service]] tables")
        defaults = data.get("defaults", {})
        self.known(("defaults",), defaults, DEFAULT_KEYS)
        settings = {**BUILT_IN, **defaults}
        services = data.get("service", [])
        if not isinstance(services, list) or not services:
            raise self.fail((), "service", "at least one [[service]] table is needed")
        parsed = tuple(self.service(i, {**settings}, table) for i, table in enumerate(services))
        service_keys = [service.key for service in parsed]
        for i, service_key in enumerate(service_keys):
            if service_key in service_keys[:i]:
                raise self.fail(("service", i), "service", f"{service_key} is configured twice")
        parallel = self.number(("defaults",), "parallel", settings["parallel"], int, 1)
        return HealthConfig(self.path, parsed, int(parallel))

    def known(self, where: tuple[str | int, ...], table: dict[str, Any], allowed: set[str]) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(where, key, f"unknown setting here (known: {', '.join(sorted(allowed))})")

    def service(self, index: int, inherited: dict[str, Any], table: dict[str, Any]) -> ServiceHealth:
        where: tuple[str | int, ...] = ("service", index)
        self.known(where, table, SERVICE_KEYS | {"service", "server", "sorry"})
        if "service" not in table:
            raise self.fail(where, "service", "missing: name the virtual service, e.g. tcp:192.0.2.10:80")
        try:
            key = ServiceKey.parse(str(table["service"]))
        except ValueError as error:
            raise self.fail(where, "service", str(error)) from None
        own = {k: v for k, v in table.items() if k not in ("server", "service", "sorry")}
        settings = _closest_check(inherited, own)
        servers = table.get("server", [])
        if not isinstance(servers, list) or not servers:
            raise self.fail(where, "server", f"service {key} lists no [[service.server]] to check")
        parsed = tuple(self.server((*where, "server", i), {**settings}, server)
                       for i, server in enumerate(servers))
        dests = [server.dest for server in parsed]
        for i, dest in enumerate(dests):
            if dest in dests[:i]:
                raise self.fail((*where, "server", i), "address", f"{dest} is listed twice in {key}")
        sorry = None
        if "sorry" in table:
            sorry = self.dest(where, "sorry", table["sorry"])
        action = settings["action"]
        if action not in ACTIONS:
            raise self.fail(where, "action", f"{action!r} is not one of {', '.join(ACTIONS)}")
        slow_start = self.number(where, "slow_start", settings["slow_start"], float, 0)
        min_healthy = self.number(where, "min_healthy", settings["min_healthy"], int, 0)
        if min_healthy > len(parsed):
            raise self.fail(where, "min_healthy",
                            f"{min_healthy} is more than the {len(parsed)} servers listed")
        return ServiceHealth(key, parsed, action, float(slow_start), int(min_healthy), sorry)

    def dest(self, where: tuple[str | int, ...], key: str, value: object) -> DestKey:
        try:
            address, port = parse_host_port(str(value))
        except ValueError as error:
            raise self.fail(where, key, str(error)) from None
        return DestKey(address, port)

    def server(self, where: tuple[str | int, ...], inherited: dict[str, Any],
               table: dict[str, Any]) -> ServerHealth:
        self.known(where, table, CHECK_KEYS | {"address", "weight"})
        if "address" not in table:
            raise self.fail(where, "address", "missing: the real server as address:port")
        dest = self.dest(where, "address", table["address"])
        own = {k: v for k, v in table.items() if k not in ("address", "weight")}
        settings = _closest_check(inherited, own)
        weight = None
        if "weight" in table:
            weight = int(self.number(where, "weight", table["weight"], int, 0))
        port = int(self.number(where, "port", settings.get("port", dest.port), int, 0))
        if port > 0xFFFF:
            raise self.fail(where, "port", f"{port} is not a port")
        rise = int(self.number(where, "rise", settings["rise"], int, 1))
        fall = int(self.number(where, "fall", settings["fall"], int, 1))
        interval = float(self.number(where, "interval", settings["interval"], float, 0.1))
        return ServerHealth(dest, weight, self.check(where, settings), port, interval, rise, fall)

    def check(self, where: tuple[str | int, ...], settings: dict[str, Any]) -> Check:
        kind = settings["check"] or ("command" if "command" in settings else "tcp")
        if kind not in CHECK_TYPES:
            raise self.fail(where, "check", f"{kind!r} is not one of {', '.join(CHECK_TYPES)}")
        timeout = float(self.number(where, "timeout", settings["timeout"], float, 0.01))
        if "command" in settings and kind != "command":
            raise self.fail(where, "command",
                            f'a command is given but check = "{kind}": set check = "command"')
        if kind == "tcp":
            return TcpCheck(timeout)
        if kind == "command":
            argv = settings.get("command")
            if not isinstance(argv, list) or not argv or not all(isinstance(a, str) and a for a in argv):
                raise self.fail(where, "command", "give the program and its arguments as a list of strings, "
                                                  'e.g. ["/usr/local/bin/check-db", "--quick"] (no shell)')
            return CommandCheck(tuple(argv), timeout)
        expect = settings["expect"]
        if not isinstance(expect, list) or not expect or not all(isinstance(c, int) and 100 <= c <= 599
                                                                 for c in expect):
            raise self.fail(where, "expect", "give the accepted HTTP statuses as a list, e.g. [200, 204]")
        path = settings["path"]
        if not isinstance(path, str) or not path.startswith("/") or any(c in path for c in " \r\n"):
            raise self.fail(where, "path", f"{path!r} is not a request path (it starts with /, no spaces)")
        for key in ("host", "body"):
            if key in settings and not isinstance(settings[key], str):
                raise self.fail(where, key, "must be a string")
        if not isinstance(settings["verify"], bool):
            raise self.fail(where, "verify", "must be true or false")
        return HttpCheck(path, settings.get("host"), tuple(expect), settings.get("body"), kind == "https",
                         settings["verify"], timeout)

    def number(self, where: tuple[str | int, ...], key: str, value: object, kind: type[int] | type[float],
               minimum: float) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and
                                                                              not isinstance(value, int)):
            noun = "a whole number" if kind is int else "a number"
            raise self.fail(where, key, f"{value!r} is not {noun}")
        if value < minimum:
            raise self.fail(where, key, f"must be at least {minimum:g}, not {value}")
        return value
