"""Command line: argument parsing, the backend factory and batch mode.

Every failure an operator can cause or meet (no IPVS, no privileges, unknown netns, bad
arguments) ends in one sentence on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from lvs_tui import __version__
from lvs_tui.cli.batch import BatchOptions, run_batch
from lvs_tui.ipvs.backend import Backend
from lvs_tui.ipvs.errors import IpvsError

if TYPE_CHECKING:
    from lvs_tui.doctor.watch import DoctorWatch
    from lvs_tui.health.engine import Submit
    from lvs_tui.health.feed import HealthFeed
    from lvs_tui.ops.setup import OpsSetup

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"the delay must be 0 or more seconds, not {text}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"the count must be 0 (no end) or more, not {text}")
    return value


def _demo_size(text: str) -> tuple[int, int]:
    from lvs_tui.sim import parse_demo_size

    try:
        return parse_demo_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lvs-top",
        description="A live dashboard for Linux Virtual Server (IPVS) load balancers.",
        epilog="Reading IPVS needs CAP_NET_ADMIN (run as root); --demo needs nothing.",
    )
    parser.add_argument("--version", action="version", version=f"lvs-top {__version__}")
    parser.add_argument(
        "command",
        nargs="?",
        choices=["save", "restore", "health", "realserver", "doctor"],
        help="save: print the table in ipvsadm-restore format, thresholds included "
        "(ipvsadm -S drops them); restore FILE: show what makes the table equal to FILE, then apply "
        "it once confirmed; health CONFIG: run the health checker as a service (logs to stderr); "
        "realserver: print, check or apply what a real server needs for NAT, DR or TUN; doctor: what is "
        "wrong around IPVS on this director (exit 1 on an error); "
        "without a command: the dashboard, or --batch",
    )
    parser.add_argument("file", nargs="?",
                        help="the rules file of restore (- for standard input), or the config of health")
    source = parser.add_argument_group("what to show")
    source.add_argument("--demo", action="store_true", help="show a simulated director instead of the kernel")
    source.add_argument(
        "--demo-size",
        type=_demo_size,
        metavar="SERVICESxSERVERS",
        help="size of the simulated table, e.g. 10000x10 (implies --demo)",
    )
    source.add_argument("--seed", type=int, default=1, help="seed of the simulated director (default 1)")
    source.add_argument("--netns", metavar="NAME", help="read IPVS inside network namespace NAME")
    changes = parser.add_argument_group("changes")
    changes.add_argument("--read-only", action="store_true",
                         help="never change the table: write actions are off and nothing is sent")
    changes.add_argument("--journal", metavar="PATH", type=Path,
                         help="audit journal of every change (default $XDG_STATE_HOME/lvs-top/journal.jsonl)")
    changes.add_argument("-y", "--yes", action="store_true", help="restore without asking (for scripts)")
    health = parser.add_argument_group("health checks")
    health.add_argument("--health", metavar="CONFIG",
                        help="run the health checker inside the dashboard, with this config (TOML)")
    health.add_argument("--state", metavar="FILE", type=Path,
                        help="the checker's state file, which other lvs-top instances read (default "
                        "/run/lvs-top/health.json for root)")
    health.add_argument("--check-config", action="store_true",
                        help="with health: check the config, say what it checks, and exit")
    from lvs_tui.cli.realserver import add_arguments

    add_arguments(parser)
    doctor = parser.add_argument_group("doctor")
    doctor.add_argument("--sample", type=_positive_float, default=3.0, metavar="SECONDS",
                        help="doctor: read the counters twice, this far apart (default 3)")
    batch = parser.add_argument_group("batch mode, like top -b")
    batch.add_argument("-b", "--batch", action="store_true", help="print snapshots instead of the dashboard")
    batch.add_argument(
        "-n",
        "--iterations",
        type=_count,
        default=1,
        metavar="COUNT",
        help="how many snapshots to print (default 1; 0 = until interrupted)",
    )
    batch.add_argument(
        "-d",
        "--delay",
        type=_positive_float,
        default=1.0,
        metavar="SECONDS",
        help="seconds between polls (default 1; with --batch, 0 = back to back)",
    )
    batch.add_argument("--json", action="store_true", help="one JSON object per snapshot, one per line")
    batch.add_argument("--exact", action="store_true", help="raw numbers instead of K/M/G units")
    return parser


def read_only_reason(args: argparse.Namespace) -> str | None:
    """Why this session may not write, or None: --read-only, or no CAP_NET_ADMIN for the kernel."""
    if args.read_only:
        return "--read-only"
    if not (args.demo or args.demo_size):
        from lvs_tui.ops.privileges import has_net_admin

        if not has_net_admin():
            return "no CAP_NET_ADMIN: run as root to make changes"
    return None


def open_backend(args: argparse.Namespace) -> Backend:
    """The backend the arguments ask for; the dashboard, batch mode and restore share this factory.

    Read-only sessions get a backend that refuses every write, whatever asks for one.
    """
    backend: Backend
    if args.demo or args.demo_size:
        from lvs_tui.sim import SimulatedDirector

        services, dests = args.demo_size or (None, None)
        backend = SimulatedDirector(seed=args.seed, services=services, dests_per_service=dests)
    else:
        from lvs_tui.ipvs.kernel import KernelBackend

        backend = KernelBackend(netns=args.netns)
    reason = read_only_reason(args)
    if reason is not None:
        from lvs_tui.ipvs.readonly import ReadOnlyBackend

        return ReadOnlyBackend(backend, reason)
    return backend


def ops_setup(args: argparse.Namespace) -> OpsSetup:
    """The write side's surroundings: sysctls and connections of the right namespace, the journal."""
    from lvs_tui.ops.conntable import read_dest_connections
    from lvs_tui.ops.journal import Journal, default_path
    from lvs_tui.ops.setup import OpsSetup
    from lvs_tui.ops.sysctl import KERNEL_DEFAULTS, Sysctls, read_sysctls

    reason = read_only_reason(args)
    if args.demo or args.demo_size:
        # Changes to the simulation stay out of the journal of the real director's changes.
        journal = Journal(args.journal or default_path().with_name("demo-journal.jsonl"))
        # The simulated director has no /proc of its own: it behaves as a kernel with the defaults.
        return OpsSetup(reason, journal, lambda: Sysctls(dict(KERNEL_DEFAULTS)), None)
    journal = Journal(args.journal)
    netns = args.netns
    if netns is None:
        return OpsSetup(reason, journal)
    from lvs_tui.ipvs.netlink import in_netns

    return OpsSetup(reason, journal, lambda: in_netns(netns, read_sysctls),
                    lambda address, port: read_dest_connections(address, port, netns=netns))


def run_dashboard(args: argparse.Namespace) -> int:
    from lvs_tui.hostload import HostSampler
    from lvs_tui.ui.app import LvsTopApp

    demo = bool(args.demo or args.demo_size)
    description = "demo" if demo else (f"kernel (netns {args.netns})" if args.netns else "kernel")
    setup = ops_setup(args)
    shown: list[LvsTopApp] = []
    if demo:
        from lvs_tui.sim.conns import demo_connections

        # The simulation has counts, not a connection table: entries are spelled out from what is shown.
        setup = replace(setup, connections=demo_connections(
            lambda: shown[0].dashboard.snapshot if shown else None))
    try:
        health = None if demo else health_feed(args, setup)
    except ValueError as error:  # a config with mistakes, or another checker running
        return _fail(str(error), EXIT_USAGE)
    app = LvsTopApp(
        lambda: open_backend(args),
        description=description,
        interval=args.delay if args.delay > 0 else 1.0,
        host_sampler=HostSampler(),
        setup=setup,
        health=health,
        doctor=None if demo else doctor_watch(args.netns),  # the demo has no network to examine
    )
    shown.append(app)
    try:
        app.run()
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return EXIT_OK


def health_feed(args: argparse.Namespace, setup: OpsSetup) -> Callable[[Submit], HealthFeed]:
    """The checker this dashboard runs (--health), else the state file of one running elsewhere.

    Raises ValueError, as a sentence, for a config with mistakes or a checker already running.
    """
    from lvs_tui.health.config import load_config
    from lvs_tui.health.daemon import CheckerRunning, previous_state
    from lvs_tui.health.engine import Engine
    from lvs_tui.health.feed import EngineFeed, StateFileFeed
    from lvs_tui.health.status import default_state_path

    state = args.state or default_state_path()
    if not args.health:
        return lambda submit: StateFileFeed(state)
    config = load_config(args.health)  # ConfigError is a ValueError
    try:
        taken_out = previous_state(state)
    except CheckerRunning as error:
        raise ValueError(f"{error}; or drop --health: the health column shows that checker's state") from None
    netns = None
    if args.netns:
        from lvs_tui.ipvs.netlink import netns_path

        netns = netns_path(args.netns)

    def feed(submit: Submit) -> HealthFeed:
        engine = Engine(config, submit, setup.journal, read_only=setup.read_only, state_path=state,
                        source=f"lvs-top --health (pid {os.getpid()})", taken_out=taken_out)
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


def run_save(args: argparse.Namespace) -> int:
    from lvs_tui.ops.ipvsadm import save_lines

    backend = open_backend(args)
    try:
        snapshot = backend.snapshot()
    finally:
        backend.close()
    sys.stdout.write("".join(line + "\n" for line in save_lines(snapshot)))
    sys.stdout.flush()
    return EXIT_OK


def _fail(message: str, code: int = EXIT_ERROR) -> int:
    print(f"lvs-top: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_intermixed_args(argv)
    if args.netns and (args.demo or args.demo_size):
        parser.error("--netns reads a kernel's table and cannot be combined with --demo")
    if args.command is None and not args.batch:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            return _fail("the dashboard needs a terminal; use --batch to print to a pipe or a file.",
                         EXIT_USAGE)  # fmt: skip
        return run_dashboard(args)
    if (args.command in ("restore", "health")) != (args.file is not None):
        parser.error("restore takes one FILE (- for standard input), health takes its CONFIG, "
                     "and no other command takes a file")
    if args.command == "doctor" and (args.demo or args.demo_size):
        parser.error("doctor examines this host as a director; the demo's table has no network behind it, "
                     "so it cannot be combined with --demo")
    if args.health and (args.demo or args.demo_size):
        parser.error("--health checks real servers; the demo's are documentation addresses that must "
                     "not be probed, so it cannot be combined with --demo")
    try:
        if args.command == "realserver":
            from lvs_tui.cli.realserver import run_realserver

            return run_realserver(args)
        if args.command == "health":
            return run_health_command(args)
        if args.command == "doctor":
            from lvs_tui.cli.doctor import run_doctor

            return run_doctor(args, lambda: open_backend(args))
        if args.command == "save":
            return run_save(args)
        if args.command == "restore":
            from lvs_tui.cli.restore import run_restore

            return run_restore(args, open_backend)
        return run_batch_mode(args)
    except IpvsError as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`lvs-top -b -n 0 | head`): not an error worth a message. Point
        # stdout at /dev/null so the interpreter's final flush does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def run_health_command(args: argparse.Namespace) -> int:
    from lvs_tui.health.config import ConfigError, load_config
    from lvs_tui.health.daemon import run_health
    from lvs_tui.health.status import default_state_path
    from lvs_tui.ops.journal import Journal

    if args.check_config:
        try:
            config = load_config(args.file)
        except ConfigError as error:
            return _fail(str(error), EXIT_USAGE)
        for service in config.services:
            servers = ", ".join(f"{server.dest} ({type(server.check).__name__.removesuffix('Check').lower()}"
                                f" every {server.interval:g}s)" for server in service.servers)
            print(f"{service.key}: {service.action}, min_healthy {service.min_healthy}, "
                  f"sorry {service.sorry or '-'}: {servers}")
        return EXIT_OK
    return run_health(args.file, args.state or default_state_path(), Journal(args.journal),
                      read_only_reason(args), lambda: open_backend(args), args.netns)


def run_batch_mode(args: argparse.Namespace) -> int:
    count = args.iterations if args.iterations > 0 else sys.maxsize
    options = BatchOptions(count=count, delay=args.delay, json=args.json, exact=args.exact)
    backend = open_backend(args)
    try:
        run_batch(backend, options, sys.stdout)
    finally:
        backend.close()
    return EXIT_OK
