"""Cost of a poll against `ipvsadm -Ln --stats --exact`, as the table grows.

Run inside the lab VM (needs IPVS and root): `scripts/kernel-bench` (boots one VM), or inside a
lab VM by hand: `python bench/poll_cost.py [--sizes 1000x10,10000x3] [--repeat 5]`. For each size
it builds SERVICES x DESTS with `ipvsadm -R` and times, on the same table in the same run:

- cold: a fresh backend each poll (its decoder has seen nothing: no reuse, no learnt layouts);
- warm, idle: one backend polling an unchanged table (most records reused by their bytes);
- warm, busy: one backend, but every real server's weight and every service's timeout changed
  between polls (untimed), so every message differs from the previous poll's, as on a director
  where every counter moved at the estimator's 2 s tick. (`ipvsadm -Z` would not do: the lab table
  carries no traffic, its counters are already zero.)
- the dashboard's tiered poll (lvs_tui.ipvs.tiers), idle and busy: WHOLE_EACH_POLL services read
  whole, the others from /proc/net/ip_vs and in rotation;
- batch JSON, busy: a full poll and its encoding, and the encoding alone;
- an exporter scrape (`lvs-top exporter`'s collector, prometheus_client's text and its gzip, as
  Prometheus asks for it), busy, and the metrics and their encoding alone (a reading already polled);
- ipvsadm -Ln --stats --exact.

Prints the medians and the ratio of each to ipvsadm, then the full and tiered poll per size (goals:
the dashboard's poll <= 0.5x ipvsadm and growing with what is read whole, not with the table; batch
JSON <= 1.0x ipvsadm). Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if TYPE_CHECKING:
    from lvs_tui.ipvs.backend import Backend

WHOLE_EACH_POLL = 30  # services the tiered poll reads whole: a selection, drains, checked ones


def vip(s: int) -> str:
    return f"10.{100 + s // 65536}.{s // 256 % 256}.{s % 256}"


def rules(services: int, dests: int) -> str:
    lines = []
    for s in range(services):
        lines.append(f"-A -t {vip(s)}:80 -s wrr")
        for d in range(dests):
            lines.append(f"-a -t {vip(s)}:80 -r 10.200.{d}.{1 + s % 250}:8080 -m -w {1 + d}")
    return "\n".join(lines) + "\n"


def edits(services: int, dests: int, flip: int) -> str:
    """Every service and real server changed (persistence on/off, weight +0/+1), for the busy poll."""
    lines = []
    for s in range(services):
        lines.append(f"-E -t {vip(s)}:80 -s wrr" + (" -p 300" if flip else ""))
        for d in range(dests):
            lines.append(f"-e -t {vip(s)}:80 -r 10.200.{d}.{1 + s % 250}:8080 -m -w {1 + d + flip}")
    return "\n".join(lines) + "\n"


def pyroute2_dumper() -> Callable[[], object] | None:
    """The dump as pyroute2's documentation shows it (messages only, no records, no stats), for
    comparison; None when pyroute2 is not installed (it is a development dependency only)."""
    try:
        from pyroute2 import IPVS, IPVSService  # type: ignore[import-untyped]
    except ImportError:
        return None
    ipvs = IPVS()

    def dump() -> object:
        count = 0
        for message in ipvs.service("dump"):
            service = IPVSService.from_message(message)
            count += sum(1 for _ in ipvs.dest("dump", service=service))
        return count

    return dump


def timed(fn: Callable[[], object], repeat: int, before: Callable[[], object] | None = None) -> list[float]:
    """Wall times of `fn` after one warm-up call; `before` runs untimed ahead of each call."""
    out = []
    for i in range(repeat + 1):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        if i:
            out.append(time.perf_counter() - start)
    return out


def report(label: str, runs: list[float], reference: float | None) -> float:
    median = statistics.median(runs)
    ratio = f"  {median / reference:5.2f}x ipvsadm" if reference else ""
    each = ", ".join(f"{t * 1000:.0f}" for t in runs)
    print(f"{label:34s} median {median * 1000:9.1f} ms{ratio}  (runs: {each})")
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000x10,10000x3",
                        help="tables to build in turn, SERVICESxDESTS, comma-separated")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="leave the last table in place afterwards")
    parser.add_argument("--dashboard", type=float, default=0.0, metavar="SECONDS",
                        help="then run the dashboard headless on the last table (bench/dashboard.py "
                             "--kernel): first frame, key to paint, and its CPU over SECONDS")
    args = parser.parse_args()
    subprocess.run(["modprobe", "ip_vs"], check=True)
    subprocess.run(["modprobe", "ip_vs_wrr"], check=True)
    per_poll: list[tuple[str, float, float, float]] = []
    for size in args.sizes.split(","):
        services, dests = (int(part) for part in size.split("x"))
        per_poll.append((size, *measure(services, dests, args.repeat)))
    print("\nas the table grows (busy): ipvsadm's listing, the full poll, the dashboard's tiered poll")
    for size, listing, full, tiered in per_poll:
        print(f"  {size:>9s}: ipvsadm {listing * 1000:8.1f} ms, full {full * 1000:8.1f} ms, "
              f"tiered {tiered * 1000:8.1f} ms ({tiered / listing:.2f}x ipvsadm)")
    print("goals: the dashboard's poll <= 0.5x ipvsadm; batch JSON <= 1.0x ipvsadm")
    if args.dashboard > 0:
        print(f"\n== the dashboard on the kernel, {per_poll[-1][0]} (ipvsadm once a second would take "
              f"{per_poll[-1][1] * 100:.0f} % of a core)", flush=True)
        subprocess.run([sys.executable, str(Path(__file__).with_name("dashboard.py")), "--kernel",
                        "--seconds", str(args.dashboard), "--presses", "40"], check=True)
    if not args.keep:
        subprocess.run(["ipvsadm", "-C"], check=True)
    return 0


def measure(services: int, dests: int, repeat: int) -> tuple[float, float, float]:
    """Every figure for one table size; (ipvsadm, full poll busy, tiered poll busy) in seconds."""
    from lvs_tui.ipvs.kernel import KernelBackend
    from lvs_tui.model.export import snapshot_json

    subprocess.run(["ipvsadm", "-C"], check=True)
    start = time.perf_counter()
    subprocess.run(["ipvsadm", "-R"], input=rules(services, dests), text=True, check=True)
    print(f"\n== {services} services x {dests} real servers (built with ipvsadm -R in "
          f"{time.perf_counter() - start:.1f} s)")
    backend = KernelBackend()
    snapshot = backend.snapshot()
    keys = [service.key for service in snapshot.services]
    print(f"snapshot sees {len(keys)} services, {sum(len(s.dests) for s in snapshot.services)} real servers")
    # What the dashboard names each poll: a selected service and some draining or checked.
    named = keys[:WHOLE_EACH_POLL]

    def ipvsadm() -> object:
        return subprocess.run(["ipvsadm", "-Ln", "--stats", "--exact"], capture_output=True, check=True)

    fresh: list[KernelBackend] = []

    def new_backend() -> None:
        while fresh:
            fresh.pop().close()
        fresh.append(KernelBackend())

    flip = [0]

    def change_everything() -> None:
        flip[0] ^= 1
        subprocess.run(["ipvsadm", "-R"], input=edits(services, dests, flip[0]), text=True, check=True)

    def batch_json() -> object:
        return json.dumps(snapshot_json(backend.snapshot(), None, backend.description))

    encoded = [snapshot]

    def encode() -> object:
        return json.dumps(snapshot_json(encoded[0], None, backend.description))

    tiered_backend = KernelBackend()
    exporter_backend = KernelBackend()
    scrape = scraper(lambda: exporter_backend, cache=0.0)
    scrape_polled = scraper(lambda: exporter_backend, cache=float("inf"))
    scrape_polled()  # polls once; then only the metrics and their encoding
    listing = timed(ipvsadm, repeat)
    cold = timed(lambda: fresh[0].snapshot(), repeat, before=new_backend)
    warm = timed(backend.snapshot, repeat)
    busy = timed(backend.snapshot, repeat, before=change_everything)
    tiered_idle = timed(lambda: tiered_backend.snapshot(named), repeat)
    tiered_busy = timed(lambda: tiered_backend.snapshot(named), repeat, before=change_everything)
    batch = timed(batch_json, repeat, before=change_everything)
    encoding = timed(encode, repeat)
    scrapes = timed(scrape, repeat, before=change_everything)
    metrics = timed(scrape_polled, repeat)
    new_backend()
    fresh[0].close()
    backend.close()
    tiered_backend.close()
    exporter_backend.close()

    reference = report("ipvsadm -Ln --stats --exact", listing, None)
    report("poll, cold (fresh backend)", cold, reference)
    report("poll, warm, idle table", warm, reference)
    full = report("poll, warm, busy (all changed)", busy, reference)
    report(f"dashboard poll, tiered, idle ({len(named)} whole)", tiered_idle, reference)
    tiered = report(f"dashboard poll, tiered, busy ({len(named)} whole)", tiered_busy, reference)
    report("batch JSON, busy (poll + encoding)", batch, reference)
    report("  of which the encoding", encoding, reference)
    report("exporter scrape, busy (poll + metrics)", scrapes, reference)
    report("  of which the metrics, encoded", metrics, reference)
    return reference, full, tiered


def scraper(open_backend: Callable[[], Backend], cache: float) -> Callable[[], object]:
    """One scrape as Prometheus asks for it (gzip accepted) of `lvs-top exporter`'s app, its HTTP
    transport aside: the collector, prometheus_client's text, the compression."""
    from lvs_tui.exporter.serve import TableCollector, scrape_app
    from lvs_tui.exporter.source import Source

    app = scrape_app(TableCollector(Source(open_backend, None, None, cache=cache), 10**9))
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/metrics", "QUERY_STRING": "",
               "HTTP_ACCEPT_ENCODING": "gzip"}
    return lambda: b"".join(app(environ, lambda *_: lambda _: None))


if __name__ == "__main__":
    raise SystemExit(main())
