"""Cost of comparing two directors' tables in a dashboard of several (lvs_tui.model.pairview), which
a pair's dashboard does at most once per DRIFT_COST_SHARE times what the last comparison took.

Usage: python bench/drift_cost.py [REPEAT]   (default 5)
Two simulated tables of each size: the same table (a pair in order: one look per service), one
weight changed (a drift to find), and two tables that differ in most real servers (the worst
case). Prints the best of REPEAT runs in milliseconds, and the differences found.
"""

from __future__ import annotations

import dataclasses
import sys
import time

from lvs_tui.model.pairview import DirectorReading, directors_view
from lvs_tui.model.records import Snapshot
from lvs_tui.sim import SimulatedDirector

SIZES = ((1000, 10), (10000, 3))


def one_weight_changed(table: Snapshot) -> Snapshot:
    first = table.services[0]
    dest = dataclasses.replace(first.dests[0], weight=first.dests[0].weight + 1)
    service = dataclasses.replace(first, dests=(dest, *first.dests[1:]))
    return dataclasses.replace(table, services=(service, *table.services[1:]))


def best_of(repeat: int, left: Snapshot, right: Snapshot) -> tuple[float, int]:
    readings = [DirectorReading("lb1", left, 1.0, None, ()), DirectorReading("lb2", right, 1.0, None, ())]
    seconds, found = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        view = directors_view(readings, 0)
        seconds.append(time.perf_counter() - started)
        found = len(view.directors[1].drift or ())
    return min(seconds) * 1000, found


def main(repeat: int) -> None:
    print(f"{'table':>9}  {'case':<22} {'ms':>8}  differences")
    for services, servers in SIZES:
        left = SimulatedDirector(seed=1, services=services, dests_per_service=servers).snapshot()
        same = SimulatedDirector(seed=1, services=services, dests_per_service=servers).snapshot()
        other = SimulatedDirector(seed=2, services=services, dests_per_service=servers).snapshot()
        for case, right in (("the same table", same), ("one weight changed", one_weight_changed(same)),
                            ("most servers differ", other)):
            ms, found = best_of(repeat, left, right)
            print(f"{services:>5}x{servers:<3}  {case:<22} {ms:8.1f}  {found}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
