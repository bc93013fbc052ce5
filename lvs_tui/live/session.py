"""A live session over one director: the poller thread, the frames it builds, and the plans it
applies (no Textual: the screen is one subscriber of frames and reports).

A key press reaches the kernel as a plan handed to `apply`; the poller thread, which owns the
backend, applies and journals it, follows the drains it started, and polls at once, so the next
frame shows the result. The screen never touches the backend or the session's state.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from lvs_tui.doctor.watch import DoctorWatch
from lvs_tui.health.feed import HealthFeed
from lvs_tui.ipvs.backend import Backend
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.live.builder import FrameBuilder
from lvs_tui.live.frame import AppliedPlan, DashboardFrame, ViewSettings
from lvs_tui.live.hostload import HostSampler
from lvs_tui.model.records import SyncDaemon
from lvs_tui.ops import changes
from lvs_tui.ops.changes import Plan
from lvs_tui.ops.drain import DrainOptions
from lvs_tui.ops.poller import Poller, PollResult, SubmitJob
from lvs_tui.ops.runner import Report, run_plan
from lvs_tui.ops.setup import OpsSetup

HealthSource = Callable[[SubmitJob], HealthFeed]  # a checker, acting through the poller thread


@dataclass(frozen=True, slots=True)
class Applied:
    """What became of a plan: its report, or the error that stopped it before it began."""

    plan: Plan
    outcome: Report | IpvsError


@dataclass(frozen=True, slots=True)
class Counterpart:
    """A change on screen, as another director of the session would make it: its plan, or why
    it cannot be made there."""

    director: str
    plan: Plan | None
    reason: str | None = None


class DashboardSession(Protocol):
    """What the dashboard asks of its session: one director's (`LiveSession`), or several
    directors' shown one at a time (`lvs_tui.live.directors.DirectorsSession`)."""

    @property
    def setup(self) -> OpsSetup: ...

    @property
    def read_only(self) -> str | None: ...

    def start(self, publish: Callable[[DashboardFrame], None], report: Callable[[Applied], None]) -> None: ...

    def stop(self) -> None: ...

    def request_poll(self) -> None: ...

    def set_view(self, view: ViewSettings) -> None: ...

    def apply(self, plan: Plan, *, action: str | None = None, drain: DrainOptions | None = None,
              undoes: AppliedPlan | None = None) -> None: ...

    def counterparts(self, plan: Plan) -> tuple[Counterpart, ...]:
        """The same change on every other director of the session (none with one director)."""

    def apply_everywhere(self, plans: Sequence[tuple[str, Plan]], *, action: str | None = None,
                         drain: DrainOptions | None = None, undoes: AppliedPlan | None = None) -> None:
        """Apply each director's plan in turn, the shown one's first (`undoes` is its undo entry);
        when one fails, undo what the others made."""

    def switch_director(self) -> str | None:
        """Show the next director; its name, or None when there is no other."""


# Seconds between two reads of the director's role: its sync daemons (read again after a change to
# them) and its addresses (which VIPs it holds: they move at a failover).
ROLE_EVERY = 3.0


class LiveSession:
    def __init__(self, open_backend: Callable[[], Backend], setup: OpsSetup, *,
                 health: HealthSource | None = None, doctor: DoctorWatch | None = None,
                 host: HostSampler | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.setup = setup
        self._poller = Poller(open_backend, self._polled, clock, whole=lambda: self._builder.whole())
        self._health = None if health is None else health(self._poller.submit)
        self._builder = FrameBuilder(setup, health=self._health, doctor=doctor, host=host, clock=clock)
        self._publish: Callable[[DashboardFrame], None] = lambda frame: None
        self._report: Callable[[Applied], None] = lambda applied: None
        self._surveyed = False
        self._role_read = -ROLE_EVERY

    @property
    def read_only(self) -> str | None:
        """Why nothing may be changed (shown on screen), or None."""
        return self.setup.read_only

    def start(self, publish: Callable[[DashboardFrame], None], report: Callable[[Applied], None]) -> None:
        """Poll from now on; each frame goes to `publish` and each applied plan to `report`, both
        called on the poller thread."""
        self._publish, self._report = publish, report
        self._poller.start()
        if self._health is not None:
            self._health.start()
        self._poller.request()

    def stop(self) -> None:
        if self._health is not None:
            self._health.stop()
        self._poller.stop()

    def request_poll(self) -> None:
        self._poller.request()

    def switch_director(self) -> str | None:
        return None  # one director

    def set_view(self, view: ViewSettings) -> None:
        """The order and watched services from the next frame on (one reference replaced)."""
        self._builder.view = view

    def apply(self, plan: Plan, *, action: str | None = None, drain: DrainOptions | None = None,
              undoes: AppliedPlan | None = None, done: Callable[[Applied], None] | None = None) -> None:
        """Apply `plan` on the poller thread; `action` names it in the journal ("undo", "rollback":
        neither goes on the undo list), `drain` says how the drains it starts end, `undoes` is the
        undo entry it reverses; `done` hears how it went, after the report."""
        def job(backend: Backend) -> Report:
            if undoes is not None and not self._builder.take_undo(undoes):
                raise IpvsError(f"{undoes.plan.title} has already been undone.")
            return run_plan(plan, backend, self.setup.journal, action, director=self.setup.director)

        undoable = undoes is None and action != "rollback"
        self._poller.submit(job, lambda outcome: self._applied(plan, outcome, drain, undoable, done))

    def counterparts(self, plan: Plan) -> tuple[Counterpart, ...]:
        return ()  # one director

    def apply_everywhere(self, plans: Sequence[tuple[str, Plan]], *, action: str | None = None,
                         drain: DrainOptions | None = None, undoes: AppliedPlan | None = None) -> None:
        (_, plan), = plans  # one director: its own plan only
        self.apply(plan, action=action, drain=drain, undoes=undoes)

    # --- on the poller thread ---------------------------------------------------------------------

    def _polled(self, result: PollResult) -> None:
        frame, due = self._builder.build(result)
        self._publish(frame)
        for plan in due:
            self._remove(plan)
        if not self._surveyed:  # after the first frame is out: the first look is not delayed
            self._surveyed = True
            self._poller.submit(lambda backend: backend.schedulers(), self._survey, poll=False)
        if result.started - self._role_read >= ROLE_EVERY:
            self._role_read = result.started
            self._read_role()

    def _read_role(self) -> None:
        """The sync daemons and the addresses, each kept as last known when it cannot be read."""
        def read(backend: Backend) -> tuple[tuple[SyncDaemon, ...] | None, frozenset[str] | None]:
            daemons: tuple[SyncDaemon, ...] | None = None
            addresses: frozenset[str] | None = None
            with contextlib.suppress(IpvsError):
                daemons = backend.daemons()
            with contextlib.suppress(IpvsError):
                addresses = backend.addresses()
            return daemons, addresses

        def done(role: object) -> None:
            if isinstance(role, tuple):
                self._publish(self._builder.role_read(*role))

        self._poller.submit(read, done, poll=False)

    def _remove(self, plan: Plan) -> None:
        """A drained server's removal, confirmed with its drain: applied next on this thread."""
        def job(backend: Backend) -> Report:
            return run_plan(plan, backend, self.setup.journal, "auto_remove", director=self.setup.director)

        self._poller.submit(job, lambda outcome: self._applied(plan, outcome, None, undoable=True))

    def _survey(self, schedulers: object) -> None:
        self._publish(self._builder.survey(schedulers if isinstance(schedulers, tuple) else ()))

    def _applied(self, plan: Plan, outcome: object, drain: DrainOptions | None, undoable: bool,
                 done: Callable[[Applied], None] | None = None) -> None:
        if not isinstance(outcome, Report):
            error = outcome if isinstance(outcome, IpvsError) else IpvsError(str(outcome))
            self._said(Applied(plan, error), done)
            return
        self._builder.applied(outcome, drain, undoable)
        if any(change.action in ("start_daemon", "stop_daemon") for change in outcome.plan.changes):
            self._read_role()  # the next form shows the change at once
        if self._health is not None:  # a server taken out by hand: the checker must leave it out
            for change in outcome.done:
                pair = changes.parse_dest_target(change.target)
                if pair is not None and (change.after is None or change.after.get("weight") == 0):
                    self._health.stand_aside(*pair)
        self._said(Applied(plan, outcome), done)

    def _said(self, applied: Applied, done: Callable[[Applied], None] | None) -> None:
        self._report(applied)
        if done is not None:
            done(applied)
