"""Clients arriving, connections ageing, packets flowing: the simulation in fixed steps.

Cost follows traffic, not table size: arrivals are drawn for the whole director at once and
spread over services by their current rate; connections are cohorts of counts on an ageing
wheel (step -> cohorts that change state then); estimators run only for services with traffic.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections import Counter, defaultdict
from itertools import accumulate

from lvs_tui.model import flags as F
from lvs_tui.model.records import Family, Forward, Protocol, Timeouts
from lvs_tui.sim.schedulers import Scheduler
from lvs_tui.sim.state import SimDest, SimService

STEP = 0.5  # seconds of simulated time per step
PHASES = 4  # estimator period (2 s) in steps; services are spread over the phases
RATE_EPOCH = 40  # steps between changes of each service's popularity (20 s)

_END_ACTIVE, _END_INACTIVE, _END_TEMPLATE = 0, 1, 2
_RESET = 10  # seconds a reset connection lingers (CLOSE); 20% of closes, the rest wait tcp_fin
_COHORTS = 8  # cohorts per real server for the connections a steady-state start puts in flight
_QUIET = 8  # connections per real server over the uptime below which settle() deals them out
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


def _mask_bits(svc: SimService) -> int:
    """Host bits cleared by the persistence netmask (dotted for IPv4, prefix length for IPv6)."""
    if svc.key.family is Family.IPV6:
        return 128 - int(svc.netmask)
    mask = sum(int(part) << (24 - 8 * i) for i, part in enumerate(svc.netmask.split(".")))
    return 32 - bin(mask).count("1")


class TrafficEngine:
    def __init__(self, rng: random.Random, timeouts: Timeouts) -> None:
        self.rng = rng
        self.timeouts = timeouts
        self.step = 0
        self.services: list[SimService] = []
        self.wheel: defaultdict[int, list[tuple[int, object, int]]] = defaultdict(list)
        self.live: list[set[SimService]] = [set() for _ in range(PHASES)]
        self.dropped = 0  # flows no scheduler could place (shown nowhere yet; handy in tests)
        self._weights: list[float] = []
        self._cum: list[float] = []
        self._mood: dict[int, float] = {}
        self.stale = True

    # -- arrivals -----------------------------------------------------------------------------

    def _reweigh(self) -> None:
        """Each service's popularity drifts (a slow random walk), so the picture keeps moving."""
        gauss, exp, moods = self.rng.gauss, math.exp, self._mood
        weights: list[float] = []
        append = weights.append
        for svc in self.services:
            key = id(svc)
            mood = moods.get(key, 1.0) * exp(gauss(0.0, 0.15))
            mood = 3.0 if mood > 3.0 else 0.3 if mood < 0.3 else mood  # min(3, max(0.3, mood))
            moods[key] = mood
            append(svc.traffic.rate * mood if svc.dests else 0.0)
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

    def _client(self, svc: SimService) -> tuple[int, int]:
        bits = self.rng.getrandbits(33)
        port = 1024 + (bits >> 17)
        if svc.key.family is Family.IPV6:
            return _V6_CLIENTS | (bits & 0x1FFFF), port
        return _V4_CLIENTS | (bits & 0x1FFFF), port

    def arrive(self, svc: SimService, count: int, client: tuple[int, int] | None = None) -> int:
        """`count` new connections to `svc`; returns how many found a real server."""
        sched = svc.sched
        assert isinstance(sched, Scheduler)
        if not svc.dests:
            self.dropped += count
            return 0
        active = svc.key.protocol is not Protocol.UDP  # the kernel counts UDP flows as inactive
        share: defaultdict[SimDest, int] = defaultdict(int)
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

    def _persist(self, svc: SimService, masked: int, addr: int, port: int) -> SimDest | None:
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
        dest.templates_until = max(dest.templates_until, expiry)
        self.wheel[expiry].append((_END_TEMPLATE, svc, masked))
        return dest

    def _start(self, svc: SimService, dest: SimDest, n: int, active: bool) -> None:
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
                assert isinstance(obj, SimService)
                entry = obj.templates.get(n)
                if entry is not None and entry[1] <= self.step:
                    del obj.templates[n]
                    if entry[0].alive:
                        entry[0].persistent -= 1
                        entry[0].release()  # ip_vs_unbind_dest checks the thresholds for templates too
                continue
            assert isinstance(obj, SimDest)
            if not obj.alive:
                continue
            if kind == _END_ACTIVE:
                obj.active -= n
                obj.inactive += n
                obj.touch()
                # Most close cleanly (FIN_WAIT/TIME_WAIT), some are reset (CLOSE, 10 s).
                linger = self.timeouts.tcp_fin if self.rng.random() < 0.8 else _RESET
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
                svc.touch()
            if not busy and svc.counters.idle:
                done.append(svc)
        live.difference_update(done)

    # -- a steady-state start ------------------------------------------------------------------

    def settle(self, uptime: float) -> None:
        """Start mid-flight without simulating: every service as if its clients had arrived at their
        mean rate for `uptime` seconds (at least the longest timeout, so every population is steady).

        From each real server's expected share of its service's rate: counters = rate x uptime x
        (packets, bytes per connection); established = rate x mean lifetime; closing (TCP) or
        waiting out the UDP timeout = rate x mean linger; persistence templates = rate x timeout;
        estimator averages = the rates themselves. Connections in flight go on the ageing wheel in
        a few cohorts spread over their remaining lifetimes, so they drain and are replaced as in a
        long run. Deterministic: every draw comes from the engine's generator.

        The quiet tail (under _QUIET connections per real server over the whole uptime: most of a
        big Zipf table) is dealt whole connections instead, all services at once, and no averages:
        in a long run theirs would have decayed long ago. That keeps the cost near the busy part's.
        """
        rng = self.rng
        rnd = rng.random
        linger = 0.8 * self.timeouts.tcp_fin + 0.2 * _RESET  # mean time a closed TCP connection is listed
        quiet: list[SimDest] = []  # real servers of quiet services, and their connections per second
        quiet_rates: list[float] = []
        profiles: dict[SimService, tuple[float, float, float, float]] = {}
        in_flight: dict[SimDest, list[int]] = {}
        for svc in self.services:
            traffic = svc.traffic
            rate = traffic.rate
            members = [d for d in svc.dests if d.available]
            if rate <= 0 or not members:
                continue
            weights = [1] * len(members) if svc.scheduler in ("rr", "lc") else [d.weight for d in members]
            if svc.key.protocol is not Protocol.UDP:  # per connection, as _start and _estimate count
                life = traffic.active_mean
                per_conn = (3 + life * traffic.in_pps, 2 + life * traffic.out_pps,
                            112 + traffic.in_size + life * traffic.in_pps * traffic.in_size,
                            112 + life * traffic.out_pps * traffic.out_size)  # fmt: skip
                held = linger
            else:
                per_conn = (1.0, 1.0, float(traffic.in_size), float(traffic.out_size))
                life, held = 0.0, float(self.timeouts.udp)
            profiles[svc] = per_conn
            kept = svc.timeout if svc.raw_flags & F.PERSISTENT else 0
            total_weight = sum(weights)
            if rate * uptime >= _QUIET * len(members):
                totals, averages = [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]
                for dest, weight in zip(members, weights, strict=True):
                    share = rate * weight / total_weight
                    # Stochastic rounding keeps expected values right, down to the quiet tail.
                    self._seed(svc, dest, int(share * uptime + rnd()), int(share * life + rnd()),
                               int(share * held + rnd()), int(share * kept + rnd()), per_conn, share,
                               totals, averages)  # fmt: skip
                t0, t1, t2, t3, t4 = totals
                a0, a1, a2, a3, a4 = averages
                svc.counters.seed((t0, t1, t2, t3, t4), (a0, a1, a2, a3, a4))
                svc.touch()
                if not svc.counters.idle or any(d.active for d in members):
                    self.live[svc.phase].add(svc)
                continue
            quiet += members
            unit = rate / total_weight
            quiet_rates += [unit * weight for weight in weights]
            for kind, expected in ((1, rate * life), (2, rate * held), (3, rate * kept)):
                count = int(expected + rnd())
                for dest in rng.choices(members, weights, k=count) if count else ():
                    in_flight.setdefault(dest, [0, 0, 0, 0])[kind] += 1
        if not quiet:
            return
        # Closed connections of the whole quiet tail: one Poisson total, dealt by rate.
        cum = list(accumulate(quiet_rates))
        dealt = Counter(rng.choices(quiet, cum_weights=cum, k=poisson(rng, cum[-1] * uptime)))
        sums: dict[SimService, list[int]] = {}
        for dest, counts in in_flight.items():
            svc = dest.service
            counts[0] = dealt.pop(dest, 0)
            totals = sums.setdefault(svc, [0, 0, 0, 0, 0])
            self._seed(svc, dest, counts[0], counts[1], counts[2], counts[3], profiles[svc], 0.0, totals,
                       [0, 0, 0, 0, 0])  # fmt: skip
            if counts[1]:
                self.live[svc.phase].add(svc)
        for dest, count in dealt.items():  # most of the tail: a few closed connections, nothing else
            svc = dest.service
            inp, outp, inb, outb = profiles[svc]
            masq = dest.forward is Forward.MASQ
            counted = (count, round(count * inp), round(count * outp) if masq else 0,
                       round(count * inb), round(count * outb) if masq else 0)  # fmt: skip
            dest.counters.seed(counted, None)
            found = sums.get(svc)
            if found is None:
                sums[svc] = list(counted)
            else:
                totals = found
                totals[0] += counted[0]
                totals[1] += counted[1]
                totals[2] += counted[2]
                totals[3] += counted[3]
                totals[4] += counted[4]
        for svc, totals in sums.items():
            svc.counters.seed((totals[0], totals[1], totals[2], totals[3], totals[4]), None)
            svc.touch()

    def _seed(
        self,
        svc: SimService,
        dest: SimDest,
        conns: int,
        established: int,
        closing: int,
        templates: int,
        per_conn: tuple[float, float, float, float],
        rate: float,
        totals: list[int],
        averages: list[int],
    ) -> None:
        """One real server of settle(): its counters, rates (`rate` new connections per second),
        connections in flight and persistence templates; adds its counters to the service's."""
        rng, rnd, step, wheel = self.rng, self.rng.random, self.step, self.wheel
        inp, outp, inb, outb = per_conn
        masq = dest.forward is Forward.MASQ  # DR/TUN replies bypass the director
        conns = max(conns, established + closing)
        counters = dest.counters
        counters.seed(
            (conns, round(conns * inp), round(conns * outp) if masq else 0,
             round(conns * inb), round(conns * outb) if masq else 0),
            (round(rate * 1024), round(rate * inp * 1024), round(rate * outp * 1024) if masq else 0,
             round(rate * inb * 32), round(rate * outb * 32) if masq else 0),
        )  # fmt: skip
        totals[0] += counters.conns
        totals[1] += counters.inpkts
        totals[2] += counters.outpkts
        totals[3] += counters.inbytes
        totals[4] += counters.outbytes
        for k, value in enumerate(counters.averages):
            averages[k] += value
        if established:
            dest.bind(established, True)
            cohorts = min(established, 3)
            base, extra = divmod(established, cohorts)
            mean = svc.traffic.active_mean
            for i in range(cohorts):  # exponential lifetimes: the time left is exponential, too
                left = max(1, round(rng.expovariate(1.0 / mean) / STEP))
                wheel[step + left].append((_END_ACTIVE, dest, base + (i < extra)))
        if closing:
            dest.bind(closing, False)
            udp = svc.key.protocol is Protocol.UDP
            fin, udp_steps = self.timeouts.tcp_fin, max(1, round(self.timeouts.udp / STEP))
            p_fin = 0.8 * fin / (0.8 * fin + 0.2 * _RESET)  # a closed connection picked at random
            cohorts = min(closing, _COHORTS)
            base, extra = divmod(closing, cohorts)
            for i in range(cohorts):  # time left: uniform over the linger, cohorts evenly spread
                steps = udp_steps if udp else round((fin if rnd() < p_fin else _RESET) / STEP)
                left = 1 + int((i + rnd()) / cohorts * steps)
                wheel[step + left].append((_END_INACTIVE, dest, base + (i < extra)))
        if templates:
            shift, expires = _mask_bits(svc), max(1, round(svc.timeout / STEP))
            for _ in range(templates):
                masked = self._client(svc)[0] >> shift
                if masked in svc.templates:
                    continue  # a returning client: one template
                expiry = step + 1 + int(rnd() * expires)
                svc.templates[masked] = (dest, expiry)
                dest.templates_until = max(dest.templates_until, expiry)
                wheel[expiry].append((_END_TEMPLATE, svc, masked))
                dest.persistent += 1
            dest.touch()

    # -- the step -------------------------------------------------------------------------------

    def advance(self) -> None:
        self.step += 1
        self._arrivals()
        self._age()
        self._estimate()
