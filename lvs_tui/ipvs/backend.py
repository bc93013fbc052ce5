"""The seam between lvs-top and a director: one interface, two implementations.

`lvs_tui.ipvs.kernel.KernelBackend` talks generic netlink to the running kernel;
`lvs_tui.sim.director.SimulatedDirector` is the in-memory director behind `--demo`.
Every screen, action, test and benchmark above this line runs against either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from lvs_tui.model.records import (
    DestKey,
    Forward,
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


@dataclass(frozen=True, slots=True)
class DestEdit:
    """A partial change to a real server; None leaves that field as the kernel has it."""

    forward: Forward | None = None
    tunnel: Tunnel | None = None
    weight: int | None = None
    upper_threshold: int | None = None
    lower_threshold: int | None = None


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

    def snapshot(self) -> Snapshot: ...

    def timeouts(self) -> Timeouts: ...

    def daemons(self) -> tuple[SyncDaemon, ...]: ...

    def schedulers(self) -> tuple[str, ...]:
        """Scheduler names this director can use (empty when unknown: any name may be tried)."""
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

    def close(self) -> None: ...
