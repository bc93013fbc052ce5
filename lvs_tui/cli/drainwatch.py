"""`lvs-top drain --wait`: follow drained real servers poll by poll with the dashboard's tracker
(ops.drain.DrainBoard, the same completion criterion), showing progress as a Rich bar on a
terminal or as JSON lines, until every server is drained or the time is up."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Protocol, TextIO

from lvs_tui.cli.common import say
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.model.printable import printable
from lvs_tui.ops.drain import DrainBoard, DrainStatus, eta_text

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from lvs_tui.model.connections import Connection
    from lvs_tui.model.export import JsonObject
    from lvs_tui.model.records import Dest, DestKey, Service, ServiceKey, Snapshot
    from lvs_tui.ops.changes import DrainStart
    from lvs_tui.ops.drain import ConnectionReader

Pair = tuple["ServiceKey", "DestKey"]
CONNECTIONS_NAMED = 10  # per server still draining at the timeout; the rest are counted


class Reporter(Protocol):
    def poll(self, statuses: Sequence[tuple[Pair, DrainStatus]], elapsed: float) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    drained: bool
    snapshot: Snapshot  # the last poll's table
    waiting: tuple[tuple[Pair, DrainStatus], ...]  # still draining at the timeout
    lost: tuple[str, ...]  # servers that left the drain: given a weight again by someone else


class Reads(Protocol):
    """Where the drain is followed: one director's backend, or a pair's summed counts."""

    def snapshot(self) -> Snapshot: ...


def follow(reads: Reads, pairs: Sequence[tuple[Service, Dest]], starts: Sequence[DrainStart],
           options: WaitOptions, reporter: Reporter) -> Outcome:
    """Poll every `options.interval` seconds until every server meets the criterion (or is gone),
    someone gives one a weight again, or `options.timeout` passes. A poll that fails after the
    first is said and the drain goes on (it is not over while the counts are unknown)."""
    clock = options.clock
    board = DrainBoard(options.connections)
    began = clock()
    for (service, dest), start in zip(pairs, starts, strict=True):
        board.start(service.key, dest, start.previous_weight, began, wait_inactive=options.inactive)
    keys = [(service.key, dest.key) for service, dest in pairs]
    deadline = None if options.timeout is None else began + options.timeout
    snapshot: Snapshot | None = None
    waiting: tuple[tuple[Pair, DrainStatus], ...] = ()
    while True:
        try:
            polled = reads.snapshot()
        except IpvsError as error:
            if snapshot is None:
                raise
            options.unread(f"{error} (still waiting)")
            polled = None
        now = clock()
        if polled is not None:
            snapshot = polled
            board.update(snapshot, now)
            view = board.view()
            statuses = [(key, status) for key in keys if (status := view.status(*key)) is not None]
            reporter.poll(statuses, now - began)
            lost = tuple(f"{service}>{dest}" for service, dest in keys if view.status(service, dest) is None
                         and (found := snapshot.service(service)) is not None
                         and (back := found.dest(dest)) is not None and back.weight > 0)
            waiting = tuple((key, status) for key, status in statuses if not status.drained)
            if lost:
                return Outcome(False, snapshot, waiting, lost)
            if not waiting:
                return Outcome(True, snapshot, (), ())
        assert snapshot is not None
        if deadline is not None and now >= deadline:
            return Outcome(False, snapshot, waiting, ())
        pause = options.interval if deadline is None else min(options.interval, max(0.0, deadline - now))
        options.sleep(pause)


@dataclass(frozen=True, slots=True)
class WaitOptions:
    interval: float = 1.0
    timeout: float | None = None
    inactive: bool = False
    connections: ConnectionReader | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    unread: Callable[[str], None] = say  # said of a poll that failed while waiting


def status_json(key: Pair, status: DrainStatus, elapsed: float) -> JsonObject:
    service, dest = key
    counts = status.counts
    return {"service": service.id, "server": dest.id, "active": counts.active, "inactive": counts.inactive,
            "persistent": counts.persistent, "remaining": status.remaining,
            "progress": round(status.progress, 3),
            "eta": None if status.eta is None else round(status.eta, 1),
            "eta_text": eta_text(status), "drained": status.drained, "elapsed": round(elapsed, 1)}


class JsonLines:
    """One object per server per poll, on `out`, flushed at once (a pipe is read as it comes)."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout  # the one of now, not of the import (a test may replace it)

    def poll(self, statuses: Sequence[tuple[Pair, DrainStatus]], elapsed: float) -> None:
        for key, status in statuses:
            self.line(status_json(key, status, elapsed))

    def line(self, record: JsonObject) -> None:
        self.out.write(json.dumps(record, sort_keys=True) + "\n")
        self.out.flush()

    def close(self) -> None:
        """Nothing to end: every line is out."""


class Bars:
    """A Rich progress bar per server on the terminal, with its counts and ETA."""

    def __init__(self, pairs: Sequence[Pair], console: Console | None = None) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress: Progress = Progress(
            TextColumn("{task.description}", markup=False), BarColumn(),
            TextColumn("{task.fields[counts]}", markup=False), TextColumn("{task.fields[eta]}", markup=False),
            TimeElapsedColumn(), auto_refresh=False, console=console)
        self.tasks: dict[Pair, TaskID] = {
            key: self.progress.add_task(printable(f"{key[1]} in {key[0]}"), total=1.0, counts="", eta="")
            for key in pairs}
        self.progress.start()

    def poll(self, statuses: Sequence[tuple[Pair, DrainStatus]], elapsed: float) -> None:
        for key, status in statuses:
            counts = status.counts
            self.progress.update(
                self.tasks[key], completed=status.progress,
                counts=f"{counts.active} active {counts.inactive} inactive {counts.persistent} persistent",
                eta="drained" if status.drained else eta_text(status))
        self.progress.refresh()

    def close(self) -> None:
        self.progress.stop()


def still_on_it(key: Pair, status: DrainStatus, reader: ConnectionReader | None,
                ) -> tuple[list[str], list[JsonObject]]:
    """Who is still on a server at the timeout: its counts, then its entries from the connection
    table when it can be read (at most CONNECTIONS_NAMED named, the rest counted)."""
    service, dest = key
    counts = status.counts
    lines = [f"still on {service}>{dest}: {counts.active} active, {counts.inactive} inactive, "
             f"{counts.persistent} persistent ({eta_text(status)})"]
    named: list[JsonObject] = []
    if reader is None:
        return lines, named
    try:
        entries = [entry for entry in reader(dest.address, dest.port) if _of(service, entry)]
    except OSError as error:
        lines.append(f"  the connection table cannot be read: {error.strerror or error}")
        return lines, named
    except Exception as error:  # IpvsError and the like: said, never a traceback at the end of a wait
        lines.append(f"  the connection table cannot be read: {error}")
        return lines, named
    for entry in islice(entries, CONNECTIONS_NAMED):
        kind = "template" if entry.is_template else entry.state
        lines.append(f"  {entry.protocol.upper()} {entry.client}:{entry.client_port} -> "
                     f"{entry.virtual}:{entry.virtual_port} {kind}, expires in {entry.expires} s")
        named.append({"protocol": entry.protocol, "client": entry.client, "client_port": entry.client_port,
                      "virtual": entry.virtual, "virtual_port": entry.virtual_port, "state": entry.state,
                      "template": entry.is_template, "expires": entry.expires})
    if len(entries) > CONNECTIONS_NAMED:
        lines.append(f"  and {len(entries) - CONNECTIONS_NAMED} more")
    return lines, named


def _of(service: ServiceKey, entry: Connection) -> bool:
    """Whether a connection-table entry belongs to `service` (a mark's entries cannot be told apart)."""
    if service.fwmark is not None:
        return True
    return entry.virtual == service.address.strip("[]") and entry.virtual_port in (service.port, 0)
