"""Mutable in-memory state of the simulated director, and its kernel-like rate estimator.

Connections are never objects: a real server holds counts (active, inactive, templates) and the
ageing wheel (see traffic.py) holds cohorts of counts that change state at a future step. That is
what keeps 10,000 services x 10 real servers cheap.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lvs_tui.model.records import ZERO_STATS, Dest, Family, Forward, Service, ServiceKey, Stats, Tunnel

_DEST_FIELDS = (
    "address", "port", "family", "forward", "tunnel", "weight", "upper_threshold", "lower_threshold",
    "active_conns", "inactive_conns", "persistent_conns", "stats",
)  # fmt: skip


def _dest_maker() -> Callable[..., Dest]:
    """`Dest(...)` twice as fast, for a big table's first snapshot (100,000 records).

    A frozen dataclass's __init__ sets each field through object.__setattr__; this sets the slots
    through their descriptors instead, which gives the very same object. Used only while `Dest` is
    exactly the slotted dataclass it expects (same fields in the same order, no __post_init__);
    otherwise the plain constructor. tests/unit/test_sim_steady.py checks both give equal records.
    """
    slots: Any = getattr(Dest, "__slots__", ())
    fields = tuple(f.name for f in dataclasses.fields(Dest)) if dataclasses.is_dataclass(Dest) else ()
    if fields != _DEST_FIELDS or tuple(slots) != _DEST_FIELDS or hasattr(Dest, "__post_init__"):
        return Dest
    new = object.__new__
    s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11 = (getattr(Dest, name).__set__ for name in _DEST_FIELDS)

    def make(a: str, b: int, c: Family, d: Forward, e: Tunnel | None, f: int, g: int, h: int,
             i: int, j: int, k: int, m: Stats) -> Dest:  # fmt: skip
        dest: Dest = new(Dest)
        s0(dest, a), s1(dest, b), s2(dest, c), s3(dest, d), s4(dest, e), s5(dest, f)
        s6(dest, g), s7(dest, h), s8(dest, i), s9(dest, j), s10(dest, k), s11(dest, m)
        return dest

    return make


make_dest = _dest_maker()


def _stats_maker() -> Callable[[type[Stats], tuple[int, ...]], Stats]:
    """`Stats` is a NamedTuple: tuple.__new__ builds one without its Python-level __new__ (the
    estimator builds thousands a second). Anything else: the plain constructor."""
    if issubclass(Stats, tuple) and hasattr(Stats, "_fields") and len(ZERO_STATS) == 10:
        new: Callable[[type[Stats], tuple[int, ...]], Stats] = tuple.__new__
        return new
    return lambda cls, values: cls(*values)


_new_stats = _stats_maker()


class Counters:
    """64-bit counters plus the kernel's estimator (ip_vs_est.c), updated every 2 s.

    The visible `stats` record changes only at an estimator tick, like the kernel's counters which
    are summed from per-CPU values by the same 2-second timer.
    """

    __slots__ = (
        "_cps",
        "_inbps",
        "_inpps",
        "_last",
        "_outbps",
        "_outpps",
        "conns",
        "inbytes",
        "inpkts",
        "outbytes",
        "outpkts",
        "stats",
    )  # fmt: skip

    def __init__(self) -> None:
        self.stats: Stats = ZERO_STATS
        self.zero()

    def zero(self) -> None:
        self.conns = self.inpkts = self.outpkts = self.inbytes = self.outbytes = 0
        self._last = (0, 0, 0, 0, 0)
        self._cps = self._inpps = self._outpps = self._inbps = self._outbps = 0
        self.stats = ZERO_STATS

    def add(self, conns: int, inpkts: int, outpkts: int, inbytes: int, outbytes: int) -> None:
        self.conns += conns
        self.inpkts += inpkts
        self.outpkts += outpkts
        self.inbytes += inbytes
        self.outbytes += outbytes

    def tick(self) -> bool:
        """One 2-second estimator run. Returns True if the visible stats changed."""
        conns, inpkts, outpkts, inbytes, outbytes = last = (
            self.conns, self.inpkts, self.outpkts, self.inbytes, self.outbytes
        )  # fmt: skip
        if last == self._last and not (
            self._cps or self._inpps or self._outpps or self._inbps or self._outbps
        ):  # fmt: skip
            return False  # idle: nothing to smooth, nothing changes
        lc, lip, lop, lib, lob = self._last
        # Scaled rates and the avg += (rate - avg) / 4 smoothing, exactly as ip_vs_est.c does it.
        cps = self._cps = self._cps + ((((conns - lc) << 9) - self._cps) >> 2)
        inpps = self._inpps = self._inpps + ((((inpkts - lip) << 9) - self._inpps) >> 2)
        outpps = self._outpps = self._outpps + ((((outpkts - lop) << 9) - self._outpps) >> 2)
        inbps = self._inbps = self._inbps + ((((inbytes - lib) << 4) - self._inbps) >> 2)
        outbps = self._outbps = self._outbps + ((((outbytes - lob) << 4) - self._outbps) >> 2)
        self._last = last
        stats = _new_stats(
            Stats,
            (conns, inpkts, outpkts, inbytes, outbytes, (cps + 0x1FF) >> 10, (inpps + 0x1FF) >> 10,
             (outpps + 0x1FF) >> 10, (inbps + 0xF) >> 5, (outbps + 0xF) >> 5),
        )  # fmt: skip
        if stats == self.stats:
            return False
        self.stats = stats
        return True

    def _stats(self) -> Stats:
        return Stats(
            self.conns, self.inpkts, self.outpkts, self.inbytes, self.outbytes,
            (self._cps + 0x1FF) >> 10, (self._inpps + 0x1FF) >> 10, (self._outpps + 0x1FF) >> 10,
            (self._inbps + 0xF) >> 5, (self._outbps + 0xF) >> 5,
        )  # fmt: skip

    def seed(
        self, totals: tuple[int, int, int, int, int], averages: tuple[int, int, int, int, int] | None
    ) -> None:
        """Start as if the estimator had long been running: `totals` are the counters (conns,
        inpkts, outpkts, inbytes, outbytes), `averages` the smoothed rates in the estimator's own
        scale (x 2^10 per second for conns and packets, x 2^5 for bytes), as if just ticked.

        Averages too small to show (every rate would read 0), or None, leave this estimator idle:
        it has decayed already, so the engine need not keep running it.
        """
        self.conns, self.inpkts, self.outpkts, self.inbytes, self.outbytes = totals
        self._last = totals
        if averages is None:
            self._cps = self._inpps = self._outpps = self._inbps = self._outbps = 0
            self.stats = Stats(*totals)
            return
        self._cps, self._inpps, self._outpps, self._inbps, self._outbps = averages
        stats = self._stats()
        if not (stats.cps or stats.inpps or stats.outpps or stats.inbps or stats.outbps):
            self._cps = self._inpps = self._outpps = self._inbps = self._outbps = 0
        self.stats = stats

    @property
    def averages(self) -> tuple[int, int, int, int, int]:
        return self._cps, self._inpps, self._outpps, self._inbps, self._outbps

    @property
    def idle(self) -> bool:
        """Nothing left to estimate: no new traffic and every average decayed to zero."""
        return (
            self._last == (self.conns, self.inpkts, self.outpkts, self.inbytes, self.outbytes)
            and not (self._cps or self._inpps or self._outpps or self._inbps or self._outbps)
        )


class SimDest:
    """One real server: configuration, connection counts, counters and its cached record."""

    __slots__ = (
        "active",
        "address",
        "alive",
        "counters",
        "dirty",
        "family",
        "forward",
        "inactive",
        "last_weight",
        "lower",
        "overloaded",
        "persistent",
        "phase",
        "port",
        "record",
        "service",
        "starved",
        "templates_until",
        "tunnel",
        "upper",
        "weight",
    )  # fmt: skip

    def __init__(
        self,
        service: SimService,
        address: str,
        port: int,
        family: Family,
        forward: Forward,
        tunnel: Tunnel | None,
        weight: int,
        upper: int,
        lower: int,
        phase: int,
    ) -> None:
        self.address = address
        self.port = port
        self.family = family
        self.forward = forward
        self.tunnel = tunnel
        self.weight = weight
        # The last non-zero weight: mh builds its table from it so that quiescing a server
        # does not reshuffle every other flow (the kernel keeps dest->last_weight for this).
        self.last_weight = weight
        self.upper = upper
        self.lower = lower
        self.overloaded = False
        self.starved = False  # a fault for tests: never scheduled although its weight is > 0
        self.active = 0
        self.inactive = 0
        self.persistent = 0
        self.templates_until = 0  # the step at which its last persistence template expires
        self.counters = Counters()
        self.service = service
        self.alive = True  # False once deleted; pending ageing cohorts then drop silently
        self.phase = phase  # which estimator slot (estimators are spread over the 2 s period)
        self.record: Dest | None = None
        self.dirty = True

    @property
    def available(self) -> bool:
        """Can take new connections: positive weight and not over its upper threshold."""
        return self.weight > 0 and not self.overloaded and not self.starved

    def bind(self, count: int, active: bool) -> None:
        """New connections: the kernel's ip_vs_bind_dest, including the overload check."""
        if active:
            self.active += count
        else:
            self.inactive += count
        if self.upper and self.active + self.inactive >= self.upper:
            self.overloaded = True
        self.touch()

    def release(self) -> None:
        """After connections leave: ip_vs_unbind_dest's overload hysteresis."""
        total = self.active + self.inactive
        if self.lower:
            if total < self.lower:
                self.overloaded = False
        elif self.upper:
            if total * 4 < self.upper * 3:
                self.overloaded = False
        else:
            self.overloaded = False
        self.touch()

    def touch(self) -> None:
        """Something visible changed: rebuild this record and its service's at the next snapshot."""
        self.dirty = True
        service = self.service
        if not service.dirty:
            service.dirty = True
            service.changed.append(service)

    def build(self) -> Dest:
        if self.dirty or self.record is None:
            self.record = make_dest(
                self.address, self.port, self.family, self.forward, self.tunnel, self.weight,
                self.upper, self.lower, self.active, self.inactive, self.persistent,
                self.counters.stats,
            )  # fmt: skip
            self.dirty = False
        return self.record


@dataclass(slots=True, eq=False)
class Traffic:
    """How one service's clients behave (a per-service profile, not a kernel notion)."""

    rate: float  # mean new connections per second
    active_mean: float  # mean seconds a TCP/SCTP connection stays established
    in_pps: float  # packets per second per established connection, client to server
    out_pps: float
    in_size: int  # bytes per packet
    out_size: int


@dataclass(slots=True, eq=False)
class SimService:
    """One virtual service. `dests` is in kernel list order (newest first, like list_add)."""

    key: ServiceKey
    scheduler: str
    raw_flags: int
    timeout: int
    netmask: str
    pe: str | None
    traffic: Traffic
    dests: list[SimDest] = field(default_factory=list)
    counters: Counters = field(default_factory=Counters)
    alive: bool = True
    phase: int = 0
    templates: dict[int, tuple[SimDest, int]] = field(default_factory=dict)  # client -> (dest, expiry)
    sched: object | None = None  # the scheduler instance (schedulers.Scheduler)
    record: Service | None = None
    # Rebuild the record at the next snapshot. `changed` is the director's list of such services
    # (shared by all of them): a snapshot then costs what changed, not the size of the table.
    dirty: bool = False
    changed: list[SimService] = field(default_factory=list)

    def touch(self) -> None:
        if not self.dirty:
            self.dirty = True
            self.changed.append(self)

    def find(self, address: str, port: int) -> SimDest | None:
        for dest in self.dests:
            if dest.port == port and dest.address == address:
                return dest
        return None

    def build(self, flags: tuple[str, ...]) -> Service:
        """The record, rebuilt only if something changed (unchanged real servers are reused)."""
        if self.dirty or self.record is None:
            self.record = Service(
                self.key, self.scheduler, flags, self.raw_flags, self.timeout, self.netmask, self.pe,
                self.counters.stats,
                tuple([dest.build() if dest.dirty else dest.record or dest.build() for dest in self.dests]),
            )  # fmt: skip
            self.dirty = False
        return self.record
