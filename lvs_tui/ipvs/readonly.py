"""`--read-only`: a backend that reads and refuses every write, whatever asks for it.

The dashboard also hides its write actions in read-only mode; this wrapper is the guarantee that
no write reaches the kernel even if some path forgot to check.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import NoReturn

from lvs_tui.ipvs.backend import Backend, DestConfig, DestEdit, ServiceConfig, ServiceEdit
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.model.records import DestKey, ServiceKey, Snapshot, SyncDaemon, Timeouts


class ReadOnly(IpvsError):
    """A write was asked of a read-only session."""


class RefusesWrites:
    """Every write of the Backend interface, refused by `_refuse` with a sentence naming it."""

    def _refuse(self, what: str) -> NoReturn:
        raise NotImplementedError

    def add_service(self, config: ServiceConfig) -> None:
        self._refuse(f"adding service {config.key}")

    def edit_service(self, key: ServiceKey, edit: ServiceEdit) -> None:
        self._refuse(f"editing service {key}")

    def delete_service(self, key: ServiceKey) -> None:
        self._refuse(f"removing service {key}")

    def add_dest(self, service: ServiceKey, config: DestConfig) -> None:
        self._refuse(f"adding real server {config.key} to {service}")

    def edit_dest(self, service: ServiceKey, dest: DestKey, edit: DestEdit) -> None:
        self._refuse(f"editing real server {dest} of {service}")

    def delete_dest(self, service: ServiceKey, dest: DestKey) -> None:
        self._refuse(f"removing real server {dest} from {service}")

    def zero(self, service: ServiceKey | None = None) -> None:
        self._refuse(f"zeroing the counters of {service or 'all services'}")

    def set_timeouts(self, timeouts: Timeouts) -> None:
        self._refuse("setting the timeouts")

    def start_daemon(self, daemon: SyncDaemon) -> None:
        self._refuse(f"starting the sync {daemon.state}")

    def stop_daemon(self, state: str) -> None:
        self._refuse(f"stopping the sync {state}")


class ReadOnlyBackend(RefusesWrites):
    """Reads go to `inner`; writes raise `ReadOnly` without touching it."""

    def __init__(self, inner: Backend, reason: str = "--read-only") -> None:
        self._inner = inner
        self.reason = reason

    @property
    def description(self) -> str:
        return f"{self._inner.description}, read-only"

    def snapshot(self, whole: Collection[ServiceKey] | None = None) -> Snapshot:
        return self._inner.snapshot(whole)

    def snapshot_of(self, keys: Collection[ServiceKey]) -> Snapshot:
        return self._inner.snapshot_of(keys)

    def timeouts(self) -> Timeouts:
        return self._inner.timeouts()

    def daemons(self) -> tuple[SyncDaemon, ...]:
        return self._inner.daemons()

    def addresses(self) -> frozenset[str]:
        return self._inner.addresses()

    def schedulers(self) -> tuple[str, ...]:
        return self._inner.schedulers()

    def persistence_engines(self) -> tuple[str, ...]:
        return self._inner.persistence_engines()

    def close(self) -> None:
        self._inner.close()

    def _refuse(self, what: str) -> NoReturn:
        raise ReadOnly(f"lvs-top is read-only ({self.reason}): {what} was not sent to the kernel.")
