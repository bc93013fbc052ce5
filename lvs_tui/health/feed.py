"""Where the dashboard's health column comes from: a checker it runs itself (`--health CONFIG`),
or the state file of one running elsewhere (`lvs-top health` as a service)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from lvs_tui.health.engine import Engine
from lvs_tui.health.statefile import StateError, read_state
from lvs_tui.health.status import HealthView
from lvs_tui.health.thread import EngineThread
from lvs_tui.model.records import DestKey, ServiceKey
from lvs_tui.ops.drainrecords import pid_alive


class HealthFeed(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...

    def view(self) -> HealthView | None: ...

    def stand_aside(self, service: ServiceKey, dest: DestKey) -> None:
        """The operator took this server out by hand: the checker must not bring it back."""


class EngineFeed:
    """The checker running inside this dashboard, on its own thread."""

    def __init__(self, engine: Engine, netns_path: str | None = None) -> None:
        self._engine = engine
        self._thread = EngineThread(engine, netns_path)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._thread.stop()

    def view(self) -> HealthView:
        failure = self._thread.failure
        if failure is not None:
            return replace(self._engine.view, running=False, problem=failure)
        return self._engine.view

    def stand_aside(self, service: ServiceKey, dest: DestKey) -> None:
        self._engine.stand_aside(service, dest)


class StateFileFeed:
    """A checker elsewhere: its state file, read again whenever it changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int] | None = None
        self._view: HealthView | None = None
        self._pid: int | None = None

    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None

    def view(self) -> HealthView | None:
        try:
            stat = os.stat(self.path)
        except OSError:
            self._seen, self._view = None, None
            return None
        if (stat.st_mtime_ns, stat.st_size) != self._seen:
            self._seen = (stat.st_mtime_ns, stat.st_size)
            try:
                self._view, _, self._pid = read_state(self.path)
            except StateError as error:  # said on the status line, never raised into the dashboard
                self._view = HealthView(source="the checker", running=False, problem=str(error))
                self._pid = None
        if self._view is None or self._view.problem is not None:
            return self._view
        # A checker that died without a word leaves its file behind: say so, not its last state.
        return replace(self._view, running=self._pid is not None and pid_alive(self._pid))

    def stand_aside(self, service: ServiceKey, dest: DestKey) -> None:
        return None  # that checker sees the weight 0 itself, and stands aside
