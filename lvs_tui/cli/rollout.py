"""`lvs-top rollout TARGET... --exec COMMAND`: a rolling maintenance, a batch of hosts at a time:
drain, run the command, check, bring back; the progress kept on disk for `--resume`."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from lvs_tui.cli.common import Command, CommandParser, Exit, fail, is_demo, open_backend, ops_setup, seconds
from lvs_tui.cli.maintenance import OpenBackend, add_targets, check_targets, confirm, read_table, sysctls_of
from lvs_tui.ipvs.errors import InvalidArgument
from lvs_tui.model import inputs

if TYPE_CHECKING:  # the checks bring asyncio: imported when a rollout runs, not at every start
    from lvs_tui.cli.rollout_steps import CheckRunner, CommandRunner

DEFAULT_TIMEOUT = 600.0

DESCRIPTION = f"""\
Roll a change through the hosts TARGET names (a host address, or one real server ADDRESS:PORT), a
batch of --max-out at a time, in order: drain the batch in every service (journaled, as lvs-top
drain does), wait until it is drained (as drain --wait), run COMMAND for each host, wait until its
real servers pass the check, bring them back to the weight they had before (ramped over
--slow-start seconds, as lvs-top undrain), then go on with the next batch.

COMMAND is one string, split into words as a shell would split it but run without a shell (for a
shell, write sh -c '...'); {{host}} in a word is replaced by the host's address, and LVS_TOP_HOST
holds it too. Its output passes through. A non-zero exit, a command that cannot start, or one that
outlasts --timeout is a failure.

--check: tcp (connect to each real server of the host; the default), http://PATH (a GET of PATH on
each, answered 2xx or 3xx; http:///healthz), or a health config file (its check for each server it
lists, tcp for the others). Retried every --interval until every server passes.

--min-capacity PERCENT: never start a drain that leaves a service below PERCENT of its total weight
(the servers already at weight 0 count as out): wait for it, up to --timeout.

Every wait (the floor, the drain, the command, the check) gives up after --timeout seconds (default
{DEFAULT_TIMEOUT:g}). On a failure the rollout stops there, the failed batch stays drained and
the hosts after it are untouched; the progress is kept in a state file (--rollout-state), and the
same command with --resume goes on from the failed step. A finished rollout removes it. With
--read-only the batches and the capacity each drain would leave are shown, and nothing changes.

exit status: 0 done, 1 a failure (the command, the check, a timeout, the capacity floor, a change),
2 bad input (nothing changed)."""


def _max_out(text: str) -> int:
    try:
        return inputs.whole(text, "--max-out", 1, 1000)
    except inputs.InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _percent(text: str) -> int:
    try:
        return inputs.whole(text, "--min-capacity", 0, 100)
    except inputs.InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> CommandParser:
    parser = CommandParser("rollout", DESCRIPTION, usage="%(prog)s TARGET... --exec 'COMMAND ARGS' [options]")
    add_targets(parser)
    group = parser.add_argument_group("the rollout")
    group.add_argument("--exec", dest="command", metavar="'COMMAND ARGS'",
                       help="what to run for each drained host ({host} is its address)")
    group.add_argument("--max-out", type=_max_out, default=1, metavar="N",
                       help="hosts out at once (default 1)")
    group.add_argument("--min-capacity", type=_percent, default=0, metavar="PERCENT",
                       help="weight each service keeps in, as a percentage of its total (default 0: none)")
    group.add_argument("--check", default="tcp", metavar="tcp|http://PATH|CONFIG",
                       help="how a host is known to be back (default tcp)")
    group.add_argument("--slow-start", type=seconds, metavar="SECONDS",
                       help="ramp the weights back up over this long")
    group.add_argument("--timeout", type=seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                       help=f"each wait gives up after this long (default {DEFAULT_TIMEOUT:g})")
    group.add_argument("--interval", type=seconds, default=1.0, metavar="SECONDS",
                       help="seconds between two polls (default 1)")
    group.add_argument("--inactive", action="store_true",
                       help="TCP is drained once its inactive (TIME_WAIT) entries are gone too")
    group.add_argument("--resume", action="store_true", help="go on with the rollout that stopped")
    group.add_argument("--rollout-state", type=Path, metavar="FILE",
                       help="the progress file (default: one per director in lvs-top's state directory)")
    group.add_argument("--json", action="store_true",
                       help="the steps as JSON lines on standard output (other text on stderr)")
    return parser


def check(parser: CommandParser, args: argparse.Namespace) -> None:
    from lvs_tui.cli.rollout_steps import parse_check
    from lvs_tui.ops.rollout import split_command

    if args.command is None:
        parser.error("rollout needs --exec 'COMMAND ARGS': what to run on each drained host")
    try:
        split_command(args.command)
    except ValueError as error:
        parser.error(f"--exec: {error}")
    if args.interval <= 0:
        parser.error("--interval must be more than 0 seconds")
    check_targets(parser, args)
    try:
        args.check_spec = parse_check(args.check)
    except ValueError as error:
        parser.error(str(error))


def run(args: argparse.Namespace) -> int:
    return run_rollout(args, open_backend)


COMMAND = Command("rollout", build_parser, check, run)


def state_path(args: argparse.Namespace) -> Path:
    from lvs_tui.ops.statedir import director_file

    # A demo rollout's progress is kept apart from the real director's.
    return args.rollout_state or director_file("rollout-demo" if is_demo(args) else "rollout", args.netns)


def run_rollout(args: argparse.Namespace, open_backend: OpenBackend,
                clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                runner: CommandRunner | None = None, checker: CheckRunner | None = None) -> int:
    from lvs_tui.cli.rollout_run import Rollout, overview
    from lvs_tui.cli.rollout_steps import check_once, run_command
    from lvs_tui.ops.rollout import Progress, StateError, batches, clear_progress, load_progress
    from lvs_tui.ops.targets import plan_drain

    texts = list(dict.fromkeys(target.text for target in args.targets))
    path = state_path(args)
    try:
        recorded = load_progress(path)
    except StateError as error:
        return fail(f"the rollout state {path} cannot be used ({error}): delete it to start again.",
                    Exit.USAGE, "rollout")
    if args.resume:
        if recorded is None:
            return fail(f"there is no rollout to resume ({path} does not exist).", Exit.USAGE, "rollout")
        if not recorded.same_rollout(texts, args.command):
            return fail(f"--resume goes on with the rollout recorded in {path}, of "
                        f"{', '.join(recorded.targets)} with --exec {recorded.command!r}: give the same "
                        "TARGETs and --exec.", Exit.USAGE, "rollout")
        progress = recorded
    elif recorded is not None:
        where = f" (stopped at {', '.join(recorded.batch)}, {recorded.stage})" if recorded.batch else ""
        return fail(f"an unfinished rollout is recorded in {path}{where}: add --resume to go on with it, "
                    f"or delete {path}.", Exit.USAGE, "rollout")
    else:
        progress = Progress(texts, args.command)
    todo = ([progress.batch] if progress.batch else []) + batches(progress.left(), args.max_out)
    setup = ops_setup(args)
    backend = open_backend(args)
    try:
        connections = getattr(backend, "connections", None) if is_demo(args) else setup.connections
        rollout = Rollout(args, backend, setup, sysctls_of(setup.sysctls), connections,
                          args.check_spec, progress, path, runner or run_command, checker or check_once,
                          clock, sleep,
                          {target.text: target for target in args.targets})
        out = sys.stderr if args.json else sys.stdout
        try:
            table = read_table(backend, args.targets, args.services)
            resumed = f", resumed at {progress.stage}" if progress.batch else ""
            print(f"Rollout of {len(texts)} target{'s' * (len(texts) != 1)} in {len(todo)} "
                  f"batch{'es' * (len(todo) != 1)}, --exec {args.command!r}, check "
                  f"{args.check_spec.describe()}{resumed}:", file=out)
            overview(todo, rollout)
        except InvalidArgument as error:
            return fail(str(error), Exit.USAGE, "rollout")
        plan = plan_drain(table.services, args.targets, rollout.sysctls)
        stop = confirm(plan, backend, args, "rollout",
                       f"Roll out to {len(texts)} target{'s' * (len(texts) != 1)}? [y/N] ")
        if stop is not None:
            return stop
        try:
            rollout.save()
        except OSError as error:
            return fail(f"the rollout state {path} cannot be written ({error.strerror or error}): choose "
                        "another with --rollout-state FILE; nothing was changed.", Exit.USAGE, "rollout")
        status = rollout.run(todo)
    finally:
        backend.close()
    if status == Exit.OK:
        clear_progress(path)
        rollout.event(texts, "done", f"Rolled out to {', '.join(texts)}.")
    return status
