"""`lvs-top realserver --mode nat|dr|tun --vip VIP`, run on a real server: `--print` the commands it
needs, `--check` what it has (exit 1 on an error), `--apply` the commands (as root; each as an
argument list, never through a shell, and journaled; the first failure stops the rest, and says
what ran)."""

from __future__ import annotations

import argparse
import ipaddress
import json
import shlex
import subprocess
import sys

from lvs_tui.doctor.findings import Severity, worst
from lvs_tui.doctor.realserver import Step, check, plan
from lvs_tui.ops.journal import Entry, Journal
from lvs_tui.ops.runner import check_journal

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2

ARP_HELP = """\
DR real servers must not answer ARP for the VIP, or they take the director's traffic. Three ways:
  - the kernel (the default here): the VIP on lo as /32 (/128), arp_ignore=1 and arp_announce=2 on
    `all` and on each interface facing the clients' router;
  - arptables on each real server: drop ARP requests for the VIP, and mangle the VIP out of the
    source of its own ARP requests;
  - a static ARP entry on the router, binding the VIP to the director's MAC address.
arp_ignore (the higher of `all` and the interface's applies):
  0  answer ARP for any local address on any interface: the VIP on lo is answered: wrong for DR
  1  answer only for addresses of the incoming interface: right for DR
  2  as 1, and only to senders in that interface's subnet: right for DR
  8  answer no ARP request at all
arp_announce (the higher of `all` and the interface's applies):
  0  any local address may be the source of ARP requests, the VIP included: wrong for DR
  1  avoid addresses outside the target's subnet where possible
  2  always the best address of the outgoing interface: right for DR"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("realserver (run on a real server)", ARP_HELP)
    group.add_argument("--mode", choices=("nat", "dr", "tun"), help="this real server's forwarding method")
    group.add_argument("--vip", help="the virtual IP address the director forwards")
    group.add_argument("--director", help="NAT: the director's address on this host's network")
    group.add_argument("--interface", action="append", default=[], metavar="NAME",
                       help="DR/TUN: an interface facing the clients' router, for its ARP settings "
                       "(repeatable; `all` is always set)")
    what = group.add_mutually_exclusive_group()
    what.add_argument("--print", dest="print_plan", action="store_true", help="print the commands it needs")
    what.add_argument("--check", dest="check_host", action="store_true",
                      help="check this host (exit 1 on errors)")
    what.add_argument("--apply", dest="apply_plan", action="store_true", help="run the commands (root)")


def run_realserver(args: argparse.Namespace) -> int:
    if args.mode is None or args.vip is None:
        return _usage("realserver needs --mode nat|dr|tun and --vip ADDRESS")
    try:
        ipaddress.ip_address(args.vip)
    except ValueError:
        return _usage(f"--vip {args.vip} is not an IP address")
    if args.check_host:
        return _check(args)
    try:
        steps = plan(args.mode, args.vip, args.director, tuple(args.interface))
    except ValueError as error:  # NAT without --director
        return _usage(str(error))
    if args.apply_plan:
        return _apply(args, steps)
    for step in steps:
        print(f"{' '.join(step.argv):60} # {step.why}")
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from lvs_tui.doctor.host import read_host

    findings = check(args.mode, args.vip, read_host(), args.director)
    if args.json:
        print(json.dumps({"mode": args.mode, "vip": args.vip, "findings": [f.json() for f in findings]}))
    else:
        for finding in findings:
            print(finding.line())
    return EXIT_ERROR if worst(findings) >= Severity.ERROR else EXIT_OK


def _apply(args: argparse.Namespace, steps: list[Step]) -> int:
    journal = Journal(args.journal)
    check_journal(journal)  # like every change lvs-top makes: none that cannot be journaled
    target = f"realserver {args.mode} {args.vip}"
    unjournaled = False
    for number, step in enumerate(steps, 1):
        command = shlex.join(step.argv)
        print(f"+ {command}")
        try:
            done = subprocess.run(step.argv, capture_output=True, text=True, check=False)
            failed = done.stderr.strip() or f"exit status {done.returncode}"
            problem = None if done.returncode == 0 else failed
        except OSError as error:
            problem = f"cannot run {step.argv[0]}: {error.strerror or error}"
        try:
            journal.append(Entry("realserver", target, command, None, None, problem or "ok", step.why))
        except OSError as error:
            if not unjournaled:  # said once, not once per step
                print(f"lvs-top: the journal {journal.path} cannot be written ({error.strerror or error}); "
                      "choose another with --journal PATH.", file=sys.stderr)
            unjournaled = True
        if problem is not None:
            return _fail(number, len(steps), problem)
    return _check(args)


def _fail(number: int, total: int, problem: str) -> int:
    applied = "no step was applied" if number == 1 else f"steps 1 to {number - 1} were applied, the rest not"
    print(f"lvs-top: step {number} of {total} failed ({problem}); {applied}: fix the cause and run --apply "
          "again (every step can be run twice).", file=sys.stderr)
    return EXIT_ERROR


def _usage(message: str) -> int:
    print(f"lvs-top: {message}", file=sys.stderr)
    return EXIT_USAGE
