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
@given(count=st.integers(1, 400), rotation=st.integers(1, 40), at_most=st.integers(1, 50),
       polls=st.integers(1, 120), named=st.sets(st.integers(0, 399), max_size=10))
def test_every_service_is_read_whole_within_the_bound_and_the_named_ones_every_poll(
    count: int, rotation: int, at_most: int, polls: int, named: set[int]
) -> None:
    keys = [ServiceKey.inet("tcp", "192.0.2.10", port) for port in range(1, count + 1)]
    asked = {keys[index] for index in named if index < count}
    others = count - len(asked)
    bound = max(rotation, -(-others // at_most))  # polls: the rotation, or longer for a large table
    tiers = Tiers(rotation, at_most)
    last: dict[ServiceKey, int] = {}
    for poll in range(polls):
        chosen = tiers.chosen(keys, asked, float(poll))
        assert asked <= chosen
        assert len(chosen - asked) <= min(-(-others // rotation), at_most)  # the share, no more
        for key in chosen:
            tiers.whole(Service(key, "rr"), float(poll))
            last[key] = poll
        for key in keys:  # never read, or read within the bound
            assert poll - last.get(key, -1) <= bound, (key, poll, last.get(key))


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


def test_a_service_whose_dump_and_lines_did_not_change_is_the_same_object_and_a_changed_one_is_not() -> None:
    tiers = Tiers(rotation=10)
    key = KEYS[0]
    dest = Dest("198.51.100.11", 8080, Family.IPV4, Forward.MASQ, None, 5, 0, 0, 3, 4)
    tiers.whole(Service(key, "wrr", dests=(dest,)), 1.0)
    dumped, lines = Service(key, "wrr"), (Listed(dest.key, Forward.MASQ, 5, 3, 4),)
    first = tiers.in_part(dumped, lines)
    assert first.dests[0] is dest  # the counts /proc lists are those read whole: nothing new made
    assert tiers.in_part(dumped, lines) is first
    moved = tiers.in_part(dumped, (Listed(dest.key, Forward.MASQ, 5, 2, 5),))
    assert moved is not first and (moved.dests[0].active_conns, moved.dests[0].inactive_conns) == (2, 5)
