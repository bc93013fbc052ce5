"""The link to one director's agent: starts it (ssh or any command), checks its hello, and asks.

Every failure (the command cannot start, ssh refuses, the agent ends, answers late or not in the
protocol) is a `DirectorError` whose message names the director and what it said on stderr.
"""

from __future__ import annotations

import collections
import contextlib
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from typing import IO

from lvs_tui.directors.protocol import (
    MAX_ANSWER,
    JsonObject,
    ProtocolError,
    check_hello,
    line,
    parsed,
)
from lvs_tui.model.export import FormError, daemons_of_json, snapshot_of_json
from lvs_tui.model.printable import printable
from lvs_tui.model.records import Snapshot, SyncDaemon

# ssh's own connection and authentication, and the agent's start, included: well under a second on a
# director, up to half a minute in the emulated kernel lab.
CONNECT_SECONDS = 60.0
STDERR_LINES = 3  # what the command said last, for the sentence when it fails


class DirectorError(Exception):
    """One director could not be read; the message is one sentence naming it."""


class AgentRefused(DirectorError):
    """The agent answered, with an error (IPVS not loaded, say): the link itself is fine."""


class AgentLink:
    """One agent process; `open()` it, then `request()`, then `close()` (also when it failed)."""

    def __init__(self, name: str, command: Sequence[str], timeout: float = 60.0,
                 connect_timeout: float = CONNECT_SECONDS) -> None:
        self.name = name
        self._command = tuple(command)
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._broken = False  # a request failed: the agent is not waited for at close
        self._process: subprocess.Popen[bytes] | None = None
        self._buffer = bytearray()
        self._said: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._stderr: threading.Thread | None = None
        self._next_id = 0
        self.hello: JsonObject = {}

    def open(self) -> JsonObject:
        """Start the agent and read its hello."""
        try:
            # A session of its own: no terminal, so ssh cannot ask for a password or a host key's
            # confirmation (over a dashboard's screen): it fails, and says why on stderr.
            self._process = subprocess.Popen(self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE, bufsize=0, start_new_session=True)
        except OSError as error:
            raise DirectorError(f"director {self.name}: cannot start {self._command[0]!r} "
                                f"({error.strerror or error})") from None
        assert self._process.stderr is not None
        self._stderr = threading.Thread(target=self._keep_stderr, args=(self._process.stderr,), daemon=True)
        self._stderr.start()
        try:
            self.hello = parsed(self._line(self._connect_timeout))
            check_hello(self.hello)
        except ProtocolError as error:
            raise DirectorError(f"director {self.name}: {error}") from None
        return self.hello

    def request(self, op: str, fields: JsonObject | None = None) -> JsonObject:
        """Send one request (`op` and its `fields`) and return its answer when it is ok;
        AgentRefused with the agent's sentence when it is not."""
        process = self._process
        assert process is not None and process.stdin is not None, "open() first"
        self._next_id += 1
        try:
            process.stdin.write(line({**(fields or {}), "id": self._next_id, "op": op}))
        except OSError:
            raise DirectorError(self._ended("its agent ended")) from None
        try:
            answer = parsed(self._line(self._timeout))
        except ProtocolError as error:
            raise DirectorError(f"director {self.name}: {error}") from None
        if answer.get("id") != self._next_id:
            raise DirectorError(f"director {self.name}: its agent answered request {answer.get('id')!r} "
                                f"to request {self._next_id}")
        if answer.get("ok") is not True:
            raise AgentRefused(f"director {self.name}: {printable(str(answer.get('error')))}")
        return answer

    def snapshot(self) -> Snapshot:
        try:
            return snapshot_of_json(self.request("snapshot").get("snapshot"))
        except FormError as error:
            raise DirectorError(f"director {self.name}: its agent sent a table that is not one ({error})") \
                from None

    def daemons(self) -> tuple[SyncDaemon, ...]:
        try:
            return daemons_of_json(self.request("daemons").get("daemons"))
        except FormError as error:
            raise DirectorError(f"director {self.name}: its agent sent sync daemons that are not ({error})") \
                from None

    def addresses(self) -> frozenset[str]:
        addresses = self.request("addresses").get("addresses")
        if not isinstance(addresses, list) or not all(isinstance(address, str) for address in addresses):
            raise DirectorError(f"director {self.name}: its agent sent addresses that are not")
        return frozenset(addresses)

    def drained(self) -> dict[str, int]:
        """The weight each drained real server had before its drain, by target, as the director's
        journal and drain records remember it."""
        weights = self.request("drained").get("drained")
        if not isinstance(weights, dict) or not all(isinstance(value, int) and not isinstance(value, bool)
                                                    and value > 0 for value in weights.values()):
            raise DirectorError(f"director {self.name}: its agent sent drained weights that are not")
        return {str(target): value for target, value in weights.items()}

    def sysctls(self) -> dict[str, int]:
        """The director's net.ipv4.vs sysctls, by name."""
        values = self.request("sysctls").get("sysctls")
        if not isinstance(values, dict) or not all(isinstance(value, int) and not isinstance(value, bool)
                                                    for value in values.values()):
            raise DirectorError(f"director {self.name}: its agent sent sysctls that are not")
        return {str(name): value for name, value in values.items()}

    def close(self) -> None:
        process = self._process
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()  # the agent ends at the end of its input
        try:
            process.wait(timeout=0.5 if self._broken else 5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # its session: ssh and what it started
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def _line(self, seconds: float) -> bytes:
        """The next line the agent writes, within `seconds`."""
        deadline = time.monotonic() + seconds
        process = self._process
        assert process is not None and process.stdout is not None
        searched = 0
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            while (end := self._buffer.find(b"\n", searched)) < 0:
                searched = len(self._buffer)
                left = deadline - time.monotonic()
                if left <= 0:
                    self._broken = True
                    raise DirectorError(f"director {self.name}: no answer within {seconds:g} s")
                if not selector.select(left):
                    continue
                chunk = os.read(process.stdout.fileno(), 1 << 20)
                if not chunk:
                    raise DirectorError(self._ended("its agent ended before it answered"))
                self._buffer += chunk
                if len(self._buffer) > MAX_ANSWER:
                    raise DirectorError(f"director {self.name}: an answer longer than {MAX_ANSWER} bytes")
        raw = bytes(self._buffer[:end])
        del self._buffer[:end + 1]
        return raw

    def _ended(self, what: str) -> str:
        parts = []
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                parts.append(f"exit {self._process.wait(timeout=2)}")
        if self._stderr is not None:
            self._stderr.join(timeout=1)  # its last words arrive with its end
        if self._said:
            parts.append(self._said[-1])
        return f"director {self.name}: {what}" + (f" ({': '.join(parts)})" if parts else "")

    def _keep_stderr(self, stream: IO[bytes]) -> None:
        for raw in stream:
            text = printable(raw.decode(errors="replace").strip())
            if text:
                self._said.append(text[:200])
        stream.close()
