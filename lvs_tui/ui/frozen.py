"""A deterministic dashboard for screenshots and snapshot tests: the simulated director on a
clock that only moves when the dashboard polls, so every run renders the same frames.

`python -m lvs_tui.ui.frozen docs/dashboard.svg [COLUMNS ROWS]` writes the README's screenshot.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from lvs_tui.ops.journal import Journal
from lvs_tui.ops.setup import OpsSetup
from lvs_tui.ops.sysctl import KERNEL_DEFAULTS, Sysctls
from lvs_tui.sim import SimulatedDirector
from lvs_tui.ui.app import LvsTopApp

POLL_SECONDS = 1.0


class StepClock:
    """Time that advances only when `step` is called."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def step(self, seconds: float = POLL_SECONDS) -> None:
        self.now += seconds


def frozen_app(seed: int = 1, journal: Path | None = None) -> tuple[LvsTopApp, StepClock]:
    """The demo on a clock that moves only when told; with a journal, changes can be made."""
    clock = StepClock()
    director = SimulatedDirector(seed=seed, clock=clock, wall_clock=lambda: 1_790_000_000.0 + clock())
    setup = None
    if journal is not None:
        setup = OpsSetup(None, Journal(journal), lambda: Sysctls(dict(KERNEL_DEFAULTS)), None, lambda: ())
    app = LvsTopApp(lambda: director, "demo (seed 1)", interval=POLL_SECONDS, clock=clock, setup=setup)
    app.auto_poll = False  # the clock moves only in advance(): every run renders the same frames
    return app, clock


async def advance(app: LvsTopApp, clock: StepClock, polls: int) -> None:
    """Poll `polls` more times, one simulated second apart, and wait until each is on screen.
    The poll the app makes when it starts is awaited first, so no poll is ever skipped."""
    await _until_changed(app, None)
    for _ in range(polls):
        before = app.dashboard.snapshot
        clock.step()
        app.request_poll()
        await _until_changed(app, before)


async def _until_changed(app: LvsTopApp, before: object) -> None:
    for _ in range(1000):
        if app.dashboard.snapshot is not before:
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("the dashboard received no poll within 10 s")


async def _save(path: str, size: tuple[int, int]) -> None:
    """The README's picture: a host being drained across both services it serves."""
    with tempfile.TemporaryDirectory() as scratch:
        app, clock = frozen_app(journal=Path(scratch) / "journal.jsonl")
        async with app.run_test(size=size) as pilot:
            await advance(app, clock, 6)
            await pilot.press("tab", "down", "D", "y")
            await advance(app, clock, 8)
            app.clear_notifications()
            await pilot.pause()
            app.save_screenshot(path)


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "docs/dashboard.svg"
    columns, rows = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (120, 40)
    asyncio.run(_save(target, (columns, rows)))
    print(f"wrote {target} ({columns}x{rows})")
