"""What `drain`, `undrain` and `weight` share: their targets and options, reading the table, and
showing, confirming and applying a plan as `restore` does (the same diff, the same question, the
same report)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from lvs_tui.cli.common import CommandParser, Exit, add_changes, add_source, check_source, fail, say
from lvs_tui.cli.prompt import ask
from lvs_tui.model import inputs
from lvs_tui.model.printable import printable
from lvs_tui.model.records import ServiceKey

if TYPE_CHECKING:
    from lvs_tui.ipvs.backend import Backend
    from lvs_tui.model.export import JsonObject
    from lvs_tui.model.records import Dest, Service, Snapshot
    from lvs_tui.ops.changes import DrainStart, Plan
    from lvs_tui.ops.journal import Journal
    from lvs_tui.ops.runner import Report
    from lvs_tui.ops.setup import OpsSetup
    from lvs_tui.ops.sysctl import Sysctls
    from lvs_tui.ops.targets import Target

OpenBackend = Callable[[argparse.Namespace], "Backend"]

TARGET_HELP = ("a host address (every real server with that address, in every service) or one real "
               "server ADDRESS:PORT ([2001:db8::11]:80 for IPv6)")


def service_id(text: str) -> ServiceKey:
    try:
        return ServiceKey.parse(inputs.text(text, "the service"))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{error} (a service id is tcp:10.0.0.1:80, udp:[2001:db8::1]:53 "
                                         "or fwm:7)") from None


def add_targets(parser: CommandParser, many: bool = True) -> None:
    """TARGET (one, or several with `many`), --service, --yes, and the source and change options."""
    # Optional for argparse, so that a missing TARGET is said by `check_targets` in a sentence of our own.
    parser.add_argument("targets", nargs="*" if many else "?", metavar="TARGET", help=TARGET_HELP)
    parser.add_argument("--service", dest="services", action="append", type=service_id, default=[],
                        metavar="ID", help="only in this service (e.g. tcp:10.0.0.1:80); may be repeated")
    parser.add_argument("-y", "--yes", action="store_true", help="change without asking (for scripts)")
    add_source(parser, demo=True)
    add_changes(parser)


def check_targets(parser: CommandParser, args: argparse.Namespace) -> None:
    """Parse the targets into `args.targets` (a list of Target); one sentence for a bad one."""
    from lvs_tui.ops.targets import parse_target

    words = args.targets if isinstance(args.targets, list) else [] if args.targets is None else [args.targets]
    if not words:
        parser.error(f"{parser.command} needs at least one TARGET: a host address or ADDRESS:PORT")
    try:
        args.targets = [parse_target(word) for word in words]
    except inputs.InputError as error:
        parser.error(str(error))
    check_source(parser, args)


@dataclass(frozen=True, slots=True)
class Table:
    """The table as the command found it, and the servers its targets name."""

    snapshot: Snapshot
    services: list[Service]
    pairs: list[tuple[Service, Dest]]


def read_table(backend: Backend, targets: list[Target], services: list[ServiceKey]) -> Table:
    """Raises InvalidArgument for a service the table lacks or a target that matches nothing."""
    from lvs_tui.ops.targets import matches, services_of

    snapshot = backend.snapshot()
    chosen = services_of(snapshot, services)
    return Table(snapshot, chosen, matches(chosen, targets))


def sysctls_of(read: Callable[[], Sysctls]) -> Sysctls:
    """The director's sysctls (for the plans' warnings), or the kernel's defaults if unreadable."""
    from lvs_tui.ipvs.errors import IpvsError
    from lvs_tui.ops.sysctl import KERNEL_DEFAULTS, Sysctls

    try:
        return read()
    except (OSError, IpvsError):
        return Sysctls(dict(KERNEL_DEFAULTS))


def show(plan: Plan, out: TextIO) -> None:
    """The plan as restore shows one: its title, one diff line per change, what it leaves alone."""
    from lvs_tui.ops.restore import diff_lines

    count = len(plan.changes)
    print(f"{printable(plan.title)}: {count} change{'' if count == 1 else 's'}", file=out)
    for line in diff_lines(plan):
        print(printable(line), file=out)
    for item in plan.skipped:
        print(f"  unchanged: {printable(item)}", file=out)
    out.flush()


def confirm(plan: Plan, backend: Backend, args: argparse.Namespace, command: str,
            question: str | None = None) -> Exit | None:
    """None when the plan may be applied; else the exit code (read-only, declined, no terminal).
    Warnings and other managers of the table are said first."""
    from lvs_tui.ipvs.readonly import ReadOnlyBackend
    from lvs_tui.ops.owners import find_owners

    for warning in plan.warnings:
        say(f"warning: {warning}", command)
    for owner in find_owners():
        say(owner.warning())
    if isinstance(backend, ReadOnlyBackend):
        say(f"read-only ({backend.reason}): nothing was applied.", command)
        return Exit.OK
    count = len(plan.changes)
    return asked(question or f"Apply {'this change' if count == 1 else f'these {count} changes'}? [y/N] ",
                 args, command)


def asked(question: str, args: argparse.Namespace, command: str) -> Exit | None:
    """None when the operator said yes (or gave --yes); else the exit code (declined, no terminal)."""
    if args.yes:
        return None
    answer = ask(question)
    if answer is None:
        return fail(f"{command} needs a confirmation and there is no terminal to ask on: add --yes.",
                    Exit.USAGE, command)
    if answer.strip().lower() not in ("y", "yes"):
        print("Nothing was applied.", file=sys.stderr)
        return Exit.OK
    return None


def apply(plan: Plan, backend: Backend, journal: Journal, out: TextIO, action: str | None = None,
          director: str | None = None) -> Report:
    """Run the plan (journaled, undone on a part-way refusal) and print one line per item;
    `director` names the other director `backend` changes (see ops.runner.run_plan)."""
    from lvs_tui.ops.runner import run_plan

    report = run_plan(plan, backend, journal, action, director=director)
    for outcome in report.outcomes:
        mark = "ok" if outcome.ok else "undone" if outcome.undone else f"FAILED: {outcome.error}"
        print(f"{printable(outcome.change.command.display)}: {printable(mark)}", file=out)
    for step in report.rollback:
        mark = "ok" if step.ok else f"FAILED: {step.error}"
        print(f"  undo: {printable(step.change.command.display)}: {printable(mark)}", file=out)
    print(printable(report.summary()), file=out)
    out.flush()
    return report


def ramp(finals: Mapping[str, int], read_pairs: Callable[[], list[tuple[Service, Dest]]],
         slow_start: float | None, backend: Backend, journal: Journal, out: TextIO,
         sleep: Callable[[float], None], outcome: Outcome | None = None) -> tuple[int, int] | None:
    """Servers back to the weights of `finals` (by change target): at once, or with `slow_start`
    seconds in steps from 1 (at most one a second, at most 10), each step journaled and planned
    on the table as it is then (`read_pairs`). None when done; else (step, steps) where it stopped."""
    from lvs_tui.ops.targets import plan_ramp

    steps = max(1, min(10, int(slow_start))) if slow_start else 1
    if slow_start:
        print(f"Slow start: the weights go up from 1 in {steps} step{'s' * (steps != 1)} "
              f"over {slow_start:g} s.", file=out)
    for step in range(1, steps + 1):
        if step > 1:
            sleep(slow_start / steps if slow_start else 0.0)
        plan = plan_ramp(read_pairs(), finals, step, steps)
        if not plan.changes:
            continue
        report = apply(plan, backend, journal, out)
        if outcome is not None:
            outcome.took(report)
        if report.failed:  # a small weight repeats a step
            return step, steps
    return None


class Outcome:
    """What a command changed, for `--json`: one object on standard output at its end (the plan
    and the other text go to standard error then)."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.changed: list[str] = []  # the equivalent ipvsadm commands, in order
        self.failed: list[dict[str, str]] = []
        self.by_director: dict[str, list[str]] = {}  # with --director: the changes in effect on each

    @property
    def out(self) -> TextIO:
        return sys.stderr if self.as_json else sys.stdout

    def took(self, report: Report, director: str | None = None) -> Report:
        done = [change.command.display for change in report.done]
        self.changed += done
        self.failed += [{"command": item.change.command.display, "error": str(item.error),
                         **({} if director is None else {"director": director})} for item in report.failed]
        if director is not None:
            self.by_director.setdefault(director, []).extend(done)
        return report

    def said(self, result: str) -> None:
        """`result`: "done", "unchanged" (nothing to do, declined, or read-only) or "failed"."""
        if self.as_json:
            said: JsonObject = {"result": result, "changed": self.changed, "failed": self.failed}
            if self.by_director:
                said["by_director"] = self.by_director
            print(json.dumps(said, sort_keys=True), flush=True)


def add_json(parser: CommandParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="the outcome as one JSON object on standard output (other text on stderr)")


# --- the drain records: what every lvs-top on this director knows of its drains ---------------------

def known_weights(setup: OpsSetup, command: str) -> dict[str, int]:
    """The weight before each drain, by change target: the drain records' over the journal's (a
    record outlives a journal that was rotated); what cannot be read is said, not fatal."""
    from lvs_tui.ops.changes import dest_target
    from lvs_tui.ops.drainrecords import RecordsError
    from lvs_tui.ops.journal import drained_weights

    try:
        weights = drained_weights(setup.journal.entries())
    except OSError as error:
        say(f"the journal {setup.journal.path} cannot be read ({error.strerror or error}).", command)
        weights = {}
    try:
        records = setup.drains.read()
    except RecordsError as error:
        say(f"{error}.", command)
        records = {}
    weights.update({dest_target(*pair): record.previous_weight for pair, record in records.items()
                    if record.previous_weight > 0})
    return weights


def record_drains(setup: OpsSetup, starts: Sequence[DrainStart], origin: str, command: str, *,
                  remove: bool = False, inactive: bool = False) -> None:
    """Write these drains to the records, for the dashboard, `undrain` and the health checker; a
    failure is said (the weights are in the journal) and does not stop the command."""
    import os
    import time

    from lvs_tui.ops.drainrecords import DrainRecord, RecordsError

    now, pid = time.time(), os.getpid()
    try:
        setup.drains.add(DrainRecord(start.service, start.dest, start.previous_weight, now, origin, pid,
                                     remove, None, inactive) for start in starts)
    except RecordsError as error:
        say(f"{error}: other lvs-top instances will not see this drain.", command)
    for note in setup.drains.notes:
        say(note, command)


def prune_records(setup: OpsSetup, backend: Backend, command: str) -> None:
    """Drop the records of servers back in rotation or gone, after a command changed them."""
    from lvs_tui.ipvs.errors import IpvsError
    from lvs_tui.ops.drainrecords import RecordsError

    try:
        setup.drains.prune(backend.snapshot())
    except (RecordsError, IpvsError, OSError) as error:
        say(f"the drain records were not brought up to date ({error}).", command)
