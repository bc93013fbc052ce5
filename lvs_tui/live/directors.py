"""Several directors in one dashboard (`lvs-top --director A --director B`): a live session per
director, each polling on its own thread, and one of them shown at a time.

A director that cannot be reached holds up its own thread only: the others go on polling and the
screen goes on with them. Every frame a session publishes comes back as the shown director's
newest frame with the view of all of them (`DirectorsView`: reachable, poll age, sync role, drift
from the shown table), numbered in one sequence so that the screen never takes one director's
frame for another's. A change goes to the director shown, through its own session; a change of
real servers is offered for the others too (`counterparts`), and `apply_everywhere` makes it on
each in turn, undoing what was made on the others when one refuses (as `lvs-top drain --director`
does).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from lvs_tui.live.frame import AppliedPlan, DashboardFrame, ViewSettings
from lvs_tui.live.pairchange import PairChange
from lvs_tui.live.session import Applied, Counterpart, LiveSession
from lvs_tui.model.pairview import DirectorReading, Drifts, directors_view, drifts_from
from lvs_tui.model.records import Snapshot
from lvs_tui.ops.changes import Plan
from lvs_tui.ops.drain import DrainOptions
from lvs_tui.ops.pairplan import counterpart, for_every_director
from lvs_tui.ops.setup import OpsSetup
from lvs_tui.ops.sysctl import Sysctls

# The tables are compared again at most once per this many times what the last comparison took:
# about 10 ms for two tables of 1,000 services x 10 at a glance, 125 ms for 10,000 x 3 (and seconds
# for two tables that differ everywhere), while two directors publish twice per poll.
DRIFT_COST_SHARE = 4


@dataclass(frozen=True, slots=True)
class _Compared:
    shown: int
    tables: tuple[Snapshot | None, ...]  # each director's, as compared
    at: float
    seconds: float
    drifts: Drifts


class DirectorsSession:
    def __init__(self, sessions: Sequence[tuple[str, LiveSession]],
                 clock: Callable[[], float] = time.monotonic) -> None:
        if len(sessions) < 2:
            raise ValueError("a session of several directors needs at least two")
        self.names = tuple(name for name, _ in sessions)
        self._sessions = tuple(session for _, session in sessions)
        self._frames = [DashboardFrame() for _ in sessions]
        self._shown = 0
        self._number = 0
        self._lock = threading.Lock()  # each session publishes from its own poller thread
        self._clock = clock
        self._compared: _Compared | None = None
        self._again: threading.Timer | None = None  # a comparison put off: made when it is due
        self._publish: Callable[[DashboardFrame], None] = lambda frame: None
        self._report: Callable[[Applied], None] = lambda applied: None

    @property
    def shown(self) -> LiveSession:
        return self._sessions[self._shown]

    @property
    def setup(self) -> OpsSetup:
        return self.shown.setup

    @property
    def read_only(self) -> str | None:
        return self.shown.read_only

    def start(self, publish: Callable[[DashboardFrame], None], report: Callable[[Applied], None]) -> None:
        self._publish, self._report = publish, report
        for index, session in enumerate(self._sessions):
            session.start(functools.partial(self._published, index), report)

    def stop(self) -> None:
        for session in self._sessions:
            session.stop()
        with self._lock:
            if self._again is not None:
                self._again.cancel()

    def request_poll(self) -> None:
        for session in self._sessions:
            session.request_poll()

    def set_view(self, view: ViewSettings) -> None:
        for session in self._sessions:
            session.set_view(view)

    def apply(self, plan: Plan, *, action: str | None = None, drain: DrainOptions | None = None,
              undoes: AppliedPlan | None = None) -> None:
        self.shown.apply(plan, action=action, drain=drain, undoes=undoes)

    def counterparts(self, plan: Plan) -> tuple[Counterpart, ...]:
        """The same change on each other director, planned on its newest table; none for a change
        of a service (the shown director's alone). Called on the screen's thread: frames never
        change, and the list only has its items replaced."""
        if not for_every_director(plan):
            return ()
        found = []
        for index, (name, frame) in enumerate(zip(self.names, self._frames, strict=True)):
            if index == self._shown:
                continue
            why = self._sessions[index].read_only
            if why is not None:
                found.append(Counterpart(name, None, f"read-only ({why})"))
            elif frame.snapshot is None or frame.error is not None:
                why = frame.error or "not yet"
                found.append(Counterpart(name, None, f"its table cannot be read now ({why})"))
            else:
                sysctls = frame.facts.sysctls or Sysctls({})  # unknown: warned of as the defaults
                found.append(Counterpart(name, counterpart(plan, frame.snapshot, sysctls)))
        return tuple(found)

    def apply_everywhere(self, plans: Sequence[tuple[str, Plan]], *, action: str | None = None,
                         drain: DrainOptions | None = None, undoes: AppliedPlan | None = None) -> None:
        # The shown director's plan keeps its title (and identity: a form waits for its outcome);
        # the others' name their director.
        steps = [(name, self._sessions[self.names.index(name)],
                  plan if index == 0 else replace(plan, title=f"{name}: {plan.title}"))
                 for index, (name, plan) in enumerate(plans) if plan.changes]
        PairChange(steps, self._report, action, drain, undoes).next()

    def switch_director(self) -> str | None:
        """Show the next director (its newest frame at once); its name."""
        with self._lock:
            self._shown = (self._shown + 1) % len(self._sessions)
            self._publish_shown()
        return self.names[self._shown]

    def _published(self, index: int, frame: DashboardFrame) -> None:
        with self._lock:
            self._frames[index] = frame
            self._publish_shown()

    def _publish_shown(self, compare: bool = False) -> None:
        readings = [DirectorReading(name, frame.snapshot, frame.polled_at, frame.error, frame.facts.daemons,
                                    frame.facts.addresses)
                    for name, frame in zip(self.names, self._frames, strict=True)]
        self._number += 1
        shown = self._frames[self._shown]
        view = directors_view(readings, self._shown, self._drifts(readings, compare))
        self._publish(replace(shown, number=self._number, directors=view))

    def _drifts(self, readings: list[DirectorReading], compare: bool) -> Drifts:
        """Each other director's drift from the one shown: compared again when a table changed, at
        once when the director shown changed or a table became known, else once due (see
        DRIFT_COST_SHARE), a comparison put off being made by a timer then."""
        now, last = self._clock(), self._compared
        tables = tuple(reading.snapshot for reading in readings)
        kept = last is not None and last.shown == self._shown and _known(last.tables) == _known(tables)
        if last is not None and kept and not compare:
            if all(old is new for old, new in zip(last.tables, tables, strict=True)):
                return last.drifts  # nothing new to compare
            due = last.at + DRIFT_COST_SHARE * last.seconds
            if now < due:
                if self._again is None or not self._again.is_alive():
                    self._again = threading.Timer(due - now, self._compare_again)
                    self._again.daemon = True
                    self._again.start()
                return last.drifts
        drifts = drifts_from(readings, self._shown)
        self._compared = _Compared(self._shown, tables, now, self._clock() - now, drifts)
        return drifts

    def _compare_again(self) -> None:
        with self._lock:
            self._publish_shown(compare=True)


def _known(tables: tuple[Snapshot | None, ...]) -> tuple[bool, ...]:
    return tuple(table is not None for table in tables)
