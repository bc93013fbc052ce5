"""`lvs-top drain TARGET...`: weight 0 for real servers (the dashboard's drain plan, journaled and
undone on a part-way refusal), then with --wait follow the drain with the dashboard's tracker until
it is complete (and remove the servers with --remove), or the time is up."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from lvs_tui.cli import drainwatch
from lvs_tui.cli.common import (
    Command,
    CommandParser,
    Exit,
    fail,
    is_demo,
    open_backend,
    ops_setup,
    say,
    seconds,
)
from lvs_tui.cli.maintenance import OpenBackend, add_targets, apply, check_targets, confirm, read_table, show
from lvs_tui.cli.pair import add_directors, check_directors, several
from lvs_tui.ipvs.errors import InvalidArgument
from lvs_tui.model.printable import printable

if TYPE_CHECKING:
    from lvs_tui.model.export import JsonObject

DESCRIPTION = """\
Drain the real servers TARGET names (a host: every real server with that address, in every
service, as D does in the dashboard; ADDRESS:PORT: that real server): set their weight to 0, so
that new connections go elsewhere while those in flight finish. The weight before is journaled,
for lvs-top undrain. The changes are shown, then applied once confirmed; if the kernel refuses one
part-way, those made before it are undone. A server already at weight 0 is left as it is.

With --wait, follow the drain as the dashboard does until every server is drained: no active
connections for TCP and SCTP (no inactive ones either with --inactive), no entries for UDP and
firewall marks, and no persistence templates. Progress is a bar per server on a terminal, JSON
lines with --json or when standard output is not a terminal. With --remove the servers are then
removed. With --read-only the changes are shown and nothing is applied.

With --director (repeated for each director of a pair) the servers are drained on every director
named, with one confirmation; if one director refuses, the others are put back as they were. The
wait then follows the sum of every director's counts: after a failover the backup holds the
connections the sync daemon gave it.

exit status: 0 drained (and removed with --remove), or weights set without --wait; 1 the time
ran out (the weights stay 0; who is still on each server is said), someone gave a server a weight
again, or a change failed; 2 bad input (nothing changed)."""


def build_parser() -> CommandParser:
    parser = CommandParser("drain", DESCRIPTION, usage="%(prog)s TARGET... [options]")
    add_targets(parser)
    group = parser.add_argument_group("waiting")
    group.add_argument("--wait", action="store_true", help="wait until the servers are drained")
    group.add_argument("--timeout", type=seconds, metavar="SECONDS",
                       help="with --wait: give up after this long (exit 1, weights stay 0)")
    group.add_argument("--interval", type=seconds, default=1.0, metavar="SECONDS",
                       help="with --wait: seconds between two polls (default 1)")
    group.add_argument("--inactive", action="store_true",
                       help="with --wait: TCP is drained once its inactive (TIME_WAIT) entries are gone too")
    group.add_argument("--remove", action="store_true", help="with --wait: remove the servers once drained")
    group.add_argument("--json", action="store_true",
                       help="progress and outcome as JSON lines on standard output (other text on stderr)")
    add_directors(parser)
    return parser


def check(parser: CommandParser, args: argparse.Namespace) -> None:
    if not args.wait:
        given = [option for option, value in (("--timeout", args.timeout is not None),
                 ("--inactive", args.inactive), ("--remove", args.remove)) if value]
        if given:
            parser.error(f"{given[0]} applies only with --wait")
    if args.interval <= 0:
        parser.error("--interval must be more than 0 seconds")
    check_targets(parser, args)
    check_directors(parser, args)


def run(args: argparse.Namespace) -> int:
    if several(args):
        from lvs_tui.cli.drainpair import run_drain_pair

        return run_drain_pair(args, open_backend)
    return run_drain(args, open_backend)


COMMAND = Command("drain", build_parser, check, run)


def run_drain(args: argparse.Namespace, open_backend: OpenBackend,
              clock: Callable[[], float] = time.monotonic,
              sleep: Callable[[float], None] = time.sleep) -> int:
    from lvs_tui.cli.maintenance import known_weights, prune_records, record_drains, sysctls_of
    from lvs_tui.ops.targets import drain_starts, plan_drain, plan_remove

    setup = ops_setup(args)
    as_json = bool(args.json or (args.wait and not sys.stdout.isatty()))
    out = sys.stderr if as_json else sys.stdout  # standard output carries only JSON lines then
    lines = drainwatch.JsonLines()
    sysctls = sysctls_of(setup.sysctls)
    backend = open_backend(args)
    try:
        try:
            table = read_table(backend, args.targets, args.services)
        except InvalidArgument as error:
            return fail(str(error), Exit.USAGE, "drain")
        plan = plan_drain(table.services, args.targets, sysctls)
        show(plan, out)
        if args.remove:
            removal = plan_remove(table.pairs, sysctls)
            print("once drained:", file=out)
            show(removal, out)
        if not plan.changes:
            print("Every real server named is already at weight 0 (drained or draining): "
                  "no weight to change.", file=out)
        if plan.changes or args.remove:
            what = "drain" + (" and remove once drained" if args.remove else "")
            stop = confirm(plan, backend, args, "drain", f"{what.capitalize()}? [y/N] ")
            if stop is not None:
                return stop
        weights = known_weights(setup, "drain")
        changed: list[str] = []
        if plan.changes:
            report = apply(plan, backend, setup.journal, out)
            changed = [change.command.display for change in report.done]
            if report.failed:
                if as_json:
                    lines.line({"result": "failed", "error": report.summary(), "changed": changed})
                return Exit.ERROR
        starts = drain_starts(table.pairs, plan, weights)
        if setup.read_only is None:
            record_drains(setup, starts, "drain", "drain", remove=args.remove, inactive=args.inactive)
        if not args.wait:
            if as_json:
                lines.line({"result": "weights-set", "changed": changed})
            return Exit.OK
        connections = getattr(backend, "connections", None) if is_demo(args) else setup.connections
        options = drainwatch.WaitOptions(args.interval, args.timeout, args.inactive, connections, clock,
                                         sleep)
        keys = [(service.key, dest.key) for service, dest in table.pairs]
        reporter: drainwatch.Reporter = lines if as_json else drainwatch.Bars(keys)
        try:
            outcome = drainwatch.follow(backend, table.pairs, starts, options, reporter)
        finally:
            reporter.close()
        if not outcome.drained:
            return unfinished(outcome, options, lines if as_json else None)
        removed: list[str] = []
        if args.remove:
            snapshot = outcome.snapshot
            left = [(service, dest) for key in keys if (service := snapshot.service(key[0])) is not None
                    and (dest := service.dest(key[1])) is not None]
            if left:
                report = apply(plan_remove(left, sysctls), backend, setup.journal, out)
                if report.failed:
                    if as_json:
                        lines.line({"result": "remove-failed", "error": report.summary()})
                    return Exit.ERROR
                removed = [f"{service.key}>{dest.key}" for service, dest in left]
            prune_records(setup, backend, "drain")
    finally:
        backend.close()
    print(f"Drained: {', '.join(target.text for target in args.targets)}"
          + (f"; removed {len(removed)} real server{'s' * (len(removed) != 1)}." if args.remove else "."),
          file=out)
    if as_json:
        lines.line({"result": "drained", "removed": removed})
    return Exit.OK


def unfinished(outcome: drainwatch.Outcome, options: drainwatch.WaitOptions,
                lines: drainwatch.JsonLines | None) -> int:
    """Say why the wait ended before the drain did, and who is still on each server."""

    if outcome.lost:
        say(f"given a weight again while draining: {', '.join(outcome.lost)}; the drain was not finished.",
            "drain")
        if lines is not None:
            lines.line({"result": "weighted-again", "servers": list(outcome.lost)})
        return Exit.ERROR
    still: list[JsonObject] = []
    say(f"not drained after {options.timeout:g} s; the weights stay 0.", "drain")
    for key, status in outcome.waiting:
        said, named = drainwatch.still_on_it(key, status, options.connections)
        for line in said:
            say(printable(line), "drain")
        still.append({**drainwatch.status_json(key, status, 0.0), "connections": named})
    if lines is not None:
        lines.line({"result": "timeout", "still": still})
    return Exit.ERROR
