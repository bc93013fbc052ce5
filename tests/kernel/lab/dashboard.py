"""The dashboard app as the kernel tests drive it headless: built here, in one place, from an
lvs-top command line, as `lvs_tui.cli` builds it (its backend factory and, for changes, its
journal and sysctls), so that a change to how the app is made touches this file only; and driven
through Textual's Pilot (`driven`)."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import textual.app
import textual.pilot
from textual import _wait
from textual.pilot import Pilot

from lvs_tui.cli import parse
from lvs_tui.cli.dashboard import app_settings
from lvs_tui.ops.setup import OpsSetup
from lvs_tui.ui.app import LvsTopApp
from lvs_tui.ui.factory import make_app


def app(*args: str, interval: float = 3600.0, changes: bool = True) -> LvsTopApp:
    """The dashboard of `lvs-top ARGS` (`--journal PATH`, `--read-only`, `--netns NAME`...), built
    by the command line's own factory, polling every `interval` s (an hour: the tests ask for
    polls), without the doctor's examinations or a checker's state file. Without `changes` it gets
    no setup for changes: nothing may be written, no journal either."""
    _, parsed = parse(list(args))
    settings = replace(app_settings(parsed), interval=interval, health=None, doctor=None, host=None)
    if not changes:
        settings = replace(settings, setup=OpsSetup(read_only="no journal configured"))
    return make_app(settings)


@contextlib.asynccontextmanager
async def driven(dashboard: LvsTopApp, size: tuple[int, int]) -> AsyncIterator[Pilot[None]]:
    """`dashboard.run_test(size=size)`, with Textual's idle detection fitted to this machine.

    After each key a Pilot waits until the process looks idle: under 1 ms of CPU time over 20 ms
    of sleep, else it gives up after 1 s. Under software emulation an idle event loop alone spends
    ~2 ms (measured in the lab VM), so every key cost 2 s of waiting. The threshold is raised to
    five times what this process spends idle (measured here), at most half the window: an app at
    work still never looks idle. What a key does is still awaited the same way (each widget
    processes its queued messages before `press` returns), and the tests wait for the effects they
    check. What the waits cost is printed at the end.
    """
    idle = await _idle_cpu()
    threshold = min(max(_wait.SLEEP_IDLE, 5 * idle), _wait.SLEEP_GRANULARITY / 2)
    print(f"idle: {idle * 1000:.2f} ms of CPU per {_wait.SLEEP_GRANULARITY * 1000:.0f} ms; Pilot's idle "
          f"threshold {threshold * 1000:.2f} ms (Textual's {_wait.SLEEP_IDLE * 1000:.2f} ms)")
    waits: list[float] = []
    with _idle_threshold(threshold), _timed_idle_waits(waits):
        async with dashboard.run_test(size=size) as pilot:
            yield pilot
    print(f"Pilot waited for idle {len(waits)} times, {sum(waits):.1f} s in all, "
          f"{sum(w >= 1.0 for w in waits)} of them giving up after 1 s")


async def _idle_cpu() -> float:
    """The CPU time this process spends over one of Pilot's 20 ms sleeps while idle (median of 5)."""
    spent = []
    for _ in range(5):
        before = time.process_time()
        await asyncio.sleep(_wait.SLEEP_GRANULARITY)
        spent.append(time.process_time() - before)
    return statistics.median(spent)


@contextlib.contextmanager
def _idle_threshold(seconds: float) -> Iterator[None]:
    before = _wait.SLEEP_IDLE
    _wait.SLEEP_IDLE = seconds
    try:
        yield
    finally:
        _wait.SLEEP_IDLE = before


@contextlib.contextmanager
def _timed_idle_waits(waits: list[float]) -> Iterator[None]:
    """Each wait for idle of the app and its Pilot, timed into `waits`."""
    original = _wait.wait_for_idle

    async def timed(min_sleep: float = _wait.SLEEP_GRANULARITY, max_sleep: float = 1) -> None:
        begun = time.monotonic()
        await original(min_sleep, max_sleep)
        waits.append(time.monotonic() - begun)

    modules = (textual.app, textual.pilot)
    for module in modules:
        module.wait_for_idle = timed  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module in modules:
            module.wait_for_idle = original  # type: ignore[attr-defined]
