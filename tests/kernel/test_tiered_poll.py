"""The dashboard's tiered poll on the real kernel (lvs_tui.ipvs.tiers): the services named are read
whole and equal a full poll's; every other service has the weights, forwarding methods and
connection counts of now (from /proc/net/ip_vs) with the counters of its last whole read; and
every service is read whole within the rotation, as the snapshot's ages say."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lvs_tui.ipvs.kernel import KernelBackend
from lvs_tui.ipvs.tiers import ROTATION_POLLS
from lvs_tui.model.records import Service, ServiceKey
from tests.kernel.lab.commands import estimator_stopped, ipvsadm_lines, wait_until
from tests.kernel.lab.topology import NatLab

if TYPE_CHECKING:
    from collections.abc import Iterable

WEB = ServiceKey.inet("tcp", "10.10.0.1", 80)
QUIET = 90  # services without traffic, so that the rotation has a share to read each poll


def table() -> list[str]:
    rules = ["-A -t 10.10.0.1:80 -s wrr", "-a -t 10.10.0.1:80 -r 10.20.1.2:80 -m -w 3",
             "-a -t 10.10.0.1:80 -r 10.20.2.2:80 -m -w 2", "-a -t 10.10.0.1:80 -r 10.20.3.2:80 -m -w 1"]
    for number in range(QUIET):
        rules.append(f"-A -t 10.30.0.{number + 1}:8080 -s wlc")
        rules.append(f"-a -t 10.30.0.{number + 1}:8080 -r 10.20.{1 + number % 3}.2:8080 -m -w {number + 1}")
        rules.append(f"-a -t 10.30.0.{number + 1}:8080 -r 10.20.9.{number + 1}:8080 -i -w 1")
    return rules


def counts(services: Iterable[Service]) -> dict[tuple[str, str], tuple[int, str, int, int]]:
    return {(service.key.id, dest.key.id): (dest.weight, dest.forward.value, dest.active_conns,
                                            dest.inactive_conns)
            for service in services for dest in service.dests}


def whole(service: Service) -> list[tuple[object, ...]]:
    """A service's real servers, each field but the kernel's rate estimates (they move every 2 s)."""
    return [(dest.key, dest.forward, dest.weight, dest.upper_threshold, dest.lower_threshold,
             dest.active_conns, dest.inactive_conns, dest.persistent_conns, dest.stats[:5])
            for dest in service.dests]


def test_a_tiered_poll_equals_a_full_one_where_it_reads_whole_and_in_the_counts_it_lists(
    topology: NatLab,
) -> None:
    ipvsadm_lines(table())
    full_backend, tiered_backend = KernelBackend(), KernelBackend(tiered_from=0)
    try:
        assert topology.requests(12) == {"rs1": 6, "rs2": 4, "rs3": 2}
        # The kernel sums the counters at its estimator's 2 s tick: wait for the requests to show
        # (in the service's: a real server's may hold an earlier test's too, see flush_connections).
        def landed() -> bool:
            service = full_backend.snapshot_of([WEB]).services[0]
            return service.stats.conns == 12 and sum(dest.stats.conns for dest in service.dests) >= 12

        wait_until("the 12 connections in the counters", landed, timeout=30)
        with estimator_stopped():  # the estimator folds services and servers at different moments
            tiered = tiered_backend.snapshot({WEB})  # tiers, though the table is small: see tiered_from
            full = full_backend.snapshot()
        assert counts(tiered.services) == counts(full.services)  # /proc and netlink agree, every server
        web, read = full.service(WEB), tiered.service(WEB)
        assert web is not None and read is not None
        assert whole(read) == whole(web)  # read whole: every field but the rates of the estimator's ticks
        assert web.stats.conns == 12 and sum(dest.stats.conns for dest in web.dests) >= 12  # traffic
        assert WEB not in tiered.dests_read_at
        assert len(tiered.dests_read_at) >= QUIET - QUIET // ROTATION_POLLS - 1  # the rest in part
    finally:
        full_backend.close()
        tiered_backend.close()


def test_every_service_is_read_whole_within_the_rotation(topology: NatLab) -> None:
    ipvsadm_lines(table())
    backend = KernelBackend(tiered_from=0)  # tiers on this table of 183 real servers
    try:
        polls = [backend.snapshot({WEB}) for _ in range(2 * ROTATION_POLLS)]
        for number, snapshot in enumerate(polls):
            # Read whole at least once in any ROTATION_POLLS polls in a row: this one or the ones before.
            oldest_poll = polls[max(0, number - ROTATION_POLLS + 1)]
            oldest = min(snapshot.dests_read_at.values(), default=snapshot.monotonic)
            assert oldest >= oldest_poll.monotonic, \
                f"poll {number}: a service was last read whole more than {ROTATION_POLLS} polls ago"
        last = polls[-1]
        reader = KernelBackend()
        full = reader.snapshot()
        reader.close()
        # After a whole rotation each service read in part holds its last whole read's counters:
        # the quiet ones carried no traffic, so they equal a full poll's.
        for service in full.services:
            found = last.service(service.key)
            assert found is not None and [dest.stats.conns for dest in found.dests] == \
                [dest.stats.conns for dest in service.dests]
    finally:
        backend.close()
