"""What planning a restore costs as a service grows: one service of N real servers, restored from
its own saved table (a no-op plan: every server compared, none changed), and from a table with
every weight changed (N edits).

    python bench/restore_plan.py [N ...]      (default: 1000 10000)

Prints figures; asserts nothing. Planning was quadratic in real servers per service (27 s for a
no-op plan of 10,000); it now looks each server up by key.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lvs_tui.ipvs.backend import DestConfig, ServiceConfig
from lvs_tui.model.records import ServiceKey, Snapshot
from lvs_tui.ops.commands import save_lines
from lvs_tui.ops.restore import plan_restore
from lvs_tui.ops.rules import parse_rules
from lvs_tui.sim import SimulatedDirector

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)


def table(servers: int) -> Snapshot:
    director = SimulatedDirector(services=0, clock=lambda: 0.0, wall_clock=lambda: 0.0)
    director.add_service(ServiceConfig(WEB, "wrr"))
    for n in range(servers):
        director.add_dest(WEB, DestConfig(f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", 80, weight=1))
    return director.snapshot()


def timed(snapshot: Snapshot, text: str) -> tuple[float, float, int]:
    started = time.perf_counter()
    rules = parse_rules(text)
    parsed = time.perf_counter()
    plan = plan_restore(snapshot, rules, "bench")
    return parsed - started, time.perf_counter() - parsed, len(plan.changes)


def main() -> int:
    sizes = [int(arg) for arg in sys.argv[1:]] or [1000, 10000]
    print(f"{'servers':>8} {'plan':>10} {'parse s':>8} {'plan s':>8} {'changes':>8}")
    for servers in sizes:
        snapshot = table(servers)
        same = "\n".join(save_lines(snapshot))
        heavier = same.replace(" -w 1", " -w 2")
        for name, text in (("no-op", same), ("all edits", heavier)):
            parse, plan, count = timed(snapshot, text)
            print(f"{servers:>8} {name:>10} {parse:>8.2f} {plan:>8.2f} {count:>8}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
