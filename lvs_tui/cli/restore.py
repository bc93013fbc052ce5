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
from lvs_tui.cli.prompt import ask
from lvs_tui.model.printable import printable
from lvs_tui.ops.journal import Journal

if TYPE_CHECKING:
    from lvs_tui.ipvs.backend import Backend
    from lvs_tui.model.export import JsonObject

DESCRIPTION = """\
Show the changes that make the table equal to FILE (ipvsadm-restore rules, as lvs-top save prints
them), then apply them once confirmed, each one journaled. A file with a bad line is refused whole,
every bad line named, before the table is read; a plan the kernel cannot carry out (a scheduler
whose module is missing) is refused before its first write. If the kernel refuses a change
part-way, the changes made before it are undone (--keep-going applies the rest instead). With
--read-only the changes are shown and nothing is applied."""


def build_parser() -> CommandParser:
    parser = CommandParser("restore", DESCRIPTION, usage="%(prog)s FILE [options]")
    # Optional for argparse, so that a missing FILE is said by `check` in a sentence of our own.
    parser.add_argument("file", nargs="?", metavar="FILE", help="the rules (- for standard input)")
    add_source(parser, demo=True)
    add_changes(parser)
    parser.add_argument("-y", "--yes", action="store_true", help="restore without asking (for scripts)")
    parser.add_argument("--keep-going", action="store_true",
                        help="when the kernel refuses a change, apply the rest anyway instead of undoing "
                        "the changes made before it")
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


def _unfinished(journal: Journal) -> list[JsonObject]:
    from lvs_tui.ops.journal import unfinished

    try:
        return unfinished(journal.entries())
    except OSError:  # unreadable: the run itself says why it cannot journal
        return []


def run_restore(args: argparse.Namespace, open_backend: Callable[[argparse.Namespace], Backend]) -> int:
    from lvs_tui.ipvs.readonly import ReadOnlyBackend
    from lvs_tui.ops.owners import find_owners
    from lvs_tui.ops.restore import diff_lines, plan_restore
    from lvs_tui.ops.rules import RulesError, parse_rules
    from lvs_tui.ops.runner import preflight, run_plan

    source = printable(args.file)
    try:
        text = _read(args.file)
    except OSError as error:
        return fail(f"cannot read {source}: {error.strerror or error}.")
    except UnicodeDecodeError:
        return fail(f"{source} is not a text file of ipvsadm rules.")
    try:
        rules = parse_rules(text)
    except RulesError as error:
        for bad_line in error.problems:
            say(f"{source} {bad_line}", "restore")
        return fail("nothing was applied: the file is applied whole or not at all.", command="restore")
    journal = Journal(args.journal)
    backend = open_backend(args)
    try:
        plan = plan_restore(backend.snapshot(), rules, source)
        if not plan.changes:
            print(f"The table already matches {source}; nothing to do.")
            return Exit.OK
        count = len(plan.changes)
        print(f"{plan.title}: {count} change{'' if count == 1 else 's'}")
        print("\n".join(printable(line) for line in diff_lines(plan)))
        sys.stdout.flush()
        refused = preflight(plan, backend)
        if refused:
            for reason in refused:
                say(reason, "restore")
            return fail("nothing was applied: this director cannot carry out the plan whole.",
                        command="restore")
        for owner in find_owners():
            say(owner.warning())
        for begun in _unfinished(journal):  # an earlier run was killed part-way
            say(f"the journal shows a change begun and never finished, by pid {begun.get('pid')}: "
                f"{printable(str(begun.get('command')))}; compare the table with what it should be.")
        if isinstance(backend, ReadOnlyBackend):
            say(f"read-only ({backend.reason}): nothing was applied.")
            return Exit.OK
        if not args.yes:
            answer = ask(f"Apply {'this change' if count == 1 else f'these {count} changes'}? [y/N] ")
            if answer is None:
                return fail("restore needs a confirmation and there is no terminal to ask on: add --yes.",
                            Exit.USAGE)
            if answer.strip().lower() not in ("y", "yes"):
                print("Nothing was applied.")
                return Exit.OK
        report = run_plan(plan, backend, journal, action="restore", keep_going=args.keep_going)
    finally:
        backend.close()
    for outcome in report.outcomes:
        mark = "ok" if outcome.ok else "undone" if outcome.undone else f"FAILED: {outcome.error}"
        print(f"{printable(outcome.change.command.display)}: {printable(mark)}")
    for step in report.rollback:
        mark = "ok" if step.ok else f"FAILED: {step.error}"
        print(f"  undo: {printable(step.change.command.display)}: {printable(mark)}")
    print(printable(report.summary()))
    return Exit.OK if not report.failed else Exit.ERROR
