"""One director to read poll after poll: this host's backend, or its agent's link, started again
at the next read after it failed (a director that drops is retried, never given up on)."""

from __future__ import annotations

from collections.abc import Callable

from lvs_tui.directors.client import AgentLink, AgentRefused
from lvs_tui.directors.specs import DirectorSpec
from lvs_tui.ipvs.backend import Backend
from lvs_tui.model.records import Snapshot


class DirectorReader:
    """Reads one director; DirectorError (remote) or IpvsError (local) when it cannot."""

    def __init__(self, spec: DirectorSpec, open_local: Callable[[], Backend], timeout: float = 60.0) -> None:
        self._spec = spec
        self._open_local = open_local
        self._timeout = timeout
        self._local: Backend | None = None
        self._link: AgentLink | None = None

    @property
    def description(self) -> str:
        return self._spec.name

    def snapshot(self) -> Snapshot:
        if self._spec.command is None:
            if self._local is None:
                self._local = self._open_local()
            return self._local.snapshot()
        link = self._link
        if link is None:
            link = self._link = AgentLink(self._spec.name, self._spec.command, self._timeout)
        try:
            if not link.hello:
                link.open()
            return link.snapshot()
        except AgentRefused:
            raise  # it answered: ask the same agent again next time
        except Exception:
            self._link = None  # the next read starts the agent again
            link.close()
            raise

    def close(self) -> None:
        if self._local is not None:
            self._local.close()
        if self._link is not None:
            self._link.close()
        self._local = self._link = None
