"""lvs_tui.ops.drain.DrainBoard: every drain of a session, followed poll by poll."""

from __future__ import annotations

from lvs_tui.model.records import Dest, Family, Info, Service, ServiceKey, Snapshot
from lvs_tui.ops.drain import DrainBoard

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
TLS = ServiceKey.inet("tcp", "192.0.2.10", 443)
HOST, OTHER = "198.51.100.7", "198.51.100.8"


def server(address: str, port: int = 80, weight: int = 0, active: int = 0) -> Dest:
    return Dest(address, port, Family.IPV4, weight=weight, active_conns=active)


def table(*services: tuple[ServiceKey, tuple[Dest, ...]]) -> Snapshot:
    return Snapshot(0.0, 0.0, Info("1.2.1", 4096), tuple(Service(key, "wlc", dests=dests)
                                                          for key, dests in services))


def one(dest: Dest) -> Snapshot:
    return table((WEB, (dest,)))


def test_a_started_drain_follows_the_counts_and_remembers_the_weight() -> None:
    board = DrainBoard()
    board.start(WEB, server(HOST, active=10), previous_weight=4, at=0.0)
    assert board.active() and board.previous_weight(WEB, server(HOST).key) == 4
    first = board.status(WEB, server(HOST).key)
    assert first is not None and first.remaining == 10 and not first.drained
    assert board.update(one(server(HOST, active=5)), at=5.0) == []
    halfway = board.status(WEB, server(HOST).key)
    assert halfway is not None and halfway.remaining == 5 and halfway.progress == 0.5
    assert board.status(TLS, server(HOST).key) is None  # not draining there


def test_auto_remove_is_due_exactly_once_when_the_server_is_drained() -> None:
    board = DrainBoard()
    board.start(WEB, server(HOST, active=3), previous_weight=2, at=0.0, remove_when_drained=True)
    assert board.auto_remove(WEB, server(HOST).key) is not None
    assert board.update(one(server(HOST, active=1)), at=1.0) == []
    drained = one(server(HOST, active=0))
    due = board.update(drained, at=2.0)
    assert [(service.key, dest.key) for service, dest in due] == [(WEB, server(HOST).key)]
    assert board.update(drained, at=3.0) == []  # already handed out: the caller removes it once


def test_a_drain_without_auto_remove_is_never_due() -> None:
    board = DrainBoard()
    board.start(WEB, server(HOST, active=3), previous_weight=2, at=0.0)
    assert board.auto_remove(WEB, server(HOST).key) is None
    assert board.update(one(server(HOST)), at=1.0) == []
    status = board.status(WEB, server(HOST).key)
    assert status is not None and status.drained  # still shown, as drained


def test_a_deadline_makes_removal_due_even_when_connections_remain() -> None:
    board = DrainBoard()
    board.start(WEB, server(HOST, active=50), previous_weight=2, at=0.0, deadline=60.0)
    label = board.auto_remove(WEB, server(HOST).key)
    assert label is not None
    busy = one(server(HOST, active=40))
    assert board.update(busy, at=59.0) == []
    assert [dest.key for _, dest in board.update(busy, at=60.0)] == [server(HOST).key]
    assert board.update(busy, at=61.0) == []
    board.start(TLS, server(HOST, active=1), previous_weight=2, at=0.0, remove_when_drained=True)
    assert board.auto_remove(TLS, server(HOST).key) not in (None, label)  # the row tells them apart


def test_a_drain_ends_when_the_server_gets_a_weight_again_and_its_weight_is_forgotten() -> None:
    board = DrainBoard()
    board.start(WEB, server(HOST, active=3), previous_weight=4, at=0.0)
    assert board.update(one(server(HOST, weight=4, active=3)), at=1.0) == []
    assert not board.active() and board.status(WEB, server(HOST).key) is None
    assert board.previous_weight(WEB, server(HOST).key) is None


def test_a_drain_ends_when_the_server_is_removed_but_its_weight_is_kept() -> None:
    board = DrainBoard()
    board.start(WEB, server(HOST, active=3), previous_weight=4, at=0.0, remove_when_drained=True)
    assert board.update(one(server(OTHER, weight=1)), at=1.0) == []  # HOST gone: nothing to remove
    assert not board.active()
    assert board.previous_weight(WEB, server(HOST).key) == 4  # to bring a re-added server back
    board.start(TLS, server(HOST, active=1), previous_weight=9, at=1.0)
    assert board.update(table(), at=2.0) == []  # the whole service is gone
    assert not board.active() and board.previous_weight(TLS, server(HOST).key) == 9


def test_remember_fills_in_a_weight_but_never_overrides_this_session_s() -> None:
    board = DrainBoard()
    board.remember(WEB, server(HOST).key, 6)
    assert board.previous_weight(WEB, server(HOST).key) == 6
    board.start(WEB, server(OTHER), previous_weight=2, at=0.0)
    board.remember(WEB, server(OTHER).key, 7)
    assert board.previous_weight(WEB, server(OTHER).key) == 2


def test_hosts_aggregate_every_service_a_host_drains_in() -> None:
    board = DrainBoard()
    board.start(WEB, server(OTHER, active=1), previous_weight=1, at=0.0)
    board.start(WEB, server(HOST, active=4), previous_weight=1, at=0.0)
    board.start(TLS, server(HOST, 443, active=6), previous_weight=1, at=0.0)
    board.update(table((WEB, (server(HOST), server(OTHER, active=1))), (TLS, (server(HOST, 443, active=6),))),
                 at=1.0)
    hosts = board.hosts()
    assert [(address, count) for address, count, _ in hosts] == [(HOST, 2), (OTHER, 1)]
    host_status = hosts[0][2]
    assert host_status.remaining == 6 and not host_status.drained  # WEB is empty, TLS is not
