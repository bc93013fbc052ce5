"""Text from outside (a rules file, the kernel, a state file, a config, a journal) made safe to put
on a terminal: control characters would move the cursor, clear the screen or forge what an
operator reviews before answering y. They are shown escaped instead (`\\x1b[2J`), so the operator
sees that something odd was there (pure)."""

from __future__ import annotations

import re

# C0 controls but for none, DEL, and the C1 controls (0x9b is a one-byte CSI on some terminals).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` with every control character written out as an escape (a tab is a space)."""
    return _CONTROL.sub(_escaped, text)


def fault(error: BaseException) -> str:
    """An unexpected exception as one printable clause: its type and its first words."""
    words = printable(" ".join(str(error).split())) or "no details"
    return f"{type(error).__name__}: {words if len(words) <= 160 else words[:157] + '...'}"


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return " " if char == "\t" else f"\\x{ord(char):02x}"
