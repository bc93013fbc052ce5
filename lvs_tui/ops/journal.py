"""The audit journal: every change lvs-top makes, one JSON object per line.

Each entry says when, who (the login user and, under sudo, SUDO_USER), from which terminal, what
was done (and the equivalent ipvsadm command), the object before and after, and the result. The
file is only ever appended to, one write per entry, so concurrent lvs-top instances interleave
whole lines.
"""

from __future__ import annotations

import json
import os
import pwd
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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


class Journal:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()

    def append(self, entry: Entry, at: float | None = None) -> JsonObject:
        """Write one entry; raises OSError (with the path) when the journal cannot be written."""
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
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)  # one write: whole lines even with several writers
        finally:
            os.close(fd)
        return record

    def entries(self) -> Iterator[JsonObject]:
        """Every entry, oldest first; a damaged line (a crash mid-write) is skipped."""
        try:
            with self.path.open(encoding="utf-8") as lines:
                for line in lines:
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError:
                        continue
        except FileNotFoundError:
            return


# Journal actions that may set a weight ("health": the checker's).
WEIGHT_ACTIONS = ("edit_dest", "add_dest", "undo", "restore", "health")


def drained_weights(entries: Iterator[JsonObject]) -> dict[str, int]:
    """target -> the weight a real server had before its latest drain, for servers still at 0.

    Lets a new session bring back a server that an earlier one drained: the journal remembers.
    """
    weights: dict[str, int] = {}
    for entry in entries:
        # "undo" and "restore" (run_plan's action names) say why; before and after say what changed.
        if entry.get("result") != "ok" or entry.get("action") not in WEIGHT_ACTIONS:
            continue
        before, after, target = entry.get("before"), entry.get("after"), entry.get("target")
        if not isinstance(after, dict) or not isinstance(target, str) or "weight" not in after:
            continue
        if after["weight"] == 0 and isinstance(before, dict) and before.get("weight", 0) > 0:
            weights[target] = int(before["weight"])
        elif after["weight"] > 0:
            weights.pop(target, None)
    return weights
