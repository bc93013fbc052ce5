"""The poller: one thread owns the backend and polls it when asked (no Textual here).

The UI's timer only *asks* for a poll; polls never overlap, and requests made while one is running
collapse into a single next poll. Each poll's outcome is handed to `deliver` (called on the poller
thread: the app forwards it to its own thread). A backend that cannot be opened or fails (IPVS
unloaded, permission lost, netns gone) is reported and reopened on the next request, so the screen
recovers by itself when the cause goes away.

Writes run on the same thread (`submit`), since it owns the backend: each job runs before the
next poll, and a poll follows at once so the screen shows the result of the change.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from lvs_tui.ipvs.backend import Backend
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.model.printable import fault
from lvs_tui.model.records import ServiceKey, Snapshot


@dataclass(frozen=True, slots=True)
class PollResult:
    """One poll's outcome: a snapshot, or the error in plain words."""

    snapshot: Snapshot | None
    error: str | None
    started: float  # monotonic
    seconds: float  # how long the poll took


BackendJob = Callable[[Backend], Any]  # runs on the thread that owns the backend
JobDone = Callable[[Any], None]  # receives the job's return value, or the IpvsError it raised
SubmitJob = Callable[[BackendJob, JobDone], None]  # what `Poller.submit` offers a checker


class Poller:
    def __init__(
        self,
        open_backend: Callable[[], Backend],
        deliver: Callable[[PollResult], None],
        clock: Callable[[], float] = time.monotonic,
        whole: Callable[[], Collection[ServiceKey] | None] = lambda: None,  # None: all whole
    ) -> None:
        self._open_backend = open_backend
        self._deliver = deliver
        self._whole = whole  # asked before each poll, on this thread: see Backend.snapshot
        self._clock = clock
        self._wanted = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="lvs-top-poller", daemon=True)
        self._backend: Backend | None = None
        self._jobs: deque[tuple[BackendJob, JobDone]] = deque()
        self._poll_due = False

    def start(self) -> None:
        self._thread.start()

    def request(self) -> None:
        """Ask for a poll as soon as the current one (if any) is done."""
        self._poll_due = True
        self._wanted.set()

    def submit(self, job: BackendJob, done: JobDone, poll: bool = True) -> None:
        """Run `job(backend)` on the poller thread, then poll (unless told not to: a caller with
        no screen to update); `done` gets its result there."""
        self._jobs.append((job, done))
        if poll:
            self._poll_due = True
        self._wanted.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        self._wanted.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while True:
                self._wanted.wait()
                if self._stopping:
                    return
                self._wanted.clear()
                while self._jobs:
                    self._run_job(*self._jobs.popleft())
                if not self._poll_due:
                    continue
                self._poll_due = False  # before polling: a request made during the poll is kept
                result = self._poll_once()
                with contextlib.suppress(Exception):  # a receiver going away must not stop polling
                    self._deliver(result)
        finally:
            self._close_backend()

    def _poll_once(self) -> PollResult:
        started = self._clock()
        try:
            if self._backend is None:
                self._backend = self._open_backend()
            snapshot = self._backend.snapshot(self._whole())
        except IpvsError as error:
            if not getattr(self._backend, "recovers_by_itself", False):
                self._close_backend()  # reopen next time: the cause may go away
            return PollResult(None, str(error), started, self._clock() - started)
        except Exception as error:  # a bug must not kill the poller and freeze the screen
            self._close_backend()
            return PollResult(None, f"poll failed: {error!r}", started, self._clock() - started)
        return PollResult(snapshot, None, started, self._clock() - started)

    def _run_job(self, job: BackendJob, done: JobDone) -> None:
        outcome: Any
        try:
            if self._backend is None:
                self._backend = self._open_backend()
            outcome = job(self._backend)
        except IpvsError as error:
            outcome = error
        except Exception as error:  # a bug in a job must not kill the poller
            outcome = IpvsError(f"failed unexpectedly ({fault(error)})")
        with contextlib.suppress(Exception):
            done(outcome)

    def _close_backend(self) -> None:
        if self._backend is not None:
            with contextlib.suppress(Exception):  # closing a broken backend may fail; it is gone anyway
                self._backend.close()
            self._backend = None
