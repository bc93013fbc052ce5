"""Cost of the demo director at scale: build, first snapshot, snapshot() per simulated second, RSS.

Usage: python bench/demo_cost.py [SIZE] [SNAPSHOTS]   (default 10000x10, 60)
Each snapshot advances a fake clock by one second, as a dashboard polling every second would.
Goals at 10000x10: build + first snapshot <= 0.6 s; snapshot() median <= 30 ms, p95 <= 80 ms;
RSS under 150 MiB for the simulator (the figure below includes the interpreter, ~20 MiB).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import psutil

from lvs_tui.sim import SimulatedDirector, parse_demo_size


def main() -> None:
    services, dests = parse_demo_size(sys.argv[1] if len(sys.argv) > 1 else "10000x10")
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    process = psutil.Process()
    rss_before = process.memory_info().rss / 2**20
    now = [0.0]
    started = time.perf_counter()
    cpu = time.process_time()
    director = SimulatedDirector(seed=1, services=services, dests_per_service=dests, clock=lambda: now[0])
    build = time.perf_counter() - started
    t = time.perf_counter()
    previous = director.snapshot()
    first = time.perf_counter() - t
    cpu = time.process_time() - cpu
    costs = []
    changed = []
    for _ in range(count):
        now[0] += 1.0
        t = time.perf_counter()
        snap = director.snapshot()
        costs.append(time.perf_counter() - t)
        changed.append(sum(a is not b for a, b in zip(snap.services, previous.services, strict=False)))
        previous = snap
    costs.sort()
    rss = process.memory_info().rss / 2**20
    live = sum(1 for s in previous.services if s.stats.conns)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"table           {services} services x {dests} real servers ({live} with counters)")
    print(f"build           {build * 1000:.0f} ms")
    print(f"first snapshot  {first * 1000:.0f} ms  (build + first: {(build + first) * 1000:.0f} ms wall, "
          f"{cpu * 1000:.0f} ms CPU; load average {load})")
    print(f"snapshot()      median {statistics.median(costs) * 1000:.1f} ms, "
          f"p95 {costs[int(0.95 * (len(costs) - 1))] * 1000:.1f} ms, max {costs[-1] * 1000:.1f} ms "
          f"over {count} one-second steps")
    print(f"services moved  median {statistics.median(changed):.0f} per snapshot")
    print(f"RSS             {rss:.0f} MiB ({rss - rss_before:.0f} MiB for the director)")


if __name__ == "__main__":
    main()
