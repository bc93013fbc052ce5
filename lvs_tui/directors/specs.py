"""Which directors to talk to: `local`, an ssh destination, or `NAME=COMMAND` (any command that
starts an agent, e.g. `lb2=ip netns exec lb2 lvs-top agent`). Argument lists only: a command is
split as a shell would split it, never run by one."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

LOCAL = "local"
AGENT = ("lvs-top", "agent")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,62}")
_SSH_DESTINATION = re.compile(r"[^\s\x00-\x1f\x7f-\x9f=-][^\s\x00-\x1f\x7f-\x9f=]*")


@dataclass(frozen=True, slots=True)
class DirectorSpec:
    """A director's name as shown, and how to start its agent (None: this process reads it)."""

    name: str
    command: tuple[str, ...] | None


def parse_director(text: str, ssh_command: str = "ssh", read_only: bool = True) -> DirectorSpec:
    """A --director value; ValueError with the sentence to show when it cannot be one. An ssh
    destination's agent is started with --read-only unless the command will change the table."""
    if text == LOCAL:
        return DirectorSpec(LOCAL, None)
    name, equals, command = text.partition("=")
    if equals:
        if not _NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a director's name: letters, digits and . _ : @ - "
                             f"(as in lb2=COMMAND)")
        try:
            words = tuple(shlex.split(command))
        except ValueError as error:
            raise ValueError(f"the command of director {name} cannot be split into words ({error})") from None
        if not words:
            raise ValueError(f"director {name} has no command: write {name}=COMMAND ARGS")
        return DirectorSpec(name, words)
    if not _SSH_DESTINATION.fullmatch(text):
        raise ValueError(f"{text!r} is not a director: write local, an ssh destination (lb2, "
                         "admin@lb2.example.net) or NAME=COMMAND")
    return DirectorSpec(text, ssh(text, ssh_command, read_only))


def ssh(destination: str, ssh_command: str, read_only: bool = True) -> tuple[str, ...]:
    """`ssh -T DESTINATION lvs-top agent --read-only` (without --read-only for a command that
    changes the table), with `ssh_command` in place of `ssh`. `--` keeps a destination from being
    read as an option of ssh."""
    try:
        words = shlex.split(ssh_command)
    except ValueError as error:
        raise ValueError(f"--ssh-command cannot be split into words ({error})") from None
    if not words:
        raise ValueError("--ssh-command is empty: write ssh, or ssh with its options")
    return (*words, "-T", "--", destination, *AGENT, *(("--read-only",) if read_only else ()))


def names_unique(specs: list[DirectorSpec]) -> None:
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise ValueError(f"director {spec.name} is given twice: name one of them (NAME=COMMAND)")
        seen.add(spec.name)
