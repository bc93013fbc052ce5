"""Batch mode (`lvs-top --batch`): snapshots printed as text or JSON lines, like `top -b`.

The text view is ipvsadm -Ln's layout with connections, counters and rates in one table, which
ipvsadm itself cannot combine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from lvs_tui.cli.common import Exit, open_backend
from lvs_tui.ipvs.backend import Backend
from lvs_tui.model.export import snapshot_json
from lvs_tui.model.format import bits, forward_label, human, service_label, service_options
from lvs_tui.model.rates import Rates, SnapshotRates, snapshot_rates
from lvs_tui.model.records import Snapshot, Stats


@dataclass(frozen=True, slots=True)
class BatchOptions:
    count: int = 1
    delay: float = 1.0
    json: bool = False
    exact: bool = False


_COLUMNS = (
    f"{'Forward':<17}{'Weight':>7}{'Upper':>6}{'Lower':>6}{'ActConn':>9}{'InActConn':>10}"
    f"{'PersConn':>9}{'Conns':>9}{'InPkts':>9}{'OutPkts':>9}{'InBytes':>9}{'OutBytes':>9}"
    f"{'CPS':>7}{'InPPS':>7}{'OutPPS':>7}{'InBPS':>8}{'OutBPS':>8}"
)


def _counters(stats: Stats, exact: bool) -> str:
    return (
        f"{human(stats.conns, exact):>9}{human(stats.inpkts, exact):>9}{human(stats.outpkts, exact):>9}"
        f"{human(stats.inbytes, exact):>9}{human(stats.outbytes, exact):>9}"
    )


def _rates(rates: Rates | None, exact: bool) -> str:
    if rates is None:
        return f"{'reset':>37}"
    return (
        f"{human(rates.cps, exact):>7}{human(rates.inpps, exact):>7}{human(rates.outpps, exact):>7}"
        f"{bits(rates.inbps, exact):>8}{bits(rates.outbps, exact):>8}"
    )


def render_text(snapshot: Snapshot, rates: SnapshotRates | None, source: str, exact: bool) -> str:
    """One snapshot as a table. Rates are measured between polls when `rates` is given,
    otherwise the kernel's own ~8 s estimates."""
    stamp = datetime.fromtimestamp(snapshot.time).strftime("%Y-%m-%d %H:%M:%S")
    how = "kernel 8 s average" if rates is None else f"measured over {rates.seconds:.2f} s"
    lines = [
        f"IPVS {snapshot.info.version} (conn table {snapshot.info.conn_table_size}) · {source} · "
        f"{stamp} · rates: {how} · bit/s",
        "Prot LocalAddress:Port Scheduler Flags",
        f"  -> {'RemoteAddress:Port':<26} {_COLUMNS}",
    ]
    if not snapshot.services:
        lines.append("(no virtual services)")
    for service in snapshot.services:
        active = sum(dest.active_conns for dest in service.dests)
        inactive = sum(dest.inactive_conns for dest in service.dests)
        persistent = sum(dest.persistent_conns for dest in service.dests)
        service_rates = (
            Rates.from_kernel(service.stats) if rates is None else rates.services.get(service.key)
        )
        head = f"{service_label(service)} {service_options(service)}"
        lines.append(head)
        lines.append(
            f"{'':<31} {'(service)':<17}{'':>19}{active:>9}{inactive:>10}{persistent:>9}"
            + _counters(service.stats, exact)
            + _rates(service_rates, exact)
        )
        for dest in service.dests:
            dest_rates = (
                Rates.from_kernel(dest.stats)
                if rates is None
                else rates.dests.get((service.key, dest.key))
            )
            lines.append(
                f"  -> {dest.key.id:<26} {forward_label(dest):<17}{dest.weight:>7}"
                f"{dest.upper_threshold:>6}{dest.lower_threshold:>6}{dest.active_conns:>9}"
                f"{dest.inactive_conns:>10}{dest.persistent_conns:>9}"
                + _counters(dest.stats, exact)
                + _rates(dest_rates, exact)
            )
    return "\n".join(lines)


def run_batch(
    backend: Backend,
    options: BatchOptions,
    out: TextIO,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Print `options.count` snapshots `options.delay` seconds apart (0 = back to back)."""
    previous: Snapshot | None = None
    for index in range(options.count):
        if index:
            sleep(options.delay)
        snapshot = backend.snapshot()
        rates = None if previous is None else snapshot_rates(previous, snapshot)
        if options.json:
            out.write(json.dumps(snapshot_json(snapshot, rates, backend.description)) + "\n")
        else:
            if index:
                out.write("\n")
            out.write(render_text(snapshot, rates, backend.description, options.exact) + "\n")
        out.flush()
        previous = snapshot


def run_batch_mode(args: argparse.Namespace) -> int:
    """`lvs-top --batch`: the arguments' snapshots on stdout."""
    iterations = 1 if args.iterations is None else args.iterations
    count = iterations if iterations > 0 else sys.maxsize  # 0: until interrupted
    options = BatchOptions(count=count, delay=args.delay, json=args.json, exact=args.exact)
    backend = open_backend(args)
    try:
        run_batch(backend, options, sys.stdout)
    finally:
        backend.close()
    return Exit.OK
