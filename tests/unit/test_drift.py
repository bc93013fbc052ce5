"""Drift between two directors' tables: every setting an HA pair must agree on, and nothing else."""

from __future__ import annotations

import dataclasses

import pytest

from lvs_tui.model.drift import drift, sync_problems, sync_roles
from lvs_tui.model.records import (
    Dest,
    DestKey,
    Family,
    Forward,
    Info,
    Service,
    ServiceKey,
    Snapshot,
    Stats,
    SyncDaemon,
    Tunnel,
    TunnelType,
)

pytestmark = pytest.mark.unit

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
DNS = ServiceKey.inet("udp", "192.0.2.10", 53)


def table(*services: Service) -> Snapshot:
    return Snapshot(time=0.0, monotonic=0.0, info=Info("1.2.1", 4096), services=services)


def web(*dests: Dest, **settings: object) -> Service:
    return dataclasses.replace(Service(WEB, "wrr", dests=dests), **settings)  # type: ignore[arg-type]


def server(last: int, **settings: object) -> Dest:
    return dataclasses.replace(Dest(f"10.0.0.{last}", 80, Family.IPV4), **settings)  # type: ignore[arg-type]


def sentences(left: Snapshot, right: Snapshot) -> list[str]:
    return [difference.sentence("lb1", "lb2") for difference in drift(left, right)]


def test_the_same_table_with_other_counters_and_connections_does_not_drift() -> None:
    busy = web(server(1, active_conns=40, stats=Stats(conns=900, inbytes=10**9)), stats=Stats(conns=900))
    assert drift(table(web(server(1))), table(busy)) == []


def test_each_setting_of_a_real_server_that_differs_is_one_sentence() -> None:
    gue = Tunnel(TunnelType.GUE, 6080, ("csum",))
    left = table(web(server(1, weight=3), server(2), server(3, forward=Forward.TUNNEL, tunnel=gue)))
    right = table(web(server(1, weight=1, upper_threshold=100), server(2, forward=Forward.ROUTE),
                      server(3, forward=Forward.TUNNEL, tunnel=Tunnel(TunnelType.IPIP))))
    assert sentences(left, right) == [
        "tcp:192.0.2.10:80 -> 10.0.0.1:80: weight 3 on lb1, 1 on lb2",
        "tcp:192.0.2.10:80 -> 10.0.0.1:80: upper threshold 0 on lb1, 100 on lb2",
        "tcp:192.0.2.10:80 -> 10.0.0.2:80: forwarding masq on lb1, route on lb2",
        "tcp:192.0.2.10:80 -> 10.0.0.3:80: tunnel gue:6080 csum on lb1, ipip on lb2",
    ]


def test_services_and_servers_on_one_side_only_are_named_with_their_side() -> None:
    left = table(web(server(1), server(2)), Service(DNS, "rr"))
    right = table(web(server(1), server(4)))
    assert sentences(left, right) == [
        "tcp:192.0.2.10:80 -> 10.0.0.2:80: only on lb1",
        "tcp:192.0.2.10:80 -> 10.0.0.4:80: only on lb2",
        "udp:192.0.2.10:53: only on lb1",
    ]
    assert [d.dest for d in drift(left, right)][:2] == [DestKey("10.0.0.2", 80), DestKey("10.0.0.4", 80)]


def test_service_settings_and_persistence_only_where_it_means_something() -> None:
    assert sentences(table(web(scheduler="wrr")), table(web(scheduler="mh", flags=("mh-fallback",)))) == [
        "tcp:192.0.2.10:80: scheduler wrr on lb1, mh on lb2",
        "tcp:192.0.2.10:80: flags none on lb1, mh-fallback on lb2",
    ]
    # The kernel keeps a timeout and netmask on a service that is not persistent: they do nothing.
    assert drift(table(web(persistence_timeout=300, netmask="255.255.255.0")), table(web())) == []
    sticky = ("persistent",)
    assert sentences(table(web(flags=sticky, persistence_timeout=300)),
                     table(web(flags=sticky, persistence_timeout=360))) == [
        "tcp:192.0.2.10:80: persistence timeout 300 on lb1, 360 on lb2"]


MASTER, BACKUP = SyncDaemon("master", "eth1", 5), SyncDaemon("backup", "eth1", 5)


def test_a_pair_whose_master_has_a_backup_on_the_other_side_is_fine_and_says_its_roles() -> None:
    assert sync_problems([MASTER], [BACKUP], "lb1", "lb2") == []
    assert sync_problems([MASTER], [SyncDaemon("backup", "eth1", 0)], "lb1", "lb2") == []  # 0 takes any id
    assert sync_problems([MASTER, BACKUP], [MASTER, BACKUP], "lb1", "lb2") == []
    assert sync_problems([], [], "lb1", "lb2") == []  # no sync at all: a choice, not a drift
    assert sync_roles([MASTER, BACKUP]) == "master (sync id 5, eth1), backup (sync id 5, eth1)"
    assert sync_roles([]) == "none"


def test_a_master_without_a_backup_or_with_another_sync_id_is_named() -> None:
    assert sync_problems([], [MASTER], "lb1", "lb2") == [
        "lb1 runs no sync backup for lb2's master: the connections lb2 holds are lost if lb1 takes over"]
    assert sync_problems([MASTER], [SyncDaemon("backup", "eth1", 6)], "lb1", "lb2") == [
        "lb1's sync master sends sync id 5, lb2's backup takes only 6: it ignores what lb1 sends"]
