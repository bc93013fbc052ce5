"""`lvs-top exporter`: every service and real server, with health and drain state, for Prometheus."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lvs_tui.cli.common import (
    Command,
    CommandParser,
    Exit,
    add_source,
    add_state,
    check_source,
    fail,
    is_demo,
    open_backend,
    seconds,
)
from lvs_tui.model import inputs

DEFAULT_LISTEN = "127.0.0.1:9743"
DEFAULT_MAX_SERIES = 500_000

DESCRIPTION = f"""\
Serve the table as Prometheus metrics on http://ADDRESS:PORT/metrics (default {DEFAULT_LISTEN}:
this host only; see docs/exporter.md to expose it). Per service and real server: the kernel's
connection, packet and byte counters, the connection counts, weights and thresholds; lvs-top's
health states, drains and distribution check. It only reads: the table is never changed."""


def _listen(text: str) -> tuple[str, int]:
    try:
        return inputs.host_port(text, "--listen", low_port=1)
    except inputs.InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _series(text: str) -> int:
    try:
        return inputs.whole(text, "--max-series", 1, 100_000_000)
    except inputs.InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> CommandParser:
    parser = CommandParser("exporter", DESCRIPTION)
    add_source(parser, demo=True)
    parser.set_defaults(read_only=True)  # the backend refuses any write, whatever asks for one
    group = parser.add_argument_group("exporter")
    group.add_argument("--listen", type=_listen, default=_listen(DEFAULT_LISTEN), metavar="ADDRESS:PORT",
                       help=f"where to answer scrapes (default {DEFAULT_LISTEN}; [::]:9743 for every "
                            "address, IPv6 and IPv4)")
    add_state(group)
    group.add_argument("--drain-records", metavar="FILE", type=Path,
                       help="the drains of this director (default /run/lvs-top/drains.json for root, "
                            "drains-NETNS.json with --netns)")
    group.add_argument("--cache", type=seconds, default=1.0, metavar="SECONDS",
                       help="scrapes within this long of a poll share it (default 1)")
    group.add_argument("--max-series", type=_series, default=DEFAULT_MAX_SERIES, metavar="N",
                       help="leave the table out, and say so, beyond N series (default "
                            f"{DEFAULT_MAX_SERIES})")
    return parser


def run(args: argparse.Namespace) -> int:
    from lvs_tui.exporter.serve import TableCollector, serve
    from lvs_tui.exporter.source import Source
    from lvs_tui.health.feed import StateFileFeed
    from lvs_tui.health.status import default_state_path
    from lvs_tui.ops.drainrecords import DrainRecords
    from lvs_tui.ops.statedir import director_file

    demo = is_demo(args)
    drains = None if demo and args.drain_records is None else \
        DrainRecords(args.drain_records or director_file("drains", args.netns))
    health = None if demo and args.state is None else StateFileFeed(args.state or default_state_path())
    source = Source(lambda: open_backend(args), health, drains, cache=args.cache)
    address, port = args.listen
    try:
        serve(TableCollector(source, args.max_series), address, port,
              lambda where: print(f"lvs-top exporter: answering scrapes on http://{where}/metrics",
                                  file=sys.stderr, flush=True))
    except OSError as error:
        return fail(f"cannot listen on {address}:{port} ({error.strerror or error}): is another exporter "
                    "running there? Choose another with --listen.", Exit.ERROR, "exporter")
    finally:
        source.close()
    return Exit.OK


COMMAND = Command("exporter", build_parser, check_source, run)
