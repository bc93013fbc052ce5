"""Are hundreds of servers checked on time, with some of them hanging? The checker's scheduling
alone, on loopback (no IPVS needed): `python bench/health.py [--servers 500] [--hanging 100]
[--interval 1] [--timeout 0.5] [--parallel 64] [--seconds 20]`.

Starts SERVERS HTTP servers on 127.0.0.1, HANGING of which accept and never answer, and runs the
checker's prober over all of them for SECONDS. Prints, per kind of server: checks done against the
ideal count (seconds / interval), how late each check started against its schedule (median, p99,
max), and the process's CPU. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import resource
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lvs_tui.health.checks import HttpCheck, Result
from lvs_tui.health.prober import Target, probe_forever

LOOPBACK = "127.0.0.1"


async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
    writer.close()


async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        await reader.read()  # until the checker gives up and closes
    writer.close()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main(servers: int, hanging: int, interval: float, timeout: float, parallel: int,
               seconds: float) -> None:
    listeners = []
    targets = []
    for index in range(servers):
        slow = index < hanging
        server = await asyncio.start_server(hang if slow else answer, LOOPBACK, 0, backlog=64)
        listeners.append(server)
        port = server.sockets[0].getsockname()[1]
        targets.append(Target(("hanging" if slow else "answering", port), LOOPBACK, port,
                              HttpCheck(timeout=timeout), interval))
    starts: dict[object, list[float]] = defaultdict(list)
    verdicts: dict[str, list[bool]] = defaultdict(list)
    began = time.monotonic()

    def clock() -> float:
        return time.monotonic()

    def on_result(target: Target, result: Result) -> None:
        # A check's start is its end minus its duration: the prober reports only results.
        starts[target.key].append(time.monotonic() - result.seconds)
        assert isinstance(target.key, tuple)
        verdicts[target.key[0]].append(result.healthy)

    cpu = cpu_seconds()
    prober = asyncio.ensure_future(probe_forever(targets, on_result, parallel, clock))
    await asyncio.sleep(seconds)
    prober.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await prober
    cpu = cpu_seconds() - cpu
    elapsed = time.monotonic() - began
    for server in listeners:
        server.close()
    print(f"{servers} servers ({hanging} hanging), interval {interval:g} s, timeout {timeout:g} s, "
          f"parallel {parallel}, over {elapsed:.1f} s; CPU {cpu / elapsed * 100:.1f} % of one core")
    ideal = int(seconds / interval)
    for kind in ("answering", "hanging"):
        keys = [key for key in starts if isinstance(key, tuple) and key[0] == kind]
        if not keys:
            continue
        late = []
        for key in keys:
            times = starts[key]
            late += [max(0.0, (b - a) - interval) for a, b in itertools.pairwise(times)]
        done = [len(starts[key]) for key in keys]
        healthy = sum(verdicts[kind]) / max(1, len(verdicts[kind])) * 100
        late.sort()
        p99 = late[int(len(late) * 0.99)] if late else 0.0
        print(f"  {kind:9}: checks per server {min(done)}-{max(done)} (ideal {ideal}), "
              f"healthy {healthy:.0f} %, "
              f"start late by median {statistics.median(late) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
              f"max {max(late, default=0) * 1000:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=500)
    parser.add_argument("--hanging", type=int, default=100)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=0.5)
    parser.add_argument("--parallel", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20.0)
    options = parser.parse_args()
    asyncio.run(main(options.servers, options.hanging, options.interval, options.timeout, options.parallel,
                     options.seconds))
