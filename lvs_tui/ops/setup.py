"""What the dashboard's write side needs beyond the backend, chosen once by the command line."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from lvs_tui.model.connections import Connection
from lvs_tui.ops.conntable import read_dest_connections
from lvs_tui.ops.drainrecords import DrainRecords
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.owners import Owner, find_owners
from lvs_tui.ops.sysctl import Sysctls, read_sysctls


@dataclass(frozen=True, slots=True)
class OpsSetup:
    read_only: str | None = None  # why writes are off (shown on screen), or None
    journal: Journal = field(default_factory=Journal)
    sysctls: Callable[[], Sysctls] = read_sysctls
    # The entries of one real server (address, port or None for all its ports); None: no table.
    connections: Callable[[str, int | None], Iterable[Connection]] | None = read_dest_connections
    owners: Callable[[], tuple[Owner, ...]] = find_owners
    # Every drain on this director, whoever started it; in memory only unless a file is given.
    drains: DrainRecords = field(default_factory=lambda: DrainRecords(None))
    # Another director, changed through its agent: its name goes with each change in this host's
    # journal (its agent journals the change there too). None: this host's table.
    director: str | None = None
