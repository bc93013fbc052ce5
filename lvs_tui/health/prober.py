"""Running many checks on time: one asyncio task per target, a bound on how many run at once.

A target is checked every `interval` seconds measured from the start of its previous check, so a
slow answer does not push the schedule back; a check that hangs costs only its own timeout, and
the bound keeps hundreds of targets from opening hundreds of sockets at the same instant.

A target's loop ends only when it is cancelled: whatever a check or the receiver of its result
raises is handed to `on_fault` and the loop goes on (a loop that ended would leave its server
`checking` for good). The loops of one config are a `ProbeSet`, cancelled together, each task
by name, so a reload replaces them exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from lvs_tui.health.checks import Check, Result, could_not_run, run_check

DEFAULT_PARALLEL = 64


@dataclass(frozen=True, slots=True)
class Target:
    key: Hashable  # what the caller knows the target by, e.g. (ServiceKey, DestKey)
    address: str
    port: int
    check: Check
    interval: float = 5.0


OnResult = Callable[[Target, Result], None]
OnQueued = Callable[[Target, float], None]
OnFault = Callable[[Target, BaseException], None]


async def probe_round(targets: Sequence[Target], parallel: int = DEFAULT_PARALLEL) -> list[Result]:
    """Check every target once, at most `parallel` at a time; results in the targets' order."""
    gate = asyncio.Semaphore(parallel)

    async def one(target: Target) -> Result:
        async with gate:
            return await run_check(target.check, target.address, target.port)

    return list(await asyncio.gather(*(one(target) for target in targets)))


class ProbeSet:
    """One loop per target, started at once (on the running loop) and cancelled together."""

    def __init__(self, targets: Sequence[Target], on_result: OnResult, parallel: int = DEFAULT_PARALLEL,
                 clock: Callable[[], float] = time.monotonic, on_queued: OnQueued | None = None,
                 on_fault: OnFault | None = None) -> None:
        self._on_result, self._on_queued, self._on_fault = on_result, on_queued, on_fault
        self._clock = clock
        self._gate = asyncio.Semaphore(parallel)
        self._tasks = [(target, asyncio.ensure_future(self._loop(target))) for target in targets]

    def cancel(self) -> list[asyncio.Task[None]]:
        """Cancel every loop (each task, not a gather of them: a gather already done would cancel
        nothing); returns the tasks, to be awaited by whoever wants them finished."""
        for _, task in self._tasks:
            task.cancel()
        return [task for _, task in self._tasks]

    def revive(self) -> int:
        """Restart any loop that ended although not cancelled (none should); how many were."""
        dead = [i for i, (_, task) in enumerate(self._tasks) if task.done() and not task.cancelled()]
        for i in dead:
            target = self._tasks[i][0]
            self._tasks[i] = (target, asyncio.ensure_future(self._loop(target)))
        return len(dead)

    async def wait(self) -> None:
        """Until every loop has ended (that is, until they are cancelled)."""
        await asyncio.gather(*(task for _, task in self._tasks), return_exceptions=True)

    async def _loop(self, target: Target) -> None:
        while True:
            started = self._clock()
            try:
                await self._once(target, started)
            except Exception as error:  # the loop must outlive any one check
                if self._on_fault is not None:
                    with contextlib.suppress(Exception):
                        self._on_fault(target, error)
            await asyncio.sleep(max(0.0, target.interval - (self._clock() - started)))

    async def _once(self, target: Target, started: float) -> None:
        async with self._gate:
            queued = self._clock() - started
            if self._on_queued is not None and queued > target.interval / 2:
                self._on_queued(target, queued)
            began = self._clock()
            try:
                result = await run_check(target.check, target.address, target.port)
            except Exception as error:  # run_check says its own faults; this is for any other
                result = could_not_run(error, self._clock() - began)
        self._on_result(target, result)


async def probe_forever(targets: Sequence[Target], on_result: OnResult, parallel: int = DEFAULT_PARALLEL,
                        clock: Callable[[], float] = time.monotonic, on_queued: OnQueued | None = None,
                        on_fault: OnFault | None = None) -> None:
    """Check each target every `interval` until cancelled; `on_result` gets every result, and
    `on_queued` the seconds a check waited for a free slot when that exceeds half its interval
    (the bound on parallelism is too tight: checks fall behind their schedule)."""
    probes = ProbeSet(targets, on_result, parallel, clock, on_queued, on_fault)
    try:
        await probes.wait()
    finally:
        await asyncio.gather(*probes.cancel(), return_exceptions=True)
