"""A reading as Prometheus metric families (prometheus_client's): names, types, help and labels are
documented in docs/exporter.md, with how each maps to node_exporter's `node_ipvs_*`.

Labels follow node_exporter's ipvs collector where they overlap (`local_address`, `local_port`,
`local_mark`, `proto`, `remote_address`, `remote_port`), so its dashboards' queries carry over.
Counters are the kernel's 64-bit counters as read; rates are left to PromQL (`rate()`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric

from lvs_tui.exporter.source import Reading
from lvs_tui.health.state import Health
from lvs_tui.model.distribution import DestState, Verdict
from lvs_tui.model.records import Dest, Service, ServiceKey
from lvs_tui.ops.drain import DrainCounts, remaining

HEALTH_SERVICE_LABELS = ("proto", "local_address", "local_port", "local_mark", "family")
SERVICE_LABELS = (*HEALTH_SERVICE_LABELS, "scheduler")
BACKEND_LABELS = (*SERVICE_LABELS, "remote_address", "remote_port", "forward")

# (name without _total, help, Stats field), per service and per real server.
COUNTERS = (
    ("connections", "Connections scheduled", "conns"),
    ("incoming_packets", "Packets from clients", "inpkts"),
    ("outgoing_packets", "Packets to clients (NAT only: DR and TUN replies bypass the director)", "outpkts"),
    ("incoming_bytes", "Bytes from clients", "inbytes"),
    ("outgoing_bytes", "Bytes to clients (NAT only)", "outbytes"),
)
# (name, help, Dest field), per real server.
BACKEND_GAUGES = (
    ("connections_active", "Connections established (TCP) as the kernel counts them", "active_conns"),
    ("connections_inactive", "Connections not established: TCP in other states, every UDP flow",
     "inactive_conns"),
    ("connections_persistent", "Persistence templates pointing at the real server", "persistent_conns"),
    ("weight", "Weight (0: out of rotation, existing connections finish)", "weight"),
    ("upper_threshold", "Connection upper threshold (0: none)", "upper_threshold"),
    ("lower_threshold", "Connection lower threshold (0: none)", "lower_threshold"),
)
SERVICE_SERIES = len(COUNTERS) + 1  # + the distribution verdict
BACKEND_SERIES = len(COUNTERS) + len(BACKEND_GAUGES) + 2  # + draining, skewed
HEALTH_STATES = tuple(Health)


@dataclass(frozen=True, slots=True)
class Refusal:
    """More series than --max-series: the table is left out, this is said instead."""

    series: int
    limit: int

    @property
    def sentence(self) -> str:
        return (f"the table would give {self.series} series, more than --max-series {self.limit}: raise "
                "--max-series if the Prometheus server can take them")


def series_count(reading: Reading) -> int:
    """About how many series the table gives (health and drains add a few per server)."""
    snapshot = reading.snapshot
    if snapshot is None:
        return 0
    dests = sum(len(service.dests) for service in snapshot.services)
    return len(snapshot.services) * SERVICE_SERIES + dests * BACKEND_SERIES


def key_labels(key: ServiceKey) -> list[str]:
    """proto, local_address, local_port, local_mark, family: a fwmark service has only the mark
    and its family (a mark may have an IPv4 and an IPv6 service)."""
    if key.fwmark is not None:
        return ["", "", "", str(key.fwmark), key.family.value]
    assert key.protocol is not None
    return [key.protocol.value, key.address, str(key.port), "", key.family.value]


def service_labels(service: Service) -> list[str]:
    return [*key_labels(service.key), service.scheduler]


def backend_labels(service_part: list[str], dest: Dest) -> list[str]:
    return [*service_part, dest.address, str(dest.port), dest.forward.value]


def table_families(reading: Reading) -> Iterator[Metric]:
    """Every service and real server of the last good poll."""
    snapshot = reading.snapshot
    if snapshot is None:
        return
    service_counters = [CounterMetricFamily(f"lvs_service_{name}", f"{text}, for the virtual service",
                                            labels=SERVICE_LABELS) for name, text, _ in COUNTERS]
    backend_counters = [CounterMetricFamily(f"lvs_backend_{name}", f"{text}, for the real server",
                                            labels=BACKEND_LABELS) for name, text, _ in COUNTERS]
    gauges = [GaugeMetricFamily(f"lvs_backend_{name}", text, labels=BACKEND_LABELS)
              for name, text, _ in BACKEND_GAUGES]
    skewed_service = GaugeMetricFamily(
        "lvs_service_distribution_skewed", "1 when the distribution check finds the service's traffic "
        "off its scheduler's promise, 0 when as promised; absent while it cannot judge",
        labels=SERVICE_LABELS)
    skewed = GaugeMetricFamily(
        "lvs_backend_distribution_skewed", "1 when the distribution check flags the real server (off its "
        "share, starved, or served at weight 0), else 0; absent while it cannot judge", labels=BACKEND_LABELS)
    draining = GaugeMetricFamily(
        "lvs_backend_draining", "1 while a drain of the real server is recorded (dashboard, lvs-top drain, "
        "rollout, the health checker's quiesce), else 0", labels=BACKEND_LABELS)
    left = GaugeMetricFamily(
        "lvs_backend_drain_remaining_connections", "Connection entries the drain still waits for (its "
        "completion criterion); only while draining", labels=BACKEND_LABELS)
    fields = [field for _, _, field in COUNTERS]
    gauge_fields = [field for _, _, field in BACKEND_GAUGES]
    for service in snapshot.services:
        key = service.key
        part = service_labels(service)
        for family, field in zip(service_counters, fields, strict=True):
            family.add_metric(part, getattr(service.stats, field))
        spread = reading.spreads.get(key)
        if spread is not None and spread.verdict in (Verdict.OK, Verdict.SKEWED):
            skewed_service.add_metric(part, 1.0 if spread.verdict is Verdict.SKEWED else 0.0)
        for dest in service.dests:
            labels = backend_labels(part, dest)
            for family, field in zip(backend_counters, fields, strict=True):
                family.add_metric(labels, getattr(dest.stats, field))
            for gauge, attribute in zip(gauges, gauge_fields, strict=True):
                gauge.add_metric(labels, getattr(dest, attribute))
            share = None if spread is None else spread.of(dest.key)
            if share is not None and share.state is not DestState.SETTLING:
                skewed.add_metric(labels, 1.0 if share.state is DestState.SKEWED else 0.0)
            record = reading.drains.get((key, dest.key))
            draining.add_metric(labels, 0.0 if record is None else 1.0)
            if record is not None:
                left.add_metric(labels, remaining(key, DrainCounts.of(dest), record.wait_inactive))
    yield from service_counters
    yield from backend_counters
    yield from gauges
    yield from (skewed_service, skewed, draining, left)


def health_families(reading: Reading) -> Iterator[Metric]:
    """The health checker's view of the servers it checks, from its state file."""
    view = reading.health
    if view is None:  # no checker has run here: nothing to say, and nothing to alert on
        return
    up = GaugeMetricFamily("lvs_health_checker_up", "1 when the health checker's state file is readable "
                           "and its checker runs; 0 when it stopped or its file is damaged (absent: "
                           "no checker has run)")
    up.add_metric([], 1.0 if view.running and view.problem is None else 0.0)
    yield up
    if view.problem is not None:
        return
    updated = GaugeMetricFamily("lvs_health_state_updated_timestamp_seconds",
                                "When the health checker last wrote its state file (Unix time)")
    updated.add_metric([], view.updated)
    yield updated
    state = GaugeMetricFamily("lvs_backend_health_state", "1 for the real server's current health state "
                              "(checking, healthy, unhealthy, disabled), 0 for the others",
                              labels=(*HEALTH_SERVICE_LABELS, "remote_address", "remote_port", "state"))
    for (service, dest), status in sorted(view.servers.items(), key=lambda item: (item[0][0].id,
                                                                                  item[0][1].id)):
        part = key_labels(service)
        for health in HEALTH_STATES:
            state.add_metric([*part, dest.address, str(dest.port), health.value],
                             1.0 if status.state is health else 0.0)
    yield state


def exporter_families(reading: Reading, scrape_seconds: float, refusal: Refusal | None) -> Sequence[Metric]:
    """The director's and the exporter's own."""
    families: list[Metric] = []
    snapshot = reading.snapshot
    if snapshot is not None:
        info = InfoMetricFamily("lvs_ipvs", "The kernel's IPVS version and connection table size")
        info.add_metric([], {"version": snapshot.info.version,
                             "conn_table_size": str(snapshot.info.conn_table_size)})
        families.append(info)
        last = GaugeMetricFamily("lvs_exporter_last_good_poll_timestamp_seconds",
                                 "When the table shown was read (Unix time)")
        last.add_metric([], snapshot.time)
        families.append(last)
    ok = GaugeMetricFamily("lvs_exporter_poll_ok", "1 when the latest poll of the table succeeded; 0 "
                           "when it failed (the table shown is then the last good one)")
    ok.add_metric([], 1.0 if reading.polled_ok else 0.0)
    errors = CounterMetricFamily("lvs_exporter_poll_errors", "Polls of the table that failed")
    errors.add_metric([], reading.poll_errors)
    poll = GaugeMetricFamily("lvs_exporter_poll_duration_seconds", "How long the latest poll took")
    poll.add_metric([], reading.poll_seconds)
    scrape = GaugeMetricFamily("lvs_exporter_scrape_duration_seconds",
                               "How long the previous scrape took to collect, poll included")
    scrape.add_metric([], scrape_seconds)
    refused = GaugeMetricFamily("lvs_exporter_series_refused", "Series the table would give when more "
                                "than --max-series (the table is then left out), else 0")
    refused.add_metric([], 0.0 if refusal is None else refusal.series)
    return [*families, ok, errors, poll, scrape, refused]
