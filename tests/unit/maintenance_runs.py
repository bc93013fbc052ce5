"""Running the maintenance commands (drain, undrain, weight) on one shared simulated director whose
clock the test drives: a wait of minutes takes no time (`lvs-top --demo` opens a new one per run)."""

from __future__ import annotations

import argparse
from pathlib import Path

from lvs_tui.cli import parse
from lvs_tui.cli.common import guarded
from lvs_tui.cli.drain import run_drain
from lvs_tui.cli.undrain import run_undrain
from lvs_tui.cli.weight import run_weight
from lvs_tui.ipvs.backend import Backend
from lvs_tui.model.records import DestKey, ServiceKey
from lvs_tui.sim import SimulatedDirector

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)  # the demo table's
TLS = ServiceKey.inet("tcp", "192.0.2.10", 443)  # persistent, with the same hosts as WEB
HOST = "198.51.100.11"  # in WEB (weight 3) and TLS (weight 100)
QUICK = "198.51.100.13"  # its WEB connections end within a simulated minute


class Clock:
    """The simulated director's clock, moved on by the command's sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def director(clock: Clock) -> SimulatedDirector:
    return SimulatedDirector(seed=1, clock=clock)


def weights(backend: Backend) -> dict[str, int]:
    return {f"{service.key}>{dest.key}": dest.weight for service in backend.snapshot().services
            for dest in service.dests}


def weight_of(backend: Backend, service: ServiceKey, address: str, port: int) -> int | None:
    found = backend.snapshot().service(service)
    dest = None if found is None else found.dest(DestKey(address, port))
    return None if dest is None else dest.weight


def records_path(journal: Path) -> Path:
    return journal.with_name("drains.json")


def run(command: str, backend: Backend, clock: Clock, journal: Path, *argv: str) -> int:
    """`lvs-top COMMAND ARGV --demo --journal JOURNAL --drain-records RECORDS` (RECORDS next to the
    journal), checked as main() checks it, on `backend`."""
    _, args = parse([command, *argv, "--demo", "--journal", str(journal),
                     "--drain-records", str(records_path(journal))])

    def open_backend(args: argparse.Namespace) -> Backend:
        return guarded(args, backend)  # --read-only wraps it, as open_backend does

    if command == "drain":
        return run_drain(args, open_backend, clock, clock.sleep)
    if command == "undrain":
        return run_undrain(args, open_backend, clock.sleep)
    return run_weight(args, open_backend)
