"""The dashboard's cost at scale: the app headless on the simulated director (default 10000x10),
or with `--kernel` on the running kernel's table as it is (the lab VM: `scripts/kernel-bench`).

    python bench/dashboard.py [--size 10000x10 | --kernel] [--seconds 60] [--presses 200]

Reports: time from start to the first full frame, median and p95 time from a key press to the
repaint, CPU share of one core while it polls every second, and peak RSS. Goals on the project's
2-core machine: first frame <= 1.5 s, key-to-paint p95 <= 100 ms, CPU <= 25 %, RSS <= 300 MB.
Prints figures; asserts nothing. The poller (and so the simulated director) runs in-process, so
its cost is included.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual import events

from lvs_tui.ipvs.backend import Backend
from lvs_tui.sim import SimulatedDirector, parse_demo_size
from lvs_tui.ui.factory import AppSettings, make_app
from lvs_tui.ui.grid import Grid

KEYS = ("down", "down", "pagedown", "up", "s", "tab", "down", "tab", "t", "t")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run(size: tuple[int, int], seconds: float, presses: int, kernel: bool) -> None:
    start = time.perf_counter()
    services, dests = size

    def simulated() -> Backend:
        return SimulatedDirector(seed=1, services=services, dests_per_service=dests)

    open_backend: Callable[[], Backend] = simulated
    if kernel:
        from lvs_tui.ipvs.kernel import KernelBackend

        open_backend = KernelBackend
    app = make_app(AppSettings(open_backend, "kernel" if kernel else f"demo {services}x{dests}", 1.0))
    async with app.run_test(size=(120, 40)) as pilot:
        grid = app.query_one("#services", Grid)
        while grid.row_count == 0:
            await asyncio.sleep(0.005)
        await pilot.pause()
        first_frame = time.perf_counter() - start

        # Key to paint: from handing the key event to the app's driver to the first frame the app
        # writes after it (App._display is where a frame goes to the terminal).
        painted: list[float] = []
        display = app._display

        def spy(screen: object, renderable: object) -> None:
            display(screen, renderable)  # type: ignore[arg-type]
            if renderable is not None:
                painted.append(time.perf_counter())

        app._display = spy  # type: ignore[method-assign]
        latencies = []
        for index in range(presses):
            key = KEYS[index % len(KEYS)]
            del painted[:]
            pressed = time.perf_counter()
            app._driver.send_message(events.Key(key, None))  # type: ignore[union-attr]
            for _ in range(2000):
                if painted:
                    break
                await asyncio.sleep(0.001)
            latencies.append((painted[0] if painted else time.perf_counter()) - pressed)
            await asyncio.sleep(0.05)  # an operator's pace, not a flood

        cpu_before, wall_before = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        cpu = (time.process_time() - cpu_before) / (time.perf_counter() - wall_before)
        polls = len(app.dashboard.ordered())
        frame = app.dashboard.frame
        if kernel and frame.snapshot is not None:
            snapshot = frame.snapshot
            services, dests = len(snapshot.services), sum(len(service.dests) for service in snapshot.services)

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"table                 {services} services x {dests} real servers ({polls} shown)")
    print(f"first full frame      {first_frame:.2f} s   (goal <= 1.5 s)")
    print(f"key to paint          median {statistics.median(latencies) * 1000:.1f} ms, "
          f"p95 {percentile(latencies, 0.95) * 1000:.1f} ms over {presses} presses   (goal p95 <= 100 ms)")
    print(f"CPU at 1 s interval   {cpu * 100:.1f} % of one core over {seconds:.0f} s   (goal <= 25 %)")
    print(f"peak RSS              {rss_mb:.0f} MB   (goal <= 300 MB)")


def main() -> int:
    parser = argparse.ArgumentParser(description="lvs-top dashboard cost at scale")
    parser.add_argument("--size", default="10000x10", type=parse_demo_size)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--kernel", action="store_true", help="the running kernel's table (root, IPVS)")
    args = parser.parse_args()
    asyncio.run(run(args.size, args.seconds, args.presses, args.kernel))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
