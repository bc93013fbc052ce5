"""What `lvs-top rollout` does on a drained host besides changing the table: run the operator's
command (an argument list, never a shell), and check the host's real servers with the health
checker's own checks until they answer."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lvs_tui.health.checks import Check, HttpCheck, TcpCheck, run_check
from lvs_tui.model.printable import printable

if TYPE_CHECKING:
    from lvs_tui.health.config import HealthConfig
    from lvs_tui.model.records import Dest, DestKey, Service, ServiceKey

HTTP_PREFIX = "http://"
HTTP_ANSWERS = tuple(range(200, 400))  # 2xx and 3xx: a redirect is a server up


# --- the command ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CommandResult:
    ok: bool
    detail: str  # "exit status 3", "timed out after 60 s", "cannot be started: No such file ..."


CommandRunner = Callable[[Sequence[str], Mapping[str, str], float, bool], CommandResult]


def run_command(argv: Sequence[str], env: Mapping[str, str], timeout: float,
                to_stderr: bool) -> CommandResult:
    """Run `argv` without a shell, its output passed through (its standard output to ours, or to
    standard error with `to_stderr`), killed at `timeout` seconds."""
    sys.stdout.flush()
    try:
        finished = subprocess.run(list(argv), env=dict(env), timeout=timeout, check=False,
                                  stdin=subprocess.DEVNULL, stdout=2 if to_stderr else None)
    except subprocess.TimeoutExpired:  # subprocess.run has killed it
        return CommandResult(False, f"timed out after {timeout:g} s and was killed")
    except OSError as error:
        return CommandResult(False, f"cannot be started: {error.strerror or error}")
    if finished.returncode != 0:
        code = finished.returncode
        return CommandResult(False, f"exit status {code}" if code > 0 else f"killed by signal {-code}")
    return CommandResult(True, "exit status 0")


# --- the check ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Probe:
    """One check of one real server: what to run, and where."""

    server: str  # SERVICE>SERVER, for messages
    check: Check
    address: str
    port: int


CheckRunner = Callable[[Sequence[Probe]], list[tuple[Probe, str]]]


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """--check: tcp, http://PATH, or a health config (its checks; tcp for servers it does not list)."""

    http_path: str | None = None
    config: HealthConfig | None = None

    def probes(self, pairs: Sequence[tuple[Service, Dest]]) -> list[Probe]:
        """The probes of these (service, server) pairs; a server without a port (a firewall mark's)
        has nothing to connect to unless the config says where."""
        listed = self._listed()
        probes: list[Probe] = []
        for service, dest in pairs:
            name = f"{service.key.id}>{dest.key.id}"
            known = listed.get((service.key, dest.key))
            if known is not None:
                probes.append(Probe(name, known[0], dest.address, known[1]))
            elif dest.port:
                check: Check = TcpCheck() if self.http_path is None else HttpCheck(self.http_path,
                                                                                  expect=HTTP_ANSWERS)
                probes.append(Probe(name, check, dest.address, dest.port))
        return probes

    def _listed(self) -> dict[tuple[ServiceKey, DestKey], tuple[Check, int]]:
        if self.config is None:
            return {}
        return {(service.key, server.dest): (server.check, server.check_port)
                for service in self.config.services for server in service.servers}

    def describe(self) -> str:
        if self.config is not None:
            return f"the checks of {printable(self.config.path)}"
        return "tcp" if self.http_path is None else f"HTTP GET {printable(self.http_path)}"


def parse_check(text: str) -> CheckSpec:
    """`tcp`, `http://PATH` (`http:///healthz`), or a health config's path. ValueError (one
    sentence) for a config that cannot be read."""
    from lvs_tui.health.config import ConfigError, load_config

    if text == "tcp":
        return CheckSpec()
    if text.startswith(HTTP_PREFIX):
        path = text[len(HTTP_PREFIX):]
        return CheckSpec(http_path=path if path.startswith("/") else f"/{path}")
    try:
        return CheckSpec(config=load_config(Path(text)))
    except ConfigError as error:
        raise ValueError(f"--check {printable(text)}: not tcp, http://PATH, or a health config that "
                         f"can be read: {error.problems[0] if error.problems else error}") from None


def check_once(probes: Sequence[Probe]) -> list[tuple[Probe, str]]:
    """Every probe at once, each bounded by its check's timeout: the failed ones and why."""
    async def every() -> list[tuple[Probe, str]]:
        results = await asyncio.gather(*(run_check(probe.check, probe.address, probe.port)
                                         for probe in probes))
        return [(probe, result.detail) for probe, result in zip(probes, results, strict=True)
                if not result.healthy]

    return asyncio.run(every()) if probes else []
