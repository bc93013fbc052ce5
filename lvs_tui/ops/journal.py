"""The audit journal: every change lvs-top makes, one JSON object per line.

Each entry says when, who (the login user and, under sudo, SUDO_USER), from which terminal, what
was done (and the equivalent ipvsadm command), the object before and after, and the result. A
change is written twice: its intent before it is made (`"result": "intended"`), then its outcome,
both carrying the same `"write"` id; a change whose intent cannot be written is not made, and an
intent with no outcome is a change a crash interrupted (`unfinished`).

The file is only ever appended to, one write() per line, so concurrent lvs-top instances interleave
whole lines; it is opened without following a symbolic link, must be a regular file, and is kept
private (0600) since it says who did what.
"""

from __future__ import annotations

import errno
import json
import os
import pwd
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeGuard

from lvs_tui.model.export import JsonObject


def default_path() -> Path:
    """`$XDG_STATE_HOME/lvs-top/journal.jsonl`, else `~/.local/state/lvs-top/journal.jsonl`."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "lvs-top" / "journal.jsonl"


def _user() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def _tty() -> str | None:
    for fd in (0, 1, 2):
        try:
            return os.ttyname(fd)
        except OSError:
            continue
    return None


@dataclass(frozen=True, slots=True)
class Entry:
    action: str  # e.g. "edit_dest"
    target: str  # e.g. "tcp:192.0.2.10:80>198.51.100.11:8080"
    command: str  # the equivalent ipvsadm command, for humans and for replay
    before: JsonObject | None
    after: JsonObject | None
    result: str  # "ok", or the error sentence
    cause: str | None = None  # why an automatic change was made, e.g. the failed check
    director: str | None = None  # another director's change, made through its agent (None: this one's)


INTENDED = "intended"  # the result of an intent record: the change is about to be made


class Journal:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self._writes = 0

    def append(self, entry: Entry, at: float | None = None, write: str | None = None) -> JsonObject:
        """Write one entry; raises OSError (naming the journal) when it cannot be written whole."""
        when = time.time() if at is None else at
        record: JsonObject = {
            "time": when,
            "iso_time": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(when)),
            "user": _user(),
            "sudo_user": os.environ.get("SUDO_USER"),
            "tty": _tty(),
            "pid": os.getpid(),
            "action": entry.action,
            "target": entry.target,
            "command": entry.command,
            "before": entry.before,
            "after": entry.after,
            "result": entry.result,
        }
        if entry.cause is not None:
            record["cause"] = entry.cause
        if entry.director is not None:
            record["director"] = entry.director
        if write is not None:
            record["write"] = write
        self._write((json.dumps(record, sort_keys=True) + "\n").encode())
        return record

    def intend(self, entry: Entry) -> str:
        """Record that `entry`'s change is about to be made; the id to `settle` it with."""
        self._writes += 1
        write = f"{os.getpid()}.{time.time_ns()}.{self._writes}"
        self.append(replace(entry, result=INTENDED), write=write)
        return write

    def settle(self, write: str, entry: Entry) -> None:
        """Record the outcome of the change `intend` announced."""
        self.append(entry, write=write)

    def _write(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o600)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise OSError(errno.ELOOP, f"the journal {self.path} is a symbolic link; lvs-top writes "
                                           "its journal only to a plain file") from None
            raise
        try:
            status = os.fstat(fd)
            if not stat.S_ISREG(status.st_mode):
                raise OSError(errno.EINVAL, f"the journal {self.path} is not a regular file")
            if status.st_mode & 0o077:
                os.fchmod(fd, 0o600)  # an older or hand-made journal becomes private too
            written = os.write(fd, line)  # one write: whole lines even with several writers
            if written != len(line):
                os.write(fd, b"\n")  # end the fragment, so the next entry starts a line of its own
                raise OSError(errno.ENOSPC, f"the journal {self.path} took {written} of {len(line)} bytes")
        finally:
            os.close(fd)

    def entries(self) -> Iterator[JsonObject]:
        """Every entry, oldest first; a damaged line (a crash mid-write, a hand edit, bytes that are
        not UTF-8, JSON that is not an object) is skipped."""
        try:
            with self.path.open("rb") as lines:
                for line in lines:
                    try:
                        record = json.loads(line.decode("utf-8"))
                    except (UnicodeDecodeError, ValueError, RecursionError):
                        continue
                    if isinstance(record, dict):
                        yield record
        except FileNotFoundError:
            return


def outcomes(entries: Iterator[JsonObject]) -> Iterator[JsonObject]:
    """The entries that say what became of a change (its intent left out)."""
    return (entry for entry in entries if entry.get("result") != INTENDED)


def unfinished(entries: Iterator[JsonObject]) -> list[JsonObject]:
    """The intents with no outcome: changes an lvs-top that was killed (or lost its disk) began and
    never reported. What they did to the table is unknown until someone looks."""
    open_writes: dict[str, JsonObject] = {}
    for entry in entries:
        write = entry.get("write")
        if not isinstance(write, str):
            continue
        if entry.get("result") == INTENDED:
            open_writes[write] = entry
        else:
            open_writes.pop(write, None)
    return list(open_writes.values())


# Journal actions that may set a weight ("health": the checker's).
WEIGHT_ACTIONS = ("edit_dest", "add_dest", "undo", "restore", "health", "rollback")


def drained_weights(entries: Iterator[JsonObject]) -> dict[str, int]:
    """target -> the weight a real server had before its latest drain, for servers still at 0.

    Lets a new session bring back a server that an earlier one drained: the journal remembers.
    """
    weights: dict[str, int] = {}
    for entry in entries:
        # "undo" and "restore" (run_plan's action names) say why; before and after say what changed.
        if entry.get("result") != "ok" or entry.get("action") not in WEIGHT_ACTIONS or "director" in entry:
            continue  # another director's changes are that director's to remember (in its journal)
        before, after, target = entry.get("before"), entry.get("after"), entry.get("target")
        if not isinstance(after, dict) or not isinstance(target, str):
            continue
        weight, earlier = after.get("weight"), before.get("weight") if isinstance(before, dict) else None
        if not _is_weight(weight):
            continue
        if weight == 0 and _is_weight(earlier) and earlier > 0:
            weights[target] = earlier
        elif weight > 0:
            weights.pop(target, None)
    return weights


def _is_weight(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0x7FFFFFFF
