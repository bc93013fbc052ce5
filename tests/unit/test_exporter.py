"""The exporter's metrics from a reading of the simulated director: every counter and gauge is the
snapshot's, drains, health and the distribution check are there; a poll is shared by scrapes that
come together; a failing poll keeps the last table and says so; too many series are refused."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from lvs_tui.exporter.metrics import BACKEND_SERIES, SERVICE_SERIES
from lvs_tui.exporter.serve import TableCollector, registry_of
from lvs_tui.exporter.source import Source
from lvs_tui.health.state import Health
from lvs_tui.health.status import HealthView, ServerStatus
from lvs_tui.ipvs.backend import DestConfig, ServiceConfig
from lvs_tui.ipvs.errors import IpvsUnavailable
from lvs_tui.model.records import Snapshot
from lvs_tui.ops.drainrecords import DrainRecord, DrainRecords
from lvs_tui.sim.director import SimulatedDirector
from tests.unit.maintenance_runs import HOST, WEB

pytestmark = pytest.mark.unit

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(collector: TableCollector) -> tuple[str, Samples]:
    text = generate_latest(registry_of(collector)).decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return text, samples


def of(samples: Samples, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    found = [value for (sample, have), value in samples.items() if sample == name and wanted <= have]
    assert len(found) == 1, f"{name} {labels}: {len(found)} samples"
    return found[0]


class Feed:
    """A health checker's state file, as StateFileFeed gives it."""

    def __init__(self, view: HealthView | None) -> None:
        self.current = view

    def view(self) -> HealthView | None:
        return self.current


class Failing:
    """Fails while `down`, else the simulated director (IPVS unloaded, then back)."""

    description = "failing"

    def __init__(self, inner: SimulatedDirector) -> None:
        self.inner, self.down, self.polls = inner, False, 0

    def snapshot(self) -> Snapshot:
        self.polls += 1
        if self.down:
            raise IpvsUnavailable("IPVS is not available in this kernel: load it with `modprobe ip_vs`.")
        return self.inner.snapshot()

    def close(self) -> None:
        pass


def test_every_counter_and_gauge_is_the_snapshots_with_node_exporters_labels(tmp_path: Path) -> None:
    sim = SimulatedDirector(seed=3)
    sim.inject(WEB, 40)
    source = Source(lambda: sim, None, None, cache=0)
    _, samples = scrape(TableCollector(source, 10_000))
    snapshot = sim.snapshot()
    checked = 0
    for service in snapshot.services:
        key = service.key
        where = {"local_mark": str(key.fwmark)} if key.fwmark is not None else \
            {"proto": key.protocol.value if key.protocol else "", "local_address": key.address,
             "local_port": str(key.port)}
        assert of(samples, "lvs_service_connections_total", **where) == service.stats.conns
        assert of(samples, "lvs_service_outgoing_bytes_total", **where) == service.stats.outbytes
        for dest in service.dests:
            at = {**where, "remote_address": dest.address, "remote_port": str(dest.port),
                  "forward": dest.forward.value, "scheduler": service.scheduler}
            assert of(samples, "lvs_backend_incoming_packets_total", **at) == dest.stats.inpkts
            assert of(samples, "lvs_backend_connections_active", **at) == dest.active_conns
            assert of(samples, "lvs_backend_connections_inactive", **at) == dest.inactive_conns
            assert of(samples, "lvs_backend_connections_persistent", **at) == dest.persistent_conns
            assert of(samples, "lvs_backend_weight", **at) == dest.weight
            assert of(samples, "lvs_backend_upper_threshold", **at) == dest.upper_threshold
            assert of(samples, "lvs_backend_draining", **at) == 0
            checked += 1
    assert checked == sum(len(service.dests) for service in snapshot.services) > 0
    assert of(samples, "lvs_service_connections_total", local_port="80", local_address="192.0.2.10") > 0
    assert of(samples, "lvs_ipvs_info", version=snapshot.info.version) == 1
    assert of(samples, "lvs_exporter_poll_ok") == 1


def test_drains_and_health_states_are_there_for_their_servers(tmp_path: Path) -> None:
    sim = SimulatedDirector(seed=3)
    sim.inject(WEB, 40)
    web = sim.snapshot().service(WEB)
    assert web is not None
    drained = next(dest for dest in web.dests if dest.address == HOST)
    records = DrainRecords(tmp_path / "drains.json")
    records.add([DrainRecord(WEB, drained.key, 3, time.time(), "drain", os.getpid(), wait_inactive=True)])
    view = HealthView({(WEB, drained.key): ServerStatus(Health.UNHEALTHY, 1.0, "connection refused", True)},
                      source="lvs-top health (pid 1)", updated=1_800_000_000.0)
    _, samples = scrape(TableCollector(Source(lambda: sim, Feed(view), records, cache=0), 10_000))  # type: ignore[arg-type]
    at = {"local_port": "80", "remote_address": HOST, "remote_port": str(drained.port)}
    now = sim.snapshot().service(WEB)
    assert now is not None
    left = next(dest for dest in now.dests if dest.key == drained.key)
    assert of(samples, "lvs_backend_draining", **at) == 1
    assert of(samples, "lvs_backend_drain_remaining_connections", **at) == \
        left.active_conns + left.inactive_conns + left.persistent_conns
    assert of(samples, "lvs_backend_health_state", **at, state="unhealthy") == 1
    assert of(samples, "lvs_backend_health_state", **at, state="healthy") == 0
    assert of(samples, "lvs_health_checker_up") == 1
    assert of(samples, "lvs_health_state_updated_timestamp_seconds") == 1_800_000_000.0


def test_healthy_services_are_not_flagged_and_a_starved_server_is() -> None:
    clock = [0.0]
    sim = SimulatedDirector(seed=3, services=0, clock=lambda: clock[0])
    sim.add_service(ServiceConfig(WEB, "wrr"))
    for number, weight in enumerate((3, 2, 1), start=11):
        sim.add_dest(WEB, DestConfig(f"198.51.100.{number}", 8080, weight=weight))
    sim.set_rate(WEB, 20.0)
    web = sim.snapshot().service(WEB)
    assert web is not None
    collector = TableCollector(Source(lambda: sim, None, None, cache=0), 10_000)

    def scrapes(count: int) -> Samples:
        for _ in range(count):  # every 15 s of simulated time, as Prometheus scrapes
            clock[0] += 15.0
            _, samples = scrape(collector)
        return samples

    samples = scrapes(20)
    flagged = {dict(labels).get("remote_address") for (name, labels), value in samples.items()
               if name == "lvs_backend_distribution_skewed" and value == 1}
    assert flagged == set(), "the simulated director keeps every promise: no false alarm"
    assert of(samples, "lvs_service_distribution_skewed", local_port="80", local_address="192.0.2.10") == 0
    starved = web.dests[0]
    sim.starve(WEB, starved.key)
    samples = scrapes(20)
    at = {"local_port": "80", "local_address": "192.0.2.10", "remote_address": starved.address,
          "remote_port": str(starved.port)}
    assert of(samples, "lvs_backend_distribution_skewed", **at) == 1
    assert of(samples, "lvs_service_distribution_skewed", local_port="80", local_address="192.0.2.10") == 1


def test_scrapes_within_the_cache_share_one_poll_and_a_failure_keeps_the_last_table() -> None:
    clock = [0.0]
    backend = Failing(SimulatedDirector(seed=3))
    source = Source(lambda: backend, None, None, cache=1.0, clock=lambda: clock[0])  # type: ignore[arg-type, return-value]
    collector = TableCollector(source, 10_000, log=(log := io.StringIO()))
    scrape(collector)
    scrape(collector)
    assert backend.polls == 1
    backend.down = True
    clock[0] += 1.0
    _, samples = scrape(collector)
    assert of(samples, "lvs_exporter_poll_ok") == 0 and of(samples, "lvs_exporter_poll_errors_total") == 1
    assert of(samples, "lvs_service_connections_total", local_port="80", local_address="192.0.2.10") >= 0
    assert log.getvalue().count("modprobe ip_vs") == 1
    clock[0] += 1.0
    scrape(collector)
    assert log.getvalue().count("modprobe ip_vs") == 1  # said once while it lasts
    backend.down = False
    clock[0] += 1.0
    _, samples = scrape(collector)
    assert of(samples, "lvs_exporter_poll_ok") == 1 and of(samples, "lvs_exporter_poll_errors_total") == 2


def test_more_series_than_the_limit_leaves_the_table_out_and_says_why() -> None:
    sim = SimulatedDirector(seed=3)
    snapshot = sim.snapshot()
    dests = sum(len(service.dests) for service in snapshot.services)
    series = len(snapshot.services) * SERVICE_SERIES + dests * BACKEND_SERIES
    log = io.StringIO()
    _, samples = scrape(TableCollector(Source(lambda: sim, None, None, cache=0), series - 1, log=log))
    assert not [name for name, _ in samples if name.startswith(("lvs_service_", "lvs_backend_"))]
    assert of(samples, "lvs_exporter_series_refused") == series
    assert log.getvalue().strip() == (f"lvs-top exporter: the table would give {series} series, more than "
                                      f"--max-series {series - 1}: raise --max-series if the Prometheus "
                                      "server can take them")
    _, samples = scrape(TableCollector(Source(lambda: sim, None, None, cache=0), series))
    assert of(samples, "lvs_exporter_series_refused") == 0


def test_promtool_accepts_a_scrape(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        assert os.environ.get("CI") != "true", "CI installs Debian's prometheus for promtool"
        pytest.skip("promtool (Debian package prometheus) is not installed")
    sim = SimulatedDirector(seed=3)
    records = DrainRecords(tmp_path / "drains.json")
    web = sim.snapshot().service(WEB)
    assert web is not None
    records.add([DrainRecord(WEB, web.dests[0].key, 3, time.time(), "drain", 1)])
    text, _ = scrape(TableCollector(Source(lambda: sim, None, records, cache=0), 10_000))
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                             timeout=60)
    assert checked.returncode == 0 and checked.stdout + checked.stderr == "", checked.stdout + checked.stderr


def test_the_listen_address_is_checked_and_a_busy_port_is_one_sentence(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from lvs_tui.cli import main

    assert main(["exporter", "--demo", "--listen", "localhost"]) == 2
    assert "--listen must be address:port" in capsys.readouterr().err
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["exporter", "--demo", "--listen", f"127.0.0.1:{port}"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"lvs-top exporter: cannot listen on 127.0.0.1:{port} (Address already in use): is "
                   "another exporter running there? Choose another with --listen."]


def test_over_http_a_scrape_is_gzipped_fast_for_who_asks_and_plain_for_the_others() -> None:
    import gzip
    import threading
    import urllib.request

    from lvs_tui.exporter.serve import GZIP_LEVEL, listening

    sim = SimulatedDirector(seed=3)
    server = listening(TableCollector(Source(lambda: sim, None, None, cache=float("inf")), 10_000),
                       "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/metrics"

    def get(encoding: str | None) -> tuple[dict[str, str], bytes]:
        request = urllib.request.Request(url, headers={"Accept-Encoding": encoding} if encoding else {})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return dict(answer.headers.items()), answer.read()

    try:
        plain_headers, plain = get(None)
        zipped_headers, zipped = get("deflate, gzip;q=0.8")
        refused_headers, _ = get("gzip;q=0, identity")
    finally:
        server.shutdown()
        server.server_close()
    assert "Content-Encoding" not in plain_headers and "Content-Encoding" not in refused_headers
    assert zipped_headers["Content-Encoding"] == "gzip"
    assert int(zipped_headers["Content-Length"]) == len(zipped)
    assert GZIP_LEVEL == 1 and zipped[8] == 4  # the gzip header's XFL: 4 is the fastest level, 2 the best

    def table(text: bytes) -> list[str]:  # the scrape's own duration differs between two scrapes
        return [line for line in text.decode().splitlines() if "scrape_duration" not in line]

    assert table(gzip.decompress(zipped)) == table(plain) and "lvs_backend_weight{" in plain.decode()


@pytest.mark.parametrize(("header", "gzip_ok"), [
    ("gzip", True), ("GZIP", True), ("deflate, gzip;q=1.0", True), ("gzip; q=0.001", True),
    ("gzip;q=0", False), ("gzip; q=0.0", False), ("identity", False), ("", False), ("x-gzip", False),
])
def test_gzip_is_used_only_when_the_client_accepts_it(header: str, gzip_ok: bool) -> None:
    from lvs_tui.exporter.serve import accepts_gzip

    assert accepts_gzip(header) is gzip_ok
