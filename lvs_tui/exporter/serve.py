"""The scrape endpoint: prometheus_client's WSGI app over one collector, until SIGTERM or SIGINT.

prometheus_client compresses at gzip's slowest level, a third of a large scrape's cost for a few
percent of size; the app is served with its compression off and `FastGzip` compresses instead.
"""

from __future__ import annotations

import gzip
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any, TextIO
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
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


GZIP_LEVEL = 1  # 27 MB of text (1,000 x 10): 0.05 s and 0.9 MB, against 0.6 s and 0.5 MB at level 9

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment


class FastGzip:
    """Compresses an app's answer at GZIP_LEVEL for clients that accept gzip (Prometheus does)."""

    def __init__(self, app: WSGIApplication) -> None:
        self._app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        answer: list[tuple[str, list[tuple[str, str]]]] = []

        def keep(status: str, headers: list[tuple[str, str]], *_: Any) -> Callable[[bytes], object]:
            answer.append((status, headers))
            return lambda _: None  # the app returns its body, it never writes

        body = b"".join(self._app(environ, keep))
        status, headers = answer[0]
        if body and accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", "")):
            body = gzip.compress(body, compresslevel=GZIP_LEVEL)
            headers = [(name, value) for name, value in headers if name.lower() != "content-length"]
            headers += [("Content-Encoding", "gzip"), ("Content-Length", str(len(body)))]
        start_response(status, headers)
        return [body]


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding header lists gzip without refusing it (q=0)."""
    for item in header.split(","):
        coding, *parameters = (part.strip().lower() for part in item.split(";"))
        if coding == "gzip":
            return not any(_refused(parameter) for parameter in parameters)
    return False


def _refused(parameter: str) -> bool:
    name, _, value = parameter.replace(" ", "").partition("=")
    try:
        return name == "q" and float(value) == 0.0
    except ValueError:
        return False


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape still running does not hold the exporter at its end


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged: Prometheus makes one every few seconds."""


def listening(collector: Collector, address: str, port: int) -> WSGIServer:
    """A server for scrapes bound to address:port (IPv4 or IPv6, as the address is), not yet serving."""
    family, _, _, _, where = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM,
                                               flags=socket.AI_PASSIVE)[0]
    server_class = type("Server", (_Server,), {"address_family": family})
    return make_server(str(where[0]), port, scrape_app(collector), server_class, handler_class=_QuietHandler)


def scrape_app(collector: Collector) -> WSGIApplication:
    """What answers a scrape: prometheus_client's app, compressed by FastGzip."""
    return FastGzip(make_wsgi_app(registry_of(collector), disable_compression=True))


def serve(collector: Collector, address: str, port: int, ready: Callable[[str], None]) -> None:
    """Answer scrapes on address:port until SIGTERM or SIGINT; `ready` gets where it listens."""
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    server = listening(collector, address, port)
    thread = threading.Thread(target=server.serve_forever, name="scrapes", daemon=True)
    thread.start()
    host, bound = str(server.server_address[0]), server.server_address[1]
    ready(f"[{host}]:{bound}" if ":" in host else f"{host}:{bound}")
    try:
        stop.wait()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
