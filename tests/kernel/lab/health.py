"""The health checker as the kernel tests run it: `lvs-top health CONFIG --state STATE --journal
JOURNAL`, a real process on the director (lab.lvs_top.start), as an operator runs it; plus what the
tests read back (the kernel's weights, the journal, the state file, the checker's log) and the time
figures they assert on.

Every time here is time.monotonic(), which the client namespace's load shares (CLOCK_MONOTONIC is
one clock for the whole VM); the journal's wall-clock times are converted with `monotonic_of`.
"""

from __future__ import annotations

import collections
import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from lvs_tui.ops.journal import Journal, outcomes
from tests.kernel.lab import lvs_top
from tests.kernel.lab.commands import proc_weights, wait_until
from tests.kernel.lab.journal import settled
from tests.kernel.lab.topology import REAL_SERVERS, VIP, Scripted
from tests.kernel.lab.traffic import Answer, Load

WEB = f"tcp:{VIP}:80"  # the service the health tests check
RS = {name: f"{address}:80" for name, address in REAL_SERVERS.items()}  # rsN -> its dest id
# What a round may add to the checks' own timing: the engine acts at once on a change of state,
# reads the table and writes through netlink. Measured: 0.1-0.5 s in the emulated VM, but once
# 2.7 s while the host's two cores were busy with another job; 3 s keeps the bound meaningful
# (the periodic round alone comes every 5 s) without failing on a busy host.
ROUND_SLACK = 3.0


def config(servers: str, *, check: str = "http", interval: float = 0.3, timeout: float = 0.5, rise: int = 2,
           fall: int = 3, service: str = "") -> str:
    """A checker config of the web service: [defaults] with the check's timing, `service` lines for
    the [[service]] table, then `servers` (see `servers_toml`)."""
    return (f'[defaults]\ncheck = "{check}"\ninterval = {interval}\ntimeout = {timeout}\nrise = {rise}\n'
            f'fall = {fall}\n\n[[service]]\nservice = "{WEB}"\n{service}\n{servers}')


def line_of(text: str, start: str) -> int:
    """The number of the (only) line of `text` that starts with `start` once stripped."""
    (number,) = [i for i, line in enumerate(text.splitlines(), 1) if line.strip().startswith(start)]
    return number


def servers_toml(weights: dict[str, int], extra: dict[str, str] | None = None) -> str:
    """[[service.server]] tables for rsN -> weight, with extra lines for some."""
    return "".join(f'  [[service.server]]\n  address = "{RS[name]}"\n  weight = {weight}\n'
                   f'{(extra or {}).get(name, "")}\n'
                   for name, weight in weights.items())


def web_rules(weights: dict[str, int], scheduler: str = "wrr", options: str = "") -> list[str]:
    """The table the checker starts from: the web service on port 80 of these real servers."""
    return [f"-A -t {VIP}:80 -s {scheduler}", *(
        f"-a -t {VIP}:80 -r {RS[name]} -m -w {weight}{options}" for name, weight in weights.items())]


def weights() -> dict[str, int]:
    """dest id -> weight of the web service, as the kernel has it now ({} without the service)."""
    return proc_weights(WEB) or {}


def watch(what: str, ready: Callable[[dict[str, int]], bool], timeout: float,
          seen: list[tuple[float, dict[str, int]]] | None = None) -> float:
    """Poll the kernel's weights every 50 ms until `ready(weights)`; the time it was first seen.
    Each change of the weights polled is appended to `seen`, with the time it was first seen."""
    deadline = time.monotonic() + timeout
    while True:
        now = weights()
        at = time.monotonic()
        if seen is not None and (not seen or seen[-1][1] != now):
            seen.append((at, now))
        if ready(now):
            return at
        if at > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}; the weights are {now}")
        time.sleep(0.05)


def monotonic_of(wall: float) -> float:
    """A wall-clock time (the journal's) on the monotonic clock."""
    return wall - (time.time() - time.monotonic())


class Checker:
    """One `lvs-top health` process and its files in `directory`; a context manager that kills
    it if a test leaves it running."""

    def __init__(self, directory: Path, config: str, *options: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.config = directory / "health.toml"
        self.state_path = directory / "state.json"
        self.journal_path = directory / "journal.jsonl"
        self.log_path = directory / "checker.log"
        self.config.write_text(config)
        self.options = options
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Checker:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        if kind is not None:  # what the checker said helps more than the assertion alone
            print(f"--- the checker's log ---\n{self.log()}")

    def start(self, timeout: float = 120) -> float:
        """Start it and wait until it runs: its state file names its pid. Returns how long it took."""
        started = time.monotonic()
        args = ("health", str(self.config), "--state", str(self.state_path),
                "--journal", str(self.journal_path), *self.options)
        with self.log_path.open("ab") as log:
            self.proc = lvs_top.start(*args, log=log)
        def running() -> bool:
            return self._running() and self.state().get("pid") == self.pid

        wait_until("the checker's state file", running, timeout=timeout, step=0.05)
        seconds = time.monotonic() - started
        lvs_top.started(args, seconds)
        return seconds

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def _running(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"the checker exited ({self.proc.returncode}): {self.log()}")
        return True

    def signal(self, number: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(number)

    def stop(self, timeout: float = 30) -> tuple[int, float]:
        """SIGTERM; its exit code and how long it took to exit."""
        assert self.proc is not None
        sent = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        return code, time.monotonic() - sent

    # --- what it wrote ---------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The state file ({} before the first write); it is replaced atomically, never half written."""
        try:
            data: object = json.loads(self.state_path.read_text())
        except FileNotFoundError:
            return {}
        assert isinstance(data, dict)
        return data

    def _entries(self, name: str) -> list[dict[str, Any]]:
        return [s for s in self.state().get("servers", []) if s["service"] == WEB and s["dest"] == RS[name]]

    def server(self, name: str) -> dict[str, Any]:
        """rsN's entry in the state file (the web service's)."""
        entries = self._entries(name)
        assert len(entries) == 1, f"{name} is not in the state file once: {self.state()}"
        return entries[0]

    def states(self) -> dict[str, str]:
        """rsN -> its state in the state file."""
        by_dest = {s["dest"]: s["state"] for s in self.state().get("servers", []) if s["service"] == WEB}
        return {name: by_dest[dest] for name, dest in RS.items() if dest in by_dest}

    def wait_states(self, wanted: dict[str, str], timeout: float = 30) -> None:
        wait_until(f"the state file to say {wanted}",
                       lambda: self._running() and all(self.states().get(n) == s for n, s in wanted.items()),
                       timeout=timeout, step=0.1)

    def wait_server(self, name: str, timeout: float = 30, **wanted: object) -> dict[str, Any]:
        """Until rsN's entry in the state file has these values (the file is rewritten after each
        round: a change of state is written before the round that acts on it has ended)."""
        def matches() -> bool:
            self._running()
            entries = self._entries(name)
            return len(entries) == 1 and all(entries[0].get(k) == v for k, v in wanted.items())

        try:
            wait_until(f"{name} in the state file with {wanted}", matches, timeout=timeout, step=0.1)
        except TimeoutError as error:
            raise AssertionError(f"{error}; the state file says {self.server(name)}") from None
        return self.server(name)

    def journal(self) -> list[dict[str, Any]]:
        """The journal's outcomes; once the checker has exited, each of its intents must have one."""
        if self.proc is not None and self.proc.poll() is None:
            return list(outcomes(Journal(self.journal_path).entries()))
        return settled(self.journal_path)

    def journal_of(self, name: str) -> list[dict[str, Any]]:
        """The journal's entries about rsN in the web service."""
        return [e for e in self.journal() if e["target"] == f"{WEB}>{RS[name]}"]

    def log(self) -> str:
        try:
            return self.log_path.read_text()
        except FileNotFoundError:
            return ""

    def wait_log(self, text: str, timeout: float = 30) -> str:
        """Until the log has a line with `text`; that line."""
        def found() -> bool:
            return self._running() and any(text in line for line in self.log().splitlines())

        wait_until(f"{text!r} in the checker's log", found, timeout=timeout, step=0.1)
        return next(line for line in self.log().splitlines() if text in line)


def timeline(checker: Checker, since: float, served: Scripted | None = None) -> str:
    """What happened after `since`, in seconds from it: the checks a scripted server answered, the
    checker's events and its journal entries (for the message of a failed timing assertion)."""
    lines = []
    if served is not None:
        lines += [f"{at - since:+.2f} served {letter}" for at, letter in served.log() if at > since - 1]
    events = checker.state().get("events", [])
    lines += [f"{monotonic_of(e['at']) - since:+.2f} event {e['text']}" for e in events
              if monotonic_of(e["at"]) > since - 1]
    lines += [f"{monotonic_of(e['time']) - since:+.2f} journal {e['command']}" for e in checker.journal()
              if monotonic_of(e["time"]) > since - 1]
    return "\n".join(sorted(lines, key=lambda line: float(line.split()[0])))


def start_under_load(checker: Checker, load: Load, answers: int) -> None:
    """Start the checker and wait until it finds every real server healthy; then start the load
    (its client started beside the checker) and wait for its first `answers` answers."""
    print(f"checker up in {checker.start():.1f} s")
    checker.wait_states(dict.fromkeys(RS, "healthy"))
    load.start(answers)


def wait_answers_from(load: Load, server: str, since: float) -> None:
    """Until a request started after `since` was answered by `server` ("rs1", "sorry")."""
    try:
        wait_until(f"{server} answering clients", lambda: server in {a.server for a in load.since(since)})
    except TimeoutError as error:
        answers = load.since(since)
        seen = collections.Counter(a.server for a in answers)
        last = [(round(a.start - since, 2), a.server) for a in answers[-5:]]
        raise AssertionError(f"{error}: answers since: {dict(seen)}, the last: {last}") from None


def failures_outside(answers: list[Answer], windows: list[tuple[float, float]]) -> list[Answer]:
    """The failed requests that did not start inside one of the `windows`."""
    return [a for a in answers if a.failed and not any(low <= a.start <= high for low, high in windows)]


def processes(argv: list[str]) -> list[int]:
    """Pids of the processes whose command line is exactly `argv`."""
    wanted = "\0".join(argv) + "\0"
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_text() == wanted:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found
