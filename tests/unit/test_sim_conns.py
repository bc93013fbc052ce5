"""The demo's connection table: the counts of the latest snapshot, spelled out as entries."""

from __future__ import annotations

from lvs_tui.model.connections import by_client
from lvs_tui.sim import SimulatedDirector


def test_entries_match_the_counts_of_every_service_of_the_host() -> None:
    director = SimulatedDirector(seed=3)
    snapshot = director.snapshot()
    read = director.connections
    address = "198.51.100.12"  # behind tcp:80 and tcp:443 (persistent) in the demo
    dests = [d for s in snapshot.services for d in s.dests if d.address == address]
    assert len(dests) == 2
    entries = list(read(address, None))
    assert sum(not e.is_template and e.state == "ESTABLISHED" for e in entries) == sum(d.active_conns
                                                                                      for d in dests)
    assert sum(e.state == "TIME_WAIT" for e in entries) == sum(d.inactive_conns for d in dests)
    assert sum(e.is_template for e in entries) == sum(d.persistent_conns for d in dests)
    assert {e.dest for e in entries} == {address}
    only_443 = list(read(address, 443))
    assert {e.dest_port for e in only_443} == {443} and len(only_443) < len(entries)
    assert list(read(address, None)) == entries  # the same counts give the same entries
    groups = by_client(entries)
    assert 1 < len(groups) < len(entries)  # several entries per client, as real clients have


def test_no_snapshot_yet_means_no_entries() -> None:
    assert list(SimulatedDirector(seed=3).connections("198.51.100.12")) == []
