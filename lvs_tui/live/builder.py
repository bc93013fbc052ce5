"""The poller side of the dashboard: from each poll's result to a frozen `DashboardFrame`.

Everything here runs on the poller thread, which owns the backend: the rate window, the histories,
the drains, the undo list and what is known of the director are its own, never touched by the
screen. The screen hands over what the operator asked for (`ViewSettings`) by replacing one
reference, and gets back frames.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from lvs_tui.doctor.watch import DoctorWatch
from lvs_tui.health.feed import HealthFeed
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.live.drainsync import DrainSync
from lvs_tui.live.frame import AppliedPlan, DashboardFrame, DirectorFacts, ViewSettings
from lvs_tui.live.hostload import HostSampler
from lvs_tui.model.dashboard import RATE_ALL_DESTS_UP_TO, ConnCounter, RateWindow, ordered, totals
from lvs_tui.model.distribution import ServiceMemory, Spread, spreads
from lvs_tui.model.records import Dest, Service, ServiceKey, Snapshot, SyncDaemon
from lvs_tui.ops import changes
from lvs_tui.ops.changes import Plan
from lvs_tui.ops.drain import DrainBoard, DrainOptions
from lvs_tui.ops.journal import drained_weights, unfinished
from lvs_tui.ops.poller import PollResult
from lvs_tui.ops.runner import Report
from lvs_tui.ops.setup import OpsSetup
from lvs_tui.ops.sysctl import rate_warnings

SYSCTLS_EVERY = 10.0  # seconds between two reads of the IPVS sysctls
UNDO_DEPTH = 50


class FrameBuilder:
    def __init__(self, setup: OpsSetup, *, health: HealthFeed | None = None,
                 doctor: DoctorWatch | None = None, host: HostSampler | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.setup = setup
        self.view = ViewSettings()  # replaced whole by the screen; read once per frame
        self._health = health
        self._doctor = doctor
        self._host = host
        self._clock = clock
        self._window = RateWindow()
        self._conns = ConnCounter()
        self._spread_memory: dict[ServiceKey, ServiceMemory] = {}
        self._board = DrainBoard(setup.connections)  # templates: when a persistent drain ends
        self._records = DrainSync(setup, self._board)  # the drains other lvs-top started, and ours
        self._undo: tuple[AppliedPlan, ...] = ()
        self._facts = DirectorFacts()
        self._sysctls_read = -SYSCTLS_EVERY
        self.frame = DashboardFrame()  # the newest frame built

    # --- polls -----------------------------------------------------------------------------------

    def build(self, result: PollResult) -> tuple[DashboardFrame, list[Plan]]:
        """The frame of this poll, and the removals it found due (drains confirmed with "remove once
        drained", or past their deadline), for the caller to apply."""
        last, view = self.frame, self.view
        due: list[Plan] = []
        snapshot, polled_at = last.snapshot, last.polled_at
        rated = (last.rate_seconds, last.service_rates, last.dest_rates, last.resets)
        conns, service_history, dest_history = last.conns, last.service_history, last.dest_history
        distribution = last.distribution
        if result.snapshot is not None:
            snapshot, polled_at = result.snapshot, result.started
            rates = self._window.rates(snapshot, frozenset(view.watched))
            if rates is not None:
                rated = (rates.seconds, rates.services, rates.dests, rates.resets)
                service_history = service_history.add(rates.services)
                dest_history = dest_history.add(rates.dests)
            conns = self._conns.sums(snapshot)
            distribution = self._judge(snapshot, view.watched)
            self._records.poll(snapshot, result.started)
            due = [removal(service, dest) for service, dest in self._board.update(snapshot, result.started)]
            if self._doctor is not None:
                self._doctor.offer(snapshot)
        self._refresh_sysctls()
        if self._records.warnings != self._facts.record_warnings:
            self._facts = replace(self._facts, record_warnings=self._records.warnings)
        seconds, service_rates, dest_rates, resets = rated
        self.frame = DashboardFrame(
            number=last.number + 1,
            snapshot=snapshot,
            polled_at=polled_at,
            error=result.error,
            rate_seconds=seconds,
            service_rates=service_rates,
            dest_rates=dest_rates,
            resets=resets,
            conns=conns,
            totals=totals(snapshot, service_rates, conns),
            view=view,
            order=ordered(snapshot, service_rates, conns, view.sort, view.filter),
            service_history=service_history,
            dest_history=dest_history,
            distribution=distribution,
            drains=self._board.view(),
            undo=self._undo,
            health=None if self._health is None else self._health.view(),
            doctor=None if self._doctor is None else self._doctor.report,
            host=None if self._host is None else self._host.sample(),
            facts=self._facts,
        )
        return self.frame, due

    def whole(self) -> frozenset[ServiceKey]:
        """The services whose real servers the next poll must read whole: those watched (selected),
        draining or checked. A director with a large table reads the others in part, in rotation
        (lvs_tui.ipvs.tiers); a small one reads everything whole anyway."""
        health = None if self._health is None else self._health.view()
        checked = () if health is None else (service for service, _ in health.servers)
        return frozenset({*self.view.watched, *self._board.services(), *checked})

    def _judge(self, snapshot: Snapshot, watched: tuple[ServiceKey, ...]) -> dict[ServiceKey, Spread]:
        """The distribution check: every service of a table of up to RATE_ALL_DESTS_UP_TO real servers,
        else only the watched ones (as the real servers' rates)."""
        every = sum(len(service.dests) for service in snapshot.services) <= RATE_ALL_DESTS_UP_TO
        judged = None if every else frozenset(watched).__contains__
        found, self._spread_memory = spreads(snapshot, snapshot.monotonic, self._spread_memory, judged)
        return found

    def _refresh_sysctls(self) -> None:
        now = self._clock()
        if now - self._sysctls_read < SYSCTLS_EVERY:
            return
        self._sysctls_read = now
        try:
            sysctls = self.setup.sysctls()
        except (OSError, IpvsError):
            return  # the last known values stay; a namespace gone shows in the poll's error
        self._facts = replace(self._facts, sysctls=sysctls, sysctl_warnings=tuple(rate_warnings(sysctls)))

    # --- once, after the first frame: what the director offers ------------------------------------

    def survey(self, schedulers: tuple[str, ...]) -> DashboardFrame:
        """Learn the schedulers, who else manages the table, and the weights drained in earlier
        sessions (from the journal; the drains themselves come from the drain records at each
        poll); the newest frame again, with what was learnt."""
        owners = tuple(owner.warning() for owner in self.setup.owners())
        try:
            weights = drained_weights(self.setup.journal.entries())
            begun = unfinished(self.setup.journal.entries())
        except OSError:
            weights, begun = {}, []
        for target, weight in weights.items():
            pair = changes.parse_dest_target(target)
            if pair is not None:
                self._board.remember(*pair, weight)
        interrupted = tuple(f"pid {entry.get('pid')} began {entry.get('command')!s}"
                            + (f" on director {entry['director']}" if "director" in entry else "")
                            + " and never said how it ended: check that object." for entry in begun)
        self._facts = replace(self._facts, schedulers=schedulers, owner_warnings=owners,
                              interrupted=interrupted)
        self.frame = replace(self.frame, number=self.frame.number + 1, drains=self._board.view(),
                             facts=self._facts)
        return self.frame

    def role_read(self, daemons: tuple[SyncDaemon, ...] | None,
                  addresses: frozenset[str] | None) -> DashboardFrame:
        """The newest frame again, with the sync daemons and addresses as just read (None: not
        read this time, the last known kept)."""
        facts = replace(self._facts, daemons=self._facts.daemons if daemons is None else daemons,
                        addresses=self._facts.addresses if addresses is None else addresses)
        if facts != self._facts:
            self._facts = facts
            self.frame = replace(self.frame, number=self.frame.number + 1, facts=self._facts)
        return self.frame

    # --- after a plan was applied on this thread ----------------------------------------------------

    def applied(self, report: Report, drain: DrainOptions | None, undoable: bool) -> None:
        """Follow the drains the plan started, and keep it for `u`."""
        done = {id(change) for change in report.done}
        if drain is not None:
            self._start_drains(report.plan, done, drain)
        if undoable and any(change.undoable for change in report.done):
            self._undo = (*self._undo, AppliedPlan(report.plan, report.done))[-UNDO_DEPTH:]

    def take_undo(self, entry: AppliedPlan) -> bool:
        """Take `entry` off the undo list before it is reversed; False if it is no longer there
        (reversed already)."""
        if entry not in self._undo:
            return False
        self._undo = tuple(kept for kept in self._undo if kept is not entry)
        return True

    def _start_drains(self, plan: Plan, done: set[int], drain: DrainOptions) -> None:
        snapshot: Snapshot | None = self.frame.snapshot
        started = {change.target for change in plan.changes if id(change) in done}
        now = self._clock()
        followed = []
        deadline = None if drain.deadline_minutes is None else now + drain.deadline_minutes * 60
        for start in plan.drains:
            if changes.dest_target(start.service, start.dest) not in started or snapshot is None:
                continue
            service = snapshot.service(start.service)
            dest = None if service is None else service.dest(start.dest)
            if dest is not None:
                self._board.start(start.service, dest, start.previous_weight, now, drain.remove_when_drained,
                                  deadline, drain.wait_inactive)
                followed.append((start.service, start.dest))
        self._records.started(followed, drain)


def removal(service: Service, dest: Dest) -> Plan:
    return Plan(f"Remove drained real server {dest.key} from {service.key}",
                (changes.delete_dest(service.key, dest),), destructive=True)
