"""`drain`, `undrain` and `weight` on several directors at once (--director, repeatable): what a
pair needs, so that a failover never sends new connections to a server drained on one side only.

Each director's table is read and planned on its own (tables drift), every plan is shown under its
director's name, and one confirmation applies them all, director by director, each change journaled
(in this host's journal, and by a remote director's agent in that director's). When one director
refuses a change, what was made on the others is undone, newest first: the pair is left as it was,
and the operator is told so, or told exactly what is still in effect where an undo failed too.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from lvs_tui.cli.common import CommandParser, Exit, fail, say
from lvs_tui.cli.maintenance import Table, apply, asked, prune_records, read_table, show
from lvs_tui.ipvs.errors import InvalidArgument, IpvsError
from lvs_tui.ops.changes import Plan

if TYPE_CHECKING:
    from lvs_tui.cli.maintenance import OpenBackend, Outcome
    from lvs_tui.directors.specs import DirectorSpec
    from lvs_tui.ipvs.backend import Backend
    from lvs_tui.ops.journal import Journal
    from lvs_tui.ops.runner import Report
    from lvs_tui.ops.setup import OpsSetup
    from lvs_tui.ops.sysctl import Sysctls

NOTHING = Plan("", (), destructive=False)


@dataclass
class Director:
    """One director a maintenance command changes, as the command goes along."""

    name: str
    backend: Backend
    local: bool  # this host's table (journaled here only), or another's, through its agent
    table: Table | None = None
    plan: Plan = NOTHING
    report: Report | None = None
    undone: bool = False  # its changes were undone because another director refused one
    weights: dict[str, int] = field(default_factory=dict)  # before each drain, by change target

    @property
    def other(self) -> str | None:
        """The name the journal gives a change made on this director: None for this host's."""
        return None if self.local else self.name


def add_directors(parser: CommandParser) -> None:
    group = parser.add_argument_group("several directors")
    group.add_argument("--director", dest="directors", action="append", default=[], metavar="DIRECTOR",
                       help="change this director (repeat it for each director of a pair): local, an ssh "
                       "destination (ssh -T DEST lvs-top agent) or NAME=COMMAND; each table is planned on "
                       "its own, one confirmation applies all, and a refusal on one undoes the others")
    group.add_argument("--ssh-command", metavar="COMMAND",
                       help="how --director reaches an ssh destination (default ssh)")


def check_directors(parser: CommandParser, args: argparse.Namespace) -> None:
    """Parse --director into DirectorSpecs (an ssh destination's agent without --read-only, since
    the command changes its table, unless this one is --read-only)."""
    from lvs_tui.directors.specs import names_unique, parse_director

    if args.ssh_command and not args.directors:
        parser.error("--ssh-command says how --director reaches an ssh destination: give a --director")
    try:
        args.directors = [parse_director(text, args.ssh_command or "ssh", read_only=args.read_only)
                          for text in args.directors]
        names_unique(args.directors)
    except ValueError as error:
        parser.error(str(error))


def several(args: argparse.Namespace) -> bool:
    """Whether the command runs on --director's directors rather than this host's table alone."""
    directors: list[DirectorSpec] = args.directors
    return bool(directors) and not (len(directors) == 1 and directors[0].command is None)


OpenRemote = Callable[["DirectorSpec", bool], "Backend"]  # a director's spec, and whether to write


def open_remote(spec: DirectorSpec, writes: bool) -> Backend:
    from lvs_tui.directors.remote import RemoteBackend

    return RemoteBackend(spec, writes=writes)


def open_directors(args: argparse.Namespace, open_backend: OpenBackend,
                   open_other: OpenRemote = open_remote) -> list[Director]:
    return [Director(spec.name, open_backend(args), True) if spec.command is None
            else Director(spec.name, open_other(spec, not args.read_only), False) for spec in args.directors]


def remembered(director: Director, setup: OpsSetup, command: str) -> dict[str, int]:
    """The weight before each earlier drain, by change target, as that director remembers it: this
    host's journal and drain records, or another director's through its agent (said, and none,
    when that fails)."""
    from lvs_tui.cli.maintenance import known_weights

    if director.local:
        return known_weights(setup, command)
    read = getattr(director.backend, "drained_weights", None)  # a RemoteBackend's
    if read is None:
        return {}
    try:
        weights: dict[str, int] = read()
    except IpvsError as error:
        say(f"{named(director.name, error)}: the weights from before its drains are unknown.", command)
        return {}
    return weights


def sysctls_of(director: Director, setup: OpsSetup, command: str) -> Sysctls:
    """The sysctls a plan for `director` is warned by: this host's for its own table, another's
    through its agent, the kernel's defaults (said) when they cannot be read."""
    from lvs_tui.cli import maintenance
    from lvs_tui.ops.sysctl import KERNEL_DEFAULTS, Sysctls

    if director.local:
        return maintenance.sysctls_of(setup.sysctls)
    read = getattr(director.backend, "sysctls", None)  # a RemoteBackend's
    if read is not None:
        try:
            found: Sysctls = read()
            return found
        except IpvsError as error:
            say(f"{named(director.name, error)}: its sysctls are unknown, so its plan is warned of as for a "
                "kernel left at the defaults.", command)
    return Sysctls(dict(KERNEL_DEFAULTS))


def close_all(directors: list[Director]) -> None:
    for director in directors:
        director.backend.close()


def read_tables(directors: list[Director], args: argparse.Namespace, command: str) -> Exit | None:
    """Each director's table and the servers the targets name there, read in parallel (an agent
    over ssh takes seconds to start); the exit code when one cannot be read or lacks what the
    targets name (nothing has been changed then)."""
    from concurrent.futures import ThreadPoolExecutor

    def read(director: Director) -> Table | IpvsError:
        try:
            return read_table(director.backend, args.targets, args.services)
        except IpvsError as error:  # InvalidArgument too
            return error

    with ThreadPoolExecutor(max_workers=len(directors)) as pool:
        tables = list(pool.map(read, directors))
    for director, table in zip(directors, tables, strict=True):
        if isinstance(table, InvalidArgument):
            return fail(f"director {director.name}: {table} Nothing was changed.", Exit.USAGE, command)
        if isinstance(table, IpvsError):
            return fail(f"{named(director.name, table)} Nothing was changed.", Exit.ERROR, command)
        director.table = table
    return None


def named(name: str, error: Exception) -> str:
    """The sentence of `error`, naming director `name` if it does not already."""
    said = str(error)
    return said if said.startswith(f"director {name}") else f"director {name}: {said}"


def show_all(directors: list[Director], out: TextIO) -> None:
    for director in directors:
        print(f"director {director.name}:", file=out)
        show(director.plan, out)


def refusing(directors: list[Director]) -> list[str]:
    """Why a director would refuse every change, a sentence each: this host read-only, or an agent
    started with --read-only (known from its hello, once its table was read)."""
    from lvs_tui.directors.remote import RemoteBackend
    from lvs_tui.ipvs.readonly import ReadOnlyBackend

    found = []
    for director in directors:
        backend = director.backend
        if isinstance(backend, ReadOnlyBackend):
            found.append(f"director {director.name} is read-only ({backend.reason})")
        elif isinstance(backend, RemoteBackend) and backend.read_only is not None:
            found.append(f"director {director.name}: {backend.read_only}")
    return found


def confirm_all(directors: list[Director], args: argparse.Namespace, command: str,
                question: str) -> Exit | None:
    """None when the plans may be applied; else the exit code (read-only, declined, no terminal)."""
    from lvs_tui.ops.owners import find_owners

    for director in directors:
        for warning in director.plan.warnings:
            say(f"warning: director {director.name}: {warning}", command)
    if any(director.local for director in directors):
        for owner in find_owners():  # this host's: another director's are not seen from here
            say(owner.warning())
    if args.read_only:
        say("read-only (--read-only): nothing was applied.", command)
        return Exit.OK
    refused = refusing(directors)
    if refused:
        return fail(f"{'; '.join(refused)}: nothing was applied to any director.", Exit.ERROR, command)
    return asked(question, args, command)


def confirm_and_apply(directors: list[Director], args: argparse.Namespace, setup: OpsSetup, outcome: Outcome,
                      command: str, question: str) -> Exit:
    """Once the plans are shown: one confirmation, every plan applied (undone on all when one is
    refused), this host's drain records brought up to date; the outcome said for --json."""
    stop = confirm_all(directors, args, command, question)
    if stop is not None:
        outcome.said("unchanged")
        return stop
    ok = apply_all(directors, setup.journal, outcome.out, command, outcome) is None
    for director in directors:
        if director.local:
            prune_records(setup, director.backend, command)
    outcome.said("done" if ok else "failed")
    return Exit.OK if ok else Exit.ERROR


def apply_all(directors: list[Director], journal: Journal, out: TextIO, command: str,
              outcome: Outcome | None = None) -> str | None:
    """Each director's plan, in order; on the first that fails, what the others made is undone
    (newest first). None when every plan was applied whole, else the sentence said about it."""
    done: list[Director] = []
    for director in directors:
        if not director.plan.changes:
            continue
        print(f"director {director.name}:", file=out)
        report = director.report = apply(director.plan, director.backend, journal, out,
                                         director=director.other)
        if report.failed:
            said = _undo(done, journal, out, director)
            say(said, command)
            _took(directors, outcome)
            return said
        done.append(director)
    _took(directors, outcome)
    return None


def _undo(done: list[Director], journal: Journal, out: TextIO, failed: Director) -> str:
    """Undo the plans of `done`, newest first; the sentence that says how the directors were left."""
    from lvs_tui.ops.changes import plan_undo

    stuck: list[str] = []
    for director in reversed(done):
        assert director.report is not None
        undo = plan_undo(director.plan, director.report.done)
        if undo is None:
            continue
        print(f"director {director.name}, undoing:", file=out)
        report = apply(undo, director.backend, journal, out, "rollback", director.other)
        if report.failed:
            stuck.append(f"on {director.name}: {report.summary()}")
        else:
            director.undone = True
    head = f"director {failed.name} refused a change"
    assert failed.report is not None
    here = failed.report.rolled_back or not failed.report.done
    if stuck or not here:
        left = ([] if here else [f"on {failed.name}: {failed.report.summary()}"]) + stuck
        return f"{head}; not everything could be undone: {'; '.join(left)}. Look with ipvsadm -Ln on each."
    if done:
        others = ", ".join(director.name for director in done)
        return f"{head}; what was made on {others} was undone: every director is as it was."
    return f"{head}; nothing was changed on the others: every director is as it was."


def _took(directors: list[Director], outcome: Outcome | None) -> None:
    if outcome is None:
        return
    for director in directors:
        if director.report is not None and not director.undone:
            outcome.took(director.report, director.name)
