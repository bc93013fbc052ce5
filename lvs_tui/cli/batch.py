"""Batch mode (`lvs-top --batch`): snapshots printed as text or JSON lines, like `top -b`.

The text view is ipvsadm -Ln's layout with connections, counters and rates in one table, which
ipvsadm itself cannot combine. Its columns are as wide as their widest value plus one space, so
they never run together, and each real-server or totals row has one word per column.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from lvs_tui.cli.common import Exit, open_backend
from lvs_tui.directors.reader import DirectorReader
from lvs_tui.ipvs.backend import Backend
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.model.export import snapshot_json
from lvs_tui.model.format import bits, forward_label, human, service_label, service_options
from lvs_tui.model.printable import printable
from lvs_tui.model.rates import FoldedRateWindow, Rates, SnapshotRates
from lvs_tui.model.records import DestKey, ServiceKey, Snapshot, Stats


@dataclass(frozen=True, slots=True)
class BatchOptions:
    count: int = 1
    delay: float = 1.0
    json: bool = False
    exact: bool = False


# (label, right-aligned): rates are bits per second (InBit/s), counters bytes (InBytes), as labelled.
COLUMNS = (
    ("", False), ("RemoteAddress:Port", False), ("Forward", False), ("Weight", True), ("Upper", True),
    ("Lower", True), ("ActConn", True), ("InActConn", True), ("PersConn", True), ("Conns", True),
    ("InPkts", True), ("OutPkts", True), ("InBytes", True), ("OutBytes", True), ("CPS", True),
    ("InPPS", True), ("OutPPS", True), ("InBit/s", True), ("OutBit/s", True),
)  # fmt: skip
NONE = "-"  # a cell with no value: no rate yet (not enough counter periods seen), or not applicable
RESET = "reset"  # the counters went backwards within the rate's span


def _counters(stats: Stats, exact: bool) -> list[str]:
    return [human(value, exact) for value in (stats.conns, stats.inpkts, stats.outpkts, stats.inbytes,
                                              stats.outbytes)]  # fmt: skip


def _rates(rates: Rates | None, reset: bool, exact: bool) -> list[str]:
    if rates is None:
        return [RESET if reset else NONE] * 5
    return [human(rates.cps, exact), human(rates.inpps, exact), human(rates.outpps, exact),
            bits(rates.inbps, exact), bits(rates.outbps, exact)]  # fmt: skip


def _lookup(
    rates: SnapshotRates | None, key: ServiceKey | tuple[ServiceKey, DestKey], stats: Stats
) -> tuple[Rates | None, bool]:
    """The rates of one object, and whether its counters were reset within their span."""
    if rates is None:
        return Rates.from_kernel(stats), False
    found = rates.services.get(key) if isinstance(key, ServiceKey) else rates.dests.get(key)
    return found, key in rates.resets


def _laid_out(rows: Sequence[Sequence[str] | str]) -> list[str]:
    """Table rows (lists of cells) aligned in columns one space apart; plain strings (the service
    lines) pass through."""
    widths = [0] * len(COLUMNS)
    for row in rows:
        if not isinstance(row, str):
            for index, cell in enumerate(row):
                widths[index] = max(widths[index], len(cell))
    lines = []
    for row in rows:
        if isinstance(row, str):
            lines.append(row)
            continue
        cells = (cell.rjust(width) if right else cell.ljust(width)
                 for cell, width, (_, right) in zip(row, widths, COLUMNS, strict=True))  # fmt: skip
        lines.append("  " + " ".join(cells).rstrip())
    return lines


def render_text(
    snapshot: Snapshot, rates: SnapshotRates | None, source: str, exact: bool, *, first: bool = True
) -> str:
    """One snapshot as a table. With `rates` the rates are measured client-side over their span;
    without, the first snapshot shows the kernel's own ~8 s estimates, later ones `-` (no span of
    whole 2 s counter periods yet)."""
    stamp = datetime.fromtimestamp(snapshot.time).strftime("%Y-%m-%d %H:%M:%S")
    if rates is not None:
        how = f"measured over {rates.seconds:.2f} s"
    elif first:
        how = "kernel 8 s average"
    else:
        how = "- (not yet over whole 2 s counter periods)"
    info = snapshot.info
    lines = [f"IPVS {info.version} (conn table {info.conn_table_size}) · {printable(source)} · {stamp} · "
             f"rates: {how}", "Prot LocalAddress:Port Scheduler Flags"]  # fmt: skip
    rows: list[Sequence[str] | str] = [[label if label else "->" for label, _ in COLUMNS]]
    if not snapshot.services:
        rows.append("(no virtual services)")
    for service in snapshot.services:
        active = sum(dest.active_conns for dest in service.dests)
        inactive = sum(dest.inactive_conns for dest in service.dests)
        persistent = sum(dest.persistent_conns for dest in service.dests)
        rows.append(printable(f"{service_label(service)} {service_options(service)}"))
        service_rates, reset = _lookup(rates, service.key, service.stats)
        if rates is None and not first:
            service_rates = None
        rows.append(["=", "(service)", NONE, NONE, NONE, NONE, str(active), str(inactive), str(persistent),
                     *_counters(service.stats, exact), *_rates(service_rates, reset, exact)])  # fmt: skip
        for dest in service.dests:
            dest_rates, reset = _lookup(rates, (service.key, dest.key), dest.stats)
            if rates is None and not first:
                dest_rates = None
            rows.append([
                "->", printable(dest.key.id), forward_label(dest), str(dest.weight),
                str(dest.upper_threshold), str(dest.lower_threshold), str(dest.active_conns),
                str(dest.inactive_conns), str(dest.persistent_conns), *_counters(dest.stats, exact),
                *_rates(dest_rates, reset, exact),
            ])  # fmt: skip
    return "\n".join([*lines, *_laid_out(rows)])


def run_batch(
    backend: Backend,
    options: BatchOptions,
    out: TextIO,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Print `options.count` snapshots `options.delay` seconds apart (0 = back to back).

    Polls keep to a fixed schedule (not `delay` after the previous one ended), so that spans of
    whole estimator periods stay whole and rates do not drift into a double fold now and then.
    """
    window = FoldedRateWindow()
    start = clock()
    for index in range(options.count):
        if index:
            sleep(max(0.0, start + index * options.delay - clock()))
        snapshot = backend.snapshot()
        rates = window.rates(snapshot)
        if options.json:
            out.write(json.dumps(snapshot_json(snapshot, rates, backend.description)) + "\n")
        else:
            if index:
                out.write("\n")
            text = render_text(snapshot, rates, backend.description, options.exact, first=not index)
            out.write(text + "\n")
        out.flush()


def run_directors(
    readers: Sequence[DirectorReader],
    options: BatchOptions,
    out: TextIO,
    err: TextIO,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """`run_batch` over several directors, read in parallel each time, named in each snapshot. A
    director that cannot be read is said (a JSON object with its "error", or a line on `err`) and
    read again the next time; the others go on. Exit 1 when any read failed."""
    windows = [FoldedRateWindow() for _ in readers]
    failed = False
    started = clock()
    with ThreadPoolExecutor(max_workers=len(readers)) as pool:  # one slow ssh does not add to the others
        for index in range(options.count):
            if index:
                # `delay` after the previous read started, at once if it took longer: a slow ssh
                # connection is not made up for by a burst of reads once it is up.
                sleep(max(0.0, started + options.delay - clock()))
                started = clock()
            reads = list(pool.map(_attempt, readers))
            for reader, window, (snapshot, error) in zip(readers, windows, reads, strict=True):
                name = reader.description
                if snapshot is None:
                    failed = True
                    if options.json:
                        out.write(json.dumps({"director": name, "time": time.time(), "error": error}) + "\n")
                    else:
                        err.write(f"lvs-top: {printable(str(error))}\n")
                    continue
                rates = window.rates(snapshot)
                if options.json:
                    out.write(json.dumps({"director": name, **snapshot_json(snapshot, rates, name)}) + "\n")
                else:
                    out.write(render_text(snapshot, rates, name, options.exact, first=not index) + "\n\n")
            out.flush()
    return Exit.ERROR if failed else Exit.OK


def _attempt(reader: DirectorReader) -> tuple[Snapshot | None, str | None]:
    try:
        return reader.snapshot(), None
    except IpvsError as error:
        return None, str(error)


def run_batch_mode(args: argparse.Namespace) -> int:
    """`lvs-top --batch`: the arguments' snapshots on stdout (of each --director, when given)."""
    iterations = 1 if args.iterations is None else args.iterations
    count = iterations if iterations > 0 else sys.maxsize  # 0: until interrupted
    options = BatchOptions(count=count, delay=args.delay, json=args.json, exact=args.exact)
    if args.director:
        readers = [DirectorReader(spec, lambda: open_backend(args)) for spec in args.director]
        try:
            return run_directors(readers, options, sys.stdout, sys.stderr)
        finally:
            for reader in readers:
                reader.close()
    backend = open_backend(args)
    try:
        run_batch(backend, options, sys.stdout)
    finally:
        backend.close()
    return Exit.OK
