"""`lvs-top weight TARGET WEIGHT`: set the weight of real servers, shown, confirmed and journaled."""

from __future__ import annotations

import argparse

from lvs_tui.cli.common import Command, CommandParser, Exit, fail, open_backend, ops_setup
from lvs_tui.cli.maintenance import (
    OpenBackend,
    Outcome,
    add_json,
    add_targets,
    apply,
    check_targets,
    confirm,
    prune_records,
    read_table,
    show,
    sysctls_of,
)
from lvs_tui.cli.pair import OpenRemote, add_directors, check_directors, several
from lvs_tui.ipvs.errors import InvalidArgument
from lvs_tui.model import inputs

DESCRIPTION = f"""\
Set the weight of the real servers TARGET names (a host: every real server with that address, in
every service; ADDRESS:PORT: that real server) to WEIGHT, from 0 to {inputs.INT_MAX}. Weight 0
drains (see lvs-top drain, which can also wait for the drain to end). The changes are shown, then
applied once confirmed, each one journaled; if the kernel refuses one part-way, those made before
it are undone. With --read-only the changes are shown and nothing is applied. With --director
(repeated for each director of a pair) the weight is set on every director named, with one
confirmation; if one refuses, the others are put back as they were.

exit status: 0 done (or nothing to do), 1 a change failed, 2 bad input (nothing changed)."""


def build_parser() -> CommandParser:
    parser = CommandParser("weight", DESCRIPTION, usage="%(prog)s TARGET WEIGHT [options]")
    add_targets(parser, many=False)
    parser.add_argument("weight", nargs="?", metavar="WEIGHT", help=f"the new weight, 0 to {inputs.INT_MAX}")
    add_json(parser)
    add_directors(parser)
    return parser


def check(parser: CommandParser, args: argparse.Namespace) -> None:
    if args.weight is None:
        parser.error("weight takes a TARGET and a WEIGHT")
    try:
        args.weight = inputs.whole(args.weight, "the weight", 0, inputs.INT_MAX)
    except inputs.InputError as error:
        parser.error(str(error))
    check_targets(parser, args)
    check_directors(parser, args)


def run(args: argparse.Namespace) -> int:
    if several(args):
        return run_weight_pair(args, open_backend)
    return run_weight(args, open_backend)


COMMAND = Command("weight", build_parser, check, run)


def run_weight(args: argparse.Namespace, open_backend: OpenBackend) -> int:
    from lvs_tui.ops.targets import plan_weight

    setup = ops_setup(args)
    outcome = Outcome(args.json)
    backend = open_backend(args)
    try:
        try:
            table = read_table(backend, args.targets, args.services)
        except InvalidArgument as error:
            return fail(str(error), Exit.USAGE, "weight")
        plan = plan_weight(table.pairs, args.weight, sysctls_of(setup.sysctls))
        show(plan, outcome.out)
        if not plan.changes:
            print(f"Every real server named is already at weight {args.weight}; nothing to do.",
                  file=outcome.out)
            outcome.said("unchanged")
            return Exit.OK
        stop = confirm(plan, backend, args, "weight")
        if stop is not None:
            outcome.said("unchanged")
            return stop
        report = outcome.took(apply(plan, backend, setup.journal, outcome.out))
        prune_records(setup, backend, "weight")
    finally:
        backend.close()
    outcome.said("failed" if report.failed else "done")
    return Exit.OK if not report.failed else Exit.ERROR


def run_weight_pair(args: argparse.Namespace, open_backend: OpenBackend,
                    open_other: OpenRemote | None = None) -> int:
    """The weight on every --director, with one confirmation, undone on all if one refuses."""
    from lvs_tui.cli import pair
    from lvs_tui.ops.targets import plan_weight

    setup = ops_setup(args)
    outcome = Outcome(args.json)
    directors = pair.open_directors(args, open_backend, open_other or pair.open_remote)
    try:
        stop = pair.read_tables(directors, args, "weight")
        if stop is not None:
            return stop
        for director in directors:
            assert director.table is not None
            director.plan = plan_weight(director.table.pairs, args.weight,
                                        pair.sysctls_of(director, setup, "weight"))
        pair.show_all(directors, outcome.out)
        if not any(director.plan.changes for director in directors):
            print(f"Every real server named is already at weight {args.weight} on every director; nothing "
                  "to do.", file=outcome.out)
            outcome.said("unchanged")
            return Exit.OK
        return pair.confirm_and_apply(directors, args, setup, outcome, "weight",
                                      f"Apply on {len(directors)} directors? [y/N] ")
    finally:
        pair.close_all(directors)
