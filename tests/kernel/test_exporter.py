"""`lvs-top exporter` on the real kernel: a scrape passes `promtool check metrics`, and every counter
and gauge equals ipvsadm's (`--stats --exact`, `--thresholds`, `--persistent-conn`) for a table
with tcp, udp, sctp, fwmark and IPv6 services under traffic; with ip_vs unloaded it keeps
answering, with the last table and an error metric, and recovers once the module is back."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.kernel.lab import lvs_top
from tests.kernel.lab.commands import (
    counters_settled,
    estimator_stopped,
    flush_connections,
    ipvs_unloaded,
    ipvsadm_lines,
    wait_until,
)
from tests.kernel.lab.compare import COUNTERS, Table, from_ipvsadm, read_listings
from tests.kernel.lab.tables import MIXED_RULES
from tests.kernel.lab.topology import NatLab

LISTEN = "127.0.0.1:19743"
URL = f"http://{LISTEN}/metrics"
NAMES = dict(zip(("connections", "incoming_packets", "outgoing_packets", "incoming_bytes", "outgoing_bytes"),
                 COUNTERS, strict=True))
GAUGES = {"weight": "weight", "upper_threshold": "upper_threshold", "lower_threshold": "lower_threshold",
          "connections_active": "active_conns", "connections_inactive": "inactive_conns",
          "connections_persistent": "persistent_conns"}


@contextlib.contextmanager
def exporter(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    args = ("exporter", "--listen", LISTEN, "--cache", "0", "--state", str(tmp_path / "health.json"),
            "--drain-records", str(tmp_path / "drains.json"))
    log = (tmp_path / "exporter.log").open("ab")
    proc = lvs_top.start(*args, log=log)
    try:
        wait_until("the exporter's first answer", lambda: _answers(proc), timeout=120, step=0.2)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        print(f"--- the exporter's log ---\n{(tmp_path / 'exporter.log').read_text()}")


def _answers(proc: subprocess.Popen[bytes]) -> bool:
    if proc.poll() is not None:
        raise RuntimeError(f"the exporter exited ({proc.returncode})")
    try:
        scrape()
    except OSError:
        return False
    return True


def scrape() -> str:
    with urllib.request.urlopen(URL, timeout=60) as answer:  # loopback, our own URL
        return str(answer.read().decode())


def service_id(labels: dict[str, str]) -> str:
    if labels["local_mark"]:
        return f"fwm:{labels['local_mark']}" + (":ipv6" if labels["family"] == "ipv6" else "")
    address = labels["local_address"]
    host = f"[{address}]" if ":" in address else address
    return f"{labels['proto']}:{host}:{labels['local_port']}"


def dest_id(labels: dict[str, str]) -> str:
    address = labels["remote_address"]
    return f"[{address}]:{labels['remote_port']}" if ":" in address else f"{address}:{labels['remote_port']}"


def from_scrape(text: str) -> Table:
    """The counters and gauges of a scrape in compare.Table's shape (no rates: PromQL makes those)."""
    services: dict[str, Any] = {}
    singles: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels = sample.name, sample.labels
            if not name.startswith(("lvs_service_", "lvs_backend_")):
                singles[name] = sample.value
                continue
            service = services.setdefault(service_id(labels), {"scheduler": labels.get("scheduler"),
                                                                "stats": {}, "dests": {}})
            kind, _, metric = name.removeprefix("lvs_").partition("_")
            counter = NAMES.get(metric.removesuffix("_total")) if metric.endswith("_total") else None
            target = service if kind == "service" else \
                service["dests"].setdefault(dest_id(labels), {"forward": labels["forward"], "stats": {}})
            if counter is not None:
                target["stats"][counter] = int(sample.value)
            elif kind == "backend" and metric in GAUGES:
                target[GAUGES[metric]] = int(sample.value)
    return {"services": services, "singles": singles}


def expected_of(table: Table) -> Table:
    """ipvsadm's table cut to what the exporter exports."""
    fields = ("forward", *GAUGES.values())
    return {"services": {
        sid: {"scheduler": service["scheduler"],
              "stats": {name: service["stats"][name] for name in COUNTERS},
              "dests": {did: {**{name: dest[name] for name in fields},
                              "stats": {name: dest["stats"][name] for name in COUNTERS}}
                        for did, dest in service["dests"].items()}}
        for sid, service in table["services"].items()}}


def test_a_scrape_passes_promtool_and_every_counter_and_gauge_equals_ipvsadm(
    topology: NatLab, tmp_path: Path,
) -> None:
    flush_connections()
    ipvsadm_lines(MIXED_RULES)
    assert topology.requests(12) == {"rs1": 2, "rs2": 4, "rs3": 6}
    assert topology.udp(30, 300) == 30
    with exporter(tmp_path):
        wait_until("the kernel's counters of the requests", lambda: from_scrape(scrape())["services"]
                   .get("tcp:10.10.0.1:80", {}).get("stats", {}).get("conns") == 12, timeout=30, step=0.5)
        with estimator_stopped():  # counters hold still between ipvsadm's reads and the scrape
            for _ in range(4):
                before = from_ipvsadm(read_listings())
                text = scrape()
                if from_ipvsadm(read_listings()) == before:
                    break
            else:
                raise AssertionError("the table kept changing around the scrape")
    checked = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
                             timeout=60)
    assert checked.returncode == 0 and not (checked.stdout + checked.stderr), checked.stdout + checked.stderr
    actual, expected = from_scrape(text), expected_of(before)
    assert {sid: service for sid, service in actual["services"].items()} == expected["services"]
    ids = set(actual["services"])
    assert {"tcp:10.10.0.1:80", "udp:10.10.0.1:9000", "sctp:10.10.0.1:3868", "fwm:5",
            "tcp:[2001:db8::1]:443"} <= ids, ids
    assert actual["services"]["udp:10.10.0.1:9000"]["stats"]["inpkts"] == 30  # it carried the traffic
    assert actual["singles"]["lvs_exporter_poll_ok"] == 1
    print(f"scrape: {len(text.splitlines())} lines, {len(ids)} services, all equal to ipvsadm")


def test_with_ip_vs_unloaded_it_answers_with_the_last_table_and_an_error_then_recovers(
    tmp_path: Path,
) -> None:
    ipvsadm_lines(["-A -t 10.10.0.1:80 -s rr", "-a -t 10.10.0.1:80 -r 10.20.1.2:80 -m -w 3"])
    with exporter(tmp_path):
        assert set(from_scrape(scrape())["services"]) == {"tcp:10.10.0.1:80"}
        with ipvs_unloaded():
            gone = from_scrape(scrape())
        ipvsadm_lines(["-A -u 10.10.0.1:53 -s rr"])
        back = from_scrape(scrape())
    assert gone["singles"]["lvs_exporter_poll_ok"] == 0
    assert gone["singles"]["lvs_exporter_poll_errors_total"] >= 1
    assert set(gone["services"]) == {"tcp:10.10.0.1:80"}  # the last good table, still scraped
    log = (tmp_path / "exporter.log").read_text()
    assert "IPVS is not available" in log and "Traceback" not in log
    assert back["singles"]["lvs_exporter_poll_ok"] == 1
    assert set(back["services"]) == {"udp:10.10.0.1:53"}


PROMETHEUS = "127.0.0.1:19090"
SCRAPE_EVERY = 1  # seconds
QUIET = 8  # seconds of still counters before and after the requests, in the window


@contextlib.contextmanager
def prometheus(tmp_path: Path) -> Iterator[None]:
    """A real Prometheus server (Debian's) on loopback, scraping the exporter every second."""
    config = tmp_path / "prometheus.yml"
    config.write_text(f"global:\n  scrape_interval: {SCRAPE_EVERY}s\n  scrape_timeout: {SCRAPE_EVERY}s\n"
                      f"scrape_configs:\n  - job_name: lvs\n    static_configs:\n"
                      f"      - targets: ['{LISTEN}']\n")
    log = (tmp_path / "prometheus.log").open("ab")
    proc = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path}/tsdb",
                             f"--web.listen-address={PROMETHEUS}"], stdout=log, stderr=log)
    try:
        wait_until("Prometheus scraping the exporter", lambda: query("up{job='lvs'}") == [1.0], timeout=180,
                   step=1)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()


def query(expression: str, at: float | None = None) -> list[float]:
    """The values of an instant query through Prometheus' HTTP API (sorted by their labels)."""
    parameters = {"query": expression, **({} if at is None else {"time": f"{at:.3f}"})}
    url = f"http://{PROMETHEUS}/api/v1/query?{urllib.parse.urlencode(parameters)}"
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            body = json.loads(answer.read())
    except OSError:
        return []
    results = sorted(body["data"]["result"], key=lambda item: sorted(item["metric"].items()))
    return [float(item["value"][1]) for item in results]


def test_a_real_prometheus_counts_the_connections_each_real_server_answered(
    topology: NatLab, tmp_path: Path,
) -> None:
    flush_connections()
    ipvsadm_lines(["-A -t 10.10.0.1:80 -s wrr", "-a -t 10.10.0.1:80 -r 10.20.1.2:80 -m -w 3",
                   "-a -t 10.10.0.1:80 -r 10.20.2.2:80 -m -w 2",
                   "-a -t 10.10.0.1:80 -r 10.20.3.2:80 -m -w 1"])
    counters = "lvs_backend_connections_total{local_port='80'}"
    by_server = f"sum by (remote_address) ({counters})"
    with exporter(tmp_path), prometheus(tmp_path):
        wait_until("three real servers in Prometheus", lambda: len(query(by_server)) == 3, timeout=60, step=1)
        counters_settled("tcp:10.10.0.1:80")  # an earlier test's counts, folded in late: see flush
        start = time.time()
        time.sleep(QUIET)  # a window with still counters at both ends
        before = sum(query(by_server))  # not 0 for servers an earlier test used
        answered = topology.requests(60)
        # The kernel folds its counters every 2 s; then a few scrapes.
        wait_until("the connections in Prometheus", lambda: sum(query(by_server)) == before + 60, timeout=60,
                   step=1)
        time.sleep(QUIET)
        end = time.time()
        window = int(end - start) + 1
        exact = query(f"{by_server} - sum by (remote_address) ({counters} offset {window}s)", at=end)
        increase = query(f"sum by (remote_address) (increase({counters}[{window}s]))", at=end)
    expected = [float(answered.get(name, 0)) for name in ("rs1", "rs2", "rs3")]  # 10.20.1.2, .2.2, .3.2
    print(f"answered {answered}; Prometheus over {window} s: exact {exact}, increase() {increase}")
    assert answered == {"rs1": 30, "rs2": 20, "rs3": 10}
    assert exact == expected
    # increase() extrapolates what its samples span (at least the window less a scrape interval at
    # each end) to the whole window, as Prometheus documents: never less than the count, at most
    # window / (window - 2 intervals) times it.
    assert len(increase) == 3 and all(
        count <= found <= count * window / (window - 2 * SCRAPE_EVERY) + 1e-9
        for count, found in zip(expected, increase, strict=True)), (expected, increase)
