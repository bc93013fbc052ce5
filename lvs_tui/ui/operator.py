"""The dashboard's write side: plan from the selection, confirm, apply on the poller thread.

Every write goes the same way: a plan is built from the records on screen (invalid input stops
here, as one sentence), the confirmation modal lists its ipvsadm commands and warnings, the
poller thread (which owns the backend) applies and journals it, and a poll follows at once.
Drains are followed by the DrainBoard on every poll; a drain confirmed with "remove once
drained" is removed by the poll that sees it drained, through the same path.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from textual.app import App

from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.model.records import Dest, DestKey, Service, ServiceKey, Snapshot
from lvs_tui.ops import changes
from lvs_tui.ops.changes import Change, Plan
from lvs_tui.ops.drain import DrainBoard
from lvs_tui.ops.journal import drained_weights
from lvs_tui.ops.poller import Poller
from lvs_tui.ops.runner import Report, run_plan
from lvs_tui.ops.setup import OpsSetup
from lvs_tui.ops.sysctl import rate_warnings
from lvs_tui.ui.confirm import Confirmation, ConfirmScreen
from lvs_tui.ui.forms import FormScreen

UNDO_DEPTH = 50


@dataclass(frozen=True, slots=True)
class AppliedPlan:
    """An applied plan, kept for `u`: the changes that took effect, newest last."""

    plan: Plan
    changes: tuple[Change, ...]


class Operator:
    def __init__(self, app: App[None], poller: Poller, setup: OpsSetup,
                 latest: Callable[[], Snapshot | None], redraw: Callable[[], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self._latest = latest
        self._redraw = redraw  # the app's status and drains lines
        self.setup = setup
        self.board = DrainBoard()
        self.undo_stack: list[AppliedPlan] = []
        self.schedulers: tuple[str, ...] = ()
        self.owner_warnings: list[str] = []
        self.sysctl_warnings: list[str] = []  # e.g. the kernel's rate estimation switched off
        self._poller = poller
        self._clock = clock
        self._journal_weights: dict[str, int] = {}
        # Told of each server the operator takes out by hand: a health checker must leave it out.
        self.on_manual: Callable[[ServiceKey, DestKey], None] | None = None

    @property
    def read_only(self) -> str | None:
        return self.setup.read_only

    def start(self) -> None:
        """Learn what the director offers; runs once the app is up (slow bits off the UI thread)."""
        self._poller.submit(lambda backend: backend.schedulers(), self._got_schedulers)
        self.app.run_worker(self._survey, thread=True, group="survey")

    def _got_schedulers(self, names: object) -> None:
        if isinstance(names, tuple):
            self.schedulers = names

    def _survey(self) -> None:
        owners = self.setup.owners()
        try:
            weights = drained_weights(self.setup.journal.entries())
        except OSError:
            weights = {}
        try:
            sysctl_warnings = rate_warnings(self.setup.sysctls())
        except (OSError, IpvsError):
            sysctl_warnings = []
        self.app.call_from_thread(self._surveyed, [owner.warning() for owner in owners], weights,
                                  sysctl_warnings)

    def _surveyed(self, owner_warnings: list[str], weights: dict[str, int],
                  sysctl_warnings: list[str]) -> None:
        self.owner_warnings = owner_warnings
        self.sysctl_warnings = sysctl_warnings
        self._journal_weights = weights
        self._redraw()
        for warning in owner_warnings:
            self.app.notify(warning, title="Another manager owns this table", severity="warning", timeout=15)
        for warning in sysctl_warnings:
            self.app.notify(warning, title="Kernel setting", severity="warning", timeout=15)

    # --- called by the poller thread on every snapshot -------------------------------------------

    def follow(self, snapshot: Snapshot, at: float) -> None:
        """Advance the drains; remove the servers whose drain was confirmed with a removal."""
        for service, dest in self.board.update(snapshot, at):
            self._remove_drained(Plan(f"Remove drained real server {dest.key} from {service.key}",
                                      (changes.delete_dest(service.key, dest),), destructive=True))

    def _remove_drained(self, plan: Plan) -> None:
        self._poller.submit(lambda backend: run_plan(plan, backend, self.setup.journal, action="auto_remove"),
                            lambda outcome: self._from_poller(plan, None, outcome, undoable=True))

    # --- from a key to the kernel -----------------------------------------------------------------

    def propose(self, build: Callable[[], Plan]) -> None:
        """Build a plan (a bad value ends here, as a sentence), confirm it, then apply it."""
        if self.read_only:
            self.app.notify(f"Read-only ({self.read_only}): nothing can be changed.", severity="warning")
            return
        try:
            plan = build()
        except (IpvsError, ValueError) as error:
            self.app.notify(str(error), title="Not possible", severity="error")
            return
        self.confirm(plan)

    def confirm(self, plan: Plan, action: str | None = None,
                accepted: Callable[[], None] | None = None) -> None:
        if not plan.changes:
            reason = "; ".join(plan.skipped) or "nothing would change"
            self.app.notify(f"{plan.title}: {reason}.", severity="warning")
            return

        def decided(answer: Confirmation | None) -> None:
            if answer is not None:
                if accepted is not None:
                    accepted()
                self.apply(plan, answer, action)

        self.app.push_screen(ConfirmScreen(plan, self.owner_warnings), decided)

    def apply(self, plan: Plan, answer: Confirmation, action: str | None = None) -> None:
        # An undo is not itself put on the undo stack: `u` again undoes the change before it.
        self._poller.submit(lambda backend: run_plan(plan, backend, self.setup.journal, action),
                            lambda outcome: self._from_poller(plan, answer, outcome, action != "undo"))

    def _from_poller(self, plan: Plan, answer: Confirmation | None, outcome: object, undoable: bool) -> None:
        # On the poller thread, before its next poll: the drain trackers start before that poll.
        with contextlib.suppress(RuntimeError):  # the app is closing
            self.app.call_from_thread(self._finished, plan, answer, outcome, undoable)

    def _finished(self, plan: Plan, answer: Confirmation | None, outcome: object, undoable: bool) -> None:
        if not isinstance(outcome, Report):
            self.app.notify(str(outcome), title=plan.title, severity="error", timeout=10)
            return
        done = set(id(change) for change in outcome.done)
        if self.on_manual is not None:
            for change in outcome.done:
                taken_out = change.after is None or change.after.get("weight") == 0
                pair = changes.parse_dest_target(change.target)
                if taken_out and pair is not None:
                    self.on_manual(*pair)
        if answer is not None:
            self._start_drains(plan, answer, done)
        if undoable and any(change.undoable for change in outcome.done):
            self.undo_stack.append(AppliedPlan(plan, outcome.done))
            del self.undo_stack[:-UNDO_DEPTH]
        if outcome.failed:
            self.app.notify(outcome.summary(), severity="error", timeout=10)
        else:
            self.app.notify(outcome.summary(), timeout=4)

    def _start_drains(self, plan: Plan, answer: Confirmation, done: set[int]) -> None:
        snapshot = self._latest()
        started = {change.target for change in plan.changes if id(change) in done}
        deadline = None if answer.deadline_minutes is None else self._clock() + answer.deadline_minutes * 60
        for start in plan.drains:
            if changes.dest_target(start.service, start.dest) not in started or snapshot is None:
                continue
            service = snapshot.service(start.service)
            dest = None if service is None else service.dest(start.dest)
            if dest is not None:
                self.board.start(start.service, dest, start.previous_weight, self._clock(),
                                 answer.remove_when_drained, deadline, answer.wait_inactive)
        self._redraw()

    # --- what the keys ask for --------------------------------------------------------------------

    def previous_weight(self, service: ServiceKey, dest: Dest) -> int | None:
        known = self.board.previous_weight(service, dest.key)
        if known is None:
            known = self._journal_weights.get(changes.dest_target(service, dest.key))
        return known

    def undo(self) -> None:
        if self.read_only:
            self.app.notify(f"Read-only ({self.read_only}): nothing can be changed.", severity="warning")
            return
        if not self.undo_stack:
            self.app.notify("Nothing to undo in this session.", severity="warning")
            return
        last = self.undo_stack[-1]
        plan = changes.plan_undo(last.plan, last.changes)
        if plan is None:
            self.undo_stack.pop()
            self.app.notify(f"{last.plan.title} cannot be undone.", severity="warning")
            return
        # Off the stack only once confirmed: a cancelled undo can be asked for again.
        self.confirm(plan, action="undo", accepted=lambda: self.undo_stack.remove(last))

    # --- what the keys ask for: each builds its plan lazily, inside propose() -----------------------

    def drain(self, service: Service, dest: Dest) -> None:
        self.propose(lambda: changes.plan_drain([service], dest.address, dest.port, self.setup.sysctls()))

    def drain_host(self, snapshot: Snapshot, address: str) -> None:
        self.propose(lambda: changes.plan_drain(snapshot.services, address, None, self.setup.sysctls()))

    def step_weight(self, service: Service, dest: Dest, step: int) -> None:
        weight = max(0, min(changes.MAX_WEIGHT, dest.weight + step))
        self.propose(lambda: changes.plan_weight(service, dest, weight, self.setup.sysctls()))

    def remove_dest(self, service: Service, dest: Dest) -> None:
        self.propose(lambda: changes.plan_remove_dest(service, dest, self.setup.sysctls()))

    def remove_service(self, service: Service) -> None:
        self.propose(lambda: changes.plan_remove_service(service))

    def zero(self, service: ServiceKey | None, snapshot: Snapshot) -> None:
        self.propose(lambda: changes.plan_zero(service, snapshot))

    def bring_back(self, service: Service, dest: Dest) -> None:
        self.propose(lambda: self._bring_back_plan(service, dest))

    def _bring_back_plan(self, service: Service, dest: Dest) -> Plan:
        weight = self.previous_weight(service.key, dest)
        if weight is None:
            raise IpvsError(f"real server {dest.key} of {service.key}: no weight from before a drain is "
                            "known; set one with e (edit).")
        if dest.weight == weight:
            return Plan(f"{dest.key} already has weight {weight}", (), destructive=False)
        return changes.plan_restore_weight(service, dest, weight)

    def open_form(self, form: FormScreen) -> None:
        """A form's plan was shown as its commands while typed: only a destructive one asks again."""
        if self.read_only:
            self.app.notify(f"Read-only ({self.read_only}): nothing can be changed.", severity="warning")
            return

        def submitted(plan: Plan | None) -> None:
            if plan is not None:
                if plan.destructive:
                    self.confirm(plan)
                else:
                    self.apply(plan, Confirmation())

        self.app.push_screen(form, submitted)
