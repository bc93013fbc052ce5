"""The dashboard's write side: a plan from the selection, confirmed, handed to the live session.

Every write goes the same way: a plan is built from the records of the frame on screen (invalid
input stops here, as one sentence), the confirmation modal lists its ipvsadm commands and
warnings, and the session applies and journals it on the poller thread, which owns the backend;
the next frame shows the result, and the session's report comes back here to be said.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.notifications import SeverityLevel

from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.live.frame import AppliedPlan, DashboardFrame
from lvs_tui.live.session import Applied, DashboardSession
from lvs_tui.model.printable import printable
from lvs_tui.model.records import Dest, Service, ServiceKey
from lvs_tui.ops import changes
from lvs_tui.ops.changes import Plan
from lvs_tui.ops.drain import DrainOptions
from lvs_tui.ops.setup import OpsSetup
from lvs_tui.ops.sysctl import Sysctls
from lvs_tui.ui.confirm import ConfirmScreen, QuitScreen, Restep
from lvs_tui.ui.forms import DestForm, FormScreen, ServiceForm

if TYPE_CHECKING:
    from lvs_tui.ui.dashboard import DashboardScreen

NO_SYSCTLS = Sysctls({})  # before the first read: warn as if every setting were the kernel's default


class Operator:
    def __init__(self, screen: DashboardScreen, session: DashboardSession) -> None:
        self.screen = screen
        self.session = session
        self._notified: set[str] = set()  # warnings of the director already said once
        self._form: FormScreen | None = None  # a form whose plan is being applied: its outcome goes there

    @property
    def setup(self) -> OpsSetup:
        return self.session.setup

    @property
    def read_only(self) -> str | None:
        return self.session.read_only

    @property
    def frame(self) -> DashboardFrame:
        return self.screen.frame

    @property
    def sysctls(self) -> Sysctls:
        return self.frame.facts.sysctls or NO_SYSCTLS

    def say(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
            timeout: float | None = None) -> None:
        """A toast. Its words may quote the kernel, a file or a config: shown as they are, never read
        as markup (`[fd00::1]` is an address, not a style) and never driving the terminal."""
        self.screen.notify(printable(message), title=printable(title), severity=severity, timeout=timeout,
                           markup=False)

    def director_warnings(self) -> None:
        """Say once each what the session learnt about the director that an operator must know."""
        facts = self.frame.facts
        for title, warnings in (("Another manager owns this table", facts.owner_warnings),
                                ("Kernel setting", facts.sysctl_warnings),
                                ("A change was interrupted (journal)", facts.interrupted),
                                ("Drain records", facts.record_warnings)):
            for warning in warnings:
                if warning not in self._notified:
                    self._notified.add(warning)
                    self.say(warning, title=title, severity="warning", timeout=15)

    # --- from a key to the session ----------------------------------------------------------------

    def propose(self, build: Callable[[], Plan], restep: Restep | None = None) -> None:
        """Build a plan (a bad value ends here, as a sentence), confirm it, then apply it. With
        `restep`, the confirmation's weight keys rebuild the plan a step further."""
        if self.refused():
            return
        try:
            plan = build()
        except (IpvsError, ValueError) as error:
            self.say(str(error), title="Not possible", severity="error")
            return
        self.confirm(plan, restep=restep)

    def refused(self) -> bool:
        """In a read-only session, say why on the status line (a key that did nothing without a word
        looks broken) and return True."""
        why = self.read_only
        if why is not None:
            self.screen.note(f"read-only: {'started with --read-only' if why == '--read-only' else why}")
        return why is not None

    def confirm(self, plan: Plan, action: str | None = None, undoes: AppliedPlan | None = None,
                cancelled: Callable[[], None] = lambda: None, restep: Restep | None = None) -> None:
        if not plan.changes:
            reason = "; ".join(plan.skipped) or "nothing would change"
            self.say(f"{plan.title}: {reason}.", severity="warning")
            return

        directors = self.frame.directors
        shown = "" if directors is None else directors.shown_name
        screen = ConfirmScreen(plan, list(self.frame.facts.owner_warnings), restep,
                               None if directors is None else self.session.counterparts, shown)

        def decided(answer: DrainOptions | None) -> None:
            if answer is None:
                cancelled()
            elif screen.everywhere:  # the shown director first, then the others, in their order
                self.session.apply_everywhere([(shown, screen.plan), *screen.everywhere], action=action,
                                              drain=answer, undoes=undoes)
            else:  # the plan as the confirmation left it (its weight keys may have stepped it)
                self.session.apply(screen.plan, action=action, drain=answer, undoes=undoes)

        self.screen.app.push_screen(screen, decided)

    def applied(self, applied: Applied) -> None:
        """The session's word on a plan: said in the form it came from, else in a toast."""
        outcome, plan = applied.outcome, applied.plan
        form = self._form
        if form is not None and form.pending is plan:
            self._form = None
            if form.is_attached and (isinstance(outcome, IpvsError) or outcome.failed):
                form.failed(str(outcome) if isinstance(outcome, IpvsError) else outcome.summary())
                return
            if form.is_attached:
                form.dismiss(None)
        if isinstance(outcome, IpvsError):
            self.say(str(outcome), title=plan.title, severity="error", timeout=10)
        elif outcome.failed:
            self.say(outcome.summary(), severity="error", timeout=10)
        else:
            self.say(outcome.summary(), timeout=4)

    def quit(self) -> None:
        """Quit, after a question when removals wait for drains (they live only in this session)."""
        endings = self.frame.drains.endings
        if not endings or isinstance(self.screen.app.screen, QuitScreen):  # asked already: ctrl+q again
            self.screen.app.exit()
            return
        pending = [f"{service.id} > {dest.id}: {ending}" for (service, dest), ending in sorted(
            endings.items(), key=lambda item: (item[0][0].sort_key, item[0][1].id))]

        def answered(leave: bool | None) -> None:
            if leave:
                self.screen.app.exit()

        self.screen.app.push_screen(QuitScreen(pending), answered)

    # --- what the keys ask for: each builds its plan lazily, inside propose() -----------------------

    def drain(self, service: Service, dest: Dest) -> None:
        self.propose(lambda: changes.plan_drain([service], dest.address, dest.port, self.sysctls))

    def drain_host(self, address: str) -> None:
        snapshot = self.frame.snapshot
        if snapshot is not None:
            self.propose(lambda: changes.plan_drain(snapshot.services, address, None, self.sysctls))

    def step_weight(self, service: Service, dest: Dest, step: int) -> None:
        """One confirmation for many steps: in it, the weight keys step the weight further."""
        def plan_for(total: int) -> Plan:
            weight = max(0, min(changes.MAX_WEIGHT, dest.weight + total))
            return changes.plan_weight(service, dest, weight, self.sysctls)

        self.propose(lambda: plan_for(step), restep=lambda more: plan_for(step + more))

    def remove_dest(self, service: Service, dest: Dest) -> None:
        self.propose(lambda: changes.plan_remove_dest(service, dest, self.sysctls))

    def remove_service(self, service: Service) -> None:
        self.propose(lambda: changes.plan_remove_service(service))

    def zero(self, service: ServiceKey | None) -> None:
        snapshot = self.frame.snapshot
        if snapshot is not None:
            self.propose(lambda: changes.plan_zero(service, snapshot))

    def bring_back(self, service: Service, dest: Dest) -> None:
        self.propose(lambda: self._bring_back_plan(service, dest))

    def _bring_back_plan(self, service: Service, dest: Dest) -> Plan:
        weight = self.frame.drains.previous_weight(service.key, dest.key)
        if weight is None:
            raise IpvsError(f"real server {dest.key} of {service.key}: no weight from before a drain is "
                            "known; set one with e (edit).")
        if dest.weight == weight:
            return Plan(f"{dest.key} already has weight {weight}", (), destructive=False)
        return changes.plan_restore_weight(service, dest, weight)

    def undo(self) -> None:
        if self.refused():
            return
        if not self.frame.undo:
            self.say("Nothing to undo in this session.", severity="warning")
            return
        last = self.frame.undo[-1]
        plan = changes.plan_undo(last.plan, last.changes)
        if plan is None:
            self.say(f"{last.plan.title} cannot be undone.", severity="warning")
            return
        # Off the list only once confirmed and applied: a cancelled undo can be asked for again.
        self.confirm(plan, action="undo", undoes=last)

    def add_service(self) -> None:
        self.open_form(ServiceForm(self.frame.facts.schedulers, existing=self._service_keys))

    def _service_keys(self) -> list[ServiceKey]:
        snapshot = self.frame.snapshot
        return [] if snapshot is None else [service.key for service in snapshot.services]

    def add_dest(self, service: Service) -> None:
        self.open_form(DestForm(service, self.sysctls))

    def edit_service(self, service: Service) -> None:
        self.open_form(ServiceForm(self.frame.facts.schedulers, service))

    def edit_dest(self, service: Service, dest: Dest) -> None:
        self.open_form(DestForm(service, self.sysctls, dest))

    def sync_daemon(self) -> None:
        from lvs_tui.ui.syncform import SyncDaemonForm

        self.open_form(SyncDaemonForm(self.frame.facts.daemons))

    def open_form(self, form: FormScreen) -> None:
        """A form's plan was shown as its commands while typed: only a destructive one asks again.
        The form stays open until the plan is applied, so an error leaves what was typed there."""
        if self.refused():
            return

        def submitted(plan: Plan) -> None:
            self._form = form
            if plan.destructive or self.session.counterparts(plan):  # a pair: offered for each director
                self.confirm(plan, cancelled=form.declined)
            else:
                self.session.apply(plan, drain=DrainOptions())

        form.submit = submitted
        self.screen.app.push_screen(form)
