"""`SimulatedDirector`: the in-memory director behind `lvs-top --demo`, a `Backend` like the kernel's."""

from __future__ import annotations

import dataclasses
import gc
import ipaddress
import random
import time
from collections.abc import Callable, Collection, Iterator

from lvs_tui.ipvs import validate
from lvs_tui.ipvs.backend import DestConfig, DestEdit, ServiceConfig, ServiceEdit
from lvs_tui.ipvs.errors import ObjectExists, ObjectNotFound
from lvs_tui.model import flags as F
from lvs_tui.model.connections import Connection
from lvs_tui.model.records import (
    DestKey,
    Family,
    Forward,
    Info,
    Service,
    ServiceKey,
    Snapshot,
    SyncDaemon,
    Timeouts,
    Tunnel,
)  # fmt: skip
from lvs_tui.sim import checks, schedulers
from lvs_tui.sim.conns import entries
from lvs_tui.sim.state import SimDest, SimService, Traffic
from lvs_tui.sim.table import Generated, default_table, generated_table
from lvs_tui.sim.traffic import PHASES, STEP, TrafficEngine

INFO = Info(version="1.2.1", conn_table_size=4096)  # the kernel's default table size (2^12)
DEFAULT_TIMEOUTS = Timeouts(tcp=900, tcp_fin=120, udp=300)  # the kernel's defaults
NEW_SERVICE_TRAFFIC = Traffic(rate=5.0, active_mean=5.0, in_pps=3.0, out_pps=5.0, in_size=400, out_size=1200)
WARM_UP = 150.0  # seconds simulated before the first snapshot, so the demo opens mid-flight
# A generated table starts in its steady state instead (TrafficEngine.settle), as if it had run this long
# (the longest timeout, tcp's): simulating a big table's warm-up took seconds, and was not steady.
STEADY_UPTIME = 900.0
FREEZE_AT = 10_000  # records in a generated table from which the build freezes the collector
MAX_CATCH_UP = 600.0  # after a longer pause (a laptop asleep) simulated time skips the gap


class SimulatedDirector:
    """A director whose clients, schedulers and counters behave like the kernel's, deterministically.

    Same seed and same sequence of clock readings give identical snapshots.
    """

    def __init__(
        self,
        seed: int = 1,
        services: int | None = None,
        dests_per_service: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        *,
        warm_up: float | None = None,
    ) -> None:
        self.seed = seed
        self.held: frozenset[str] | None = None  # the addresses it has; None: see addresses()
        self._clock = clock
        self._wall = wall_clock
        self._timeouts = DEFAULT_TIMEOUTS
        self._engine = TrafficEngine(random.Random(seed), DEFAULT_TIMEOUTS)
        self._services: dict[ServiceKey, SimService] = {}
        self._records: dict[ServiceKey, Service] = {}  # the latest record of each service, in table order
        self._changed: list[SimService] = []  # services whose record needs rebuilding
        self._snapshot: Snapshot | None = None
        self._flags: dict[tuple[int, str], tuple[str, ...]] = {}
        generated = services is not None or dests_per_service is not None
        if not generated:
            self._description = f"demo (seed {seed})"
            self._daemons: tuple[SyncDaemon, ...] = (SyncDaemon("master", "eth1", 1),)
            for entry in default_table():
                self.add_service(entry.config)
                self._services[entry.config.key].traffic = entry.traffic
                # The kernel lists the newest real server first; add in reverse to show them in order.
                for dest in reversed(entry.dests):
                    self.add_dest(entry.config.key, dest)
            self._warm(WARM_UP if warm_up is None else warm_up)
        else:
            count, per = services or 0, 10 if dests_per_service is None else dests_per_service
            self._description = f"demo {count}x{per} (seed {seed})"
            self._daemons = ()
            big = count * (per + 1) >= FREEZE_AT
            enabled = gc.isenabled()
            if big:
                # Hundreds of thousands of objects, all long-lived: a cyclic collection in the middle
                # would only traverse them again and again.
                gc.disable()
            try:
                self._load(generated_table(count, per, seed))
                if warm_up is None:
                    self._engine.settle(STEADY_UPTIME)
                else:
                    self._warm(warm_up)
                self._refresh()  # every record now, before the freeze below
            finally:
                if enabled:
                    gc.enable()
            if big:
                # Move everything alive now into the collector's permanent generation. The table's
                # objects (states, records, strings) live as long as the director, and a full
                # collection would otherwise traverse all ~300,000 of them: pauses of 100-500 ms
                # every few seconds in a dashboard that polls every second. Frozen objects are
                # still freed by reference counting; only a reference cycle among them (a deleted
                # service: delete_service breaks its own) would outlive its last reference.
                gc.freeze()
        self._origin = clock()
        self._base = self._engine.step

    def _warm(self, seconds: float) -> None:
        """Simulate `seconds` before the first snapshot, so the demo opens mid-flight."""
        for _ in range(round(seconds / STEP)):
            self._engine.advance()

    def _load(self, table: list[Generated]) -> None:
        """A generated table in bulk: the checks of add_service/add_dest once per distinct setting,
        real servers built straight into their service, each scheduler built once."""
        engine, changed = self._engine, self._changed
        settings: dict[tuple[str, tuple[str, ...], int], tuple[int, int]] = {}
        dest_checks: dict[tuple[Forward, Tunnel | None, int], Tunnel | None] = {}
        families: dict[str, Family] = {}
        for entry in table:
            config = entry.config
            key = config.key
            if key in self._services:
                raise ObjectExists(f"Virtual service {key} already exists.")
            setting = (config.scheduler, config.flags, config.persistence_timeout)
            found = settings.get(setting)
            if found is None:
                raw = checks.service_flags(key, config.scheduler, config.flags)
                found = settings[setting] = (raw, validate.persistence(key, raw, config.persistence_timeout))
            raw, timeout = found
            svc = SimService(key, config.scheduler, raw, timeout, "255.255.255.255", None, entry.traffic,
                               phase=len(self._services) % PHASES, changed=changed)  # fmt: skip
            dests = svc.dests
            forward = entry.forward
            for address, port, weight in entry.rows:
                family = families.get(address)
                if family is None:
                    family = families[address] = Family.of(address)
                tunnel_key = (forward, entry.tunnel, weight)
                if tunnel_key not in dest_checks:
                    dest_checks[tunnel_key] = checks.dest(
                        key, DestKey(address, port), address, forward, entry.tunnel, weight, 0, 0
                    )
                tunnel = dest_checks[tunnel_key]
                dests.append(SimDest(svc, address, port, family, forward, tunnel, weight, 0, 0, svc.phase))
            svc.sched = schedulers.make(svc.scheduler, raw, dests)
            svc.touch()
            self._services[key] = svc
            engine.services.append(svc)
        engine.stale = True

    # -- reads --------------------------------------------------------------------------------

    @property
    def description(self) -> str:
        return self._description

    def _advance(self) -> float:
        now = self._clock()
        target = self._base + int((now - self._origin) / STEP)
        behind = target - self._engine.step
        if behind * STEP > MAX_CATCH_UP:
            skip = behind - int(MAX_CATCH_UP / STEP)
            self._origin += skip * STEP
            target -= skip
        while self._engine.step < target:
            self._engine.advance()
        return now

    def _refresh(self) -> None:
        """Rebuild the records of the services that changed (and of their changed real servers)."""
        records = self._records
        for svc in self._changed:
            if svc.alive:
                records[svc.key] = svc.build(self._decode(svc))
        self._changed.clear()

    def snapshot(self, whole: Collection[ServiceKey] | None = None) -> Snapshot:
        """The whole table always (`whole` is for directors whose reads cost)."""
        now = self._advance()
        previous = self._snapshot
        if self._changed or previous is None:
            self._refresh()
            self._snapshot = Snapshot(self._wall(), now, INFO, tuple(self._records.values()))
        else:  # nothing moved: same services, new timestamps
            self._snapshot = dataclasses.replace(previous, time=self._wall(), monotonic=now)
        return self._snapshot

    def snapshot_of(self, keys: Collection[ServiceKey]) -> Snapshot:
        snapshot = self.snapshot()
        wanted = set(keys)
        return Snapshot(snapshot.time, snapshot.monotonic, snapshot.info,
                        tuple(service for service in snapshot.services if service.key in wanted))

    def _decode(self, svc: SimService) -> tuple[str, ...]:
        key = (svc.raw_flags, svc.scheduler)  # cached: 10,000 services share a handful of combinations
        names = self._flags.get(key)
        if names is None:
            names = self._flags[key] = F.decode(svc.raw_flags, svc.scheduler)
        return names

    def timeouts(self) -> Timeouts:
        return self._timeouts

    def daemons(self) -> tuple[SyncDaemon, ...]:
        return self._daemons

    def addresses(self) -> frozenset[str]:
        """The simulated director holds every VIP of its table while it runs a sync master (as the
        master of a pair does), none otherwise; `held` says otherwise."""
        if self.held is not None:
            return self.held
        if not any(daemon.state == "master" for daemon in self._daemons):
            return frozenset()
        return frozenset(key.address for key in self._services if key.fwmark is None)

    def schedulers(self) -> tuple[str, ...]:
        return tuple(sorted(schedulers.SCHEDULERS))

    def persistence_engines(self) -> tuple[str, ...]:
        return checks.KNOWN_PES

    # -- writes -------------------------------------------------------------------------------

    def _service(self, key: ServiceKey) -> SimService:
        svc = self._services.get(key)
        if svc is None:
            raise ObjectNotFound(f"Virtual service {key} does not exist.")
        return svc

    def _dest(self, key: ServiceKey, dest: DestKey) -> tuple[SimService, SimDest]:
        svc = self._service(key)
        found = svc.find(dest.address, dest.port)
        if found is None:
            raise ObjectNotFound(f"Real server {dest} does not exist in virtual service {key}.")
        return svc, found

    def _reschedule(self, svc: SimService) -> None:
        """The scheduler's add/upd/del_dest hook, after any change to the list or a weight."""
        if svc.sched is None or getattr(svc.sched, "name", None) != svc.scheduler:
            svc.sched = schedulers.make(svc.scheduler, svc.raw_flags, svc.dests)
        else:
            assert isinstance(svc.sched, schedulers.Scheduler)
            svc.sched.update(svc.dests)
        svc.touch()

    def add_service(self, config: ServiceConfig) -> None:
        key = config.key
        if key in self._services:
            raise ObjectExists(f"Virtual service {key} already exists.")
        validate.service_key(key)
        raw = checks.service_flags(key, config.scheduler, config.flags)
        netmask = checks.netmask(key, config.netmask)
        timeout = validate.persistence(key, raw, config.persistence_timeout)
        pe = checks.pe(key, config.pe)
        svc = SimService(key, config.scheduler, raw, timeout, netmask, pe, NEW_SERVICE_TRAFFIC,
                           changed=self._changed)  # fmt: skip
        svc.phase = len(self._services) % PHASES
        self._reschedule(svc)
        self._services[key] = svc
        self._engine.services.append(svc)
        self._engine.stale = True

    def edit_service(self, key: ServiceKey, edit: ServiceEdit) -> None:
        svc = self._service(key)
        now = ServiceConfig(key, svc.scheduler, F.decode(svc.raw_flags, svc.scheduler), svc.timeout,
                            svc.netmask, svc.pe)
        after = now.edited(edit)
        scheduler = checks.scheduler(key, after.scheduler)
        raw = checks.service_flags(key, scheduler, after.flags)
        netmask = checks.netmask(key, after.netmask)
        timeout = validate.persistence(key, raw, after.persistence_timeout)
        pe = checks.pe(key, after.pe)
        if (raw & F.PERSISTENT) and not (svc.raw_flags & F.PERSISTENT):
            svc.templates.clear()
        svc.scheduler, svc.raw_flags, svc.netmask, svc.timeout, svc.pe = scheduler, raw, netmask, timeout, pe
        svc.sched = None  # a changed scheduler or flags (sh/mh fallback, port) starts afresh
        self._reschedule(svc)

    def delete_service(self, key: ServiceKey) -> None:
        svc = self._service(key)
        svc.touch()  # the next snapshot is a new one
        svc.alive = False
        for dest in svc.dests:
            dest.alive = False
        # Break the service's reference cycles (service <-> real servers, scheduler tables,
        # templates): after gc.freeze() a cycle would never be collected.
        svc.dests = []
        svc.templates.clear()
        svc.sched = None
        del self._services[key]
        self._records.pop(key, None)
        self._engine.services.remove(svc)
        self._engine.stale = True

    def add_dest(self, service: ServiceKey, config: DestConfig) -> None:
        svc = self._service(service)
        if svc.find(config.address, config.port) is not None:
            raise ObjectExists(f"Real server {config.key} already exists in virtual service {service}.")
        tunnel = checks.dest(service, config.key, config.address, config.forward, config.tunnel,
                             config.weight, config.upper_threshold, config.lower_threshold)  # fmt: skip
        family = Family.of(config.address)
        dest = SimDest(svc, config.address, config.port, family, config.forward, tunnel, config.weight,
                         config.upper_threshold, config.lower_threshold, svc.phase)  # fmt: skip
        svc.dests.insert(0, dest)  # list_add: the kernel puts a new real server at the head
        self._reschedule(svc)
        self._engine.stale = True  # a service with no real servers had no traffic weight

    def edit_dest(self, service: ServiceKey, dest: DestKey, edit: DestEdit) -> None:
        svc, state = self._dest(service, dest)
        now = DestConfig(state.address, state.port, state.forward, state.tunnel, state.weight, state.upper,
                         state.lower)
        after = now.edited(edit)
        forward, weight = after.forward, after.weight
        upper, lower = after.upper_threshold, after.lower_threshold
        tunnel = checks.dest(service, dest, state.address, forward, after.tunnel, weight, upper, lower)
        # __ip_vs_update_dest: a raised or removed upper threshold clears the overload flag.
        if upper == 0 or upper > state.upper:
            state.overloaded = False
        state.forward, state.tunnel, state.weight = forward, tunnel, weight
        state.upper, state.lower = upper, lower
        if weight > 0:
            state.last_weight = weight
        state.touch()
        self._reschedule(svc)

    def delete_dest(self, service: ServiceKey, dest: DestKey) -> None:
        svc, state = self._dest(service, dest)
        state.alive = False  # its connections vanish with it; pending cohorts are ignored
        svc.dests.remove(state)
        for client, (owner, _) in list(svc.templates.items()):
            if owner is state:
                del svc.templates[client]
        self._reschedule(svc)

    def connections(self, address: str, port: int | None = None) -> Iterator[Connection]:
        """The entries of one real server (every port of it when `port` is None), spelled out from the
        counts of the latest snapshot (any thread may ask: a snapshot never changes), the last
        template of each with its true expiry (single reads of plain numbers, safe from any thread)."""
        step = self._engine.step
        last = {(svc.key, DestKey(dest.address, dest.port)): round((dest.templates_until - step) * STEP)
                for svc in tuple(self._services.values()) for dest in tuple(svc.dests)
                if dest.address == address and dest.templates_until > step}
        return entries(self._snapshot, address, port, last)

    def zero(self, service: ServiceKey | None = None) -> None:
        targets = [self._service(service)] if service is not None else list(self._services.values())
        for svc in targets:
            svc.counters.zero()
            svc.touch()
            for dest in svc.dests:
                dest.counters.zero()
                dest.touch()

    def start_daemon(self, daemon: SyncDaemon) -> None:
        validate.daemon(daemon)
        if any(running.state == daemon.state for running in self._daemons):
            raise ObjectExists(f"could not start the sync {daemon.state} on {daemon.mcast_ifn}: a sync "
                               f"{daemon.state} is already running here; stop it first.")
        self._daemons = (*self._daemons, daemon)

    def stop_daemon(self, state: str) -> None:
        validate.daemon(SyncDaemon(state, "lo", 0))
        if not any(running.state == state for running in self._daemons):
            raise ObjectNotFound(f"could not stop the sync {state}: no sync {state} is running here.")
        self._daemons = tuple(running for running in self._daemons if running.state != state)

    def set_timeouts(self, timeouts: Timeouts) -> None:
        for name in ("tcp", "tcp_fin", "udp"):
            validate.timeout(name, getattr(timeouts, name))
        old = self._timeouts
        self._timeouts = Timeouts(
            timeouts.tcp or old.tcp, timeouts.tcp_fin or old.tcp_fin, timeouts.udp or old.udp
        )
        self._engine.timeouts = self._timeouts

    def close(self) -> None:
        """Nothing to release: the director lives in memory."""

    # -- demo controls (not part of Backend) ---------------------------------------------------

    def set_rate(self, key: ServiceKey, rate: float) -> None:
        """Change how many clients per second arrive at a service (0 stops its traffic)."""
        svc = self._service(key)
        t = svc.traffic
        svc.traffic = Traffic(max(0.0, rate), t.active_mean, t.in_pps, t.out_pps, t.in_size, t.out_size)
        self._engine.stale = True

    def inject(self, key: ServiceKey, count: int, client: str | None = None, port: int = 40000) -> int:
        """`count` new connections now (from one client if given); returns how many were placed."""
        self._advance()
        svc = self._service(key)
        source = None if client is None else (int(ipaddress.ip_address(client)), port)
        return self._engine.arrive(svc, count, source)

    def starve(self, key: ServiceKey, dest: DestKey, starved: bool = True) -> None:
        """A fault for tests: the scheduler never picks this real server, whatever its weight (a
        server silently out of rotation). Its connections in flight age out as usual."""
        svc, state = self._dest(key, dest)
        state.starved = starved
        self._reschedule(svc)

    @property
    def dropped(self) -> int:
        """New connections that found no available real server (weight 0, overloaded, none)."""
        return self._engine.dropped
