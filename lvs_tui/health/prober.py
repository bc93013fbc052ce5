"""Running many checks on time: one asyncio task per target, a bound on how many run at once.

A target is checked every `interval` seconds measured from the start of its previous check, so a
slow answer does not push the schedule back; a check that hangs costs only its own timeout, and
the bound keeps hundreds of targets from opening hundreds of sockets at the same instant.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from lvs_tui.health.checks import Check, Result, run_check

DEFAULT_PARALLEL = 64


@dataclass(frozen=True, slots=True)
class Target:
    key: Hashable  # what the caller knows the target by, e.g. (ServiceKey, DestKey)
    address: str
    port: int
    check: Check
    interval: float = 5.0


async def probe_round(targets: Sequence[Target], parallel: int = DEFAULT_PARALLEL) -> list[Result]:
    """Check every target once, at most `parallel` at a time; results in the targets' order."""
    gate = asyncio.Semaphore(parallel)

    async def one(target: Target) -> Result:
        async with gate:
            return await run_check(target.check, target.address, target.port)

    return list(await asyncio.gather(*(one(target) for target in targets)))


async def probe_forever(targets: Sequence[Target], on_result: Callable[[Target, Result], None],
                        parallel: int = DEFAULT_PARALLEL,
                        clock: Callable[[], float] = time.monotonic,
                        on_queued: Callable[[Target, float], None] | None = None) -> None:
    """Check each target every `interval` until cancelled; `on_result` gets every result, and
    `on_queued` the seconds a check waited for a free slot when that exceeds half its interval
    (the bound on parallelism is too tight: checks fall behind their schedule)."""
    gate = asyncio.Semaphore(parallel)

    async def loop(target: Target) -> None:
        while True:
            started = clock()
            async with gate:
                queued = clock() - started
                if on_queued is not None and queued > target.interval / 2:
                    on_queued(target, queued)
                result = await run_check(target.check, target.address, target.port)
            on_result(target, result)
            await asyncio.sleep(max(0.0, target.interval - (clock() - started)))

    await asyncio.gather(*(loop(target) for target in targets))
