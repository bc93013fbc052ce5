"""The dashboard's drains and the director's drain records, kept in step on the poller thread.

A drain the dashboard starts is written to the records (with its "remove once drained" or
deadline); a drain another lvs-top started (`lvs-top drain`, a rollout, the health checker, an
earlier dashboard) is read from them and followed like one of ours. The file is read again only
when it changed (one stat() per poll). A removal belongs to the process that asked for it while
that process lives: a dashboard takes it over only from one that is gone (a restart, a killed
script), so two lvs-top never remove the same server.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable

from lvs_tui.model.records import Snapshot
from lvs_tui.ops.drain import DrainBoard, DrainOptions
from lvs_tui.ops.drainrecords import DrainRecord, Pair, RecordsError, ended, pid_alive
from lvs_tui.ops.setup import OpsSetup


class DrainSync:
    def __init__(self, setup: OpsSetup, board: DrainBoard, wall: Callable[[], float] = time.time) -> None:
        self._setup = setup
        self._board = board
        self._wall = wall
        self._records: dict[Pair, DrainRecord] = {}
        self._stamp: tuple[int, int] | None = None
        self._read_once = False
        self.warnings: tuple[str, ...] = ()  # the last failure to read or write, in a sentence

    @property
    def writable(self) -> bool:
        return self._setup.read_only is None

    def poll(self, snapshot: Snapshot, now: float) -> None:
        """Follow the drains recorded since the last poll; drop the records of drains that ended."""
        records = self._setup.drains
        stamp = records.stamp()
        if not self._read_once or stamp != self._stamp:
            try:
                self._records = records.read()
            except RecordsError as error:
                self._said(str(error))
                return
            self._read_once, self._stamp = True, stamp
            self._adopt(snapshot, now)
        if self.writable and any(ended(record, snapshot) for record in self._records.values()):
            self._write(lambda: records.prune(snapshot))

    def started(self, pairs: Iterable[Pair], options: DrainOptions) -> None:
        """Record the drains this dashboard just started (the board follows them already)."""
        wall, pid = self._wall(), os.getpid()
        deadline = None if options.deadline_minutes is None else wall + options.deadline_minutes * 60
        fresh = []
        for pair in pairs:
            tracker = self._board.tracker(*pair)
            if tracker is not None:
                fresh.append(DrainRecord(pair[0], pair[1], tracker.previous_weight, wall, "dashboard", pid,
                                         options.remove_when_drained, deadline, options.wait_inactive,
                                         tracker.initial))
        if fresh and self.writable:
            self._write(lambda: self._setup.drains.add(fresh))

    def _adopt(self, snapshot: Snapshot, now: float) -> None:
        wall = self._wall()
        for pair, record in self._records.items():
            self._board.remember(*pair, record.previous_weight)
            service = snapshot.service(pair[0])
            dest = None if service is None else service.dest(pair[1])
            if dest is None or dest.weight > 0 or self._board.tracker(*pair) is not None:
                continue
            ours = self.writable and (record.pid == os.getpid() or not pid_alive(record.pid))
            deadline = None if record.deadline is None or not ours else now + (record.deadline - wall)
            self._board.start(pair[0], dest, record.previous_weight, now,
                              record.remove_when_drained and ours, deadline, record.wait_inactive,
                              record.initial)

    def _write(self, change: Callable[[], object]) -> None:
        try:
            change()
        except RecordsError as error:
            self._said(f"{error}: other lvs-top instances do not see this session's drains")
            return
        notes = tuple(self._setup.drains.notes)
        self.warnings = notes
        self._stamp = None  # our own write: read it back once, as any other

    def _said(self, sentence: str) -> None:
        self.warnings = (sentence,)
