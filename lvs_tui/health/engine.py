"""The checker's engine: checks on asyncio, rise/fall per server, and rounds that act on the kernel.

Checks run on the engine's own event loop and only count results. Acting is a *round*: a job
handed to the thread that owns the backend (the dashboard's poller, or the headless checker's),
which reads the table fresh, asks `policy.decide` per service and applies the plans through the
same runner and journal as a manual change, with the check result that caused each change. A
round runs when a server changes state, every second while a recovered server ramps up, and every
few seconds anyway (someone else may have changed the table). Only one round is in flight at a time,
so two rounds never act on the same stale table.

All of the engine's state lives on its loop; other threads read the published `HealthView`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lvs_tui.health.checks import Result, fault
from lvs_tui.health.config import HealthConfig, ServiceHealth, describe
from lvs_tui.health.policy import Decision, decide
from lvs_tui.health.prober import ProbeSet, Target
from lvs_tui.health.state import Health, Tracker
from lvs_tui.health.status import EVENTS_KEPT, HealthEvent, HealthView, Pair, ServerStatus, write_state
from lvs_tui.ipvs.backend import Backend, DestConfig
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.model.records import DestKey, Service, ServiceKey
from lvs_tui.ops.changes import dest_target, parse_dest_target
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.poller import SubmitJob
from lvs_tui.ops.runner import Report, run_plan

# Seconds between rounds when nothing changed: someone may change the table under us. Each round
# reads the whole table, so not too often on a director with thousands of services.
ROUND_EVERY = 5.0
RAMP_EVERY = 1.0  # seconds between rounds while a slow start is in progress
QUEUED_SAID_EVERY = 60.0  # seconds between two warnings that checks fall behind
HEARTBEAT = 5.0  # the state file is rewritten at least this often, so readers know we are alive

Log = Callable[[str, str], None]  # (level, message)

AWAY_BY_HAND = "weight 0 set by hand: the checker stands aside until it is back in rotation"
ABSENT = "not in the service: the checker stands aside until it is added back"
NO_SERVICE = "the service is not in the kernel's table"


@dataclass(frozen=True, slots=True)
class ServiceRound:
    config: ServiceHealth
    service: Service | None
    decision: Decision | None
    report: Report | None


class Engine:
    def __init__(self, config: HealthConfig, submit: SubmitJob, journal: Journal, *,
                 read_only: str | None = None, log: Log | None = None, source: str = "this dashboard",
                 state_path: Path | None = None,
                 taken_out: Mapping[ServiceKey, Mapping[DestKey, DestConfig]] | None = None,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time,
                 round_every: float = ROUND_EVERY) -> None:
        self.config = config
        self._submit = submit
        self._journal = journal
        self._read_only = read_only
        self._log = log or (lambda level, text: None)
        self._source = source
        self._state_path = state_path
        self._clock, self._wall = clock, wall
        self._round_period = round_every  # rounds even when nothing changed: others edit the table
        self._taken_out: dict[ServiceKey, dict[DestKey, DestConfig]] = {
            key: dict(dests) for key, dests in (taken_out or {}).items()}
        self._trackers: dict[Pair, Tracker] = {}
        self._recovered_at: dict[Pair, float] = {}
        self._aside: dict[Pair, str] = {}  # servers the checker leaves alone, and why
        self._held: tuple[str, ...] = ()
        self._would: dict[ServiceKey, str] = {}  # read-only: the last plan said, so it is said once
        self._events: deque[HealthEvent] = deque(maxlen=EVENTS_KEPT)
        self._wake = asyncio.Event()
        self._busy = False
        self._round_error: str | None = None
        self._generation = 0  # bumped by each change of state; a round started before one is stale
        self._last_write = 0.0
        self._queued_said = -QUEUED_SAID_EVERY
        self._written: object = None  # what the state file last said, to write only news
        self._probes: ProbeSet | None = None
        self._retired: set[asyncio.Task[None]] = set()  # loops of a config replaced, still ending
        self._faults_said: dict[Pair, str] = {}  # the last fault of a check said in the log, per server
        self._loop: asyncio.AbstractEventLoop | None = None
        self._track(config)
        self.view = self._build_view()

    # --- running ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """Check and act until cancelled; weights are left as they are when it stops."""
        self._loop = asyncio.get_running_loop()
        self._start_probes()
        try:
            while True:
                # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation
                # that arrives as the wait ends, and the checker would never stop.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._round_every()):
                        await self._wake.wait()
                self._wake.clear()
                self._supervise()
                if not self._busy:
                    self._start_round()
                self._publish()
        finally:
            ending = [*self._retired, *(self._probes.cancel() if self._probes is not None else [])]
            # Awaited, so that command checks kill what they started; nothing they raise escapes.
            await asyncio.gather(*ending, return_exceptions=True)

    def _supervise(self) -> None:
        """Loops end only when cancelled; one that ended otherwise is said and started again."""
        if self._probes is not None and (dead := self._probes.revive()):
            self._log("error", f"{dead} check loop{'s' * (dead > 1)} had stopped; started again")

    def reload(self, config: HealthConfig) -> None:
        """Use a new config (on the engine's loop): servers kept keep their state and memory."""
        kept = {(service.key, server.dest) for service in config.services for server in service.servers}
        dropped = set(self._trackers) - kept
        for service, dest in sorted(dropped, key=str):
            if dest in self._taken_out.get(service, {}):
                self._event(service, "warning", f"{dest} is no longer in the config; the checker took it out "
                                                "and leaves it as it is")
                del self._taken_out[service][dest]
        self.config = config
        self._track(config)
        if self._probes is not None:
            for task in self._probes.cancel():  # every loop of the old config, each by name
                self._retired.add(task)
                task.add_done_callback(self._retired.discard)
            self._start_probes()
        self._log("info", f"configuration reloaded from {config.path}: {describe(config)}")
        self._wake.set()

    def stand_aside(self, service: ServiceKey, dest: DestKey) -> None:
        """The operator took this server out by hand: forget that the checker took it out, so it
        does not bring it back (thread-safe: runs on the engine's loop)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._forget, service, dest)

    def _forget(self, service: ServiceKey, dest: DestKey) -> None:
        if self._taken_out.get(service, {}).pop(dest, None) is not None:
            self._event(service, "info", f"{dest} was taken out by hand; the checker stands aside")
        self._wake.set()

    def _track(self, config: HealthConfig) -> None:
        trackers: dict[Pair, Tracker] = {}
        for service in config.services:
            for server in service.servers:
                pair = (service.key, server.dest)
                old = self._trackers.get(pair)
                if old is not None:
                    old.rise, old.fall = server.rise, server.fall
                trackers[pair] = old or Tracker(server.rise, server.fall, changed_at=self._wall())
        self._trackers = trackers

    def _start_probes(self) -> None:
        targets = [Target((service.key, server.dest), server.dest.address, server.check_port, server.check,
                          server.interval)
                   for service in self.config.services for server in service.servers]
        probes: ProbeSet | None = None

        def on_result(target: Target, result: Result) -> None:
            if probes is self._probes:  # a loop of a replaced config counts for nothing
                self._on_result(target, result)

        probes = ProbeSet(targets, on_result, self.config.parallel, self._clock, self._on_queued,
                          self._on_fault)
        self._probes = probes

    def _on_fault(self, target: Target, error: BaseException) -> None:
        """Something raised around a check (not in it: run_check turns that into a result)."""
        self._log("error", f"checking {target.address} port {target.port}: {fault(error)}; checking goes on")

    def _on_queued(self, target: Target, seconds: float) -> None:
        now = self._clock()
        if now - self._queued_said < QUEUED_SAID_EVERY:
            return
        self._queued_said = now
        self._log("warning", f"checks are falling behind: one waited {seconds:.1f} s for a free slot "
                             f"(parallel = {self.config.parallel}); servers that hang hold a slot for their "
                             "whole timeout, so raise parallel in [defaults]")

    def _round_every(self) -> float:
        for service, dests in self._taken_out.items():
            config = self.config_of(service)
            if config is None or config.slow_start <= 0:
                continue
            if any(self._state_of(service, dest) is Health.HEALTHY for dest in dests):
                return RAMP_EVERY  # a recovered server is ramping up
        return self._round_period

    def _state_of(self, service: ServiceKey, dest: DestKey) -> Health | None:
        tracker = self._trackers.get((service, dest))
        return None if tracker is None else tracker.state

    def config_of(self, key: ServiceKey) -> ServiceHealth | None:
        return next((service for service in self.config.services if service.key == key), None)

    # --- results ---------------------------------------------------------------------------------

    def _on_result(self, target: Target, result: Result) -> None:
        pair = target.key
        assert isinstance(pair, tuple)
        tracker = self._trackers.get(pair)
        if tracker is None:  # a server a reload dropped
            return
        if result.broken and self._faults_said.get(pair) != result.detail:  # said once per cause
            self._log("error", f"{pair[0]}: {pair[1]}: {result.detail}; counted as a failed check")
        self._faults_said[pair] = result.detail if result.broken else ""
        changed = tracker.record(result, self._wall())
        if changed is None:
            return
        service, dest = pair
        if changed is Health.HEALTHY:
            self._recovered_at[pair] = self._clock()
        runs = tracker.rise if changed is Health.HEALTHY else tracker.fall
        self._event(service, "info" if changed is Health.HEALTHY else "warning",
                    f"{dest} {changed.value} after {runs} check{'s' if runs > 1 else ''} in a row: "
                    f"{result.detail}")
        self._generation += 1
        self._wake.set()

    # --- rounds ----------------------------------------------------------------------------------

    def _start_round(self) -> None:
        self._busy = True
        config, now, generation = self.config, self._clock(), self._generation
        health = {pair: tracker.state for pair, tracker in self._trackers.items()}
        recovered = dict(self._recovered_at)
        memory = {key: dict(dests) for key, dests in self._taken_out.items()}
        causes = self._causes()
        loop = self._loop
        assert loop is not None

        def job(backend: Backend) -> list[ServiceRound]:
            return self._round(backend, config, health, recovered, memory, causes, now)

        def done(outcome: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: the engine has stopped
                loop.call_soon_threadsafe(self._after_round, outcome, memory, generation)

        self._submit(job, done)

    def _causes(self) -> dict[str, str]:
        causes = {}
        for (service, dest), tracker in self._trackers.items():
            last = "no result yet" if tracker.last is None else tracker.last.detail
            causes[dest_target(service, dest)] = f"health check {tracker.state.value}: {last}"
        return causes

    def _round(self, backend: Backend, config: HealthConfig, health: Mapping[Pair, Health],
               recovered: Mapping[Pair, float], memory: Mapping[ServiceKey, Mapping[DestKey, DestConfig]],
               causes: Mapping[str, str], now: float) -> list[ServiceRound]:
        """On the backend's thread: read the table, decide and apply, per service."""
        snapshot = backend.snapshot()
        rounds = []
        for service_config in config.services:
            key = service_config.key
            service = snapshot.service(key)
            if service is None:
                rounds.append(ServiceRound(service_config, None, None, None))
                continue
            decision = decide(service_config, service,
                              {dest: state for (owner, dest), state in health.items() if owner == key},
                              {dest: at for (owner, dest), at in recovered.items() if owner == key},
                              memory.get(key, {}), now)
            report = None
            if decision.plan.changes and self._read_only is None:
                sorry = _sorry_causes(service_config, decision)
                report = run_plan(decision.plan, backend, self._journal, action="health",
                                  causes={**causes, **sorry})
            rounds.append(ServiceRound(service_config, service, decision, report))
        return rounds

    def _after_round(self, outcome: Any, memory: Mapping[ServiceKey, Mapping[DestKey, DestConfig]],
                     generation: int) -> None:
        self._busy = False
        if isinstance(outcome, IpvsError):
            if str(outcome) != self._round_error:  # said once per cause, not every round
                self._log("error", f"cannot act on the table, retrying: {outcome}")
            self._round_error = str(outcome)
            return
        self._round_error = None
        held: list[str] = []
        for service_round in outcome:
            held += self._settle(service_round, memory.get(service_round.config.key, {}))
        for line in sorted(set(held) - set(self._held)):
            self._log("warning", line)  # said once, when it starts holding
        self._held = tuple(held)
        if generation != self._generation:
            self._wake.set()  # states changed while this round ran: decide again at once
        self._publish()

    def _settle(self, service_round: ServiceRound, before: Mapping[DestKey, DestConfig]) -> list[str]:
        """Take in one service's round: the checker's memory, who it stands aside for, events."""
        config, service = service_round.config, service_round.service
        decision, report = service_round.decision, service_round.report
        key = config.key
        for server in config.servers:
            self._aside.pop((key, server.dest), None)
        if service is None or decision is None:
            for server in config.servers:
                self._aside[(key, server.dest)] = NO_SERVICE
            return []
        if self._read_only is not None:
            said = decision.plan.title if decision.plan.changes else ""
            if said and said != self._would.get(key):
                self._event(key, "warning", f"read-only ({self._read_only}), not done: {said}")
            self._would[key] = said
            return list(decision.held)
        memory = dict(decision.taken_out)
        touched = set()  # changed by this round: the table read before it no longer says
        for outcome in () if report is None else report.outcomes:
            self._event(key, "info" if outcome.ok else "error",
                        outcome.change.command.display + ("" if outcome.ok else f": {outcome.error}"))
            target = parse_dest_target(outcome.change.target)
            changed = None if target is None else target[1]
            touched.add(changed)
            if not outcome.applied and changed is not None:  # as if not decided: the next round retries
                memory.pop(changed, None)
                if changed in before:
                    memory[changed] = before[changed]
        self._taken_out[key] = memory
        for server in config.servers:
            pair = (key, server.dest)
            now = service.dest(server.dest)
            reason = None
            if server.dest not in memory and server.dest not in touched:
                if now is None:
                    reason = ABSENT
                elif now.weight == 0:
                    reason = AWAY_BY_HAND
            tracker = self._trackers.get(pair)
            if tracker is None:
                continue
            if reason is not None:
                self._aside[pair] = reason
                if tracker.state is not Health.DISABLED:
                    tracker.disable(self._wall())
                    self._event(key, "info", f"{server.dest}: {reason}")
            elif tracker.state is Health.DISABLED:
                tracker.enable(self._wall())
                self._event(key, "info", f"{server.dest} is back in rotation: checking it again")
        return list(decision.held)

    # --- what others see ---------------------------------------------------------------------------

    def _event(self, service: ServiceKey, level: str, text: str) -> None:
        self._events.append(HealthEvent(self._wall(), service, level, text))
        self._log(level, f"{service}: {text}")

    def _publish(self) -> None:
        self.view = self._build_view()
        if self._state_path is not None and (self._clock() - self._last_write >= HEARTBEAT or
                                             self._state_changed()):
            self.write_state(os.getpid())

    def _build_view(self) -> HealthView:
        servers = {}
        for pair, tracker in self._trackers.items():
            last = "no result yet" if tracker.last is None else tracker.last.detail
            detail = self._aside.get(pair) or last
            taken = pair[1] in self._taken_out.get(pair[0], {})
            servers[pair] = ServerStatus(tracker.state, tracker.changed_at, detail, taken)
        return HealthView(servers, tuple(self._events), self._held, self._source, True, self._wall())

    def _state_changed(self) -> bool:
        fingerprint = (tuple(self.view.servers.items()), len(self._events), self._held,
                       tuple((k, tuple(v)) for k, v in self._taken_out.items()))
        if fingerprint == self._written:
            return False
        self._written = fingerprint
        return True

    def write_state(self, pid: int | None) -> None:
        """Write the state file now; `pid` None marks a checker that stopped cleanly."""
        if self._state_path is None:
            return
        try:
            write_state(self._state_path, self.view, self._taken_out, pid)
            self._last_write = self._clock()
        except OSError as error:
            self._log("error", f"cannot write the state file {self._state_path}: {error.strerror or error}")


def _sorry_causes(config: ServiceHealth, decision: Decision) -> dict[str, str]:
    if config.sorry is None:
        return {}
    target = dest_target(config.key, config.sorry)
    for change in decision.plan.changes:
        if change.target == target:
            return {target: f"sorry server: no real server of {config.key} is healthy" if change.action ==
                    "add_dest" else f"sorry server: a real server of {config.key} is healthy again"}
    return {}

