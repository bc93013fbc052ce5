"""`lvs-top health CONFIG`: the checker as a long-running service.

Logs go to stderr, one line per event; under systemd (JOURNAL_STREAM is set) each line starts with
its syslog priority (`<4>`), which journald turns into the entry's priority, and carries no time
of its own since journald stamps it. SIGTERM and SIGINT stop the checks and leave every weight as
it is; SIGHUP reloads the config, and a config with mistakes is refused while the one in force
keeps running. Every line goes through `printable()`: what a config, a server's answer or a state
file says cannot forge a log line or move a terminal's cursor.

The state file is claimed first (health/claim.py): its lock, held for the process's life, keeps a
second checker out, and a damaged file stops the start (exit 2) unless `--reset-state` is given.
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
from typing import Any, TextIO

from lvs_tui.health.claim import CheckerRunning, StateRefused, claim_state, lock_path
from lvs_tui.health.config import ConfigError, describe, load_config
from lvs_tui.health.engine import Engine
from lvs_tui.health.process import become_subreaper
from lvs_tui.ipvs.backend import Backend
from lvs_tui.model.printable import fault, printable
from lvs_tui.ops.drainrecords import DrainRecords
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.poller import Poller

PRIORITIES = {"error": 3, "warning": 4, "info": 6}


class StderrLog:
    def __init__(self, stream: TextIO | None = None, journald: bool | None = None) -> None:
        self._stream = stream  # None: whatever sys.stderr is when a line is written
        self._journald = bool(os.environ.get("JOURNAL_STREAM")) if journald is None else journald

    def __call__(self, level: str, message: str) -> None:
        message = printable(message)  # one line, whatever a config, a server or a state file said
        if self._journald:
            line = f"<{PRIORITIES.get(level, 6)}>{message}"
        else:
            line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {level}: {message}"
        with contextlib.suppress(OSError, ValueError):  # a closed stderr must not stop the checker
            stream = self._stream or sys.stderr
            stream.write(line + "\n")
            stream.flush()


def run_health(config_path: str, state_path: Path, journal: Journal, read_only: str | None,
               open_backend: Callable[[], Backend], netns: str | None,
               log: StderrLog | None = None, reset: bool = False, subreaper: bool = False,
               drains: DrainRecords | None = None) -> int:
    """The service until SIGTERM; `subreaper` (the `lvs-top health` process itself, never a host
    process such as a test runner's) makes orphans of command checks its own, to end them."""
    log = log or StderrLog()
    source = f"lvs-top health (pid {os.getpid()})"
    try:
        config = load_config(config_path)
        claim = claim_state(state_path, source, reset, journal)  # held until the process ends
    except ConfigError as error:
        for problem in error.problems:
            log("error", problem)
        log("error", f"nothing was started: fix the {_mistakes(error)} above (`lvs-top health --check-config "
                     "CONFIG` lists them)")
        return 2
    except StateRefused as error:
        log("error", f"{error}; nothing was started.")
        return 2
    except CheckerRunning as error:
        log("error", f"{error}.")
        return 1
    except OSError as error:
        log("error", f"cannot lock the state file {lock_path(state_path)} ({error.strerror or error}); "
                     "give another --state file")
        return 1
    for note in claim.notes:
        log("warning", note)
    if subreaper and not become_subreaper():
        log("warning", "cannot become a child subreaper: a command check's program that leaves its process "
                       "group (a daemon) outlives its check")
    taken_out = claim.taken_out
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
                    read_only=read_only, log=log, source=source,
                    state_path=state_path, taken_out=taken_out, drains=drains)
    poller.start()
    how = f"read-only ({read_only}): nothing will be changed" if read_only else f"journal {journal.path}"
    log("info", f"checking {describe(config)} from {config.path}; {how}; state file {state_path}")
    code = 0
    try:
        asyncio.run(_serve(engine, config_path, log))
    except Exception as error:  # the last word: a sentence in the log, never a traceback
        log("error", f"the checker stopped on an unexpected error ({fault(error)}); weights are left as they "
                     "are, and the state file says what it took out")
        code = 1
    finally:
        engine.write_state(None)
        poller.stop()
        os.close(claim.lock)  # the last write done: another checker may take over
    if code == 0:
        log("info", "stopped; weights are left as they are")
    return code


async def _serve(engine: Engine, config_path: str, log: StderrLog) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(engine.run())

    def reload() -> None:
        try:
            config = load_config(config_path)
        except ConfigError as error:
            for problem in error.problems:
                log("error", f"reload refused: {problem}")
            log("error", f"reload refused for the {_mistakes(error)} above; the configuration in force keeps "
                         "running")
            return
        try:
            engine.reload(config)
        except Exception as error:
            log("error", f"reload failed ({fault(error)}); the checks go on")

    def unexpected(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """What asyncio would print as a traceback (a callback that raised): one line instead."""
        error = context.get("exception")
        log("error", f"unexpected: {context.get('message', 'an error')}"
                     + ("" if error is None else f" ({fault(error)})"))

    loop.set_exception_handler(unexpected)
    loop.add_signal_handler(signal.SIGHUP, reload)
    for stop in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _mistakes(error: ConfigError) -> str:
    count = len(error.problems)
    return "mistake" if count == 1 else f"{count} mistakes"
