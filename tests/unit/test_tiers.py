"""Tiered polling's choices: the services named are read whole at every poll, every other one
within the rotation (the staleness bound), and a service read in part has the weights and
connection counts /proc lists now with the rest as last read whole."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from lvs_tui.ipvs.tiers import Tiers, read_ages
from lvs_tui.model.records import Dest, DestKey, Family, Forward, Service, ServiceKey, Stats

KEYS = [ServiceKey.inet("tcp", "192.0.2.10", port) for port in range(1, 101)]


@dataclass(frozen=True)
class Listed:
    key: DestKey
    forward: Forward
    weight: int
    active: int
    inactive: int


@settings(max_examples=60, deadline=None)
@given(count=st.integers(1, 400), rotation=st.integers(1, 40), polls=st.integers(1, 120),
       named=st.sets(st.integers(0, 399), max_size=10))
def test_every_service_is_read_whole_within_the_rotation_and_the_named_ones_every_poll(
    count: int, rotation: int, polls: int, named: set[int]
) -> None:
    keys = [ServiceKey.inet("tcp", "192.0.2.10", port) for port in range(1, count + 1)]
    asked = {keys[index] for index in named if index < count}
    tiers = Tiers(rotation)
    last: dict[ServiceKey, int] = {}
    for poll in range(polls):
        chosen = tiers.chosen(keys, asked, float(poll))
        assert asked <= chosen
        assert len(chosen - asked) <= -(-(count - len(asked)) // rotation)  # the share, no more
        for key in chosen:
            tiers.whole(Service(key, "rr"), float(poll))
            last[key] = poll
        for key in keys:  # the bound: never read, or read within the last `rotation` polls
            assert poll - last.get(key, -1) <= rotation, (key, poll, last.get(key))


def test_a_service_read_in_part_takes_the_listed_counts_and_keeps_its_counters() -> None:
    tiers = Tiers(rotation=10)
    key = KEYS[0]
    stats = Stats(conns=7, inpkts=70, outpkts=60, inbytes=7000, outbytes=6000)
    known = Dest("198.51.100.11", 8080, Family.IPV4, Forward.MASQ, None, 5, 100, 10, 3, 4, 2, stats)
    tiers.chosen([key], set(), 1.0)
    tiers.whole(Service(key, "wrr", dests=(known,)), 1.0)
    listed = [Listed(known.key, Forward.MASQ, 0, 1, 9),
              Listed(DestKey("2001:db8::12", 80), Forward.TUNNEL, 2, 0, 0)]
    service = tiers.in_part(Service(key, "wrr"), listed)
    old, new = service.dests
    assert (old.weight, old.active_conns, old.inactive_conns) == (0, 1, 9)
    assert (old.stats, old.upper_threshold, old.lower_threshold, old.persistent_conns) == (stats, 100, 10, 2)
    assert (new.family, new.forward, new.weight, new.stats.conns) == (Family.IPV6, Forward.TUNNEL, 2, 0)
    assert read_ages(tiers, [service], set()) == {key: 1.0}
    assert read_ages(tiers, [service], {key}) == {}


def test_services_gone_from_the_table_are_forgotten() -> None:
    tiers = Tiers(rotation=2)
    for key in KEYS[:3]:
        tiers.whole(Service(key, "rr"), 5.0)
    tiers.keep_only(KEYS[1:3])
    tiers.chosen(KEYS[:3], set(), 6.0)
    assert tiers.read_at(KEYS[0]) == 6.0  # as never read: the first tiered poll's time
    assert tiers.read_at(KEYS[1]) == 5.0
