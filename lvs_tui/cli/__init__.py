"""The command line: `lvs-top [options]` is the dashboard (or `--batch`), `lvs-top COMMAND [options]`
one of the commands, each with its own parser, help and checks (a module each).

Every failure an operator can cause or meet (no IPVS, no privileges, unknown netns, bad arguments)
ends in one sentence on stderr and an exit code of `Exit`, never a traceback or a usage dump.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import sys
from collections.abc import Sequence

from lvs_tui.cli.common import Command, Exit, Stop, UsageError, fail, usage
from lvs_tui.ipvs.errors import IpvsError

# Each command's module (lvs_tui.cli.NAME) is imported when it runs: a process imports what its
# command needs, not every command's (what an agent or a script's drain waits for at each start).
NAMES = ("save", "restore", "drain", "undrain", "weight", "rollout", "health", "doctor", "realserver",
         "exporter", "compare", "agent")


def command_named(name: str) -> Command:
    """The command NAME (one of NAMES), or the dashboard's for ""."""
    found: Command = importlib.import_module(f"lvs_tui.cli.{name or 'dashboard'}").COMMAND
    return found


def every_command() -> list[Command]:
    return [command_named(name) for name in ("", *NAMES)]


def parse(argv: Sequence[str]) -> tuple[Command, argparse.Namespace]:
    """The command `argv` names (first, or none: the dashboard) and its checked arguments.

    Raises UsageError for a command line that cannot work, and Stop once --help is answered.
    """
    named = argv[0] if argv and argv[0] in NAMES else ""
    command = command_named(named)
    words = list(argv[1:]) if named else list(argv)
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
        if word in NAMES:
            return _misplaced(command, word, words)
    options = [word.split("=", 1)[0] for word in extras if word.startswith("-") and word != "-"]
    if not options:
        if not name:
            return UsageError(name, f"{extras[0]!r} is not a command: the commands are {', '.join(NAMES)}")
        return UsageError(name, f"unexpected argument {extras[0]!r}")
    option = options[0]
    if option in refused:
        return UsageError(name, f"{option} does not apply to {name}: {refused[option]}")
    owners = [other for other in every_command()
              if other is not command and option in other.build_parser().option_strings()]
    if not owners:
        return UsageError(name, f"unknown option {option}")
    if any(not owner.name for owner in owners):
        return UsageError(name, f"{option} does not apply to {name or 'the dashboard'}")
    if len(owners) > 1:
        others = [owner.name for owner in owners]
        return UsageError(name, f"{option} belongs to lvs-top {', '.join(others[:-1])} and {others[-1]}",
                          see=others[0])
    return UsageError(name, f"{option} belongs to lvs-top {owners[0].name}", see=owners[0].name)


def _misplaced(command: Command, word: str, words: list[str]) -> UsageError:
    """A command name after other words: `lvs-top --demo save` for `lvs-top save --demo`."""
    if command.name:
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
