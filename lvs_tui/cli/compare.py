"""`lvs-top compare A B`: the drift between two directors' tables, as diff(1) exits."""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor

from lvs_tui.cli.common import Command, CommandParser, Exit, add_source, fail, open_backend, seconds
from lvs_tui.directors.reader import DirectorReader
from lvs_tui.directors.specs import LOCAL, DirectorSpec, names_unique, parse_director
from lvs_tui.model.drift import Difference, drift, shown, sync_problems, sync_roles
from lvs_tui.model.export import daemon_json
from lvs_tui.model.pairview import DirectorReading, table_vips, vip_holders
from lvs_tui.model.printable import printable
from lvs_tui.model.records import Snapshot, SyncDaemon, Tunnel

TROUBLE = Exit.USAGE  # as diff(1): 0 the same, 1 different, 2 when it could not compare

DESCRIPTION = """\
Compare the tables of two directors (an HA pair must agree) and print every difference: services
and real servers on one side only, schedulers, flags, persistence, forwarding methods, weights and
thresholds (counters are each director's own); then each one's IPVS sync daemons, and why the
connections of a master would not reach the other (no backup there, another sync id); then the VIPs
each one holds (on its interfaces), and a VIP on both at once or, while they hold others, on
neither (said, not counted in the exit status). Exit 0 when the tables and sync daemons agree, 1
when they differ, 2 when they could not be compared. A DIRECTOR
is local (this host, --netns to pick a namespace), an ssh destination (ssh -T DIRECTOR lvs-top agent
--read-only), or NAME=COMMAND for any command that starts an agent, e.g. lb2='ip netns exec lb2
lvs-top agent'."""


def build_parser() -> CommandParser:
    parser = CommandParser("compare", DESCRIPTION)
    parser.add_argument("directors", nargs=2, metavar="DIRECTOR",
                        help="local, an ssh destination, or NAME=COMMAND")
    add_source(parser, demo=False)
    group = parser.add_argument_group("compare")
    group.add_argument("--ssh-command", default="ssh", metavar="COMMAND",
                       help="how to reach an ssh destination (default ssh; e.g. 'ssh -p 2222 -i KEY')")
    group.add_argument("--timeout", type=seconds, default=60.0, metavar="S",
                       help="how long to wait for each director's table (default 60)")
    group.add_argument("--json", action="store_true", help="print the differences as one JSON object")
    parser.set_defaults(read_only=True)  # compare only reads
    return parser


def check(parser: CommandParser, args: argparse.Namespace) -> None:
    try:
        args.specs = [parse_director(text, args.ssh_command) for text in args.directors]
        names_unique(args.specs)
    except ValueError as error:
        parser.error(str(error))
    if args.netns and LOCAL not in args.directors:
        parser.error("--netns says which namespace `local` reads: name local as one of the directors")


def run(args: argparse.Namespace) -> int:
    from lvs_tui.ipvs.errors import IpvsError

    left, right = args.specs
    with ThreadPoolExecutor(max_workers=2) as pool:  # two ssh connections take as long as one
        reads = [pool.submit(_read, spec, args) for spec in (left, right)]
        try:
            (left_table, left_sync, left_vips), (right_table, right_sync, right_vips) = [
                read.result() for read in reads]
        except IpvsError as error:
            return fail(str(error), TROUBLE, "compare")
    differences = drift(left_table, right_table)
    problems = sync_problems(left_sync, right_sync, left.name, right.name)
    vips = table_vips(left_table, right_table)
    _, vip_problems = vip_holders([DirectorReading(left.name, None, None, None, None, left_vips),
                                   DirectorReading(right.name, None, None, None, None, right_vips)], vips)
    held = {left.name: [vip for vip in vips if vip in left_vips],
            right.name: [vip for vip in vips if vip in right_vips]}
    if args.json:
        print(json.dumps({"left": left.name, "right": right.name, "same": not differences and not problems,
                          "differences": [_json(difference) for difference in differences],
                          "sync": {left.name: [daemon_json(d) for d in left_sync],
                                   right.name: [daemon_json(d) for d in right_sync]},
                          "sync_problems": problems, "vips": held, "vip_problems": vip_problems}))
    else:
        _print(differences, left.name, right.name, left_table)
        print(printable(f"sync daemons: {left.name} {sync_roles(left_sync)}; {right.name} "
                        f"{sync_roles(right_sync)}."))
        for problem in problems:
            print(f"  {printable(problem)}")
        print(printable(f"VIPs: {left.name} {', '.join(held[left.name]) or 'none'}; {right.name} "
                        f"{', '.join(held[right.name]) or 'none'}."))
        for problem in vip_problems:
            print(f"  {printable(problem)}")
    sys.stdout.flush()
    # Where the VIPs are is said, not judged by the exit status: directors behind ECMP share them.
    return Exit.ERROR if differences or problems else Exit.OK


Read = tuple[Snapshot, tuple[SyncDaemon, ...], frozenset[str]]


def _read(spec: DirectorSpec, args: argparse.Namespace) -> Read:
    """The director's table, its sync daemons and its addresses (the VIPs it holds)."""
    reader = DirectorReader(spec, lambda: open_backend(args), timeout=args.timeout)
    try:
        return reader.snapshot(), reader.daemons(), reader.addresses()
    finally:
        reader.close()


def _print(differences: list[Difference], left: str, right: str, table: Snapshot) -> None:
    if not differences:
        dests = sum(len(service.dests) for service in table.services)
        print(f"{left} and {right} agree: {len(table.services)} services, {dests} real servers.")
        return
    print(f"{left} and {right} differ in {len(differences)} place{'s' if len(differences) > 1 else ''}:")
    for difference in differences:
        print(f"  {printable(difference.sentence(left, right))}")


def _json(difference: Difference) -> dict[str, object]:
    dest = difference.dest
    return {"service": difference.service.id, "dest": None if dest is None else dest.id,
            "what": difference.what, "left": _value(difference.left), "right": _value(difference.right)}


def _value(value: object) -> object:
    """A compared value in JSON: flags a list, a tunnel as the sentence shows it."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Tunnel):
        return shown(value)
    return list(value) if isinstance(value, tuple) else str(value)


COMMAND = Command("compare", build_parser, check, run)
