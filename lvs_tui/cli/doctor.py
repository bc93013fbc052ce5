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

from lvs_tui.doctor.director import diagnose
from lvs_tui.doctor.findings import Finding, Severity, worst
from lvs_tui.ipvs.backend import Backend

EXIT_OK, EXIT_ERROR = 0, 1


def run_doctor(args: argparse.Namespace, open_backend: Callable[[], Backend]) -> int:
    findings = examine(open_backend, args.sample, args.netns)
    if args.json:
        print(json.dumps({"findings": [finding.json() for finding in findings]}))
    else:
        for finding in findings:
            print(finding.line())
        errors = sum(f.severity is Severity.ERROR for f in findings)
        warnings = sum(f.severity is Severity.WARNING for f in findings)
        print(f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}")
    return EXIT_ERROR if worst(findings) >= Severity.ERROR else EXIT_OK


def examine(open_backend: Callable[[], Backend], sample: float, netns: str | None) -> list[Finding]:
    """The findings, worst first."""
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
