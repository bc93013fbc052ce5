"""Schedulers that choose a real server the way the kernel's ip_vs_*.c modules do.

Each works on the service's real servers in kernel list order and sees their live counts, so
lc/wlc react to every connection just assigned. rr and wrr also assign a batch of k arrivals in
whole cycles at once (exact, since a full cycle returns them to the same state).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import gcd

from lvs_tui.model import flags as F
from lvs_tui.sim.state import SimDest

SH_TAB_SIZE = 256  # IP_VS_SH_TAB_SIZE
MH_TAB_SIZE = 251  # the kernel's smallest Maglev table (CONFIG_IP_VS_MH_TAB_INDEX=8); cheap to build
_M64 = (1 << 64) - 1


def mix64(value: int) -> int:
    """splitmix64 finaliser: a stable hash (Python's hash() of str is salted per process)."""
    value = (value + 0x9E3779B97F4A7C15) & _M64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _M64
    return value ^ (value >> 31)


def _addr_fold(client: int) -> int:
    """The kernel folds an IPv6 address into 32 bits by XOR of its four words."""
    return (client ^ (client >> 32) ^ (client >> 64) ^ (client >> 96)) & 0xFFFFFFFF


class Scheduler:
    name = ""
    batches = False  # True if assign() may hand out several connections per call

    def __init__(self, raw_flags: int = 0) -> None:
        self.raw_flags = raw_flags
        self.dests: Sequence[SimDest] = ()

    def update(self, dests: Sequence[SimDest]) -> None:
        """Real servers were added, removed or re-weighted (the kernel's add/upd/del_dest hooks)."""
        self.dests = dests

    def pick(self, client: int, port: int) -> SimDest | None:
        """The real server for one new connection, or None: no server available, flow dropped."""
        raise NotImplementedError

    def assign(self, count: int) -> list[tuple[SimDest, int]]:
        """Hand out `count` connections whose client does not matter (only when `batches`)."""
        raise NotImplementedError


class RoundRobin(Scheduler):
    name = "rr"

    def __init__(self, raw_flags: int = 0) -> None:
        super().__init__(raw_flags)
        self.last = -1

    def update(self, dests: Sequence[SimDest]) -> None:
        super().update(dests)
        self.last = -1
        self.batches = not any(d.upper or d.overloaded or d.starved for d in dests)

    def pick(self, client: int, port: int) -> SimDest | None:
        n = len(self.dests)
        for step in range(1, n + 1):
            i = (self.last + step) % n
            if self.dests[i].available:
                self.last = i
                return self.dests[i]
        return None

    def assign(self, count: int) -> list[tuple[SimDest, int]]:
        eligible = [d for d in self.dests if d.available]
        if not eligible:
            return []
        rounds, rest = divmod(count, len(eligible))
        share = dict.fromkeys(eligible, rounds)
        for _ in range(rest):
            dest = self.pick(0, 0)
            assert dest is not None
            share[dest] += 1
        return [(d, c) for d, c in share.items() if c]


class WeightedRoundRobin(Scheduler):
    """ip_vs_wrr.c: interleaved, current weight `cw` stepping down by the gcd of the weights."""

    name = "wrr"

    def __init__(self, raw_flags: int = 0) -> None:
        super().__init__(raw_flags)
        self.cl = -1  # index of the last pick; -1 is the list head
        self.cw = 0
        self.mw = 0
        self.di = 1
        self.period = 0

    def update(self, dests: Sequence[SimDest]) -> None:
        super().update(dests)
        weights = [d.weight for d in dests]
        self.di = max(1, gcd(*weights)) if weights else 1
        self.mw = max(weights, default=0) - (self.di - 1) if any(weights) else 0
        # ip_vs_wrr_dest_changed: restart from the head, keep cw within the new range.
        self.cl = -1
        if self.cw > self.mw or self.cw <= 0:
            self.cw = self.mw
        elif self.di > 1:
            self.cw = (self.cw // self.di) * self.di + 1
        self.period = sum(weights) // self.di
        self.batches = not any(d.upper or d.overloaded or d.starved for d in dests)

    def pick(self, client: int, port: int) -> SimDest | None:
        n = len(self.dests)
        if self.mw <= 0 or n == 0:
            return None
        i = self.cl
        # Each wrap lowers cw by di; after mw/di + 1 wraps every weight has been tried.
        for _ in range(n * (self.mw // self.di + 2)):
            i += 1
            if i >= n:
                i = 0
                self.cw -= self.di
                if self.cw <= 0:
                    self.cw = self.mw
            dest = self.dests[i]
            if dest.available and dest.weight >= self.cw:
                self.cl = i
                return dest
        return None

    def assign(self, count: int) -> list[tuple[SimDest, int]]:
        if self.period <= 0:
            return []
        cycles, rest = divmod(count, self.period)
        share = {d: cycles * d.weight // self.di for d in self.dests}
        for _ in range(rest):
            dest = self.pick(0, 0)
            if dest is None:
                break
            share[dest] += 1
        return [(d, c) for d, c in share.items() if c]


class _Least(Scheduler):
    """lc, wlc, sed, nq: minimise an overhead over the weight; the first server wins a tie."""

    weighted = True

    def overhead(self, dest: SimDest) -> int:
        # ip_vs_dest_conn_overhead: an active connection weighs 256 inactive ones.
        return dest.active * 256 + dest.inactive

    def pick(self, client: int, port: int) -> SimDest | None:
        least: SimDest | None = None
        loh = 0
        for dest in self.dests:
            if not dest.available:
                continue
            doh = self.overhead(dest)
            if least is None:
                least, loh = dest, doh
            elif self.weighted:
                if loh * dest.weight > doh * least.weight:
                    least, loh = dest, doh
            elif doh < loh:
                least, loh = dest, doh
        return least


class LeastConnection(_Least):
    name = "lc"
    weighted = False


class WeightedLeastConnection(_Least):
    name = "wlc"


class ShortestExpectedDelay(_Least):
    name = "sed"

    def overhead(self, dest: SimDest) -> int:
        return dest.active + 1


class NeverQueue(ShortestExpectedDelay):
    name = "nq"

    def pick(self, client: int, port: int) -> SimDest | None:
        for dest in self.dests:  # an idle server takes the connection at once
            if dest.available and dest.active == 0:
                return dest
        return super().pick(client, port)


class WeightedFailover(Scheduler):
    """fo: the available server with the highest weight takes everything."""

    name = "fo"

    def pick(self, client: int, port: int) -> SimDest | None:
        best: SimDest | None = None
        for dest in self.dests:
            if dest.available and (best is None or dest.weight > best.weight):
                best = dest
        return best


class Overflow(Scheduler):
    """ovf: the highest-weight server until its active connections reach its weight."""

    name = "ovf"

    def pick(self, client: int, port: int) -> SimDest | None:
        best: SimDest | None = None
        for dest in self.dests:
            if dest.available and dest.active < dest.weight and (best is None or dest.weight > best.weight):
                best = dest
        return best


class SourceHash(Scheduler):
    """ip_vs_sh.c: 256 buckets filled in list order, `weight` consecutive buckets per server."""

    name = "sh"

    def __init__(self, raw_flags: int = 0) -> None:
        super().__init__(raw_flags)
        self.table: list[SimDest] = []
        self.fallback = bool(raw_flags & F.SCHED1)
        self.use_port = bool(raw_flags & F.SCHED2)
        self.stale = True

    def update(self, dests: Sequence[SimDest]) -> None:
        super().update(dests)
        self.stale = True  # built on first use, like mh: thousands of sh services need not pay up front

    def _populate(self) -> None:
        self.stale = False
        self.table = []
        dests = self.dests
        if not dests:
            return
        i = count = 0
        while len(self.table) < SH_TAB_SIZE:
            dest = dests[i % len(dests)]
            self.table.append(dest)
            count += 1
            if count >= dest.weight:  # a weight-0 server still holds one bucket
                i += 1
                count = 0

    def hashkey(self, client: int, port: int, offset: int) -> int:
        value = ((port if self.use_port else 0) + _addr_fold(client)) & 0xFFFFFFFF
        return (offset + (((value * 0x61C88647) & 0xFFFFFFFF) >> 24)) & (SH_TAB_SIZE - 1)

    def pick(self, client: int, port: int) -> SimDest | None:
        if self.stale:
            self._populate()
        if not self.table:
            return None
        ihash = self.hashkey(client, port, 0)
        dest = self.table[ihash]
        if dest.available:
            return dest
        if not self.fallback:
            return None  # the flow is dropped, as the kernel does without sh-fallback
        for offset in range(SH_TAB_SIZE):
            dest = self.table[self.hashkey(client, port, (offset + ihash) % SH_TAB_SIZE)]
            if dest.available:
                return dest
        return None


class MaglevHash(Scheduler):
    """ip_vs_mh.c: a Maglev lookup table built from each server's last non-zero weight."""

    name = "mh"

    def __init__(self, raw_flags: int = 0) -> None:
        super().__init__(raw_flags)
        self.table: list[SimDest | None] = []
        self.fallback = bool(raw_flags & F.SCHED1)
        self.use_port = bool(raw_flags & F.SCHED2)
        self.stale = True

    def update(self, dests: Sequence[SimDest]) -> None:
        super().update(dests)
        self.stale = True  # built on first use: thousands of mh services need not pay up front

    def _populate(self) -> None:
        self.stale = False
        table: list[SimDest | None] = [None] * MH_TAB_SIZE
        members = [d for d in self.dests if d.last_weight > 0]
        if not members:
            self.table = table
            return
        di = gcd(*(d.last_weight for d in members))
        perms: list[tuple[SimDest, int, int]] = []
        offsets: list[int] = []
        for dest in members:
            h = mix64(hash_text(f"{dest.address}/{dest.port}"))
            offsets.append(h % MH_TAB_SIZE)
            perms.append((dest, (h >> 32) % (MH_TAB_SIZE - 1) + 1, min(dest.last_weight // di, 64)))
        filled = 0
        while filled < MH_TAB_SIZE:
            for n, (dest, skip, turns) in enumerate(perms):
                offset = offsets[n]
                for _ in range(turns):
                    slot = offset
                    while table[slot] is not None:
                        slot = (slot + skip) % MH_TAB_SIZE
                    table[slot] = dest
                    offset = (slot + skip) % MH_TAB_SIZE
                    filled += 1
                    if filled == MH_TAB_SIZE:
                        break
                offsets[n] = offset
                if filled == MH_TAB_SIZE:
                    break
        self.table = table

    def pick(self, client: int, port: int) -> SimDest | None:
        if self.stale:
            self._populate()
        key = client * 65537 + (port if self.use_port else 0)
        ihash = mix64(key) % MH_TAB_SIZE
        dest = self.table[ihash]
        if dest is None:
            return None
        if dest.available:
            return dest
        if not self.fallback:
            return None
        for offset in range(1, MH_TAB_SIZE):
            dest = self.table[mix64(key + offset * 0x1000193) % MH_TAB_SIZE]
            if dest is not None and dest.available:
                return dest
        return None


def hash_text(text: str) -> int:
    """A stable integer for a string (FNV-1a, 64 bits)."""
    value = 0xCBF29CE484222325
    for byte in text.encode():
        value = ((value ^ byte) * 0x100000001B3) & _M64
    return value


SCHEDULERS: dict[str, type[Scheduler]] = {
    cls.name: cls
    for cls in (
        RoundRobin, WeightedRoundRobin, LeastConnection, WeightedLeastConnection,
        ShortestExpectedDelay, NeverQueue, WeightedFailover, Overflow, SourceHash, MaglevHash,
    )
}  # fmt: skip


def make(name: str, raw_flags: int, dests: Sequence[SimDest]) -> Scheduler:
    scheduler = SCHEDULERS[name](raw_flags)
    scheduler.update(dests)
    return scheduler
