"""`lvs-top agent`'s loop: answers requests on its input with the backend, until the input ends.

It opens no socket: whatever started it (ssh, `ip netns exec`) is its transport and its access
control. Every answer is one line; a request it cannot read is answered with an error, never a
traceback, and it goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from lvs_tui.directors.protocol import (
    MAX_REQUEST,
    OPERATIONS,
    JsonObject,
    ProtocolError,
    hello,
    line,
    parsed,
)
from lvs_tui.ipvs.backend import Backend
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.model.export import daemon_json, snapshot_json
from lvs_tui.model.printable import fault


class Agent:
    """Answers requests with the backend `open_backend` gives, opened at the first request that
    needs it and again after it failed (IPVS not loaded yet is an answer, not the agent's end)."""

    def __init__(self, open_backend: Callable[[], Backend]) -> None:
        self._open_backend = open_backend
        self._backend: Backend | None = None

    def serve(self, director: str, read_only: bool, version: str, requests: BinaryIO,
              answers: BinaryIO) -> None:
        """Say hello, then answer each request line until `requests` ends."""
        _send(answers, hello(director, read_only, version))
        try:
            while True:
                raw = requests.readline(MAX_REQUEST + 1)
                if not raw:
                    return
                if len(raw) > MAX_REQUEST and not raw.endswith(b"\n"):
                    _send(answers, {"id": None, "ok": False,
                                    "error": f"a request is at most {MAX_REQUEST} bytes"})
                    _skip_line(requests)
                elif raw.strip():
                    _send(answers, answer(self._opened, raw))
        finally:
            if self._backend is not None:
                self._backend.close()

    def _opened(self) -> Backend:
        if self._backend is None:
            self._backend = self._open_backend()
        return self._backend


def answer(backend: Callable[[], Backend], raw: bytes) -> JsonObject:
    try:
        request = parsed(raw)
    except ProtocolError as error:
        return {"id": None, "ok": False, "error": str(error)}
    ident, op = request.get("id"), request.get("op")
    if op not in OPERATIONS:
        return {"id": ident, "ok": False, "error": f"no operation {op!r}: this agent knows "
                                                    f"{', '.join(OPERATIONS)}"}
    try:
        opened = backend()
        if op == "daemons":
            return {"id": ident, "ok": True, "daemons": [daemon_json(d) for d in opened.daemons()]}
        table = snapshot_json(opened.snapshot(), None, opened.description)
        return {"id": ident, "ok": True, "snapshot": table}
    except IpvsError as error:
        return {"id": ident, "ok": False, "error": str(error)}
    except Exception as error:  # the agent answers, whatever went wrong, and goes on
        return {"id": ident, "ok": False, "error": f"the agent failed: {fault(error)}"}


def _send(answers: BinaryIO, message: JsonObject) -> None:
    answers.write(line(message))
    answers.flush()


def _skip_line(requests: BinaryIO) -> None:
    while True:
        rest = requests.readline(MAX_REQUEST)
        if not rest or rest.endswith(b"\n"):
            return
