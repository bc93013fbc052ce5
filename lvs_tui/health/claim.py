"""Taking a state file: one checker per state file, and what an earlier checker left in it.

One checker per file is an flock on `FILE.lock` next to it, taken before anything else and held
for the process's life (the kernel drops it when the process ends, however it ends), so two
checkers started at the same moment cannot both run; the holder writes who it is into the lock
file, so the one refused can say who holds it.

A damaged state file (cut short, wrong types, absurd numbers) no longer says which servers an
earlier checker took out, and a checker that started without that memory would take them for
servers drained by hand and never bring them back. So it is moved aside (`FILE.damaged-TIME`) and
the checker refuses to start, naming both files, until it is started with `--reset-state`; a
damaged file moved aside keeps the refusal standing while no new state file exists.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path

from lvs_tui.health.recovery import replay
from lvs_tui.health.state import Health
from lvs_tui.health.statefile import Memory, StateError, read_state
from lvs_tui.health.status import HealthView
from lvs_tui.model.printable import printable
from lvs_tui.ops.journal import Journal

DAMAGED = ".damaged-"


class CheckerRunning(Exception):
    """Another checker holds the state file's lock."""


class StateRefused(Exception):
    """The state file cannot be trusted (or read): starting would forget servers; exit 2."""


@dataclass(frozen=True)
class Claim:
    lock: int  # the lock file's descriptor: open for the process's life
    taken_out: Memory  # what an earlier checker took out: to bring back
    notes: tuple[str, ...]  # what the log must say (what --reset-state forgot, and where it went)


def lock_path(state: Path) -> Path:
    return state.with_name(state.name + ".lock")


def claim_state(state: Path, source: str, reset: bool = False, journal: Journal | None = None) -> Claim:
    """Lock `state` for this process and read what an earlier checker left (and, if it did not stop
    cleanly, what it took out after its last write, from `journal`: see health.recovery); raises
    CheckerRunning, StateRefused, or OSError (the lock file cannot be made)."""
    lock = take_lock(state, source)
    try:
        taken_out, notes = _previous(state, reset, journal)
    except BaseException:
        os.close(lock)
        raise
    return Claim(lock, taken_out, notes)


def take_lock(state: Path, source: str) -> int:
    path = lock_path(state)
    state.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    # 0600: anyone who may open it may lock it, and a lock held by others would stop the checker.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise CheckerRunning(f"another checker holds {path} ({holder}); stop it first, or give this one "
                             "another --state file") from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{source}, since {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n".encode(), 0)
    return fd


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError):
        said = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
        if said:
            return printable(said.splitlines()[0])
    return "it has not said who it is yet: it is starting"


def _previous(state: Path, reset: bool, journal: Journal | None) -> tuple[Memory, tuple[str, ...]]:
    if not os.path.lexists(state):
        left = sorted(state.parent.glob(state.name + DAMAGED + "*"))
        if left and not reset:
            raise StateRefused(f"the state file {state} is missing and {left[-1]} is a damaged one an "
                               "earlier start moved aside; check by hand the servers it names (at weight 0 "
                               "or removed), then start with --reset-state")
        if left:
            return {}, (f"--reset-state: starting without the memory of what an earlier checker took out "
                        f"(the damaged copy stays in {left[-1]})",)
        return {}, ()
    try:
        view, taken_out, pid = read_state(state)
    except StateError as error:
        if not error.damaged:
            raise StateRefused(f"{error}; fix its permissions, or give another --state file") from None
        aside = _move_aside(state, error)
        if not reset:
            raise StateRefused(f"the state file {state} is damaged ({error.reason}); it was moved to "
                               f"{aside}. It said which servers an earlier checker took out: check them by "
                               "hand (at weight 0 or removed), then start with --reset-state") from None
        return {}, (f"--reset-state: the damaged state file {state} was moved to {aside}; starting without "
                    "the memory of what an earlier checker took out",)
    notes: tuple[str, ...] = ()
    if pid is not None and journal is not None and not reset:
        recovered = _recovered(view, taken_out, pid, journal)
        added = [f"{dest} of {service}" for service, dests in recovered.items() for dest in dests
                 if dest not in taken_out.get(service, {})]
        if added:
            notes = (f"the checker before this one (pid {pid}) did not stop cleanly; its journal says it "
                     f"also took out {', '.join(added)}: they are brought back once healthy",)
        taken_out = recovered
    if reset and taken_out:
        forgotten = ", ".join(f"{dest} of {service}" for service, dests in taken_out.items()
                              for dest in dests)
        return {}, (f"--reset-state: forgetting that an earlier checker took out {forgotten}; they stay as "
                    "they are",)
    return taken_out, notes


def _recovered(view: HealthView, taken_out: Memory, pid: int, journal: Journal) -> Memory:
    by_hand = [pair for pair, status in view.servers.items()
               if status.state is Health.DISABLED and not status.taken_out]
    try:
        return replay(taken_out, journal.entries(), pid, view.updated, by_hand)
    except OSError:  # an unreadable journal: what the state file says is all there is
        return taken_out


def _move_aside(state: Path, error: StateError) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S")
    aside = state.with_name(f"{state.name}{DAMAGED}{stamp}")
    number = 1
    while os.path.lexists(aside):
        number += 1
        aside = state.with_name(f"{state.name}{DAMAGED}{stamp}-{number}")
    try:
        os.rename(state, aside)
    except OSError as failure:
        raise StateRefused(f"the state file {state} is damaged ({error.reason}) and cannot be moved aside "
                           f"to {aside} ({failure.strerror or failure}); move it yourself, then start with "
                           "--reset-state") from None
    return aside
