"""The ETA of a drain on a persistent service: a floor from the templates the connection table
lists, steady from poll to poll, and no figure at all where none would be honest."""

from __future__ import annotations

import random
from collections.abc import Collection, Iterator

import pytest

from lvs_tui.ipvs.backend import DestEdit
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.model.connections import Connection
from lvs_tui.model.records import Dest, DestKey, Family, Info, Service, ServiceKey, Snapshot
from lvs_tui.ops.drain import (
    TEMPLATES_READ_EVERY,
    DrainBoard,
    DrainCounts,
    DrainStatus,
    DrainTracker,
    aggregate,
    eta_text,
    read_templates,
)
from lvs_tui.sim.director import SimulatedDirector

pytestmark = pytest.mark.unit

TLS = ServiceKey.inet("tcp", "192.0.2.10", 443)
WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
HOST = "198.51.100.11"
TEMPLATES = 400
EVERY = 6  # a template expires every 6 s: the last one 2400 s after the drain began


class PersistentDrain:
    """A drained server of a persistent service: connections that come and go around 60 (returning
    clients), 300 TIME_WAIT entries, and templates expiring one every 6 s."""

    def __init__(self) -> None:
        self.now = 0.0
        self.reads = 0
        self.renewed_until = 0.0  # a returning client renewed the last template until then
        self.rng = random.Random(7)

    def templates(self) -> list[float]:
        """The expiry time of each template still in the table."""
        last = [max(self.renewed_until, EVERY * TEMPLATES)]
        return [float(EVERY * n) for n in range(1, TEMPLATES) if EVERY * n > self.now] + \
            [t for t in last if t > self.now]

    def counts(self) -> DrainCounts:
        return DrainCounts(60 + self.rng.randint(-10, 10), 300, len(self.templates()))

    def dest(self) -> Dest:
        counts = self.counts()
        return Dest(HOST, 443, Family.IPV4, weight=0, active_conns=counts.active,
                    inactive_conns=counts.inactive, persistent_conns=counts.persistent)

    def snapshot(self, whole: Collection[ServiceKey] | None = None) -> Snapshot:
        return Snapshot(0.0, self.now, Info("1.2.1", 4096), (Service(TLS, "wlc", dests=(self.dest(),)),))

    def connections(self, address: str, port: int | None) -> Iterator[Connection]:
        assert (address, port) == (HOST, 443)
        self.reads += 1
        for n in range(50):
            yield Connection("tcp", f"203.0.113.{n}", 40000 + n, "192.0.2.10", 443, HOST, 443,
                             "ESTABLISHED", 900, False)
        for n, expiry in enumerate(self.templates()):
            yield Connection("tcp", f"198.18.{n // 250}.{n % 250}", 0, "192.0.2.10", 443, HOST, 443,
                             "NONE", round(expiry - self.now), True)
        # The same server's template for another service: not this drain's.
        yield Connection("tcp", "198.18.9.9", 0, "192.0.2.10", 80, HOST, 443, "NONE", 9000, True)


def follow(drain: PersistentDrain, board: DrainBoard, until: float) -> list[DrainStatus]:
    statuses = []
    while drain.now < until:
        drain.now += 1.0
        board.update(drain.snapshot(), drain.now)
        status = board.status(TLS, drain.dest().key)
        assert status is not None
        statuses.append(status)
    return statuses


def started(drain: PersistentDrain, board: DrainBoard) -> DrainBoard:
    board.start(TLS, drain.dest(), previous_weight=100, at=drain.now)
    return board


def test_a_decay_fitted_eta_of_a_persistent_drain_jumps_by_hours() -> None:
    """What the dashboard did: a line fitted through connections plus templates (8 min to 4 h)."""
    drain = PersistentDrain()
    tracker = DrainTracker(TLS, drain.dest().key, DrainCounts(60, 300, 0), 0.0, 100)
    etas = []
    for second in range(1, 300):
        drain.now = float(second)
        counts = drain.counts()
        whole = DrainCounts(counts.active + counts.persistent, counts.inactive, 0)  # templates as conns
        eta = tracker.update(whole, drain.now).eta
        if eta is not None:
            etas.append(eta)
    assert min(etas) < 15 * 60 and max(etas) > 3 * 3600


def test_the_eta_of_a_persistent_drain_is_the_last_template_and_holds_still() -> None:
    drain = PersistentDrain()
    statuses = follow(drain, started(drain, DrainBoard(drain.connections)), until=300)
    ends = [drain_now + status.eta for drain_now, status in enumerate(statuses, start=1)
            if status.eta is not None]
    assert len(ends) == len(statuses)  # an estimate from the first poll on
    assert all(status.eta_at_least for status in statuses)
    assert max(ends) - min(ends) <= 2  # 2400 s after the start, whole seconds of the table apart
    assert min(ends) == pytest.approx(EVERY * TEMPLATES, abs=2)
    assert eta_text(statuses[-1]) == "ETA ≥ 35m00s (templates)"
    assert eta_text(statuses[-1], short=True) == "≥35m00s"


def test_the_table_is_read_every_15_s_not_every_poll() -> None:
    drain = PersistentDrain()
    follow(drain, started(drain, DrainBoard(drain.connections)), until=300)
    assert drain.reads == pytest.approx(300 / TEMPLATES_READ_EVERY, abs=1)


def test_a_renewed_template_moves_the_floor_out_at_the_next_read() -> None:
    drain = PersistentDrain()
    board = started(drain, DrainBoard(drain.connections))
    follow(drain, board, until=100)
    drain.renewed_until = 4000.0  # a returning client came back to it
    statuses = follow(drain, board, until=100 + TEMPLATES_READ_EVERY + 1)
    last = statuses[-1]
    assert last.eta is not None and drain.now + last.eta == pytest.approx(4000, abs=2)
    assert eta_text(last).endswith("(templates renewed)") and not statuses[0].renewed


def test_without_a_connection_table_there_is_no_eta_and_it_says_why() -> None:
    drain = PersistentDrain()
    statuses = follow(drain, started(drain, DrainBoard()), until=120)
    assert all(status.eta is None for status in statuses)
    assert eta_text(statuses[-1]) == "ETA ? (no connection table)"
    assert eta_text(statuses[-1], short=True) == "?"


def test_a_table_that_cannot_be_read_is_said_and_tried_again() -> None:
    drain = PersistentDrain()
    failures = iter([IpvsError("IPVS is not loaded")])

    def flaky(address: str, port: int | None) -> Iterator[Connection]:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return drain.connections(address, port)

    board = started(drain, DrainBoard(flaky))
    statuses = follow(drain, board, until=TEMPLATES_READ_EVERY + 2)
    assert eta_text(statuses[0]) == "ETA ? (no connection table: IPVS is not loaded)"
    assert statuses[-1].eta is not None and statuses[-1].eta_at_least


def test_templates_the_table_does_not_list_give_no_eta_and_no_extra_reads() -> None:
    drain = PersistentDrain()
    reads = []

    def elsewhere(address: str, port: int | None) -> Iterator[Connection]:
        reads.append(drain.now)
        # Only templates of another virtual address: none of this service's.
        return (conn._replace(virtual="192.0.2.99") for conn in drain.connections(address, port))

    statuses = follow(drain, started(drain, DrainBoard(elsewhere)), until=60)
    assert eta_text(statuses[-1]) == "ETA ? (templates not listed)"
    assert len(reads) == 4  # every 15 s, not every poll


def test_once_the_templates_are_gone_the_connections_decay_gives_the_eta() -> None:
    tracker = DrainTracker(WEB, Dest(HOST, 80, Family.IPV4).key, DrainCounts(100, 0, 2), 0.0, 1)
    status = tracker.update(DrainCounts(50, 0, 0), at=10.0)
    assert status.eta == pytest.approx(10.0) and not status.eta_at_least
    assert eta_text(status) == "ETA 10s"


def test_templates_are_counted_for_their_own_service_only() -> None:
    drain = PersistentDrain()
    reading = read_templates(TLS, drain.connections(HOST, 443), at=0.0)
    assert reading.count == TEMPLATES and reading.last_expiry == EVERY * TEMPLATES
    assert read_templates(WEB, drain.connections(HOST, 443), at=0.0).count == 1


def test_a_host_is_as_late_as_its_latest_part_and_unknown_if_any_part_is() -> None:
    floor = DrainStatus(DrainCounts(5, 0, 3), 8, 0.5, 600.0, False, eta_at_least=True)
    quick = DrainStatus(DrainCounts(2, 0, 0), 2, 0.8, 20.0, False)
    unknown = DrainStatus(DrainCounts(2, 0, 3), 5, 0.1, None, False, eta_unknown="no connection table")
    both = aggregate([floor, quick])
    assert both.eta == 600.0 and both.eta_at_least
    assert eta_text(aggregate([floor, unknown])) == "ETA ? (no connection table)"


def test_the_demo_drain_of_a_persistent_server_shows_a_steady_floor() -> None:
    """On the simulated director, returning clients keep renewing the drained server's templates
    (the kernel does so too, with expire_quiescent_template=0): the drain cannot end sooner than
    the last template's expiry, about one persistence timeout (360 s) ahead, poll after poll."""
    now = [0.0]
    director = SimulatedDirector(seed=1, clock=lambda: now[0], wall_clock=lambda: 0.0)
    server = DestKey("198.51.100.11", 443)
    director.edit_dest(TLS, server, DestEdit(weight=0))
    board = DrainBoard(director.connections)
    service = director.snapshot().service(TLS)
    assert service is not None and service.persistence_timeout == 360
    dest = service.dest(server)
    assert dest is not None and dest.persistent_conns > 0
    board.start(TLS, dest, previous_weight=100, at=0.0)
    etas = []
    for second in range(1, 181):
        now[0] = float(second)
        board.update(director.snapshot(), now[0])
        status = board.status(TLS, server)
        assert status is not None and status.eta is not None and status.eta_at_least
        etas.append(status.eta)
    assert min(etas) >= 300 and max(etas) <= 360
