"""`lvs-top agent`: this director's table for another lvs-top, over standard input and output."""

from __future__ import annotations

import argparse
import os
import socket
import sys

from lvs_tui import __version__
from lvs_tui.cli.common import (
    Command,
    CommandParser,
    Exit,
    add_changes,
    add_source,
    check_source,
    open_backend,
    ops_setup,
)

DESCRIPTION = """\
Answer another lvs-top (lvs-top compare, --director) on standard input and output, in JSON lines
(docs/directors.md), until the input ends. It is started by what connects to it: ssh -T DIRECTOR
lvs-top agent, or ip netns exec NAME lvs-top agent; it opens no socket. It reads this director's
table, and changes its real servers when asked (drain, undrain and weight with --director): each
change is built on this table and written to this director's journal before it is made. With
--read-only every change is refused: give that in the ssh key of a session that only reads."""


def build_parser() -> CommandParser:
    parser = CommandParser("agent", DESCRIPTION)
    add_source(parser, demo=True)
    add_changes(parser)
    group = parser.add_argument_group("agent")
    group.add_argument("--name", metavar="NAME", help="the director's name in the hello (default: the "
                                                      "host name, with /NETNS for --netns)")
    return parser


def run(args: argparse.Namespace) -> int:
    from lvs_tui.cli.maintenance import known_weights
    from lvs_tui.directors.agent import Agent

    setup = ops_setup(args)
    name = args.name or socket.gethostname() + (f"/{args.netns}" if args.netns else "")
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print cannot break the protocol
    try:
        agent = Agent(lambda: open_backend(args), setup.journal, lambda: known_weights(setup, "agent"),
                      setup.sysctls)
        agent.serve(name, setup.read_only is not None, __version__, sys.stdin.buffer, answers)
    except (BrokenPipeError, KeyboardInterrupt):
        pass  # whoever asked is gone: nothing left to answer
    finally:
        answers.close()
    return Exit.OK


COMMAND = Command("agent", build_parser, check_source, run)
