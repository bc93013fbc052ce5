"""Cost of one full poll (`KernelBackend().snapshot()`) against `ipvsadm -Ln --stats --exact`.

Run inside the lab VM (needs IPVS and root): `scripts/kernel-bench` (boots one VM), or inside a
lab VM by hand: `python bench/poll_cost.py [--services 1000] [--dests 10] [--repeat 5]`.
Builds SERVICES x DESTS with `ipvsadm -R` and times, on the same table in the same run:

- cold: a fresh backend each poll (its decoder has seen nothing: no reuse, no learnt layouts);
- warm, idle: one backend polling an unchanged table (most records reused by their bytes);
- warm, busy: one backend, but every real server's weight and every service's timeout changed
  between polls (untimed), so every message differs from the previous poll's, as on a director
  where every counter moved at the estimator's 2 s tick. (`ipvsadm -Z` would not do: the lab table
  carries no traffic, its counters are already zero.)
- ipvsadm -Ln --stats --exact.

Prints the medians and the ratio of each to ipvsadm (goal: poll <= 0.5x ipvsadm). Asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


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
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--dests", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="leave the table in place afterwards")
    args = parser.parse_args()

    subprocess.run(["modprobe", "ip_vs"], check=True)
    subprocess.run(["modprobe", "ip_vs_wrr"], check=True)
    subprocess.run(["ipvsadm", "-C"], check=True)
    start = time.perf_counter()
    subprocess.run(["ipvsadm", "-R"], input=rules(args.services, args.dests), text=True, check=True)
    print(f"built {args.services} services x {args.dests} real servers with ipvsadm -R "
          f"in {time.perf_counter() - start:.1f} s")

    from lvs_tui.ipvs.kernel import KernelBackend

    backend = KernelBackend()
    snapshot = backend.snapshot()
    found = (len(snapshot.services), sum(len(s.dests) for s in snapshot.services))
    print(f"snapshot sees {found[0]} services, {found[1]} real servers")

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
        subprocess.run(["ipvsadm", "-R"], input=edits(args.services, args.dests, flip[0]), text=True,
                       check=True)

    pyroute2_dump = pyroute2_dumper()
    plain = None if pyroute2_dump is None else timed(pyroute2_dump, args.repeat)
    listing = timed(ipvsadm, args.repeat)
    cold = timed(lambda: fresh[0].snapshot(), args.repeat, before=new_backend)
    warm = timed(backend.snapshot, args.repeat)
    busy = timed(backend.snapshot, args.repeat, before=change_everything)
    new_backend()
    fresh[0].close()
    backend.close()
    if not args.keep:
        subprocess.run(["ipvsadm", "-C"], check=True)

    reference = report("ipvsadm -Ln --stats --exact", listing, None)
    report("poll, cold (fresh backend)", cold, reference)
    report("poll, warm, idle table", warm, reference)
    report("poll, warm, busy (all changed)", busy, reference)
    if plain is not None:
        report("pyroute2 0.9 dump, no records", plain, reference)
    print("goal: poll <= 0.5x ipvsadm")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
