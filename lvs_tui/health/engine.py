"""The checker's engine: checks on asyncio, rise/fall per server, and rounds that act on the kernel.

Checks run on the engine's own event loop and only count results. Acting is a *round*: a job
handed to the thread that owns the backend (the dashboard's poller, or the headless checker's),
which reads the table fresh, asks `policy.decide` per service and applies the plans through the
same runner and journal as a manual change, with the check result that caused each change. A
round runs when a server changes state, every second while a recovered server ramps up, and every
few seconds anyway (someone else may have changed the table). Only one round is in flight at a time,
so two rounds never act on the same stale table.

Nothing a round changes is forgotten: each service's part is taken in on its own (one that fails
does not discard the others'), a failed round or change is logged once per cause and retried at
the next round, and a stopping engine waits for the round in flight before the state file is
written for the last time.

All of the engine's state lives on its loop; other threads read the published `HealthView`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lvs_tui.health.checks import Result
from lvs_tui.health.config import HealthConfig, ServiceHealth, describe
from lvs_tui.health.prober import ProbeSet, Target
from lvs_tui.health.rounds import Memory, RoundInput, ServiceRound, aside_reasons, play_round, remembered
from lvs_tui.health.state import Health, Tracker
from lvs_tui.health.statefile import write_state
from lvs_tui.health.status import EVENTS_KEPT, HealthEvent, HealthView, Pair, ServerStatus
from lvs_tui.ipvs.backend import Backend, DestConfig
from lvs_tui.model.printable import fault
from lvs_tui.model.records import DestKey, Service, ServiceKey
from lvs_tui.ops.changes import dest_target
from lvs_tui.ops.drainrecords import DrainRecord, DrainRecords, RecordsError, ended_in
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.poller import SubmitJob

# Seconds between rounds when nothing changed: someone may change the table under us. Each round
# reads the whole table, so not too often on a director with thousands of services.
ROUND_EVERY = 5.0
RAMP_EVERY = 1.0  # seconds between rounds while a slow start is in progress
QUEUED_SAID_EVERY = 60.0  # seconds between two warnings that checks fall behind
HEARTBEAT = 5.0  # the state file is rewritten at least this often, so readers know we are alive
ROUND_STUCK = 60.0  # seconds a round may take before the log says the backend's thread hangs
ROUND_WAIT = 5.0  # seconds a stopping engine waits for a round in flight, to record its changes

Log = Callable[[str, str], None]  # (level, message)

NO_SERVICE = "the service is not in the kernel's table"


class Engine:
    def __init__(self, config: HealthConfig, submit: SubmitJob, journal: Journal, *,
                 read_only: str | None = None, log: Log | None = None, source: str = "this dashboard",
                 state_path: Path | None = None,
                 taken_out: Mapping[ServiceKey, Mapping[DestKey, DestConfig]] | None = None,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time,
                 round_every: float = ROUND_EVERY, drains: DrainRecords | None = None) -> None:
        self.config = config
        self._submit = submit
        self._journal = journal
        self._read_only = read_only
        self._log = log or (lambda level, text: None)
        self._source = source
        self._state_path = state_path
        self._drains = drains  # the director's drain records: the operator's drains, and our quiesces
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
        self._round_done = asyncio.Event()
        self._round_started = 0.0
        self._round_wall = 0.0  # wall-clock start of the latest round: records older than it predate its read
        self._stuck_said = False
        self._round_error: str | None = None  # the last cause of a failed round, said once
        self._service_errors: dict[ServiceKey, str] = {}  # the same, per service
        self._failures_said: dict[ServiceKey, set[str]] = {}  # changes failing the same way, said once
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
                try:
                    self._tick()
                except Exception as error:  # the checker must not stop on its own bug: said, goes on
                    self._log("error", f"the checker met an unexpected error ({fault(error)}); it goes on")
        finally:
            ending = [*self._retired, *(self._probes.cancel() if self._probes is not None else [])]
            # Awaited, so that command checks kill what they started; nothing they raise escapes.
            await asyncio.gather(*ending, return_exceptions=True)
            await self._finish_round()

    def _tick(self) -> None:
        self._supervise()
        if not self._busy:
            self._start_round()
        else:
            self._watch_round()
        self._publish()

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

    # --- the drain records: shared with every lvs-top on this director ----------------------------

    def _stand_aside_for_records(self) -> None:
        """A server the checker took out that an operator has since drained (the dashboard, a
        command, a rollout: its record says so) is the operator's now: never brought back by us."""
        if self._drains is None or not any(self._taken_out.values()):
            return
        try:
            records = self._drains.read()
        except RecordsError as error:
            self._records_failed(str(error))
            return
        for (service, dest), record in records.items():
            if record.by_hand and dest in self._taken_out.get(service, {}):
                self._forget(service, dest)

    def _record_quiesces(self, config: ServiceHealth, service: Service,
                         before: Mapping[DestKey, DestConfig], memory: Mapping[DestKey, DestConfig]) -> None:
        """Write the servers this round quiesced, end the records of those it brought back, and drop
        those the round's read shows ended: a record left behind by a drain that ended while no
        lvs-top wrote (weights restored with ipvsadm, a killed script) would otherwise make the
        checker stand aside, for good, the next time it takes that server out."""
        if self._drains is None:
            return
        key, now, pid = config.key, self._wall(), os.getpid()
        quiesced = [DrainRecord(key, dest, settings.weight, now, "health", pid)
                    for dest, settings in memory.items() if dest not in before and config.action == "quiesce"]
        returned = {(key, dest) for dest in before if dest not in memory}
        try:
            records = self._drains.read()
            # Only records older than the round's read: a drain started since is not in it yet.
            stale = {pair for pair, record in records.items() if pair[0] == key
                     and record.started < self._round_wall and ended_in(record, service)}
            ends = {pair for pair in returned if pair in records and not records[pair].by_hand} | stale
            if ends:
                self._drains.drop(ends)
            if quiesced:
                self._drains.add(quiesced)
        except RecordsError as error:
            self._records_failed(str(error))

    def _records_failed(self, sentence: str) -> None:
        self._round_failed(f"{sentence}: drains by hand are told apart from the checker's only by weight")

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
        self._stand_aside_for_records()
        self._round_wall = self._wall()
        self._busy, self._round_started = True, self._clock()
        self._round_done.clear()
        generation = self._generation
        given = RoundInput(self.config, {pair: tracker.state for pair, tracker in self._trackers.items()},
                           dict(self._recovered_at),
                           {key: dict(dests) for key, dests in self._taken_out.items()}, self._causes(),
                           self._clock())
        loop = self._loop
        assert loop is not None
        journal, read_only = self._journal, self._read_only

        def job(backend: Backend) -> list[ServiceRound]:
            return play_round(backend, journal, read_only, given)

        def done(outcome: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: the engine has stopped
                loop.call_soon_threadsafe(self._after_round, outcome, given.memory, generation)

        try:
            self._submit(job, done)
        except Exception as error:  # the backend's thread is gone: said, and tried again next time
            self._busy = False
            self._round_done.set()
            self._round_failed(f"the round could not be handed to the backend's thread ({fault(error)})")

    def _causes(self) -> dict[str, str]:
        causes = {}
        for (service, dest), tracker in self._trackers.items():
            last = "no result yet" if tracker.last is None else tracker.last.detail
            causes[dest_target(service, dest)] = f"health check {tracker.state.value}: {last}"
        return causes

    def _watch_round(self) -> None:
        """A round that never comes back would stop every change silently: say it, once."""
        waited = self._clock() - self._round_started
        if self._busy and waited > ROUND_STUCK and not self._stuck_said:
            self._stuck_said = True
            self._log("error", f"no round has come back for {waited:.0f} s: the thread that owns the table "
                               "does not answer; checks go on, changes wait for it")

    async def _finish_round(self) -> None:
        """On the way out: let a round in flight come back, so what it changed is recorded."""
        if self._busy:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(ROUND_WAIT):
                    await self._round_done.wait()

    def _after_round(self, outcome: Any, memory: Memory, generation: int) -> None:
        self._busy = False
        self._round_done.set()
        if self._stuck_said:
            self._stuck_said = False
            self._log("info", "rounds come back again")
        try:
            self._take_round(outcome, memory)
        except Exception as error:  # the round's changes stay journaled; the next round retries
            self._round_failed(f"the round's outcome could not be taken in ({fault(error)})")
        if generation != self._generation:
            self._wake.set()  # states changed while this round ran: decide again at once
        self._publish()

    def _take_round(self, outcome: Any, memory: Memory) -> None:
        if not isinstance(outcome, list):  # an IpvsError: the round read or changed nothing
            self._round_failed(f"cannot act on the table ({outcome})")
            return
        self._round_error = None
        held: list[str] = []
        for service_round in outcome:
            key = service_round.config.key
            try:
                held += self._settle(service_round, memory.get(key, {}))
            except Exception as error:  # one service's trouble; the others' changes are recorded
                self._service_failed(key, f"its outcome could not be taken in ({fault(error)})")
        for line in sorted(set(held) - set(self._held)):
            self._log("warning", line)  # said once, when it starts holding
        self._held = tuple(held)

    def _round_failed(self, cause: str) -> None:
        if cause != self._round_error:  # said once per cause, not every round
            self._log("error", f"{cause}; retrying every {self._round_period:g} s")
        self._round_error = cause

    def _service_failed(self, key: ServiceKey, cause: str) -> None:
        if self._service_errors.get(key) != cause:
            self._event(key, "error", f"this service's part of the round failed: {cause}; "
                                      f"retrying every {self._round_period:g} s")
        self._service_errors[key] = cause

    def _settle(self, service_round: ServiceRound, before: Mapping[DestKey, DestConfig]) -> list[str]:
        """Take in one service's round: the checker's memory, who it stands aside for, events."""
        config, service = service_round.config, service_round.service
        decision, report = service_round.decision, service_round.report
        key = config.key
        if service_round.error is not None:  # nothing of it was applied: memory and asides stand
            self._service_failed(key, service_round.error)
            return []
        self._service_errors.pop(key, None)
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
        memory, touched = remembered(service_round, before)
        failed = set()
        for outcome in () if report is None else report.outcomes:
            if outcome.ok:
                self._event(key, "info", outcome.change.command.display)
            else:  # said once while it keeps failing the same way; every attempt is in the journal
                failed.add(said := f"{outcome.change.command.display}: {outcome.error}")
                if said not in self._failures_said.get(key, ()):
                    self._event(key, "error", f"{said}; retrying every {self._round_period:g} s")
        self._taken_out[key] = memory
        self._record_quiesces(config, service, before, memory)
        self._failures_said[key] = failed
        reasons = aside_reasons(config, service, memory, touched)
        for server in config.servers:
            pair = (key, server.dest)
            tracker = self._trackers.get(pair)
            if tracker is None:
                continue
            reason = reasons.get(server.dest)
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
