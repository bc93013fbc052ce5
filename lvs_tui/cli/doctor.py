"""`lvs-top doctor`: what is wrong around IPVS on this director, service by service.

The table is read twice, `--sample` seconds apart (the kernel sums its per-CPU counters every
2 s, so less than 3 s may see no packets at all), for the live symptom of NAT replies that bypass
the director. Exit 1 when an error is found; `--json` for scripts.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from lvs_tui.cli.common import DEMO_OPTIONS, Command, CommandParser, Exit, add_source, open_backend, seconds

if TYPE_CHECKING:
    from lvs_tui.doctor.findings import Finding
    from lvs_tui.ipvs.backend import Backend

DESCRIPTION = """\
Say what is wrong around IPVS on this director, service by service, for the forwarding method of
its real servers (NAT, DR, TUN): each finding with its cause and its fix. The table is read twice,
--sample seconds apart, for the symptoms that only traffic shows. Exit 1 when an error is found."""

NO_DEMO = "the doctor examines this host as a director, and the demo's table has no network behind it"


def build_parser() -> CommandParser:
    parser = CommandParser("doctor", DESCRIPTION, refused=dict.fromkeys(DEMO_OPTIONS, NO_DEMO))
    add_source(parser, demo=False)
    parser.add_argument("--sample", type=seconds, default=3.0, metavar="SECONDS",
                        help="read the counters twice, this far apart (default 3)")
    parser.add_argument("--json", action="store_true", help="the findings as one JSON object, for scripts")
    parser.set_defaults(read_only=True)  # the doctor only reads: its backend refuses any write
    return parser


def check(parser: CommandParser, args: argparse.Namespace) -> None:
    pass  # argparse has checked all there is


def run(args: argparse.Namespace) -> int:
    return run_doctor(args, lambda: open_backend(args))


COMMAND = Command("doctor", build_parser, check, run)


def run_doctor(args: argparse.Namespace, open_backend: Callable[[], Backend]) -> int:
    from lvs_tui.doctor.findings import Severity, worst

    findings = examine(open_backend, args.sample, args.netns)
    if args.json:
        print(json.dumps({"findings": [finding.json() for finding in findings]}))
    else:
        for finding in findings:
            print(finding.line())
        errors = sum(f.severity is Severity.ERROR for f in findings)
        warnings = sum(f.severity is Severity.WARNING for f in findings)
        print(f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}")
    return Exit.ERROR if worst(findings) >= Severity.ERROR else Exit.OK


def examine(open_backend: Callable[[], Backend], sample: float, netns: str | None) -> list[Finding]:
    """The findings, worst first."""
    from lvs_tui.doctor.director import diagnose
    from lvs_tui.doctor.host import read_director

    backend = open_backend()
    try:
        before = backend.snapshot()
        time.sleep(sample)
        after = backend.snapshot()
    finally:
        backend.close()
    addresses = {dest.address for service in after.services for dest in service.dests}
    if netns is None:
        facts = read_director(addresses)
    else:
        from lvs_tui.ipvs.netlink import in_netns

        facts = in_netns(netns, lambda: read_director(addresses))
    findings = diagnose(before, after, facts, sample)
    return sorted(findings, key=lambda finding: -finding.severity)
