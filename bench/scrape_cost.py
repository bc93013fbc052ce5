"""What an exporter scrape costs past its poll, on this machine: the simulated director's table,
read once, then prometheus_client's metric families, its text, and its compression at gzip's
slowest level (prometheus_client's own) and at the level `lvs-top exporter` serves (GZIP_LEVEL).

Usage: python bench/scrape_cost.py [SIZE] [REPEAT]   (default 1000x10, 5). Medians; asserts nothing.
The kernel's side (the poll, in the lab VM against ipvsadm) is bench/poll_cost.py's.
"""

from __future__ import annotations

import functools
import gzip
import statistics
import sys
import time
from collections.abc import Callable

from prometheus_client import generate_latest

from lvs_tui.exporter.metrics import table_families
from lvs_tui.exporter.serve import GZIP_LEVEL, TableCollector, registry_of
from lvs_tui.exporter.source import Source
from lvs_tui.sim import SimulatedDirector, parse_demo_size


def median_ms(work: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs) * 1000


def main() -> None:
    services, dests = parse_demo_size(sys.argv[1] if len(sys.argv) > 1 else "1000x10")
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    director = SimulatedDirector(seed=1, services=services, dests_per_service=dests)
    source = Source(lambda: director, None, None, cache=float("inf"))
    registry = registry_of(TableCollector(source, 10**9))
    reading = source.reading()  # the poll, once: what follows is the scrape's own cost
    text = generate_latest(registry)
    lines = text.count(b"\n")
    print(f"table                {services} services x {dests} real servers: {lines} lines, "
          f"{len(text) / 1e6:.1f} MB of text")
    print(f"{'metric families':36} {median_ms(lambda: list(table_families(reading)), repeat):6.0f} ms")
    print(f"{'families and text':36} {median_ms(lambda: generate_latest(registry), repeat):6.0f} ms")
    for level, whose in ((9, "prometheus_client's"), (GZIP_LEVEL, "lvs-top exporter's")):
        size = len(gzip.compress(text, compresslevel=level)) / 1e6
        cost = median_ms(functools.partial(gzip.compress, text, compresslevel=level), repeat)
        print(f"{f'gzip level {level} ({whose})':36} {cost:6.0f} ms, {size:.2f} MB")


if __name__ == "__main__":
    main()
