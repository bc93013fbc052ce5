"""`lvs-top realserver --mode nat|dr|tun --vip VIP`: what a real server needs, printed, checked or
applied."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import shlex
import subprocess
from dataclasses import replace

from lvs_tui.cli.common import Command, CommandParser, Exit, add_journal, fail
from lvs_tui.doctor.realserver import Step, plan
from lvs_tui.model.printable import printable

DESCRIPTION = """\
Run on a real server: print the commands it needs to serve VIP with the director's forwarding
method (--print, the default), check what it has (--check, exit 1 on an error), or run the commands
(--apply, as root: each as an argument list, never through a shell, and journaled; the first failure
stops the rest, and says what ran)."""

USAGE = "%(prog)s --mode nat|dr|tun --vip VIP [--print | --check | --apply] [options]"

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


def build_parser() -> CommandParser:
    parser = CommandParser("realserver", DESCRIPTION, usage=USAGE, epilog=ARP_HELP)
    parser.add_argument("--mode", choices=("nat", "dr", "tun"), help="this real server's forwarding method")
    parser.add_argument("--vip", help="the virtual IP address the director forwards")
    parser.add_argument("--director", help="NAT: the director's address on this host's network")
    parser.add_argument("--interface", action="append", default=[], metavar="NAME",
                        help="DR/TUN: an interface facing the clients' router, for its ARP settings "
                        "(repeatable; `all` is always set)")
    what = parser.add_argument_group("what to do").add_mutually_exclusive_group()
    what.add_argument("--print", dest="print_plan", action="store_true",
                      help="print the commands it needs (the default)")
    what.add_argument("--check", dest="check_host", action="store_true",
                      help="check this host (exit 1 on errors)")
    what.add_argument("--apply", dest="apply_plan", action="store_true", help="run the commands (root)")
    add_journal(parser)
    parser.add_argument("--json", action="store_true", help="--check and --apply: the findings as JSON")
    return parser


def check(parser: CommandParser, args: argparse.Namespace) -> None:
    if args.mode is None or args.vip is None:
        parser.error("realserver needs --mode nat|dr|tun and --vip ADDRESS")
    for option, address in (("--vip", args.vip), ("--director", args.director)):
        try:
            if address is not None:
                ipaddress.ip_address(address)
        except ValueError:
            parser.error(f"{option} {address} is not an IP address")
    if args.mode == "nat" and args.interface:
        parser.error("--interface names the interfaces of DR's and TUN's ARP settings; NAT has none")
    if args.mode != "nat" and args.director is not None:
        parser.error("--director is for NAT; DR and TUN replies do not go back through the director")
    if args.journal is not None and not args.apply_plan:
        parser.error("--journal applies only to --apply, which changes this host")
    if args.json and not (args.check_host or args.apply_plan):
        parser.error("--json applies to --check and --apply, which print findings")
    if not args.check_host:
        try:
            plan(args.mode, args.vip, args.director, tuple(args.interface))
        except ValueError as error:  # NAT without --director
            parser.error(str(error))


def run(args: argparse.Namespace) -> int:
    return run_realserver(args)


COMMAND = Command("realserver", build_parser, check, run)


def run_realserver(args: argparse.Namespace) -> int:
    if args.check_host:
        return _check(args)
    steps = plan(args.mode, args.vip, args.director, tuple(args.interface))
    if args.apply_plan:
        return _apply(args, steps)
    for step in steps:
        print(f"{' '.join(step.argv):60} # {step.why}")
    return Exit.OK


def _check(args: argparse.Namespace) -> int:
    from lvs_tui.doctor.findings import Severity, worst
    from lvs_tui.doctor.host import read_host
    from lvs_tui.doctor.realserver import check as check_host

    findings = check_host(args.mode, args.vip, read_host(), args.director)
    if args.json:
        print(json.dumps({"mode": args.mode, "vip": args.vip, "findings": [f.json() for f in findings]}))
    else:
        for finding in findings:
            print(finding.line())
    return Exit.ERROR if worst(findings) >= Severity.ERROR else Exit.OK


def _apply(args: argparse.Namespace, steps: list[Step]) -> int:
    from lvs_tui.ops.journal import Entry, Journal
    from lvs_tui.ops.runner import check_journal

    journal = Journal(args.journal)
    check_journal(journal)  # like every change lvs-top makes: none that cannot be journaled
    target = f"realserver {args.mode} {args.vip}"
    for number, step in enumerate(steps, 1):
        command = shlex.join(step.argv)
        entry = Entry("realserver", target, command, None, None, "", step.why)
        try:
            write = journal.intend(entry)  # like every change lvs-top makes: journaled before it is made
        except OSError as error:
            unjournaled = f"the journal {journal.path} cannot be written ({error.strerror or error}); " \
                          "choose another with --journal PATH"
            return _failed(number, len(steps), unjournaled)
        print(f"+ {command}")
        try:
            done = subprocess.run(step.argv, capture_output=True, text=True, check=False)
            failed = printable(done.stderr.strip()) or f"exit status {done.returncode}"
            problem = None if done.returncode == 0 else failed
        except OSError as error:
            problem = f"cannot run {step.argv[0]}: {error.strerror or error}"
        with contextlib.suppress(OSError):  # the intent stays open: a later reader sees it unfinished
            journal.settle(write, replace(entry, result=problem or "ok"))
        if problem is not None:
            return _failed(number, len(steps), problem)
    return _check(args)


def _failed(number: int, total: int, problem: str) -> int:
    applied = "no step was applied" if number == 1 else f"steps 1 to {number - 1} were applied, the rest not"
    return fail(f"step {number} of {total} failed ({problem}); {applied}: fix the cause and run --apply "
                "again (every step can be run twice).")
