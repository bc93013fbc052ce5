"""`lvs-top restore FILE`: show the difference, ask, apply, report each item.

A malformed file is refused whole, with its line number, before the kernel is even read. In a
read-only session the difference is shown and nothing is applied (a dry run).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from lvs_tui.cli.common import (
    Command,
    CommandParser,
    Exit,
    add_changes,
    add_source,
    check_source,
    fail,
    open_backend,
    say,
)

if TYPE_CHECKING:
    from lvs_tui.ipvs.backend import Backend

DESCRIPTION = """\
Show the changes that make the table equal to FILE (ipvsadm-restore rules, as lvs-top save prints
them), then apply them once confirmed, each one journaled. A malformed file is refused whole,
before the table is read; with --read-only the changes are shown and nothing is applied."""


def build_parser() -> CommandParser:
    parser = CommandParser("restore", DESCRIPTION, usage="%(prog)s FILE [options]")
    # Optional for argparse, so that a missing FILE is said by `check` in a sentence of our own.
    parser.add_argument("file", nargs="?", metavar="FILE", help="the rules (- for standard input)")
    add_source(parser, demo=True)
    add_changes(parser)
    parser.add_argument("-y", "--yes", action="store_true", help="restore without asking (for scripts)")
    return parser


def check(parser: CommandParser, args: argparse.Namespace) -> None:
    if args.file is None:
        parser.error("restore takes one FILE of rules (- for standard input)")
    check_source(parser, args)


def run(args: argparse.Namespace) -> int:
    return run_restore(args, open_backend)


COMMAND = Command("restore", build_parser, check, run)


def _read(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    return Path(name).read_text(encoding="utf-8")


def _confirmed(count: int) -> bool:
    with open("/dev/tty", "r+", encoding="utf-8") as tty:
        tty.write(f"Apply {'this change' if count == 1 else f'these {count} changes'}? [y/N] ")
        tty.flush()
        return tty.readline().strip().lower() in ("y", "yes")


def run_restore(args: argparse.Namespace, open_backend: Callable[[argparse.Namespace], Backend]) -> int:
    from lvs_tui.ipvs.readonly import ReadOnlyBackend
    from lvs_tui.ops.journal import Journal
    from lvs_tui.ops.owners import find_owners
    from lvs_tui.ops.restore import diff_lines, plan_restore
    from lvs_tui.ops.rules import RuleError, parse_rules
    from lvs_tui.ops.runner import run_plan

    try:
        text = _read(args.file)
    except OSError as error:
        return fail(f"cannot read {args.file}: {error.strerror or error}.")
    except UnicodeDecodeError:
        return fail(f"{args.file} is not a text file of ipvsadm rules.")
    try:
        rules = parse_rules(text)
    except RuleError as error:
        return fail(f"{args.file} {error} Nothing was applied.")
    backend = open_backend(args)
    try:
        plan = plan_restore(backend.snapshot(), rules, args.file)
        if not plan.changes:
            print(f"The table already matches {args.file}; nothing to do.")
            return Exit.OK
        count = len(plan.changes)
        print(f"{plan.title}: {count} change{'' if count == 1 else 's'}")
        print("\n".join(diff_lines(plan)))
        sys.stdout.flush()
        for owner in find_owners():
            say(owner.warning())
        if isinstance(backend, ReadOnlyBackend):
            say(f"read-only ({backend.reason}): nothing was applied.")
            return Exit.OK
        if not args.yes:
            try:
                if not _confirmed(len(plan.changes)):
                    print("Nothing was applied.")
                    return Exit.OK
            except OSError:
                return fail("restore needs a confirmation and there is no terminal to ask on: add --yes.",
                            Exit.USAGE)
        report = run_plan(plan, backend, Journal(args.journal), action="restore")
    finally:
        backend.close()
    for outcome in report.outcomes:
        mark = "ok" if outcome.ok else f"FAILED: {outcome.error}"
        print(f"{outcome.change.command.display}: {mark}")
    print(report.summary())
    return Exit.OK if not report.failed else Exit.ERROR
