"""`lvs-top health CONFIG`: the checker as a long-running service.

Logs go to stderr, one line per event; under systemd (JOURNAL_STREAM is set) each line starts with
its syslog priority (`<4>`), which journald turns into the entry's priority, and carries no time
of its own since journald stamps it. SIGTERM and SIGINT stop the checks and leave every weight as
it is; SIGHUP reloads the config, and a config with mistakes is refused while the one in force
keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from lvs_tui.health.config import ConfigError, describe, load_config
from lvs_tui.health.engine import Engine
from lvs_tui.health.status import StateError, read_state
from lvs_tui.ipvs.backend import Backend, DestConfig
from lvs_tui.model.records import DestKey, ServiceKey
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.poller import Poller

PRIORITIES = {"error": 3, "warning": 4, "info": 6}


class StderrLog:
    def __init__(self, stream: TextIO | None = None, journald: bool | None = None) -> None:
        self._stream = stream  # None: whatever sys.stderr is when a line is written
        self._journald = bool(os.environ.get("JOURNAL_STREAM")) if journald is None else journald

    def __call__(self, level: str, message: str) -> None:
        if self._journald:
            line = f"<{PRIORITIES.get(level, 6)}>{message}"
        else:
            line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {level}: {message}"
        with contextlib.suppress(OSError, ValueError):  # a closed stderr must not stop the checker
            stream = self._stream or sys.stderr
            stream.write(line + "\n")
            stream.flush()


class CheckerRunning(Exception):
    """Another checker already acts on this director."""


def previous_state(path: Path) -> dict[ServiceKey, dict[DestKey, DestConfig]]:
    """What an earlier checker took out (to bring back); raises CheckerRunning while it still runs."""
    if not path.exists():
        return {}
    try:
        view, taken_out, pid = read_state(path)
    except StateError:
        return {}  # nothing to learn from it; it is overwritten
    if view.running and pid is not None and pid != os.getpid():
        raise CheckerRunning(f"a checker already runs on this director ({view.source}, state file {path}); "
                             "stop it first, or give this one another --state file")
    return taken_out


def run_health(config_path: str, state_path: Path, journal: Journal, read_only: str | None,
               open_backend: Callable[[], Backend], netns: str | None,
               log: StderrLog | None = None) -> int:
    log = log or StderrLog()
    try:
        config = load_config(config_path)
        taken_out = previous_state(state_path)
    except ConfigError as error:
        log("error", f"{error} Nothing was started.")
        return 2
    except CheckerRunning as error:
        log("error", f"{error}.")
        return 1
    if netns is not None:
        from lvs_tui.ipvs.netlink import enter_netns, netns_path

        try:
            enter_netns(netns_path(netns))  # the checks run from the director's namespace
        except OSError as error:
            log("error", f"network namespace {netns}: {error.strerror or error}; check `ip netns list`.")
            return 1
    # The poller's thread owns the backend; nothing here shows a table, so it never polls by itself.
    poller = Poller(open_backend, lambda result: None)
    engine = Engine(config, lambda job, done: poller.submit(job, done, poll=False), journal,
                    read_only=read_only, log=log, source=f"lvs-top health (pid {os.getpid()})",
                    state_path=state_path, taken_out=taken_out)
    poller.start()
    how = f"read-only ({read_only}): nothing will be changed" if read_only else f"journal {journal.path}"
    log("info", f"checking {describe(config)} from {config.path}; {how}; state file {state_path}")
    try:
        asyncio.run(_serve(engine, config_path, log))
    finally:
        engine.write_state(None)
        poller.stop()
    log("info", "stopped; weights are left as they are")
    return 0


async def _serve(engine: Engine, config_path: str, log: StderrLog) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(engine.run())

    def reload() -> None:
        try:
            config = load_config(config_path)
        except ConfigError as error:
            log("error", f"reload refused: {error} The configuration in force keeps running.")
            return
        engine.reload(config)

    loop.add_signal_handler(signal.SIGHUP, reload)
    for stop in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task

