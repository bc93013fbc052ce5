"""`lvs-top restore FILE`: show the difference, ask, apply, report each item.

A malformed file is refused whole, with its line number, before the kernel is even read. In a
read-only session the difference is shown and nothing is applied (a dry run).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from lvs_tui.ipvs.backend import Backend
from lvs_tui.ipvs.readonly import ReadOnlyBackend
from lvs_tui.ops.ipvsadm import RuleError, parse_rules
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.owners import find_owners
from lvs_tui.ops.restore import diff_lines, plan_restore
from lvs_tui.ops.runner import run_plan

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def _say(message: str) -> None:
    print(f"lvs-top: {message}", file=sys.stderr)


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
    try:
        text = _read(args.file)
    except OSError as error:
        _say(f"cannot read {args.file}: {error.strerror or error}.")
        return EXIT_ERROR
    except UnicodeDecodeError:
        _say(f"{args.file} is not a text file of ipvsadm rules.")
        return EXIT_ERROR
    try:
        rules = parse_rules(text)
    except RuleError as error:
        _say(f"{args.file} {error} Nothing was applied.")
        return EXIT_ERROR
    backend = open_backend(args)
    try:
        plan = plan_restore(backend.snapshot(), rules, args.file)
        if not plan.changes:
            print(f"The table already matches {args.file}; nothing to do.")
            return EXIT_OK
        count = len(plan.changes)
        print(f"{plan.title}: {count} change{'' if count == 1 else 's'}")
        print("\n".join(diff_lines(plan)))
        sys.stdout.flush()
        for owner in find_owners():
            _say(owner.warning())
        if isinstance(backend, ReadOnlyBackend):
            _say(f"read-only ({backend.reason}): nothing was applied.")
            return EXIT_OK
        if not args.yes:
            try:
                if not _confirmed(len(plan.changes)):
                    print("Nothing was applied.")
                    return EXIT_OK
            except OSError:
                _say("restore needs a confirmation and there is no terminal to ask on: add --yes.")
                return EXIT_USAGE
        report = run_plan(plan, backend, Journal(args.journal), action="restore")
    finally:
        backend.close()
    for outcome in report.outcomes:
        mark = "ok" if outcome.ok else f"FAILED: {outcome.error}"
        print(f"{outcome.change.command.display}: {mark}")
    print(report.summary())
    return EXIT_OK if not report.failed else EXIT_ERROR
