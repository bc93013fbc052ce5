"""`lvs-top health CONFIG`: the health checker as a service; `--check-config` checks CONFIG only."""

from __future__ import annotations

import argparse

from lvs_tui.cli.common import (
    DEMO_OPTIONS,
    Command,
    CommandParser,
    Exit,
    add_changes,
    add_source,
    add_state,
    open_backend,
    ops_setup,
    say,
)

DESCRIPTION = """\
Run the health checker as a service: check the real servers of CONFIG (TOML) and take the failing
ones out of the table. Logs go to stderr (with journald's priorities under systemd); SIGHUP reloads
CONFIG (a config with mistakes is refused), SIGTERM stops and leaves every weight as it is. One
checker per state file; a damaged state file stops the start (exit 2) until --reset-state."""

NO_DEMO = "the checker probes real servers, and the demo's are documentation addresses, not to be probed"

# What --check-config ignores: it reads CONFIG and nothing else.
NOT_WITH_CHECK_CONFIG = (("netns", "--netns"), ("read_only", "--read-only"), ("journal", "--journal"),
                         ("state", "--state"), ("reset_state", "--reset-state"),
                         ("drain_records", "--drain-records"))


def build_parser() -> CommandParser:
    parser = CommandParser("health", DESCRIPTION, usage="%(prog)s CONFIG [options]",
                           refused=dict.fromkeys(DEMO_OPTIONS, NO_DEMO))
    # Optional for argparse, so that a missing CONFIG is said by `check` in a sentence of our own.
    parser.add_argument("config", nargs="?", metavar="CONFIG", help="the checker's config (TOML)")
    parser.add_argument("--check-config", action="store_true",
                        help="check CONFIG, say what it checks, and exit (exit 2 on a mistake)")
    add_source(parser, demo=False)
    add_changes(parser)
    add_state(parser)
    parser.add_argument("--reset-state", action="store_true",
                        help="start without the memory of what an earlier checker took out: a damaged "
                             "state file (moved aside) does not stop the start, and the servers an intact "
                             "one names are forgotten, not brought back (the log lists them)")
    return parser


def check(parser: CommandParser, args: argparse.Namespace) -> None:
    if args.config is None:
        parser.error("health takes its CONFIG, the checker's config file (TOML)")
    if args.check_config:
        for dest, option in NOT_WITH_CHECK_CONFIG:
            if getattr(args, dest):
                parser.error(f"{option} does not apply to --check-config, which only reads CONFIG")


def run(args: argparse.Namespace) -> int:
    from lvs_tui.health.daemon import run_health
    from lvs_tui.health.status import default_state_path

    if args.check_config:
        return check_config(args.config)
    setup = ops_setup(args)
    return run_health(args.config, args.state or default_state_path(), setup.journal,
                      setup.read_only, lambda: open_backend(args), args.netns, reset=args.reset_state,
                      subreaper=True, drains=setup.drains)


def check_config(path: str) -> int:
    """Say what the config checks, one line per service; a config with mistakes is exit 2."""
    from lvs_tui.health.config import ConfigError, load_config
    from lvs_tui.model.printable import printable

    try:
        config = load_config(path)
    except ConfigError as error:  # every mistake, one line each
        for problem in error.problems:
            say(problem, "health")
        return Exit.USAGE
    for service in config.services:
        servers = ", ".join(f"{server.dest} ({type(server.check).__name__.removesuffix('Check').lower()}"
                            f" every {server.interval:g}s)" for server in service.servers)
        print(printable(f"{service.key}: {service.action}, min_healthy {service.min_healthy}, "
                        f"sorry {service.sorry or '-'}: {servers}"))  # what a file says reaches a terminal
    return Exit.OK


COMMAND = Command("health", build_parser, check, run)
