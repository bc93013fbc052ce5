"""`lvs-top agent`'s loop: answers requests on its input with the backend, until the input ends.

It opens no socket: whatever started it (ssh, `ip netns exec`) is its transport and its access
control. Every answer is one line; a request it cannot read is answered with an error, never a
traceback, and it goes on. A write is built on this director's table, journaled in this director's
journal before it is made (lvs_tui.ops.runner), and refused whole by an agent started read-only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import BinaryIO

from lvs_tui.directors.protocol import (
    MAX_REQUEST,
    OPERATIONS,
    WRITES,
    JsonObject,
    ProtocolError,
    hello,
    line,
    parsed,
)
from lvs_tui.directors.writes import change_of
from lvs_tui.ipvs.backend import Backend
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.model.export import daemon_json, snapshot_json
from lvs_tui.model.printable import fault
from lvs_tui.ops.changes import Plan
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.runner import run_plan
from lvs_tui.ops.sysctl import Sysctls

CAUSE = "asked through lvs-top agent"  # in this director's journal, beside each change it made


class Agent:
    """Answers requests with the backend `open_backend` gives, opened at the first request that
    needs it and again after it failed (IPVS not loaded yet is an answer, not the agent's end).
    Writes need `journal`; `drained` gives the weights from before this director's drains, and
    `sysctls` its net.ipv4.vs sysctls."""

    def __init__(self, open_backend: Callable[[], Backend], journal: Journal | None = None,
                 drained: Callable[[], Mapping[str, int]] | None = None,
                 sysctls: Callable[[], Sysctls] | None = None) -> None:
        self._open_backend = open_backend
        self._journal = journal
        self._drained = drained
        self._sysctls = sysctls
        self._backend: Backend | None = None
        self._director = ""
        self._read_only = True

    def serve(self, director: str, read_only: bool, version: str, requests: BinaryIO,
              answers: BinaryIO) -> None:
        """Say hello, then answer each request line until `requests` ends."""
        self._director, self._read_only = director, read_only
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
                    _send(answers, self.answer(raw))
        finally:
            if self._backend is not None:
                self._backend.close()

    def answer(self, raw: bytes) -> JsonObject:
        try:
            request = parsed(raw)
        except ProtocolError as error:
            return {"id": None, "ok": False, "error": str(error)}
        ident, op = request.get("id"), request.get("op")
        if op not in OPERATIONS:
            return {"id": ident, "ok": False, "error": f"no operation {op!r}: this agent knows "
                                                        f"{', '.join(OPERATIONS)}"}
        try:
            return {"id": ident, "ok": True, **self._answer(op, request)}
        except IpvsError as error:
            return {"id": ident, "ok": False, "error": str(error)}
        except Exception as error:  # the agent answers, whatever went wrong, and goes on
            return {"id": ident, "ok": False, "error": f"the agent failed: {fault(error)}"}

    def _answer(self, op: str, request: JsonObject) -> JsonObject:
        if op in WRITES:
            return self._write(request)
        if op == "drained":
            return {"drained": dict(self._drained()) if self._drained is not None else {}}
        if op == "sysctls":
            return {"sysctls": {} if self._sysctls is None else dict(self._sysctls().values)}
        opened = self._opened()
        if op == "daemons":
            return {"daemons": [daemon_json(d) for d in opened.daemons()]}
        if op == "addresses":
            return {"addresses": sorted(opened.addresses())}
        return {"snapshot": snapshot_json(opened.snapshot(), None, opened.description)}

    def _write(self, request: JsonObject) -> JsonObject:
        """One change, built on this director's table and journaled here before it is made."""
        op = request.get("op")
        if self._read_only or self._journal is None:
            raise IpvsError(f"director {self._director}'s agent is read-only (--read-only): the {op} "
                            "was not made.")
        backend = self._opened()
        change = change_of(request, lambda key: backend.snapshot_of([key]).service(key))
        report = run_plan(Plan(f"{op} {change.target}", (change,), destructive=op == "delete_dest"),
                          backend, self._journal, causes={change.target: CAUSE})
        if report.failed:
            raise IpvsError(report.summary())
        return {"command": change.command.display}

    def _opened(self) -> Backend:
        if self._backend is None:
            self._backend = self._open_backend()
        return self._backend


def _send(answers: BinaryIO, message: JsonObject) -> None:
    answers.write(line(message))
    answers.flush()


def _skip_line(requests: BinaryIO) -> None:
    while True:
        rest = requests.readline(MAX_REQUEST)
        if not rest or rest.endswith(b"\n"):
            return
