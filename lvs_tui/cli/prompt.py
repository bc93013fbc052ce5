"""Asking the operator on the terminal, whatever standard input and output are (a rules file may
come on standard input, the diff may go to a pipe).

The controlling terminal is opened as bytes and read without buffering: a text-mode `open("/dev/tty",
"r+")` fails on a terminal ("not seekable"), which once made every interactive restore refuse to
ask. Only the answer's line is read, at most a few bytes at a time.
"""

from __future__ import annotations

import contextlib
import os

TTY = "/dev/tty"
MAX_ANSWER = 256


def ask(question: str, tty: str = TTY) -> str | None:
    """The line typed after `question`, without its end of line; None when there is no terminal
    to ask on (a cron job, a CI runner, a session without a controlling terminal)."""
    try:
        fd = os.open(tty, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        os.write(fd, question.encode())
        answer = b""
        while not answer.endswith(b"\n") and len(answer) < MAX_ANSWER:
            chunk = os.read(fd, 1)
            if not chunk:  # the terminal went away: nothing was answered
                break
            answer += chunk
        return answer.decode(errors="replace").rstrip("\r\n")
    except OSError:
        return None
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
