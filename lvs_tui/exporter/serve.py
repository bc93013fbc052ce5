"""The scrape endpoint: prometheus_client's HTTP server over one collector, until SIGTERM or SIGINT."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from lvs_tui.exporter.metrics import Refusal, exporter_families, health_families, series_count, table_families
from lvs_tui.exporter.source import Source


class TableCollector(Collector):
    """Collects a reading per scrape; says (once per change) why the table is left out."""

    def __init__(self, source: Source, max_series: int, log: TextIO = sys.stderr,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self._source = source
        self._max_series = max_series
        self._log = log
        self._clock = clock
        self._said: str | None = None

    def collect(self) -> Iterator[Metric]:
        started = self._clock()
        reading = self._source.reading()
        series = series_count(reading)
        refusal = Refusal(series, self._max_series) if series > self._max_series else None
        families = [] if refusal is not None else [*table_families(reading), *health_families(reading)]
        self._say(refusal.sentence if refusal is not None else reading.last_error)
        yield from families
        yield from exporter_families(reading, self._clock() - started, refusal)

    def _say(self, sentence: str | None) -> None:
        if sentence != self._said and sentence is not None:
            print(f"lvs-top exporter: {sentence}", file=self._log, flush=True)
        self._said = sentence


def registry_of(collector: Collector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)  # describing would poll at registration
    registry.register(collector)
    return registry


def serve(collector: Collector, address: str, port: int, ready: Callable[[str], None]) -> None:
    """Answer scrapes on address:port until SIGTERM or SIGINT; `ready` gets where it listens."""
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    server, thread = start_http_server(port, address, registry_of(collector))
    host, bound = str(server.server_address[0]), server.server_address[1]
    ready(f"[{host}]:{bound}" if ":" in host else f"{host}:{bound}")
    try:
        stop.wait()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
