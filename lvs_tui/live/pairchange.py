"""One change made on several directors of a dashboard, one director after the other, and undone on
all when one refuses: what `lvs-top drain --director` does for a command, for the dashboard's
confirmation (lvs_tui.live.directors)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import replace

from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.live.frame import AppliedPlan
from lvs_tui.live.session import Applied, LiveSession
from lvs_tui.ops.changes import Plan, plan_undo
from lvs_tui.ops.drain import DrainOptions
from lvs_tui.ops.runner import Report


class PairChange:
    """One change made on several directors, one after the other (each on its session's thread).
    When one refuses, what the others made is undone, newest first, and one sentence says how the
    directors were left."""

    def __init__(self, steps: Sequence[tuple[str, LiveSession, Plan]], report: Callable[[Applied], None],
                 action: str | None, drain: DrainOptions | None, undoes: AppliedPlan | None = None) -> None:
        self._steps = list(steps)
        self._undoes = undoes  # the first step's undo entry (an undo made on every director)
        self._report = report
        self._action = action
        self._drain = drain
        self._made: list[tuple[str, LiveSession, Report]] = []  # in order
        self._undone: list[str] = []
        self._stuck: list[str] = []  # what is still in effect where it should not be
        self._refused = ""  # the director that refused

    def next(self) -> None:
        if len(self._made) == len(self._steps):
            return  # each director said it was done, in its own report
        _, session, plan = self._steps[len(self._made)]
        undoes = self._undoes if not self._made else None
        session.apply(plan, action=self._action, drain=self._drain, undoes=undoes, done=self._applied)

    def _applied(self, applied: Applied) -> None:
        name, session, _ = self._steps[len(self._made)]
        outcome = applied.outcome
        if isinstance(outcome, Report) and not outcome.failed:
            self._made.append((name, session, outcome))
            self.next()
            return
        if isinstance(outcome, Report) and outcome.done and not outcome.rolled_back:
            self._stuck.append(f"on {name}: {outcome.summary()}")
        self._refused = name
        self._undo_next()

    def _undo_next(self) -> None:
        """Undo the newest plan made, then the one before it (each once the other answered)."""
        while self._made:
            name, session, report = self._made.pop()
            undo = plan_undo(report.plan, report.done)
            if undo is not None:
                undo = replace(undo, title=f"{name}: {undo.title}")
                session.apply(undo, action="rollback", done=functools.partial(self._rolled_back, name))
                return
        self._finish()

    def _rolled_back(self, name: str, applied: Applied) -> None:
        outcome = applied.outcome
        if isinstance(outcome, IpvsError) or outcome.failed:
            said = str(outcome) if isinstance(outcome, IpvsError) else outcome.summary()
            self._stuck.append(f"on {name}: {said}")
        else:
            self._undone.append(name)
        self._undo_next()

    def _finish(self) -> None:
        head = f"director {self._refused} refused a change"
        if self._stuck:
            left = "; ".join(self._stuck)
            said = f"{head}; not everything could be undone: {left}. Look with ipvsadm -Ln on each."
        elif self._undone:
            made = ", ".join(reversed(self._undone))
            said = f"{head}; what was made on {made} was undone: every director is as it was."
        else:
            said = f"{head}; nothing was changed on the others: every director is as it was."
        self._report(Applied(Plan("The change on every director", (), destructive=False), IpvsError(said)))
