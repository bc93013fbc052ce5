"""Is the traffic spread the way the scheduler promises? (pure; the dashboard's distribution check)

Each service is held to its scheduler's promise (see `promise`): rr/wrr/fo by each real server's
share of the new connections over the last SHARE_WINDOW seconds; lc/wlc/sed/nq by its share of the
connections held now (what those schedulers balance); hash schedulers, persistent services and the
rest by nothing but what is certainly wrong: a server with weight > 0 that gets no new connection
over a long window while the service gets plenty, a server that takes new connections at weight 0
beyond what persistence explains.

The check remembers a little of each service from one poll to the next (`ServiceMemory`): the
weights (a change opens a quiet window with no verdict while the neighbours settle), which servers
the kernel holds as overloaded (its hysteresis: from the upper threshold down to the lower one),
and the counters that the share window and the two long-window rules are measured against.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from lvs_tui.model import evidence
from lvs_tui.model.evidence import MIN_NEW_CONNECTIONS, MIN_SPAN, QUIESCENT_GRACE, STARVED_SECONDS
from lvs_tui.model.promise import Promise, promise_of
from lvs_tui.model.records import DestKey, Service, ServiceKey, Snapshot

# A share strays by this much (absolute, of the whole service) before it is flagged.
TOLERANCE = 0.10
# Connections held (active) below which lc/wlc/sed/nq balance is not judged: per server, and in all.
MIN_ACTIVE_PER_SERVER = 10
MIN_ACTIVE = 20
# A service whose real servers and weights are unchanged is judged again after this long, not at
# every poll: the kernel folds its counters every 2 s, so a poll in between brings little news.
REJUDGE_AFTER = 2.0
# After a weight change, a bring-back or an overload starting or ending: no verdict for this long
# (the counters lag by up to one 2 s estimator period, and the rates by their window), and on
# lc/wlc/sed/nq until as many new connections as were held have arrived (the returning server
# catches up).
SETTLE_SECONDS = 2 * MIN_SPAN
# A share must stay off this long (connections held swing as they end) before it is flagged.
OFF_SECONDS = MIN_SPAN


class DestState(StrEnum):
    """What an operator must see at a glance about one real server."""

    OK = "ok"
    QUIESCENT = "quiescent"  # weight 0: existing connections finish, no new ones
    OVERLOADED = "overloaded"  # the kernel sends it nothing new until it drops below the lower threshold
    RESET = "reset"  # its counters went backwards (zeroed, or deleted and re-added)
    SETTLING = "settling"  # the service changed a moment ago: no verdict yet
    SKEWED = "skewed"  # off its scheduler's promise, or out of rotation, or served at weight 0


class Verdict(StrEnum):
    """The service's row: is its traffic spread as its scheduler promises?"""

    OK = "ok"
    SKEWED = "skewed"
    WAIT = "…"  # settling after a change, or too little traffic to judge
    NA = "n/a"  # no share promise (hash, persistence), and nothing certainly wrong


@dataclass(frozen=True, slots=True)
class Share:
    """One real server's entitlement and observed share, as fractions of its service (0..1)."""

    dest: DestKey
    state: DestState
    expected: float | None  # None: the scheduler promises no share
    got: float | None  # new connections (rr/wrr/fo, and shown for the others) or connections held
    why: str = ""  # what made it skewed, in a few words

    @property
    def deviation(self) -> float | None:
        return None if self.got is None or self.expected is None else self.got - self.expected


@dataclass(frozen=True, slots=True)
class Spread:
    """The check for one service: its verdict and every real server's share, in the service's order."""

    verdict: Verdict
    promise: Promise
    shares: tuple[Share, ...] = ()

    def of(self, key: DestKey) -> Share | None:
        for share in self.shares:
            if share.dest == key:
                return share
        return None


@dataclass(frozen=True, slots=True)
class ServiceMemory:
    """What the check keeps of a service between polls (per server: by its place in the service,
    valid while the same servers are listed in the same order)."""

    servers: tuple[tuple[str, int], ...]  # address and port, in order
    keys: tuple[DestKey, ...]
    setting: tuple[str, int, tuple[int, ...]]  # scheduler, flags, weights
    overloaded: tuple[bool, ...]
    changed_at: float  # shares are measured from here on
    settle_until: float
    settle_conns: int  # ... and until the service's counters reach this
    samples: tuple[evidence.Sample, ...]  # newest last, back to SHARE_WINDOW seconds
    starving: Mapping[int, evidence.Streak] = field(default_factory=dict)
    quiescent: Mapping[int, evidence.Streak] = field(default_factory=dict)
    off: Mapping[int, float] = field(default_factory=dict)  # since when a server is off its share
    judged_at: float = 0.0
    spread: Spread | None = None  # the check made then


def judge(service: Service, now: float, last: ServiceMemory | None = None) -> tuple[Spread, ServiceMemory]:
    """The check of `service` at monotonic time `now`, given what was kept of it at the last poll
    (None: the first sight of it); returns the check and what to keep for the next poll."""
    promise = promise_of(service)
    dests = service.dests
    servers = tuple((dest.address, dest.port) for dest in dests)
    prior = last if last is not None and last.servers == servers else None  # per server: same places
    keys = prior.keys if prior is not None else tuple(DestKey(address, port) for address, port in servers)
    weights = tuple(dest.weight for dest in dests)
    setting = (service.scheduler, service.raw_flags, weights)
    conns = tuple(dest.stats.conns for dest in dests)
    total = sum(conns)
    previous = prior.samples[-1].conns if prior is not None and prior.samples else None
    resets = frozenset() if previous is None else \
        frozenset(i for i, count in enumerate(conns) if count < previous[i])
    sample = evidence.Sample(now, conns)
    # Counters that went backwards make every older sample useless.
    samples = (sample,) if prior is None or resets else evidence.window(prior.samples, sample)
    held_out = evidence.overloaded(dests, None if prior is None else prior.overloaded, samples)
    entitled = [i for i, weight in enumerate(weights) if weight > 0 and not held_out[i]]
    changed = last is not None and (
        prior is None or setting != prior.setting or held_out != prior.overloaded or bool(resets)
    )
    if prior is None or changed:
        held = sum(dests[i].active_conns for i in entitled) if promise is Promise.ACTIVE else 0
        settle_until, settle_conns = (now + SETTLE_SECONDS, total + held) if changed else (now, total)
        changed_at = now
        starving: Mapping[int, evidence.Streak] = {}
        quiescent: Mapping[int, evidence.Streak] = {}
        was_off: Mapping[int, float] = {}
    else:
        changed_at, settle_until, settle_conns = prior.changed_at, prior.settle_until, prior.settle_conns
        starving, quiescent, was_off = prior.starving, prior.quiescent, prior.off
    settling = now < settle_until or total < settle_conns

    expected = _entitlement(service, promise, entitled)
    got, enough = _observed(service, promise, entitled, tuple(x for x in samples if x.at >= changed_at))
    # Out of rotation is certain only where every available server should get some: not on fo (the
    # others get nothing by design), nor where no share is promised.
    if promise is Promise.NONE or service.scheduler == "fo":
        starving = {}
    else:
        starving = evidence.starving(service, entitled, now, total, starving)
    quiescent = evidence.quiescent(service, now, total, quiescent)
    judged = promise in (Promise.NEW, Promise.ACTIVE)
    shares = []
    off: dict[int, float] = {}
    for i, dest in enumerate(dests):
        why = ""
        if i in resets:
            state = DestState.RESET
        elif held_out[i]:
            state = DestState.OVERLOADED
        elif dest.weight == 0:
            state = DestState.QUIESCENT
            streak = quiescent.get(i)
            if streak is not None and now - streak.since >= QUIESCENT_GRACE and conns[i] > streak.conns:
                state, why = DestState.SKEWED, "new connections at weight 0"
        elif settling:
            state = DestState.SETTLING
        elif evidence.starved(starving.get(i), now, total, expected.get(i, 0.0)):
            state, why = DestState.SKEWED, f"no new connection in {STARVED_SECONDS:.0f}s"
        elif judged and enough and i in got and abs(got[i] - expected.get(i, 0.0)) > TOLERANCE:
            off[i] = since = was_off.get(i, now)
            state = DestState.SKEWED if now - since >= OFF_SECONDS else DestState.OK
            why = "off its share"
        else:
            state = DestState.OK
        shares.append(Share(keys[i], state, expected.get(i, 0.0) if judged else None,
                            got.get(i) if enough else None, why))  # fmt: skip
    if any(share.state is DestState.SKEWED for share in shares):
        verdict = Verdict.SKEWED
    elif not entitled or (not judged and not settling):
        verdict = Verdict.NA
    elif settling or not enough:
        verdict = Verdict.WAIT
    else:
        verdict = Verdict.OK
    spread = Spread(verdict, promise, tuple(shares))
    memory = ServiceMemory(servers, keys, setting, held_out, changed_at, settle_until, settle_conns,
                           samples, starving, quiescent, off, now, spread)
    return spread, memory


def _entitlement(service: Service, promise: Promise, entitled: list[int]) -> dict[int, float]:
    """Each available server's promised share (weight 0 and overloaded ones: none)."""
    if not entitled:
        return {}
    if service.scheduler in ("rr", "lc"):  # weight only excludes 0
        return dict.fromkeys(entitled, 1.0 / len(entitled))
    dests = service.dests
    if service.scheduler == "fo" and promise is Promise.NEW:
        top = max(entitled, key=lambda i: dests[i].weight)  # the first of the highest, as the kernel
        return {i: 1.0 if i == top else 0.0 for i in entitled}
    weights = sum(dests[i].weight for i in entitled)
    return {i: dests[i].weight / weights for i in entitled}


def _observed(service: Service, promise: Promise, entitled: list[int], samples: tuple[evidence.Sample, ...]
              ) -> tuple[dict[int, float], bool]:
    """Each server's observed share, and whether there was enough traffic for it to be evidence."""
    dests = service.dests
    if promise is Promise.ACTIVE:
        # What the scheduler balances: lc/wlc the overhead (an active connection weighs 256
        # inactive ones, ip_vs_dest_conn_overhead), sed/nq the active connections alone.
        active = sum(dests[i].active_conns for i in entitled)
        inactive = sum(dests[i].inactive_conns for i in entitled)
        need = max(MIN_ACTIVE, MIN_ACTIVE_PER_SERVER * len(entitled))
        if service.scheduler in ("lc", "wlc"):
            loads = {i: dests[i].active_conns * 256 + dests[i].inactive_conns for i in entitled}
            enough = active >= need or (active == 0 and inactive >= need)  # UDP flows count as inactive
        else:
            loads = {i: dests[i].active_conns for i in entitled}
            enough = active >= need
        held = sum(loads.values())
        return ({i: load / held for i, load in loads.items()} if held else {}), enough
    base, newest = samples[0], samples[-1]
    new = sum(newest.conns) - sum(base.conns)
    enough = newest.at - base.at >= MIN_SPAN and new >= MIN_NEW_CONNECTIONS
    if new <= 0:
        return {}, enough
    return {i: (count - base.conns[i]) / new for i, count in enumerate(newest.conns)}, enough


def spreads(
    snapshot: Snapshot,
    now: float,
    memory: Mapping[ServiceKey, ServiceMemory],
    judged: Callable[[ServiceKey], bool] | None = None,
) -> tuple[dict[ServiceKey, Spread], dict[ServiceKey, ServiceMemory]]:
    """The check of every service (or those `judged` says to check), and what to keep for the next
    poll (the memory of services gone or no longer judged is dropped). A service is judged again
    when its real servers or weights change, else at most every REJUDGE_AFTER seconds."""
    found: dict[ServiceKey, Spread] = {}
    kept: dict[ServiceKey, ServiceMemory] = {}
    for service in snapshot.services:
        key = service.key
        if judged is not None and not judged(key):
            continue
        last = memory.get(key)
        if last is not None and last.spread is not None and now - last.judged_at < REJUDGE_AFTER \
                and _unchanged(service, last):
            found[key], kept[key] = last.spread, last
        else:
            found[key], kept[key] = judge(service, now, last)
    return found, kept


def _unchanged(service: Service, last: ServiceMemory) -> bool:
    """The same real servers, in the same order, with the same weights and scheduler."""
    dests = service.dests
    if len(dests) != len(last.servers) or service.scheduler != last.setting[0] \
            or service.raw_flags != last.setting[1]:
        return False
    weights = last.setting[2]
    for i, dest in enumerate(dests):
        address, port = last.servers[i]
        if dest.weight != weights[i] or dest.port != port or dest.address != address:
            return False
    return True
