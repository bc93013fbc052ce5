"""A deterministic dashboard for screenshots and snapshot tests: the simulated director on a
clock that only moves when the dashboard polls, so every run renders the same frames.

`python -m lvs_tui.ui.frozen docs/dashboard.svg [COLUMNS ROWS]` writes the README's screenshot;
`python -m lvs_tui.ui.frozen docs/health.svg 140 32 --health` the one of the Health column.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from lvs_tui.health.state import Health
from lvs_tui.health.status import HealthEvent, HealthView, ServerStatus
from lvs_tui.ipvs.backend import DestEdit
from lvs_tui.live.session import HealthSource
from lvs_tui.model.records import DestKey, ServiceKey
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.setup import OpsSetup
from lvs_tui.ops.sysctl import KERNEL_DEFAULTS, Sysctls
from lvs_tui.sim import SimulatedDirector
from lvs_tui.ui.app import LvsTopApp
from lvs_tui.ui.factory import AppSettings, make_app

POLL_SECONDS = 1.0
WALL_START = 1_790_000_000.0
WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)


class StepClock:
    """Time that advances only when `step` is called."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def step(self, seconds: float = POLL_SECONDS) -> None:
        self.now += seconds


def frozen_app(seed: int = 1, journal: Path | None = None,
               health: bool = False) -> tuple[LvsTopApp, StepClock]:
    """The demo on a clock that moves only when told; with a journal, changes can be made; with
    health, a checker's view of the first service (fixed, since the demo's servers are not real)."""
    clock = StepClock()
    director = SimulatedDirector(seed=seed, clock=clock, wall_clock=lambda: WALL_START + clock())
    setup = OpsSetup(read_only="no journal configured")
    if journal is not None:
        setup = OpsSetup(None, Journal(journal), lambda: Sysctls(dict(KERNEL_DEFAULTS)), director.connections,
                         lambda: ())
    feed: HealthSource | None = None
    if health:
        director.edit_dest(WEB, DestKey("198.51.100.12", 8080), DestEdit(weight=0))  # taken out by it
        view = _health_view(WALL_START + clock())
        feed = lambda submit: FixedHealth(view)  # noqa: E731
    # The clock moves only in advance(): every run renders the same frames.
    app = make_app(AppSettings(lambda: director, "demo (seed 1)", POLL_SECONDS, setup, feed, clock=clock,
                               wall=lambda: WALL_START + clock(), auto_poll=False))
    return app, clock


class FixedHealth:
    """A checker's view that never changes: for pictures of the Health column."""

    def __init__(self, view: HealthView) -> None:
        self._view = view

    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None

    def view(self) -> HealthView:
        return self._view

    def stand_aside(self, service: ServiceKey, dest: DestKey) -> None:
        return None


def _health_view(now: float) -> HealthView:
    def server(last: int) -> tuple[ServiceKey, DestKey]:
        return WEB, DestKey(f"198.51.100.{last}", 8080)

    servers = {
        server(11): ServerStatus(Health.HEALTHY, now - 3725, "HTTP 200"),
        server(12): ServerStatus(Health.UNHEALTHY, now - 95, "HTTP 503, expected 200", taken_out=True),
        server(13): ServerStatus(Health.HEALTHY, now - 3725, "HTTP 200"),
        server(14): ServerStatus(Health.DISABLED, now - 600, "weight 0 set by hand"),
    }
    events = (
        HealthEvent(now - 97, WEB, "warning", "198.51.100.12:8080 unhealthy after 3 checks in a row: "
                                              "HTTP 503, expected 200"),
        HealthEvent(now - 95, WEB, "info", "ipvsadm -e -t 192.0.2.10:80 -r 198.51.100.12:8080 -m -w 0"),
    )
    return HealthView(servers, events, (), "lvs-top health (pid 812)", True, now)


async def advance(app: LvsTopApp, clock: StepClock, polls: int) -> None:
    """Poll `polls` more times, one simulated second apart, and wait until each is on screen.
    The poll the app makes when it starts is awaited first, so no poll is ever skipped."""
    await _until_changed(app, None)
    for _ in range(polls):
        before = app.frame.snapshot
        clock.step()
        app.request_poll()
        await _until_changed(app, before)


async def _until_changed(app: LvsTopApp, before: object) -> None:
    for _ in range(1000):
        if app.frame.snapshot is not before:
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("the dashboard received no poll within 10 s")


async def _save(path: str, size: tuple[int, int], health: bool) -> None:
    """The README's pictures: a host being drained across both services it serves; or, with
    health, a checker's view of the first service."""
    with tempfile.TemporaryDirectory() as scratch:
        app, clock = frozen_app(journal=Path(scratch) / "journal.jsonl", health=health)
        async with app.run_test(size=size) as pilot:
            await advance(app, clock, 6)
            await pilot.press(*(("tab",) if health else ("tab", "down", "D", "y")))
            if not health:
                await advance(app, clock, 8)
            app.clear_notifications()
            await pilot.pause()
            app.save_screenshot(path)


if __name__ == "__main__":
    health = "--health" in sys.argv
    args = [arg for arg in sys.argv[1:] if arg != "--health"]
    target = args[0] if args else "docs/dashboard.svg"
    columns, rows = (int(args[1]), int(args[2])) if len(args) > 2 else (120, 40)
    asyncio.run(_save(target, (columns, rows), health))
    print(f"wrote {target} ({columns}x{rows})")
