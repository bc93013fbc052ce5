"""The seam between lvs-top and a director: one interface, two implementations.

`lvs_tui.ipvs.kernel.KernelBackend` talks generic netlink to the running kernel;
`lvs_tui.sim.director.SimulatedDirector` is the in-memory director behind `--demo`.
Every screen, action, test and benchmark above this line runs against either.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from lvs_tui.model import flags as service_flags
from lvs_tui.model.export import JsonObject, tunnel_json
from lvs_tui.model.records import (
    Dest,
    DestKey,
    Forward,
    Service,
    ServiceKey,
    Snapshot,
    SyncDaemon,
    Timeouts,
    Tunnel,
)


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Everything a user sets on a virtual service (what `ipvsadm -A` takes)."""

    key: ServiceKey
    scheduler: str = "wlc"
    flags: tuple[str, ...] = ()  # decoded names, see model.flags
    persistence_timeout: int = 0  # seconds, with "persistent"; 0 = ipvsadm's default (300 s)
    netmask: str | None = None  # None = host mask of the family (255.255.255.255 or 128)
    pe: str | None = None

    @classmethod
    def of(cls, service: Service) -> ServiceConfig:
        """What a listed service was configured with."""
        return cls(service.key, service.scheduler, service.flags, service.persistence_timeout,
                   service.netmask, service.pe)

    def edited(self, edit: ServiceEdit) -> ServiceConfig:
        """This service once `edit` is laid over it, as every backend and the ipvsadm rendering do.

        Without new flags the kernel keeps the bits, whose names may change with the scheduler
        (sh's SCHED1 is `sh-fallback`, rr's `flag-1`). Nothing is validated here.
        """
        scheduler = self.scheduler if edit.scheduler is None else edit.scheduler
        flags = self.flags if edit.flags is None else edit.flags
        if edit.flags is None and scheduler != self.scheduler:
            with contextlib.suppress(ValueError):  # names it does not know: validation names them
                flags = service_flags.decode(service_flags.encode(self.flags, self.scheduler), scheduler)
        return ServiceConfig(
            self.key,
            scheduler,
            flags,
            self.persistence_timeout if edit.persistence_timeout is None else edit.persistence_timeout,
            self.netmask if edit.netmask is None else edit.netmask,
            self.pe if edit.pe is None else (edit.pe or None),  # "" removes the engine
        )


    def json(self) -> JsonObject:
        """The settings as the journal records them (before and after a change)."""
        return {
        "service": self.key.id,
        "scheduler": self.scheduler,
        "flags": list(self.flags),
        "persistence_timeout": self.persistence_timeout,
        "netmask": self.netmask,
        "pe": self.pe,
        }


@dataclass(frozen=True, slots=True)
class ServiceEdit:
    """A partial change to a service; None leaves that field as the kernel has it."""

    scheduler: str | None = None
    flags: tuple[str, ...] | None = None
    persistence_timeout: int | None = None
    netmask: str | None = None
    pe: str | None = None


@dataclass(frozen=True, slots=True)
class DestConfig:
    """Everything a user sets on a real server (what `ipvsadm -a` takes)."""

    address: str
    port: int
    forward: Forward = Forward.MASQ
    tunnel: Tunnel | None = None
    weight: int = 1
    upper_threshold: int = 0
    lower_threshold: int = 0

    @property
    def key(self) -> DestKey:
        return DestKey(self.address, self.port)

    @classmethod
    def of(cls, dest: Dest) -> DestConfig:
        return cls(dest.address, dest.port, dest.forward, dest.tunnel, dest.weight,
                   dest.upper_threshold, dest.lower_threshold)

    def edited(self, edit: DestEdit) -> DestConfig:
        """This real server once `edit` is laid over it, as every backend and the ipvsadm rendering
        do: tunnel settings exist only with tunnel forwarding (leaving it drops them; entering it
        without settings takes the kernel's default, ipip). Nothing is validated here: settings
        given with another forwarding method are kept, for validation to refuse."""
        forward = self.forward if edit.forward is None else edit.forward
        kept = self.tunnel if forward is Forward.TUNNEL else None
        return DestConfig(
            self.address,
            self.port,
            forward,
            tunnel_for(forward, edit.tunnel or kept),
            self.weight if edit.weight is None else edit.weight,
            self.upper_threshold if edit.upper_threshold is None else edit.upper_threshold,
            self.lower_threshold if edit.lower_threshold is None else edit.lower_threshold,
        )

    def json(self) -> JsonObject:
        """The settings as the journal records them (before and after a change)."""
        return {
            "dest": self.key.id,
            "forward": self.forward.value,
            "tunnel": tunnel_json(self.tunnel),
            "weight": self.weight,
            "upper_threshold": self.upper_threshold,
            "lower_threshold": self.lower_threshold,
        }


@dataclass(frozen=True, slots=True)
class DestEdit:
    """A partial change to a real server; None leaves that field as the kernel has it."""

    forward: Forward | None = None
    tunnel: Tunnel | None = None
    weight: int | None = None
    upper_threshold: int | None = None
    lower_threshold: int | None = None


def tunnel_for(forward: Forward, tunnel: Tunnel | None) -> Tunnel | None:
    """The tunnel settings a real server is stored with: with tunnel forwarding, those given or the
    kernel's default (ipip); otherwise those given, which validation refuses unless None."""
    if forward is Forward.TUNNEL:
        return tunnel or Tunnel()
    return tunnel


class Backend(Protocol):
    """A director that lvs-top can read and (unless read-only) change.

    Reads return frozen records; writes raise `lvs_tui.ipvs.errors.IpvsError` subclasses whose
    message is one sentence about the object concerned. Edits are read-modify-write: a field the
    caller leaves as None keeps the value the director has now.
    """

    @property
    def description(self) -> str:
        """What is shown, for the status line: `kernel`, `kernel (netns blue)`, `demo (seed 1)`."""
        ...

    def snapshot(self, whole: Collection[ServiceKey] | None = None) -> Snapshot:
        """The table. With `whole`, a director may read the real servers of the other services in
        part (see lvs_tui.ipvs.tiers; the snapshot says which and since when); None: all whole."""
        ...

    def snapshot_of(self, keys: Collection[ServiceKey]) -> Snapshot:
        """Only these services, each whole (those the director lacks are left out): what a reader
        of a few services pays for on a table of thousands."""
        ...

    def timeouts(self) -> Timeouts: ...

    def daemons(self) -> tuple[SyncDaemon, ...]: ...

    def addresses(self) -> frozenset[str]:
        """The addresses on this director's interfaces: the VIPs it holds (keepalived puts a VIP on
        the director that is master for it)."""
        ...

    def schedulers(self) -> tuple[str, ...]:
        """Scheduler names this director can use (empty when unknown: any name may be tried)."""
        ...

    def persistence_engines(self) -> tuple[str, ...]:
        """Persistence engine names this director can use (empty when unknown)."""
        ...

    def add_service(self, config: ServiceConfig) -> None: ...

    def edit_service(self, key: ServiceKey, edit: ServiceEdit) -> None: ...

    def delete_service(self, key: ServiceKey) -> None: ...

    def add_dest(self, service: ServiceKey, config: DestConfig) -> None: ...

    def edit_dest(self, service: ServiceKey, dest: DestKey, edit: DestEdit) -> None: ...

    def delete_dest(self, service: ServiceKey, dest: DestKey) -> None: ...

    def zero(self, service: ServiceKey | None = None) -> None:
        """Zero the counters of one service (and its real servers), or of everything."""
        ...

    def set_timeouts(self, timeouts: Timeouts) -> None:
        """Set tcp/tcp_fin/udp timeouts; a 0 leaves that one unchanged."""
        ...

    def start_daemon(self, daemon: SyncDaemon) -> None:
        """Start the connection-sync daemon `daemon.state` (master or backup) on its interface."""
        ...

    def stop_daemon(self, state: str) -> None:
        """Stop the connection-sync daemon `state` (master or backup)."""
        ...

    def close(self) -> None: ...
