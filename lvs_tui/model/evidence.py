"""The evidence the distribution check weighs (pure): samples of the servers' new-connection
counters, the kernel's overload hysteresis as far as it can be seen from outside, and since when a
server has stood still (out of rotation) or kept taking connections at weight 0."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lvs_tui.model.records import Dest, Service

# New-connection shares are measured over up to this many seconds, and judged from MIN_SPAN on:
# the kernel folds each server's counters every 2 s, each on its own tick, so a short window
# would compare servers over spans that differ by up to 2 s.
SHARE_WINDOW = 10.0
MIN_SPAN = 4.0
# Below this many new connections in the window, shares are noise, not evidence.
MIN_NEW_CONNECTIONS = 20
# A server with weight > 0 that got no new connection for this long while its fair part of the
# service's new connections was at least STARVED_AFTER is certainly out of rotation.
STARVED_SECONDS = 30.0
STARVED_AFTER = 30
# A server at weight 0 (and without persistence templates) whose counter still moves after this
# long is taking new connections it should not get (counters lag by one estimator period).
QUIESCENT_GRACE = 4.0


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    conns: tuple[int, ...]  # each server's new-connection counter, in the service's order


@dataclass(frozen=True, slots=True)
class Streak:
    """Since when a rule has applied to a server, and the counters it is measured against."""

    since: float
    conns: int  # the server's new-connection counter then
    service_conns: int  # the sum of the service's


def is_overloaded(dest: Dest) -> bool:
    """At or over the upper threshold (0 = none): the kernel has marked it overloaded."""
    return dest.upper_threshold > 0 and dest.active_conns + dest.inactive_conns >= dest.upper_threshold


def below_lower(dest: Dest) -> bool:
    """Low enough for the kernel to take the overload mark off (ip_vs_unbind_dest): under the lower
    threshold, or under 3/4 of the upper one when the lower is 0."""
    total = dest.active_conns + dest.inactive_conns
    if dest.lower_threshold:
        return total < dest.lower_threshold
    return not dest.upper_threshold or total * 4 < dest.upper_threshold * 3


def overloaded(dests: tuple[Dest, ...], was: tuple[bool, ...] | None, samples: tuple[Sample, ...]
                ) -> tuple[bool, ...]:
    """Which servers the kernel holds as overloaded now.

    The kernel does not say (its overload mark is not in the netlink reply), and a server can
    reach the upper threshold and fall back between two polls. At or over the upper threshold it
    is overloaded; under the lower one it is not; in between, it is overloaded if its counter has
    stood still for MIN_SPAN while the service's moved on, or if it was overloaded at the last poll
    and its counter has not moved since (the kernel keeps it out until it drops under the lower).
    """
    if not any(dest.upper_threshold for dest in dests):
        return (False,) * len(dests)
    newest = samples[-1].conns
    previous = samples[-2].conns if len(samples) > 1 else None
    base = sample_before(samples, samples[-1].at - MIN_SPAN)
    grown = 0 if base is None else sum(newest) - sum(base.conns)
    held = []
    for i, dest in enumerate(dests):
        if is_overloaded(dest):
            held.append(True)
        elif below_lower(dest):
            held.append(False)
        else:
            stalled = base is not None and base.conns[i] == newest[i] and grown >= MIN_NEW_CONNECTIONS
            still = was is not None and was[i] and previous is not None \
                and previous[i] == newest[i]
            held.append(stalled or still)
    return tuple(held)


def sample_before(samples: tuple[Sample, ...], at: float) -> Sample | None:
    """The newest sample taken at or before `at`."""
    for sample in reversed(samples):
        if sample.at <= at:
            return sample
    return None


def window(samples: tuple[Sample, ...], sample: Sample) -> tuple[Sample, ...]:
    """The samples to measure against: the newest, and back to SHARE_WINDOW seconds before it."""
    kept = (*samples, sample)
    start = 0
    while len(kept) - start > 2 and kept[start + 1].at <= sample.at - SHARE_WINDOW:
        start += 1
    return kept[start:]


def starving(service: Service, entitled: list[int], now: float, total: int,
             last: Mapping[int, Streak]) -> dict[int, Streak]:
    """Since when each available server's counter has stood still."""
    streaks = {}
    dests = service.dests
    for i in entitled:
        count = dests[i].stats.conns
        streak = last.get(i)
        streaks[i] = streak if streak is not None and streak.conns == count else Streak(now, count, total)
    return streaks


def starved(streak: Streak | None, now: float, total: int, fair: float) -> bool:
    return streak is not None and now - streak.since >= STARVED_SECONDS and \
        (total - streak.service_conns) * fair >= STARVED_AFTER


def quiescent(service: Service, now: float, total: int,
              last: Mapping[int, Streak]) -> dict[int, Streak]:
    """Since when each weight-0 server should have taken no new connection: without persistence,
    or with no template left pointing at it. Its counter is followed through QUIESCENT_GRACE (the
    counters lag), then held: a later rise is a new connection it should not have had."""
    streaks = {}
    persistent = service.persistent
    for i, dest in enumerate(service.dests):
        if dest.weight != 0 or (persistent and dest.persistent_conns > 0):
            continue
        count = dest.stats.conns
        streak = last.get(i)
        if streak is None or count < streak.conns:
            streak = Streak(now, count, total)
        elif now - streak.since < QUIESCENT_GRACE:
            streak = Streak(streak.since, count, total)
        streaks[i] = streak
    return streaks
