"""`lvs-top save`: the table in ipvsadm-restore format, for `lvs-top restore` or `ipvsadm -R`."""

from __future__ import annotations

import argparse
import sys

from lvs_tui.cli.common import Command, CommandParser, Exit, add_source, check_source, fail, open_backend, say

DESCRIPTION = """\
Print the table in ipvsadm-restore format on standard output. The real servers' thresholds are
kept (ipvsadm -S drops them); lvs-top restore FILE, or ipvsadm -R, puts the table back."""


def build_parser() -> CommandParser:
    parser = CommandParser("save", DESCRIPTION)
    add_source(parser, demo=True)
    parser.set_defaults(read_only=True)  # save only reads: its backend refuses any write
    return parser


def run(args: argparse.Namespace) -> int:
    from lvs_tui.ops.commands import Unsaveable, save_lines

    backend = open_backend(args)
    try:
        snapshot = backend.snapshot()
    finally:
        backend.close()
    try:
        lines = save_lines(snapshot)
    except Unsaveable as unsaveable:
        for problem in unsaveable.problems:
            say(problem, "save")
        return fail("nothing was printed: a saved file must give back the very same table.", Exit.ERROR,
                    "save")
    sys.stdout.write("".join(line + "\n" for line in lines))
    sys.stdout.flush()
    return Exit.OK


COMMAND = Command("save", build_parser, check_source, run)
