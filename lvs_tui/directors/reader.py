"""One named director to read poll after poll: this host's backend (`local`), or its agent's
(`RemoteBackend`, started again at the next read after it failed: a director that drops is
retried, never given up on). Failures are IpvsErrors whose sentence names the director."""

from __future__ import annotations

from collections.abc import Callable

from lvs_tui.directors.remote import RemoteBackend
from lvs_tui.directors.specs import DirectorSpec
from lvs_tui.ipvs.backend import Backend
from lvs_tui.model.records import Snapshot, SyncDaemon


class DirectorReader:
    """Reads one director, opening its backend at the first read."""

    def __init__(self, spec: DirectorSpec, open_local: Callable[[], Backend], timeout: float = 60.0) -> None:
        self._spec = spec
        self._open: Callable[[], Backend] = open_local if spec.command is None else \
            (lambda: RemoteBackend(spec, timeout))
        self._backend: Backend | None = None

    @property
    def description(self) -> str:
        return self._spec.name

    def snapshot(self) -> Snapshot:
        return self._opened().snapshot()

    def daemons(self) -> tuple[SyncDaemon, ...]:
        return self._opened().daemons()

    def addresses(self) -> frozenset[str]:
        return self._opened().addresses()

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None

    def _opened(self) -> Backend:
        if self._backend is None:
            self._backend = self._open()
        return self._backend
