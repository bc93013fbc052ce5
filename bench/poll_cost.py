"""Cost of one full poll (`KernelBackend().snapshot()`) against `ipvsadm -Ln --stats --exact`.

Run inside the lab VM (needs IPVS and root): `scripts/kernel-bench` (boots one VM), or inside a
lab VM by hand: `python bench/poll_cost.py [--services 1000] [--dests 10] [--repeat 5]`.
Builds SERVICES x DESTS with `ipvsadm -R`, times both on the same table in the same run, prints
the medians and the ratio (goal: poll <= 0.5x ipvsadm). Prints figures; asserts nothing.
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


def rules(services: int, dests: int) -> str:
    lines = []
    for s in range(services):
        vip = f"10.{100 + s // 65536}.{s // 256 % 256}.{s % 256}"
        lines.append(f"-A -t {vip}:80 -s wrr")
        for d in range(dests):
            lines.append(f"-a -t {vip}:80 -r 10.200.{d}.{1 + s % 250}:8080 -m -w {1 + d}")
    return "\n".join(lines) + "\n"


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    fn()  # warm up (imports, caches, the first socket)
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


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

    poll = timed(backend.snapshot, args.repeat)
    listing = timed(ipvsadm, args.repeat)
    backend.close()
    if not args.keep:
        subprocess.run(["ipvsadm", "-C"], check=True)

    p, i = statistics.median(poll), statistics.median(listing)
    print(f"KernelBackend().snapshot()      median {p * 1000:9.1f} ms  "
          f"(runs: {', '.join(f'{t * 1000:.0f}' for t in poll)})")
    print(f"ipvsadm -Ln --stats --exact     median {i * 1000:9.1f} ms  "
          f"(runs: {', '.join(f'{t * 1000:.0f}' for t in listing)})")
    print(f"ratio poll/ipvsadm: {p / i:.2f}x (goal <= 0.5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
