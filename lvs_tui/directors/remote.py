"""A director read through its agent, as a `Backend`: the dashboard, batch mode and compare poll it
as they poll the kernel. Version 1 of the agent's protocol only reads: every write is refused, as a
read-only session refuses it, before anything is sent."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import NoReturn, TypeVar

from lvs_tui.directors.client import AgentLink, AgentRefused, DirectorError
from lvs_tui.directors.specs import DirectorSpec
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.ipvs.readonly import ReadOnly, RefusesWrites
from lvs_tui.model.records import ServiceKey, Snapshot, SyncDaemon, Timeouts

T = TypeVar("T")


class DirectorUnreachable(IpvsError):
    """The director's agent could not be started or stopped answering: the next read starts it again."""


class RemoteBackend(RefusesWrites):
    """One director's agent; its process is started at the first read and again after it failed."""

    def __init__(self, spec: DirectorSpec, timeout: float = 60.0) -> None:
        if spec.command is None:
            raise ValueError("a remote director needs the command that starts its agent")
        self._spec = spec
        self._command = spec.command
        self._timeout = timeout
        self._link: AgentLink | None = None

    @property
    def description(self) -> str:
        return f"director {self._spec.name}, read-only"

    def snapshot(self, whole: Collection[ServiceKey] | None = None) -> Snapshot:
        return self._read(AgentLink.snapshot)  # the agent reads its table whole

    def snapshot_of(self, keys: Collection[ServiceKey]) -> Snapshot:
        table = self.snapshot()
        wanted = set(keys)
        return Snapshot(time=table.time, monotonic=table.monotonic, info=table.info,
                        services=tuple(service for service in table.services if service.key in wanted))

    def daemons(self) -> tuple[SyncDaemon, ...]:
        return self._read(AgentLink.daemons)

    def timeouts(self) -> Timeouts:
        raise IpvsError(f"director {self._spec.name}: its timeouts are not read through its agent.")

    def schedulers(self) -> tuple[str, ...]:
        return ()  # unknown here: any name may be tried (and every write is refused anyway)

    def persistence_engines(self) -> tuple[str, ...]:
        return ()

    def close(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None

    def _read(self, read: Callable[[AgentLink], T]) -> T:
        link = self._link
        if link is None:
            link = self._link = AgentLink(self._spec.name, self._command, self._timeout)
        try:
            if not link.hello:
                link.open()
            return read(link)
        except AgentRefused as refused:
            raise IpvsError(str(refused)) from None  # it answered: the same agent is asked next time
        except DirectorError as error:
            self.close()  # the next read starts the agent again
            raise DirectorUnreachable(str(error)) from None

    def _refuse(self, what: str) -> NoReturn:
        raise ReadOnly(f"director {self._spec.name} is read through its agent, which only reads: {what} "
                       "was not sent.")
