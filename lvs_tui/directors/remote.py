"""A director read (and, for maintenance, changed) through its agent, as a `Backend`: the
dashboard, batch mode and compare poll it as they poll the kernel; drain, undrain and weight with
--director change its real servers. Every other write, and every write of a backend opened
read-only or of an agent started with --read-only, is refused before anything is sent."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import NoReturn, TypeVar

from lvs_tui.directors.client import AgentLink, AgentRefused, DirectorError
from lvs_tui.directors.specs import DirectorSpec
from lvs_tui.directors.writes import add_request, delete_request, edit_request
from lvs_tui.ipvs.backend import DestConfig, DestEdit
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.ipvs.readonly import ReadOnly, RefusesWrites
from lvs_tui.model.export import JsonObject
from lvs_tui.model.records import DestKey, ServiceKey, Snapshot, SyncDaemon, Timeouts
from lvs_tui.ops.sysctl import Sysctls

T = TypeVar("T")
READ_ONLY_AGENT = "its agent is read-only (started with --read-only, or without CAP_NET_ADMIN)"


class DirectorUnreachable(IpvsError):
    """The director's agent could not be started or stopped answering: the next read starts it again."""


class RemoteBackend(RefusesWrites):
    """One director's agent; its process is started at the first request and again after it failed.
    With `writes`, its real servers can be changed (each change made and journaled by the agent)."""

    # It starts its agent again itself after the link broke, and keeps a link whose agent only said
    # no (IPVS missing there): a poller that closed it after each error would open a new ssh
    # connection at every poll.
    recovers_by_itself = True

    def __init__(self, spec: DirectorSpec, timeout: float = 60.0, *, writes: bool = False) -> None:
        if spec.command is None:
            raise ValueError("a remote director needs the command that starts its agent")
        self._spec = spec
        self._command = spec.command
        self._timeout = timeout
        self._writes = writes
        self._link: AgentLink | None = None

    @property
    def description(self) -> str:
        return f"director {self._spec.name}" + ("" if self._writes else ", read-only")

    @property
    def read_only(self) -> str | None:
        """Why this director's table would not be changed through this backend, or None (an
        agent's own --read-only is known once it said hello, at the first request)."""
        if not self._writes:
            return "read through its agent, which only reads here"
        if self._link is not None and self._link.hello.get("read_only") is True:
            return READ_ONLY_AGENT
        return None

    def snapshot(self, whole: Collection[ServiceKey] | None = None) -> Snapshot:
        return self._read(AgentLink.snapshot)  # the agent reads its table whole

    def snapshot_of(self, keys: Collection[ServiceKey]) -> Snapshot:
        table = self.snapshot()
        wanted = set(keys)
        return Snapshot(time=table.time, monotonic=table.monotonic, info=table.info,
                        services=tuple(service for service in table.services if service.key in wanted))

    def daemons(self) -> tuple[SyncDaemon, ...]:
        return self._read(AgentLink.daemons)

    def addresses(self) -> frozenset[str]:
        return self._read(AgentLink.addresses)

    def drained_weights(self) -> dict[str, int]:
        """The weight before each drain on that director, by change target (its journal's and drain
        records', as `lvs-top undrain` there would know them)."""
        return self._read(AgentLink.drained)

    def sysctls(self) -> Sysctls:
        """That director's net.ipv4.vs sysctls (for the warnings of a plan made for it)."""
        return Sysctls(self._read(AgentLink.sysctls))

    def timeouts(self) -> Timeouts:
        raise IpvsError(f"director {self._spec.name}: its timeouts are not read through its agent.")

    def schedulers(self) -> tuple[str, ...]:
        return ()  # unknown here: any name may be tried (and the agent has the last word)

    def persistence_engines(self) -> tuple[str, ...]:
        return ()

    def close(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None

    # --- the writes an agent makes ---------------------------------------------------------------

    def edit_dest(self, service: ServiceKey, dest: DestKey, edit: DestEdit) -> None:
        self._write(edit_request(service, dest, edit), f"editing real server {dest} of {service}")

    def add_dest(self, service: ServiceKey, config: DestConfig) -> None:
        self._write(add_request(service, config), f"adding real server {config.key} to {service}")

    def delete_dest(self, service: ServiceKey, dest: DestKey) -> None:
        self._write(delete_request(service, dest), f"removing real server {dest} from {service}")

    def _write(self, request: JsonObject, what: str) -> None:
        if not self._writes:
            self._refuse(what)
        link = self._connected()
        if link.hello.get("read_only") is not False:
            raise ReadOnly(f"director {self._spec.name}: {READ_ONLY_AGENT}: {what} was not sent.")
        op = str(request.pop("op"))
        try:
            link.request(op, request)
        except AgentRefused as refused:
            raise IpvsError(str(refused)) from None  # the agent said why it did not make it
        except DirectorError as error:
            self.close()
            raise DirectorUnreachable(f"{error}: {what} may or may not have been made there; look with "
                                      f"ipvsadm -Ln on {self._spec.name}.") from None

    # --- plumbing ----------------------------------------------------------------------------------

    def _connected(self) -> AgentLink:
        link = self._link
        if link is None:
            link = self._link = AgentLink(self._spec.name, self._command, self._timeout)
        if not link.hello:
            try:
                link.open()
            except DirectorError as error:
                self.close()  # the next request starts the agent again
                raise DirectorUnreachable(str(error)) from None
        return link

    def _read(self, read: Callable[[AgentLink], T]) -> T:
        link = self._connected()
        try:
            return read(link)
        except AgentRefused as refused:
            raise IpvsError(str(refused)) from None  # it answered: the same agent is asked next time
        except DirectorError as error:
            self.close()  # the next read starts the agent again
            raise DirectorUnreachable(str(error)) from None

    def _refuse(self, what: str) -> NoReturn:
        if self._writes:
            raise ReadOnly(f"director {self._spec.name}: only its real servers are changed through its "
                           f"agent: {what} was not sent.")
        raise ReadOnly(f"director {self._spec.name} is read through its agent, which only reads: {what} "
                       "was not sent.")
