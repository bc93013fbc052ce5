"""What every command shares: the exit codes, the one way to say an error, a parser whose errors are
one line, the option groups, and the backend factory."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

from lvs_tui.model import inputs
from lvs_tui.model.printable import printable

if TYPE_CHECKING:
    from lvs_tui.ipvs.backend import Backend
    from lvs_tui.ops.setup import OpsSetup
    from lvs_tui.sim import SimulatedDirector


T = TypeVar("T")


class Exit(IntEnum):
    """lvs-top's exit codes: the only place they are defined."""

    OK = 0
    ERROR = 1  # something failed, or doctor / realserver --check found an error
    USAGE = 2  # the command line or the config cannot work: running it again as is will not help
    INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C


def say(message: str, command: str = "") -> None:
    """`message` as one line on stderr: `lvs-top: message` (`lvs-top save: message` for a command).
    What it quotes from outside (a file's line, an argument) cannot drive the terminal."""
    print(f"{program(command)}: {printable(message)}", file=sys.stderr)


def fail(message: str, code: Exit = Exit.ERROR, command: str = "") -> Exit:
    """Say why the command failed; returns the exit code for the caller to return."""
    say(message, command)
    return code


def program(command: str) -> str:
    return f"lvs-top {command}" if command else "lvs-top"


class UsageError(Exception):
    """A command line that cannot work: said by `usage` in one line, naming the help to read."""

    def __init__(self, command: str, message: str, see: str | None = None) -> None:
        super().__init__(message)
        self.command = command
        self.message = message
        self.see = command if see is None else see  # whose --help has the fix


def usage(error: UsageError) -> Exit:
    return fail(f"{error.message.rstrip('.')}; see {program(error.see)} --help.", Exit.USAGE, error.command)


class Stop(Exception):
    """--help or --version was answered: main() returns `status` instead of the parser exiting."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class CommandParser(argparse.ArgumentParser):
    """The parser of one command: its errors raise UsageError (one line, see `usage`) instead of
    printing the whole usage, and --help returns from main() instead of exiting the interpreter."""

    def __init__(self, command: str, description: str, *, epilog: str | None = None,
                 usage: str | None = None, refused: Mapping[str, str] | None = None) -> None:
        super().__init__(prog=program(command), description=description, epilog=epilog, usage=usage,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
        self.command = command
        # Options of other commands that this one refuses for a reason worth saying: option -> reason.
        self.refused = dict(refused or {})

    def error(self, message: str) -> NoReturn:
        raise UsageError(self.command, message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise Stop(status)

    def option_strings(self) -> set[str]:
        return {option for action in self._actions for option in action.option_strings}


@dataclass(frozen=True, slots=True)
class Command:
    """One command of lvs-top: its parser, the checks argparse cannot express (they call
    parser.error), and what it runs once the arguments are good."""

    name: str  # "" for the root: the dashboard, or --batch
    build_parser: Callable[[], CommandParser]
    check: Callable[[CommandParser, argparse.Namespace], None]
    run: Callable[[argparse.Namespace], int]


# --- option groups that several commands share ----------------------------------------------------

def _demo_size(text: str) -> tuple[int, int]:
    from lvs_tui.sim import parse_demo_size

    try:
        return parse_demo_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def seconds(text: str) -> float:
    """A finite number of seconds, 0 to a day (`nan`, `inf` and `1e9` are not)."""
    return _strict(lambda: inputs.seconds(text, "it", 0.0, 86_400.0))


def seed(text: str) -> int:
    return _strict(lambda: inputs.whole(text, "the seed", 0, inputs.U32_MAX))


def netns_name(text: str) -> str:
    """A network namespace's name as `ip netns` makes them: not empty (which would silently mean
    this host's namespace), no `/`, no control characters."""
    value = _strict(lambda: inputs.text(text, "the namespace name", 255))
    if not value or "/" in value or value in (".", ".."):
        raise argparse.ArgumentTypeError(f"{value!r} is not a network namespace name (see `ip netns list`)")
    return value


def _strict(parse: Callable[[], T]) -> T:
    try:
        return parse()
    except inputs.InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


DEMO_OPTIONS = ("--demo", "--demo-size", "--seed")


def add_source(parser: CommandParser, *, demo: bool) -> None:
    """--netns, and with `demo` the simulated director's options (check them with `check_source`)."""
    group = parser.add_argument_group("what to read")
    if demo:
        group.add_argument("--demo", action="store_true", help="a simulated director instead of the kernel")
        group.add_argument("--demo-size", type=_demo_size, metavar="SERVICESxSERVERS",
                           help="size of the simulated table, e.g. 10000x10 (implies --demo)")
        # No default here: given without --demo it is refused, not ignored.
        group.add_argument("--seed", type=seed, help="seed of the simulated director (default 1)")
    else:
        parser.set_defaults(demo=False, demo_size=None, seed=None)
    group.add_argument("--netns", type=netns_name, metavar="NAME",
                       help="read IPVS inside network namespace NAME")


def check_source(parser: CommandParser, args: argparse.Namespace) -> None:
    if args.netns and is_demo(args):
        parser.error("--netns reads a kernel's table and cannot be combined with --demo")
    if args.seed is not None and not is_demo(args):
        parser.error("--seed applies only to --demo")


def is_demo(args: argparse.Namespace) -> bool:
    return bool(args.demo or args.demo_size)


def add_changes(parser: CommandParser) -> None:
    """--read-only and --journal, for the commands that may change the table."""
    group = parser.add_argument_group("changes")
    group.add_argument("--read-only", action="store_true",
                       help="never change the table: write actions are off and nothing is sent")
    add_journal(group)
    group.add_argument("--drain-records", metavar="FILE", type=Path,
                       help="the drains of this director, shared by every lvs-top on it (default "
                       "/run/lvs-top/drains.json for root, drains-NETNS.json with --netns)")


def add_journal(group: argparse._ActionsContainer) -> None:
    group.add_argument("--journal", metavar="PATH", type=Path,
                       help="audit journal of every change (default $XDG_STATE_HOME/lvs-top/journal.jsonl)")


def add_state(group: argparse._ActionsContainer) -> None:
    group.add_argument("--state", metavar="FILE", type=Path,
                       help="the checker's state file, which other lvs-top instances read (default "
                       "/run/lvs-top/health.json for root)")


# --- the backend and the write side ---------------------------------------------------------------

def read_only_reason(args: argparse.Namespace) -> str | None:
    """Why this session may not write, or None: --read-only, or no CAP_NET_ADMIN for the kernel."""
    if args.read_only:
        return "--read-only"
    if not is_demo(args):
        from lvs_tui.ops.privileges import has_net_admin

        if not has_net_admin():
            return "no CAP_NET_ADMIN: run as root to make changes"
    return None


def open_backend(args: argparse.Namespace) -> Backend:
    """The backend the arguments ask for; every command that reads the table opens it here.

    Read-only sessions get a backend that refuses every write, whatever asks for one.
    """
    if is_demo(args):
        return guarded(args, demo_director(args))
    from lvs_tui.ipvs.kernel import KernelBackend

    return guarded(args, KernelBackend(netns=args.netns))


def demo_director(args: argparse.Namespace) -> SimulatedDirector:
    from lvs_tui.sim import SimulatedDirector

    services, dests = args.demo_size or (None, None)
    seed = 1 if args.seed is None else args.seed
    return SimulatedDirector(seed=seed, services=services, dests_per_service=dests)


def guarded(args: argparse.Namespace, backend: Backend) -> Backend:
    """`backend`, or in a read-only session a wrapper that refuses every write."""
    reason = read_only_reason(args)
    if reason is not None:
        from lvs_tui.ipvs.readonly import ReadOnlyBackend

        return ReadOnlyBackend(backend, reason)
    return backend


def ops_setup(args: argparse.Namespace) -> OpsSetup:
    """The write side's surroundings: sysctls and connections of the right namespace, the journal."""
    from lvs_tui.ops.conntable import read_dest_connections
    from lvs_tui.ops.drainrecords import DrainRecords
    from lvs_tui.ops.journal import Journal, default_path
    from lvs_tui.ops.setup import OpsSetup
    from lvs_tui.ops.statedir import director_file
    from lvs_tui.ops.sysctl import KERNEL_DEFAULTS, Sysctls, read_sysctls

    reason = read_only_reason(args)
    given = getattr(args, "drain_records", None)
    if is_demo(args):
        # Changes to the simulation stay out of the journal of the real director's changes, and its
        # drains out of the real director's records (a simulated table lives as long as its process).
        drains = DrainRecords(given)
        journal = Journal(args.journal or default_path().with_name("demo-journal.jsonl"))
        # The simulated director has no /proc of its own: it behaves as a kernel with the defaults.
        return OpsSetup(reason, journal, lambda: Sysctls(dict(KERNEL_DEFAULTS)), None, drains=drains)
    journal = Journal(args.journal)
    netns = args.netns
    drains = DrainRecords(given or director_file("drains", netns))
    if netns is None:
        return OpsSetup(reason, journal, drains=drains)
    from lvs_tui.ipvs.netlink import in_netns

    return OpsSetup(reason, journal, lambda: in_netns(netns, read_sysctls),
                    lambda address, port: read_dest_connections(address, port, netns=netns), drains=drains)
