"""`lvs-top agent`: this director's table for another lvs-top, over standard input and output."""

from __future__ import annotations

import argparse
import os
import socket
import sys

from lvs_tui import __version__
from lvs_tui.cli.common import Command, CommandParser, Exit, add_source, check_source, open_backend

DESCRIPTION = """\
Answer another lvs-top (lvs-top compare, --director) on standard input and output, in JSON lines
(docs/directors.md), until the input ends. It is started by what connects to it: ssh -T DIRECTOR
lvs-top agent, or ip netns exec NAME lvs-top agent; it opens no socket. Version 1 of its protocol
only reads: the table is never changed."""


def build_parser() -> CommandParser:
    parser = CommandParser("agent", DESCRIPTION)
    add_source(parser, demo=True)
    group = parser.add_argument_group("agent")
    group.add_argument("--name", metavar="NAME", help="the director's name in the hello (default: the "
                                                      "host name, with /NETNS for --netns)")
    group.add_argument("--read-only", action="store_true",
                       help="refuse every change (what version 1 of the protocol does anyway)")
    parser.set_defaults(read_only=True)  # the backend refuses any write, whatever asks for one
    return parser


def run(args: argparse.Namespace) -> int:
    from lvs_tui.directors.agent import Agent

    name = args.name or socket.gethostname() + (f"/{args.netns}" if args.netns else "")
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print cannot break the protocol
    try:
        Agent(lambda: open_backend(args)).serve(name, True, __version__, sys.stdin.buffer, answers)
    except (BrokenPipeError, KeyboardInterrupt):
        pass  # whoever asked is gone: nothing left to answer
    finally:
        answers.close()
    return Exit.OK


COMMAND = Command("agent", build_parser, check_source, run)
