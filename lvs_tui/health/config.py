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

A setting on a server overrides its service's, which overrides `[defaults]`. Every value is read
by the strict parsers of lvs_tui.model.inputs; every mistake in the file is reported, each as
`FILE:LINE: KEY: what is wrong` (the reading is in health/config_reader.py), and nothing is
returned half-configured.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from lvs_tui.health.checks import Check
from lvs_tui.model.printable import printable
from lvs_tui.model.records import DestKey, ServiceKey

MAX_PROBLEMS = 50  # listed one per line; past that, the count (a file that wrong needs a rewrite)


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
    """Every mistake of a config, one `FILE:LINE: KEY: problem.` per line (`problems`)."""

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"... and {len(problems) - MAX_PROBLEMS} more mistakes.")
        self.problems = tuple(shown)
        super().__init__("\n".join(self.problems))


def load_config(path: str | Path) -> HealthConfig:
    name = printable(str(path))
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([f"{name}: cannot read it ({error.strerror or error})."]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{name}: not a text file (UTF-8)."]) from None
    return parse_config(text, str(path))


def parse_config(text: str, path: str = "<config>") -> HealthConfig:
    from lvs_tui.health.config_reader import read_config  # it builds the records above: imported here

    name = printable(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"\(at line ([0-9]+), column [0-9]+\)", str(error))
        line = f":{match.group(1)}" if match else ""
        problem = re.sub(r"\s*\(at (line [0-9]+, column [0-9]+|end of document)\)", "", str(error))
        raise ConfigError([f"{name}{line}: not valid TOML: {printable(problem)}."]) from None
    except RecursionError:
        raise ConfigError([f"{name}: not a config: arrays or tables nested too deeply."]) from None
    return read_config(data, text, path)
