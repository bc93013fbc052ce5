"""Cost of "who is still on it?" over a big connection table: stream, filter to one real server,
group by client.

Usage: python bench/conntable.py [LINES] [REPEAT]   (default 1000000, 3)
Writes a synthetic /proc/net/ip_vs_conn-format file (IPv4, TCP states and persistence templates;
1 in 50 entries on the real server looked up), then times the full parse and the prefiltered read
the screen uses, printing the median seconds, lines per second and the RSS growth (the reader
streams: it stays flat whatever the table size).
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil

from lvs_tui.model.connections import Connection, by_client, for_dest
from lvs_tui.ops.conntable import read_connections, read_dest_connections

HEADER = "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"
STATES = ("ESTABLISHED", "TIME_WAIT", "FIN_WAIT", "SYN_RECV", "CLOSE")


def write_table(path: Path, lines: int) -> None:
    rng = random.Random(1)
    with path.open("w") as out:
        out.write(HEADER)
        for i in range(lines):
            dest = "0A140102" if i % 50 == 0 else f"0A14{rng.randrange(2, 200):02X}02"
            client = f"C0A8{rng.randrange(256):02X}{rng.randrange(256):02X}"
            if i % 20 == 0:  # a persistence template: client port 0, state NONE
                expires = rng.randrange(360)
                out.write(f"TCP {client} 0000 0A0A0001 0050 {dest} 0050 NONE        {expires:7d}\n")
            else:
                state = STATES[i % len(STATES)]
                out.write(f"TCP {client} {rng.randrange(1024, 65535):04X} 0A0A0001 0050 {dest} 0050 "
                          f"{state:<11} {rng.randrange(900):7d}\n")


def main() -> None:
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    process = psutil.Process()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "ip_vs_conn"
        write_table(path, lines)
        rss_before = process.memory_info().rss / 2**20
        readers: tuple[tuple[str, Callable[[], Iterator[Connection]]], ...] = (
            ("parse every line", lambda: for_dest(read_connections(str(path)), "10.20.1.2", 80)),
            ("prefilter (what the screen uses)", lambda: read_dest_connections("10.20.1.2", 80, str(path))),
        )
        for name, read in readers:
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                groups = by_client(read())
                times.append(time.perf_counter() - started)
            growth = process.memory_info().rss / 2**20 - rss_before
            median = statistics.median(times)
            entries = sum(group.connections + group.templates for group in groups)
            print(f"{name}: {lines} lines in {median:.2f} s ({lines / median / 1e6:.2f} M lines/s), "
                  f"{entries} entries of the server from {len(groups)} clients, RSS growth {growth:.0f} MiB")


if __name__ == "__main__":
    main()
