"""What a scrape reports: the table, the health checker's view, the drain records and the
distribution check, read at most once per `cache` seconds however many scrapes ask.

A poll that fails (IPVS unloaded, the namespace gone) keeps the last good table and says why: a
scrape then still has every series, with `lvs_exporter_poll_ok 0` and the error counted.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lvs_tui.health.feed import StateFileFeed
from lvs_tui.health.status import HealthView
from lvs_tui.ipvs.backend import Backend
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.model.distribution import ServiceMemory, Spread, spreads
from lvs_tui.model.printable import fault
from lvs_tui.model.records import ServiceKey, Snapshot
from lvs_tui.ops.drainrecords import DrainRecord, DrainRecords, Pair, RecordsError

CACHE_SECONDS = 1.0  # two Prometheus servers scraping together cost one poll


@dataclass(frozen=True, slots=True)
class Reading:
    snapshot: Snapshot | None  # the last good poll (None: none yet)
    polled_ok: bool  # the latest poll succeeded
    poll_errors: int  # polls failed since the start
    last_error: str | None
    health: HealthView | None  # None: no health checker state file
    drains: Mapping[Pair, DrainRecord] = field(default_factory=dict)
    spreads: Mapping[ServiceKey, Spread] = field(default_factory=dict)
    poll_seconds: float = 0.0  # how long the latest poll took


class Source:
    """Reads for scrapes, on their threads: one poll at a time, shared within `cache` seconds."""

    def __init__(self, open_backend: Callable[[], Backend], health: StateFileFeed | None,
                 drains: DrainRecords | None, cache: float = CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._open_backend = open_backend
        self._health = health
        self._drains = drains
        self._cache = cache
        self._clock = clock
        self._lock = threading.Lock()
        self._backend: Backend | None = None
        self._memory: dict[ServiceKey, ServiceMemory] = {}
        self._reading: Reading | None = None
        self._read_at = float("-inf")
        self._errors = 0

    def reading(self) -> Reading:
        with self._lock:  # a scrape arriving during a poll waits for it and shares it
            if self._reading is None or self._clock() - self._read_at >= self._cache:
                self._reading = self._read()
                self._read_at = self._clock()
            return self._reading

    def close(self) -> None:
        with self._lock:
            self._close_backend()

    def _read(self) -> Reading:
        started = self._clock()
        last = self._reading
        snapshot, error = self._poll()
        seconds = self._clock() - started
        if error is not None:
            self._errors += 1
        judged = self._judge(snapshot) if error is None and snapshot is not None else \
            (last.spreads if last is not None else {})
        return Reading(snapshot if error is None else (last.snapshot if last is not None else None),
                       error is None, self._errors, error, self._health_view(), self._records(), judged,
                       seconds)

    def _poll(self) -> tuple[Snapshot | None, str | None]:
        try:
            if self._backend is None:
                self._backend = self._open_backend()
            return self._backend.snapshot(), None
        except IpvsError as error:
            self._close_backend()  # open again next time: the module may come back
            return None, str(error)
        except Exception as error:  # a scrape must get an answer, and the cause in a sentence
            self._close_backend()
            return None, f"the poll failed ({fault(error)})"

    def _judge(self, snapshot: Snapshot) -> dict[ServiceKey, Spread]:
        found, self._memory = spreads(snapshot, snapshot.monotonic, self._memory)
        return found

    def _health_view(self) -> HealthView | None:
        return None if self._health is None else self._health.view()

    def _records(self) -> dict[Pair, DrainRecord]:
        if self._drains is None:
            return {}
        try:
            return self._drains.read()
        except RecordsError:
            return {}  # a damaged file is moved aside by its next writer; no drain is shown meanwhile

    def _close_backend(self) -> None:
        if self._backend is not None:
            backend, self._backend = self._backend, None
            with contextlib.suppress(Exception):  # a broken backend: nothing left to do with it
                backend.close()
