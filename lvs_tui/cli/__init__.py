"""The command line: `lvs-top [options]` is the dashboard (or `--batch`), `lvs-top COMMAND [options]`
one of the commands, each with its own parser, help and checks (a module each).

Every failure an operator can cause or meet (no IPVS, no privileges, unknown netns, bad arguments)
ends in one sentence on stderr and an exit code of `Exit`, never a traceback or a usage dump.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence

from lvs_tui.cli import (
    agent,
    compare,
    dashboard,
    doctor,
    drain,
    exporter,
    health,
    realserver,
    restore,
    rollout,
    save,
    undrain,
    weight,
)
from lvs_tui.cli.common import Command, Exit, Stop, UsageError, fail, usage
from lvs_tui.ipvs.errors import IpvsError

ROOT = dashboard.COMMAND
COMMANDS: dict[str, Command] = {command.name: command for command in (
    save.COMMAND, restore.COMMAND, drain.COMMAND, undrain.COMMAND, weight.COMMAND, rollout.COMMAND,
    health.COMMAND, doctor.COMMAND, realserver.COMMAND, exporter.COMMAND, compare.COMMAND, agent.COMMAND)}


def parse(argv: Sequence[str]) -> tuple[Command, argparse.Namespace]:
    """The command `argv` names (first, or none: the dashboard) and its checked arguments.

    Raises UsageError for a command line that cannot work, and Stop once --help is answered.
    """
    command = COMMANDS.get(argv[0], ROOT) if argv else ROOT
    words = list(argv[1:]) if command is not ROOT else list(argv)
    parser = command.build_parser()
    # Known args only: what is left over is explained below better than "unrecognized arguments".
    args, extras = parser.parse_known_args(words)
    if extras:
        raise _stray(command, parser.refused, words, extras)
    command.check(parser, args)
    return command, args


def _stray(command: Command, refused: dict[str, str], words: list[str], extras: list[str]) -> UsageError:
    """Why the words argparse left over do not belong here, and where they do."""
    name = command.name
    for word in extras:
        if word in COMMANDS:
            return _misplaced(command, word, words)
    options = [word.split("=", 1)[0] for word in extras if word.startswith("-") and word != "-"]
    if not options:
        if command is ROOT:
            return UsageError(name, f"{extras[0]!r} is not a command: the commands are "
                              f"{', '.join(COMMANDS)}")
        return UsageError(name, f"unexpected argument {extras[0]!r}")
    option = options[0]
    if option in refused:
        return UsageError(name, f"{option} does not apply to {name}: {refused[option]}")
    owners = [other for other in (ROOT, *COMMANDS.values())
              if other is not command and option in other.build_parser().option_strings()]
    if not owners:
        return UsageError(name, f"unknown option {option}")
    if ROOT in owners:
        return UsageError(name, f"{option} does not apply to {name or 'the dashboard'}")
    if len(owners) > 1:
        others = [owner.name for owner in owners]
        return UsageError(name, f"{option} belongs to lvs-top {', '.join(others[:-1])} and {others[-1]}",
                          see=others[0])
    return UsageError(name, f"{option} belongs to lvs-top {owners[0].name}", see=owners[0].name)


def _misplaced(command: Command, word: str, words: list[str]) -> UsageError:
    """A command name after other words: `lvs-top --demo save` for `lvs-top save --demo`."""
    if command is not ROOT:
        return UsageError(command.name, f"one command at a time: {word} after {command.name}")
    rest = list(words)
    rest.remove(word)
    try:
        parse([word, *rest])
    except (UsageError, Stop):  # the command first would not work either: its help says more
        return UsageError("", f"{word} is a command and comes first: lvs-top {word} [options]", see=word)
    return UsageError("", f"{word} is a command and comes first: {shlex.join(['lvs-top', word, *rest])}",
                      see=word)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        command, args = parse(sys.argv[1:] if argv is None else argv)
        return command.run(args)
    except UsageError as error:
        return usage(error)
    except Stop as stop:  # --help or --version answered
        return stop.status
    except IpvsError as error:
        return fail(str(error))
    except KeyboardInterrupt:
        return Exit.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`lvs-top -b -n 0 | head`): not an error worth a message. Point
        # stdout at /dev/null so the interpreter's final flush does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return Exit.OK
