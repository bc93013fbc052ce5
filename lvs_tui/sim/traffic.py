"""Clients arriving, connections ageing, packets flowing: the simulation in fixed steps.

Cost follows traffic, not table size: arrivals are drawn for the whole director at once and
spread over services by their current rate; connections are cohorts of counts on an ageing
wheel (step -> cohorts that change state then); estimators run only for services with traffic.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections import defaultdict
from itertools import accumulate

from lvs_tui.model import flags as F
from lvs_tui.model.records import Family, Forward, Protocol, Timeouts
from lvs_tui.sim.schedulers import Scheduler
from lvs_tui.sim.state import DestState, ServiceState

STEP = 0.5  # seconds of simulated time per step
PHASES = 4  # estimator period (2 s) in steps; services are spread over the phases
RATE_EPOCH = 40  # steps between changes of each service's popularity (20 s)

_END_ACTIVE, _END_INACTIVE, _END_TEMPLATE = 0, 1, 2
# Simulated clients are never shown; they only feed sh/mh hashing and persistence netmasks, so
# they come from the benchmarking range 198.18.0.0/15 (IPv4) and 2001:db8:ffff::/48 (IPv6).
_V4_CLIENTS = 0xC6120000
_V6_CLIENTS = 0x20010DB8FFFF << 80


def poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:  # the normal approximation is close enough and O(1)
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _mask_bits(svc: ServiceState) -> int:
    """Host bits cleared by the persistence netmask (dotted for IPv4, prefix length for IPv6)."""
    if svc.key.family is Family.IPV6:
        return 128 - int(svc.netmask)
    mask = sum(int(part) << (24 - 8 * i) for i, part in enumerate(svc.netmask.split(".")))
    return 32 - bin(mask).count("1")


class Engine:
    def __init__(self, rng: random.Random, timeouts: Timeouts) -> None:
        self.rng = rng
        self.timeouts = timeouts
        self.step = 0
        self.services: list[ServiceState] = []
        self.wheel: defaultdict[int, list[tuple[int, object, int]]] = defaultdict(list)
        self.live: list[set[ServiceState]] = [set() for _ in range(PHASES)]
        self.dropped = 0  # flows no scheduler could place (shown nowhere yet; handy in tests)
        self._weights: list[float] = []
        self._cum: list[float] = []
        self._mood: dict[int, float] = {}
        self.stale = True

    # -- arrivals -----------------------------------------------------------------------------

    def _reweigh(self) -> None:
        """Each service's popularity drifts (a slow random walk), so the picture keeps moving."""
        rng = self.rng
        weights = []
        for svc in self.services:
            mood = self._mood.get(id(svc), 1.0)
            mood = min(3.0, max(0.3, mood * math.exp(rng.gauss(0.0, 0.15))))
            self._mood[id(svc)] = mood
            weights.append(svc.traffic.rate * mood if svc.dests else 0.0)
        self._weights = weights
        self._cum = list(accumulate(weights))
        self.stale = False

    def _arrivals(self) -> None:
        if self.stale or self.step % RATE_EPOCH == 0:
            self._reweigh()
        if not self._cum or self._cum[-1] <= 0:
            return
        # A slow swell over ten minutes, like a day compressed for the screen.
        swell = 1.0 + 0.3 * math.sin(2 * math.pi * self.step * STEP / 600.0)
        total = poisson(self.rng, self._cum[-1] * STEP * swell)
        if not total:
            return
        counts: defaultdict[int, int] = defaultdict(int)
        cum, top, rnd = self._cum, self._cum[-1], self.rng.random
        for _ in range(total):
            counts[bisect_right(cum, rnd() * top)] += 1
        for index, count in counts.items():
            if index < len(self.services):
                self.arrive(self.services[index], count)

    def _client(self, svc: ServiceState) -> tuple[int, int]:
        bits = self.rng.getrandbits(33)
        port = 1024 + (bits >> 17)
        if svc.key.family is Family.IPV6:
            return _V6_CLIENTS | (bits & 0x1FFFF), port
        return _V4_CLIENTS | (bits & 0x1FFFF), port

    def arrive(self, svc: ServiceState, count: int, client: tuple[int, int] | None = None) -> int:
        """`count` new connections to `svc`; returns how many found a real server."""
        sched = svc.sched
        assert isinstance(sched, Scheduler)
        if not svc.dests:
            self.dropped += count
            return 0
        active = svc.key.protocol is not Protocol.UDP  # the kernel counts UDP flows as inactive
        share: defaultdict[DestState, int] = defaultdict(int)
        persistent = bool(svc.raw_flags & F.PERSISTENT)
        if sched.batches and not persistent and client is None:
            for dest, n in sched.assign(count):
                dest.bind(n, active)
                share[dest] += n
        else:
            shift = _mask_bits(svc) if persistent else 0
            for _ in range(count):
                addr, port = client or self._client(svc)
                got = self._persist(svc, addr >> shift, addr, port) if persistent else sched.pick(addr, port)
                if got is None:
                    continue
                got.bind(1, active)  # one by one: lc/wlc and thresholds see each connection
                share[got] += 1
        placed = 0
        for dest, n in share.items():
            placed += n
            self._start(svc, dest, n, active)
        self.dropped += count - placed
        if placed:
            self.live[svc.phase].add(svc)
        return placed

    def _persist(self, svc: ServiceState, masked: int, addr: int, port: int) -> DestState | None:
        """Persistence: a returning client goes where its template points, even at weight 0."""
        expiry = self.step + max(1, round(svc.timeout / STEP))
        entry = svc.templates.get(masked)
        if entry is not None and entry[0].alive:
            dest = entry[0]
        else:
            sched = svc.sched
            assert isinstance(sched, Scheduler)
            found = sched.pick(addr, port)
            if found is None:
                return None
            dest = found
            dest.persistent += 1
        svc.templates[masked] = (dest, expiry)
        self.wheel[expiry].append((_END_TEMPLATE, svc, masked))
        return dest

    def _start(self, svc: ServiceState, dest: DestState, n: int, active: bool) -> None:
        traffic, rng = svc.traffic, self.rng
        masq = dest.forward is Forward.MASQ  # DR/TUN replies bypass the director
        if active:  # handshake and request in, handshake out
            inpkts, inbytes, outpkts, outbytes = 3 * n, n * (112 + traffic.in_size), 2 * n, n * 112
        else:  # one query in, one answer out
            inpkts, inbytes, outpkts, outbytes = n, n * traffic.in_size, n, n * traffic.out_size
        if not masq:
            outpkts = outbytes = 0
        dest.counters.add(n, inpkts, outpkts, inbytes, outbytes)
        svc.counters.add(n, inpkts, outpkts, inbytes, outbytes)
        if not active:
            self.wheel[self.step + max(1, round(self.timeouts.udp / STEP))].append((_END_INACTIVE, dest, n))
            return
        # A few cohorts per batch, each with its own lifetime: ageing looks natural at any scale.
        cohorts = min(n, 3)
        base, extra = divmod(n, cohorts)
        for i in range(cohorts):
            life = max(1, round(rng.expovariate(1.0 / traffic.active_mean) / STEP))
            self.wheel[self.step + life].append((_END_ACTIVE, dest, base + (i < extra)))

    # -- ageing and estimation ----------------------------------------------------------------

    def _age(self) -> None:
        for kind, obj, n in self.wheel.pop(self.step, ()):
            if kind == _END_TEMPLATE:
                assert isinstance(obj, ServiceState)
                entry = obj.templates.get(n)
                if entry is not None and entry[1] <= self.step:
                    del obj.templates[n]
                    if entry[0].alive:
                        entry[0].persistent -= 1
                        entry[0].touch()
                continue
            assert isinstance(obj, DestState)
            if not obj.alive:
                continue
            if kind == _END_ACTIVE:
                obj.active -= n
                obj.inactive += n
                obj.touch()
                # Most close cleanly (FIN_WAIT/TIME_WAIT), some are reset (CLOSE, 10 s).
                linger = self.timeouts.tcp_fin if self.rng.random() < 0.8 else 10
                self.wheel[self.step + max(1, round(linger / STEP))].append((_END_INACTIVE, obj, n))
            else:
                obj.inactive -= n
                obj.release()

    def _estimate(self) -> None:
        live = self.live[self.step % PHASES]
        done = []
        for svc in live:
            if not svc.alive:
                done.append(svc)
                continue
            traffic = svc.traffic
            busy = False
            for dest in svc.dests:
                counters = dest.counters
                if dest.active:
                    # Two seconds of packets from every established connection.
                    a = dest.active * 2
                    inp, outp = round(a * traffic.in_pps), round(a * traffic.out_pps)
                    inb, outb = inp * traffic.in_size, outp * traffic.out_size
                    if dest.forward is not Forward.MASQ:
                        outp = outb = 0
                    counters.add(0, inp, outp, inb, outb)
                    svc.counters.add(0, inp, outp, inb, outb)
                elif counters.idle:
                    continue
                if counters.tick():
                    dest.touch()
                busy = busy or bool(dest.active) or not counters.idle
            if svc.counters.tick():
                svc.dirty = True
            if not busy and svc.counters.idle:
                done.append(svc)
        live.difference_update(done)

    def advance(self) -> None:
        self.step += 1
        self._arrivals()
        self._age()
        self._estimate()
