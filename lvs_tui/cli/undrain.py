"""`lvs-top undrain TARGET...`: drained real servers back to the weight they had before the drain,
which the journal remembers (as the dashboard's `b` does)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from lvs_tui.cli.common import Command, CommandParser, Exit, fail, open_backend, ops_setup, say, seconds
from lvs_tui.cli.maintenance import (
    OpenBackend,
    Outcome,
    add_json,
    add_targets,
    apply,
    check_targets,
    confirm,
    known_weights,
    prune_records,
    ramp,
    read_table,
    show,
)
from lvs_tui.cli.pair import OpenRemote, add_directors, check_directors, several
from lvs_tui.ipvs.errors import InvalidArgument
from lvs_tui.model import inputs

if TYPE_CHECKING:
    from lvs_tui.ipvs.backend import Backend
    from lvs_tui.ops.changes import Plan
    from lvs_tui.ops.journal import Journal

DESCRIPTION = """\
Bring the drained (weight 0) real servers TARGET names back to the weight each had before its
drain, as the journal recorded it (a drain by lvs-top drain, lvs-top weight or the dashboard), or
to --weight N. A server with no recorded weight needs --weight: without it nothing is changed.
Servers that are not drained are left alone. The changes are shown, then applied once confirmed,
each one journaled. With --slow-start SECONDS the weights go up in steps (at most one a second,
at most 10) over that time, starting from 1, so that a server just back is not flooded. With
--read-only the changes are shown and nothing is applied. With --director (repeated for each
director of a pair), each director's servers go back to the weights that director remembers, with
one confirmation; if one refuses, the others are put back as they were (--slow-start is for one
director at a time).

exit status: 0 done (or nothing to do), 1 a change failed, 2 bad input (nothing changed)."""


def weight(text: str) -> int:
    try:
        return inputs.whole(text, "the weight", 1, inputs.INT_MAX)
    except inputs.InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> CommandParser:
    parser = CommandParser("undrain", DESCRIPTION, usage="%(prog)s TARGET... [options]")
    add_targets(parser)
    parser.add_argument("--weight", type=weight, metavar="N",
                        help="this weight instead of the one before the drain")
    parser.add_argument("--slow-start", type=seconds, metavar="SECONDS",
                        help="ramp the weights up over this long instead of at once")
    add_json(parser)
    add_directors(parser)
    return parser


def check(parser: CommandParser, args: argparse.Namespace) -> None:
    check_targets(parser, args)
    check_directors(parser, args)
    if args.slow_start and several(args):
        parser.error("--slow-start ramps one director's weights: undrain each director with it, or give "
                     "--director without --slow-start")


def run(args: argparse.Namespace) -> int:
    if several(args):
        return run_undrain_pair(args, open_backend)
    return run_undrain(args, open_backend)


COMMAND = Command("undrain", build_parser, check, run)


def run_undrain_pair(args: argparse.Namespace, open_backend: OpenBackend,
                     open_other: OpenRemote | None = None) -> int:
    """Undrain on every --director: each back to the weights its own journal remembers."""
    from lvs_tui.cli import pair
    from lvs_tui.ops.targets import plan_undrain

    setup = ops_setup(args)
    outcome = Outcome(args.json)
    directors = pair.open_directors(args, open_backend, open_other or pair.open_remote)
    try:
        stop = pair.read_tables(directors, args, "undrain")
        if stop is not None:
            return stop
        for director in directors:
            assert director.table is not None
            remembered = pair.remembered(director, setup, "undrain")
            undrain = plan_undrain(director.table.pairs, remembered, args.weight)
            if undrain.unknown:
                return fail(f"director {director.name}: no weight from before the drain is recorded for "
                            f"{', '.join(undrain.unknown)}: give one with --weight N; nothing was changed.",
                            Exit.USAGE, "undrain")
            director.plan = undrain.plan
        pair.show_all(directors, outcome.out)
        if not any(director.plan.changes for director in directors):
            print("No real server named is drained on any director; nothing to do.", file=outcome.out)
            outcome.said("unchanged")
            return Exit.OK
        return pair.confirm_and_apply(directors, args, setup, outcome, "undrain",
                                      f"Bring them back on {len(directors)} directors? [y/N] ")
    finally:
        pair.close_all(directors)


def run_undrain(args: argparse.Namespace, open_backend: OpenBackend,
                sleep: Callable[[float], None] = time.sleep) -> int:
    from lvs_tui.ops.targets import plan_undrain

    setup = ops_setup(args)
    outcome = Outcome(args.json)
    weights = known_weights(setup, "undrain")
    backend = open_backend(args)
    try:
        try:
            table = read_table(backend, args.targets, args.services)
        except InvalidArgument as error:
            return fail(str(error), Exit.USAGE, "undrain")
        undrain = plan_undrain(table.pairs, weights, args.weight)
        if undrain.unknown:
            return fail(f"no weight from before the drain is recorded for {', '.join(undrain.unknown)}: "
                        "give one with --weight N; nothing was changed.", Exit.USAGE, "undrain")
        plan = undrain.plan
        show(plan, outcome.out)
        if not plan.changes:
            print("No real server named is drained; nothing to do.", file=outcome.out)
            outcome.said("unchanged")
            return Exit.OK
        stop = confirm(plan, backend, args, "undrain")
        if stop is not None:
            outcome.said("unchanged")
            return stop
        if args.slow_start:
            code = _ramp(plan, backend, args, setup.journal, sleep, outcome)
        else:
            report = outcome.took(apply(plan, backend, setup.journal, outcome.out))
            code = Exit.ERROR if report.failed else Exit.OK
        prune_records(setup, backend, "undrain")
    finally:
        backend.close()
    outcome.said("failed" if code else "done")
    return code


def _ramp(plan: Plan, backend: Backend, args: argparse.Namespace, journal: Journal,
          sleep: Callable[[float], None], outcome: Outcome) -> int:
    """The plan's weights reached in steps over --slow-start seconds, each step journaled."""
    finals = {change.target: change.after["weight"] for change in plan.changes
              if change.after is not None and isinstance(change.after.get("weight"), int)}
    stopped = ramp(finals, lambda: read_table(backend, args.targets, args.services).pairs, args.slow_start,
                   backend, journal, outcome.out, sleep, outcome)
    if stopped is not None:
        step, steps = stopped
        say(f"the slow start stopped at step {step} of {steps}: set the weights with lvs-top weight.",
            "undrain")
        return Exit.ERROR
    return Exit.OK
