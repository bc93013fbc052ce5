"""The drain records: one file per director that says which real servers are being drained, by
whom, from which weight, and how each drain is to end.

Every drain is written here, whoever starts it (the dashboard, `lvs-top drain`, a rollout, the
health checker's quiesce), so a dashboard shows the tracker of a drain a script started and the
other way round, a restart loses nothing (the dashboard's pending "remove once drained" is kept
here), `undrain` knows the weight to go back to, and the health checker knows a server an operator
took out from one it took out itself.

A record ends when its server has a weight again or is gone; whoever writes prunes those. Writers
hold an flock on `FILE.lock` (several lvs-top processes write to one file) and replace the file
whole (ops.atomic). A file that is not one of ours is moved aside as `FILE.damaged-TIME` by the
next writer, which says so: the journal still has each drain's weight for `undrain`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lvs_tui.model import inputs
from lvs_tui.model.records import DestKey, Service, ServiceKey, Snapshot
from lvs_tui.ops.atomic import write_atomically

VERSION = 1
MAX_BYTES = 8 * 1024 * 1024
ORIGINS = ("dashboard", "drain", "rollout", "health")
DAMAGED = ".damaged-"

Pair = tuple[ServiceKey, DestKey]


@dataclass(frozen=True, slots=True)
class DrainRecord:
    service: ServiceKey
    dest: DestKey
    previous_weight: int  # the weight to go back to (0: nobody knows)
    started: float  # wall clock
    origin: str  # one of ORIGINS: who started the drain
    pid: int = 0  # the process that started it (and owns its removal while it runs)
    remove_when_drained: bool = False
    deadline: float | None = None  # wall clock: removed then even if not drained
    wait_inactive: bool = False
    initial: int | None = None  # what the criterion waited for at the start (the progress bar's 0 %)

    @property
    def pair(self) -> Pair:
        return (self.service, self.dest)

    @property
    def by_hand(self) -> bool:
        """An operator's drain (the dashboard, a command, a rollout), not the checker's quiesce."""
        return self.origin != "health"


class RecordsError(Exception):
    """The records cannot be read or written: the sentence names the file and why."""


class DrainRecords:
    """The records of one director. `path` None: kept in memory only (a session that must leave
    no file behind, and tests)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._memory: dict[Pair, DrainRecord] = {}
        self.notes: list[str] = []  # what the last write had to say (a damaged file moved aside)

    def stamp(self) -> tuple[int, int] | None:
        """Cheap: changes whenever the file is replaced (None: no file)."""
        if self.path is None:
            return None
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_ino)

    def read(self) -> dict[Pair, DrainRecord]:
        """The records now; {} without a file. RecordsError for a file that cannot be read or is
        damaged (nothing is moved by a reader)."""
        if self.path is None:
            return dict(self._memory)
        try:
            with open(self.path, "rb") as source:
                raw = source.read(MAX_BYTES + 1)
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise RecordsError(f"the drain records {self.path} cannot be read "
                               f"({error.strerror or error})") from None
        return _parse(raw, self.path)

    def change(self, edit: Callable[[dict[Pair, DrainRecord]], None]) -> dict[Pair, DrainRecord]:
        """Read, `edit` in place, write back, under the lock; the records written. RecordsError if
        the file cannot be locked or written (the table is already changed then: the caller says
        so, the journal has the weights)."""
        self.notes = []
        if self.path is None:
            edit(self._memory)
            return dict(self._memory)
        with self._locked():
            try:
                records = self.read()
            except RecordsError as error:
                records = {}
                self.notes.append(f"{error}; moved aside to {self._move_aside()}: the drains it listed are "
                                  "no longer followed, the journal still has their weights")
            before = dict(records)
            edit(records)
            if records != before:
                try:
                    write_atomically(self.path, _dump(records.values()))
                except OSError as error:
                    raise RecordsError(f"the drain records {self.path} cannot be written "
                                       f"({error.strerror or error})") from None
        return records

    def add(self, records: Iterable[DrainRecord]) -> None:
        """Record these drains; a drain already recorded keeps its weight and start, and takes the
        new one's origin and ending (a script that drains a server the checker took out makes it
        the operator's)."""
        def edit(current: dict[Pair, DrainRecord]) -> None:
            for record in records:
                old = current.get(record.pair)
                current[record.pair] = record if old is None else replace(
                    record, previous_weight=old.previous_weight or record.previous_weight,
                    started=old.started, initial=old.initial)
        self.change(edit)

    def drop(self, pairs: Iterable[Pair]) -> None:
        gone = set(pairs)

        def edit(current: dict[Pair, DrainRecord]) -> None:
            for pair in gone:
                current.pop(pair, None)
        if gone:
            self.change(edit)

    def prune(self, snapshot: Snapshot) -> list[DrainRecord]:
        """Drop the records whose server has a weight again or is gone; the records dropped. A record
        newer than `snapshot` is kept: its drain began after that read (the weight seen is the old one)."""
        dropped: list[DrainRecord] = []

        def edit(current: dict[Pair, DrainRecord]) -> None:
            for pair, record in list(current.items()):
                if record.started < snapshot.time and ended(record, snapshot):
                    dropped.append(current.pop(pair))
        self.change(edit)
        return dropped

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        assert self.path is not None
        lock = self.path.with_name(self.path.name + ".lock")
        try:
            lock.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as error:
            raise RecordsError(f"the drain records' lock {lock} cannot be opened "
                               f"({error.strerror or error})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # writers hold it for a read and a write: milliseconds
            yield
        finally:
            os.close(fd)

    def _move_aside(self) -> Path:
        assert self.path is not None
        aside = self.path.with_name(f"{self.path.name}{DAMAGED}{time.strftime('%Y%m%dT%H%M%S')}")
        with contextlib.suppress(OSError):
            os.replace(self.path, aside)
        return aside


def ended(record: DrainRecord, snapshot: Snapshot) -> bool:
    return ended_in(record, snapshot.service(record.service))


def ended_in(record: DrainRecord, service: Service | None) -> bool:
    """The drain is over: its server has a weight again, or is gone (`service`: its service now)."""
    dest = None if service is None else service.dest(record.dest)
    return dest is None or dest.weight > 0


def pid_alive(pid: int) -> bool:
    if pid <= 0:  # 0 and negatives name process groups, not a process
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


# --- the file ------------------------------------------------------------------------------------

def _dump(records: Iterable[DrainRecord]) -> str:
    items = [{"service": record.service.id, "dest": record.dest.id,
              "previous_weight": record.previous_weight, "started": record.started, "origin": record.origin,
              "pid": record.pid, "remove_when_drained": record.remove_when_drained,
              "deadline": record.deadline, "wait_inactive": record.wait_inactive, "initial": record.initial}
             for record in sorted(records, key=lambda record: (record.service.id, record.dest.id))]
    return json.dumps({"version": VERSION, "drains": items}, indent=1) + "\n"


def _parse(raw: bytes, path: Path) -> dict[Pair, DrainRecord]:
    if len(raw) > MAX_BYTES:
        raise RecordsError(f"the drain records {path} are damaged (larger than {MAX_BYTES // 2**20} MiB)")
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict) or data.get("version") != VERSION \
                or not isinstance(data.get("drains"), list):
            raise ValueError(f"not version {VERSION} drain records")
        records = [_record(item) for item in data["drains"]]
    # The file is anyone's input: whatever is wrong with it is a sentence, never a crash.
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
        clause = " ".join(str(error).split())[:200]
        raise RecordsError(f"the drain records {path} are damaged ({clause})") from None
    return {record.pair: record for record in records}


def _record(item: Any) -> DrainRecord:
    if not isinstance(item, dict):
        raise ValueError("a drain record is not an object")
    origin = item["origin"]
    if origin not in ORIGINS:
        raise ValueError(f"unknown origin {str(origin)[:20]!r}")
    return DrainRecord(
        ServiceKey.parse(inputs.text(_typed(item["service"], str), "the service")),
        DestKey(*inputs.host_port(_typed(item["dest"], str), "the real server")),
        _whole(item["previous_weight"], 0, inputs.U32_MAX),
        _time(item["started"]),
        origin,
        _whole(item.get("pid", 0), 0, 4_194_304),
        _typed(item.get("remove_when_drained", False), bool),
        None if item.get("deadline") is None else _time(item["deadline"]),
        _typed(item.get("wait_inactive", False), bool),
        None if item.get("initial") is None else _whole(item["initial"], 0, 2**63),
    )


def _typed(value: Any, kind: type) -> Any:
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise TypeError(f"{value!r:.40} is not a {kind.__name__}")
    return value


def _whole(value: Any, low: int, high: int) -> int:
    number = _typed(value, int)
    if not low <= number <= high:
        raise ValueError(f"{number} is out of range")
    return int(number)


def _time(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 <= value < 1e10:
        raise ValueError(f"{value!r:.40} is not a time")
    return float(value)
