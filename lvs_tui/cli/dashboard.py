"""`lvs-top [options]`: the dashboard; `lvs-top --batch [options]`: the table printed instead."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from lvs_tui import __version__
from lvs_tui.cli.common import (
    Command,
    CommandParser,
    Exit,
    add_changes,
    add_source,
    add_state,
    check_source,
    demo_director,
    fail,
    guarded,
    is_demo,
    open_backend,
    ops_setup,
    read_only_reason,
    say,
    seconds,
)
from lvs_tui.directors.specs import names_unique, parse_director
from lvs_tui.model import inputs
from lvs_tui.model.dashboard import SERVICE_SORTS, SortKey
from lvs_tui.ui.preferences import Preferences, PreferenceStore, parse_sort

if TYPE_CHECKING:
    from lvs_tui.doctor.watch import DoctorWatch
    from lvs_tui.health.feed import HealthFeed
    from lvs_tui.ipvs.backend import Backend
    from lvs_tui.live.session import HealthSource
    from lvs_tui.ops.poller import SubmitJob
    from lvs_tui.ops.setup import OpsSetup
    from lvs_tui.ui.factory import AppSettings

USAGE = """\
%(prog)s [options]               the dashboard
       %(prog)s --batch [options]       the table printed, like top -b
       %(prog)s COMMAND [options]       save, restore FILE, drain, undrain, weight, rollout,
                                        health CONFIG, doctor, realserver, exporter, compare A B,
                                        agent"""

COMMANDS = """\
commands (first on the line; lvs-top COMMAND --help for their options):
  save            print the table in ipvsadm-restore format, thresholds included (ipvsadm -S drops them)
  restore FILE    show what makes the table equal to FILE, then apply it once confirmed
  drain TARGET    weight 0 for a host or real server; --wait until it is empty (for scripts)
  undrain TARGET  back to the weight from before the drain
  weight TARGET W set the weight of a host's real servers, or of one real server
  rollout TARGET  drain, run a command, check and bring back each host in turn (for deploys)
  health CONFIG   run the health checker as a service (logs to stderr)
  doctor          what is wrong around IPVS on this director (exit 1 on an error)
  realserver      print, check or apply what a real server needs for NAT, DR or TUN
  exporter        serve the table, health and drains as Prometheus metrics
  compare A B     where two directors' tables disagree, over ssh (exit 1 when they do)
  agent           answer another lvs-top over standard input and output (started by ssh)

Reading IPVS needs CAP_NET_ADMIN (run as root); --demo needs nothing."""

# Options that only the interactive dashboard uses: batch mode only reads, so it refuses them.
DASHBOARD_ONLY = (("health", "--health"), ("state", "--state"), ("journal", "--journal"),
                  ("read_only", "--read-only"), ("sort", "--sort"))
BATCH_ONLY = (("iterations", "-n/--iterations"), ("json", "--json"), ("exact", "--exact"))
# What applies to this host's table only, not to another director's shown here.
NOT_REMOTE = (("health", "--health"), ("state", "--state"), ("journal", "--journal"), ("netns", "--netns"),
              ("demo", "--demo"), ("demo_size", "--demo-size"))


def _sort(text: str) -> SortKey:
    try:
        return parse_sort(text, list(SERVICE_SORTS))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _count(text: str) -> int:
    try:
        return inputs.whole(text, "the count (0: no end)", 0, 10**9)
    except inputs.InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> CommandParser:
    parser = CommandParser("", "A live dashboard for Linux Virtual Server (IPVS) load balancers.",
                           usage=USAGE, epilog=COMMANDS)
    parser.add_argument("--version", action="version", version=f"lvs-top {__version__}")
    parser.add_argument("-d", "--delay", type=seconds, metavar="SECONDS",
                        help="seconds between polls (default: the saved preference, else 1; with --batch, "
                             "0 = back to back)")
    parser.add_argument("--interval", type=seconds, dest="delay", metavar="SECONDS", help="the same as -d")
    parser.add_argument("--sort", type=_sort, metavar="COLUMN[:asc|desc]",
                        help=f"sort the services by COLUMN ({', '.join(SERVICE_SORTS)}); numbers start "
                             "busiest first (default: the saved preference, else service)")
    add_source(parser, demo=True)
    add_changes(parser)
    health = parser.add_argument_group("health checks")
    health.add_argument("--health", metavar="CONFIG",
                        help="run the health checker inside the dashboard, with this config (TOML)")
    add_state(health)
    batch = parser.add_argument_group("batch mode, like top -b")
    batch.add_argument("-b", "--batch", action="store_true", help="print snapshots instead of the dashboard")
    batch.add_argument("-n", "--iterations", type=_count, metavar="COUNT",
                       help="how many snapshots to print (default 1; 0 = until interrupted)")
    batch.add_argument("--json", action="store_true", help="one JSON object per snapshot, one per line")
    batch.add_argument("--exact", action="store_true", help="raw numbers instead of K/M/G units")
    directors = parser.add_argument_group("other directors")
    directors.add_argument("--director", action="append", metavar="DIRECTOR",
                           help="show this director: local (this host), an ssh destination (ssh -T "
                                "DIRECTOR lvs-top agent --read-only), or NAME=COMMAND for any command that "
                                "starts an agent; repeat it for several: n shows the next one, what "
                                "differs between them is marked, and a change of real servers is offered "
                                "for each (one other director alone is shown read-only)")
    directors.add_argument("--ssh-command", metavar="COMMAND",
                           help="how --director reaches an ssh destination (default ssh)")
    return parser


def check(parser: CommandParser, args: argparse.Namespace) -> None:
    check_source(parser, args)
    if args.batch:
        for dest, option in DASHBOARD_ONLY:
            if getattr(args, dest):
                parser.error(f"{option} does not apply to --batch: batch mode only reads the table")
    else:
        for dest, option in BATCH_ONLY:
            if getattr(args, dest) not in (None, False):
                parser.error(f"{option} applies only to --batch")
    if args.ssh_command and not args.director:
        parser.error("--ssh-command says how --director reaches an ssh destination: give a --director")
    if args.director:
        _check_directors(parser, args)
    if args.health and is_demo(args):
        parser.error("--health checks real servers; the demo's are documentation addresses that must "
                     "not be probed, so it cannot be combined with --demo")
    if args.state and is_demo(args):
        parser.error("--state reads the checker of a kernel's table; the demo has none, so it cannot be "
                     "combined with --demo")


def _check_directors(parser: CommandParser, args: argparse.Namespace) -> None:
    # A dashboard of several directors changes their real servers together (an ssh destination's
    # agent then starts without --read-only), unless this one is --read-only.
    writes = not args.batch and not args.read_only and len(args.director) > 1
    try:
        args.director = [parse_director(text, args.ssh_command or "ssh", read_only=not writes)
                         for text in args.director]
        names_unique(args.director)
    except ValueError as error:
        parser.error(str(error))
    if args.batch:
        return
    if [spec.command for spec in args.director] == [None]:
        args.director = None  # `local` alone: this host, as without --director
        return
    if any(spec.command is None for spec in args.director):
        return  # this host's options apply to it, shown beside the others
    remote = args.director[0].name
    for dest, option in NOT_REMOTE:
        if dest == "journal" and writes:
            continue  # this host's journal names each change made on another director
        if getattr(args, dest):
            parser.error(f"{option} applies to this host's table, not to director {remote}: add "
                         "--director local to show this host too, or run lvs-top there for it")


def run(args: argparse.Namespace) -> int:
    if args.batch:
        from lvs_tui.cli.batch import run_batch_mode

        if args.delay is None:
            args.delay = 1.0
        return run_batch_mode(args)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return fail("the dashboard needs a terminal; use --batch to print to a pipe or a file.", Exit.USAGE)
    return run_dashboard(args)


COMMAND = Command("", build_parser, check, run)


def run_dashboard(args: argparse.Namespace) -> int:
    """Build the app from the arguments and run it until the operator quits."""
    from lvs_tui.ui.factory import make_app

    try:
        app = make_app(app_settings(args))
    except ValueError as error:  # a health config with mistakes (one line each), or another checker
        for line in str(error).splitlines():
            say(line)
        return Exit.USAGE
    try:
        app.run()
    except KeyboardInterrupt:
        return Exit.INTERRUPTED
    return Exit.OK


def app_settings(args: argparse.Namespace) -> AppSettings:
    """What the dashboard is built from, as the arguments ask: the one place they become an app."""
    from lvs_tui.live.hostload import HostSampler
    from lvs_tui.ui.factory import AppSettings

    store = PreferenceStore()
    chosen = store.load()  # a damaged file: the defaults, and the app says why once it is up
    interval = chosen.interval if args.delay is None else args.delay if args.delay > 0 else 1.0
    chosen = replace(chosen, interval=interval, sort=args.sort or chosen.sort)
    if args.director:
        return _directors_settings(args, interval, chosen, store)
    setup = ops_setup(args)
    if is_demo(args):
        director = demo_director(args)
        # The simulation has counts, not a connection table: it spells entries out from them. It has
        # no network to examine and no real servers to check either.
        setup = replace(setup, connections=director.connections)
        return AppSettings(lambda: guarded(args, director), "demo", interval, setup, host=HostSampler(),
                           preferences=chosen, store=store)
    description = f"kernel (netns {args.netns})" if args.netns else "kernel"
    return AppSettings(lambda: open_backend(args), description, interval, setup, health_feed(args, setup),
                       doctor_watch(args.netns), HostSampler(), preferences=chosen, store=store)


def _directors_settings(args: argparse.Namespace, interval: float, chosen: Preferences,
                        store: PreferenceStore) -> AppSettings:
    """Each --director in order, the first one shown first: `local` is this host as it would be
    without --director (its journal, checker, doctor and load); another is read through its agent,
    and nothing read from this host (its connection table, its table's owners, its load) stands for
    that director's. With several directors, and without --read-only, another's real servers are
    changed through its agent (its sysctls warn its plans; this host's journal names it)."""
    from lvs_tui.directors.remote import RemoteBackend
    from lvs_tui.ops.setup import OpsSetup
    from lvs_tui.ui.factory import AppSettings, OtherDirector

    writes = len(args.director) > 1 and not args.read_only
    journal = ops_setup(args).journal
    directors = []
    for spec in args.director:
        if spec.command is None:
            local = app_settings(argparse.Namespace(**{**vars(args), "director": None}))
            directors.append(OtherDirector(spec.name, local.open_backend, local.setup, local.health,
                                           local.doctor, local.host))
            continue
        remote = RemoteBackend(spec, writes=writes)  # one link, started again by itself when it breaks
        reason = None if writes else (read_only_reason(args) or
                                      f"director {spec.name} is read through its agent, which only reads")
        setup = OpsSetup(reason, journal, remote.sysctls, connections=None, owners=lambda: (),
                         director=spec.name)
        directors.append(OtherDirector(spec.name, _always(remote), setup))
    first, *others = directors
    return AppSettings(first.open_backend, f"director {first.name}", interval, first.setup, first.health,
                       first.doctor, first.host, preferences=chosen, store=store, name=first.name,
                       others=tuple(others))


def _always(backend: Backend) -> Callable[[], Backend]:
    return lambda: backend


def health_feed(args: argparse.Namespace, setup: OpsSetup) -> HealthSource:
    """The checker this dashboard runs (--health), else the state file of one running elsewhere.

    Raises ValueError, as a sentence, for a config with mistakes or a checker already running.
    """
    from lvs_tui.health.claim import CheckerRunning, StateRefused, claim_state
    from lvs_tui.health.config import load_config
    from lvs_tui.health.engine import Engine
    from lvs_tui.health.feed import EngineFeed, StateFileFeed
    from lvs_tui.health.status import default_state_path

    state = args.state or default_state_path()
    if not args.health:
        return lambda submit: StateFileFeed(state)
    config = load_config(args.health)  # ConfigError is a ValueError
    source = f"lvs-top --health (pid {os.getpid()})"
    try:
        claim = claim_state(state, source, journal=setup.journal)  # held until the dashboard ends
    except CheckerRunning as error:
        raise ValueError(f"{error}; or drop --health: the health column shows that checker's state") from None
    except StateRefused as error:
        raise ValueError(f"{error} (of lvs-top health).") from None
    except OSError as error:
        raise ValueError(f"cannot lock the state file {state} ({error.strerror or error}); give another "
                         "--state file.") from None
    netns = None
    if args.netns:
        from lvs_tui.ipvs.netlink import netns_path

        netns = netns_path(args.netns)

    def feed(submit: SubmitJob) -> HealthFeed:
        engine = Engine(config, submit, setup.journal, read_only=setup.read_only, state_path=state,
                        source=source, taken_out=claim.taken_out, drains=setup.drains)
        return EngineFeed(engine, netns)

    return feed


def doctor_watch(netns: str | None) -> DoctorWatch:
    """The doctor for the dashboard, reading the facts of the director's namespace."""
    from lvs_tui.doctor.director import DirectorFacts
    from lvs_tui.doctor.host import read_director
    from lvs_tui.doctor.watch import DoctorWatch

    if netns is None:
        return DoctorWatch(read_director)
    from lvs_tui.ipvs.netlink import in_netns

    def read(addresses: Iterable[str]) -> DirectorFacts:
        return in_netns(netns, lambda: read_director(addresses))

    return DoctorWatch(read)
