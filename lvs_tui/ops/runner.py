"""Applying a plan: each change in order, each journaled with its result, a result per item.

A failed change does not stop the ones after it (a host drain that fails in one service must
still drain the others), and the report lists every item, so nothing stops half-way silently: a
change that raises something unexpected is a failed change too, journaled as such, since the
changes before it were made and must be reported.
The one exception is the journal: a change that cannot be journaled is not made, so the run
stops there and says so.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from lvs_tui.ipvs.backend import Backend
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.ops.changes import Change, Plan
from lvs_tui.ops.journal import Entry, Journal


@dataclass(frozen=True, slots=True)
class Outcome:
    change: Change
    applied: bool
    error: str | None = None  # why it was not applied, or what went wrong after it was

    @property
    def ok(self) -> bool:
        return self.applied and self.error is None


@dataclass(frozen=True, slots=True)
class Report:
    plan: Plan
    outcomes: tuple[Outcome, ...]

    @property
    def done(self) -> tuple[Change, ...]:
        return tuple(outcome.change for outcome in self.outcomes if outcome.applied)

    @property
    def failed(self) -> tuple[Outcome, ...]:
        return tuple(outcome for outcome in self.outcomes if not outcome.ok)

    def summary(self) -> str:
        """One line for the status bar: what was done, and the first failure in full."""
        total, failed = len(self.outcomes), self.failed
        if not failed:
            return f"{self.plan.title}: done" if total == 1 else f"{self.plan.title}: all {total} done"
        if total == 1:
            return failed[0].error or ""
        return (f"{self.plan.title}: {total - len(failed)} of {total} done; "
                f"{failed[0].change.target}: {failed[0].error}")


class JournalUnwritable(IpvsError):
    """The audit journal cannot be appended to, so no change is made."""


def check_journal(journal: Journal) -> None:
    """Raise JournalUnwritable unless an entry could be appended now."""
    try:
        journal.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Created as Journal.append creates it: private (0600), since it says who did what.
        os.close(os.open(journal.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
    except OSError as error:
        raise JournalUnwritable(
            f"the journal {journal.path} cannot be written ({error.strerror or error}): "
            "no change was made; choose another file with --journal PATH."
        ) from None


def run_plan(plan: Plan, backend: Backend, journal: Journal, action: str | None = None,
             causes: Mapping[str, str] | None = None) -> Report:
    """Apply `plan` on `backend`; `action` overrides the journal's action name (e.g. "undo"), and
    `causes` (by change target) says in the journal why an automatic change was made."""
    check_journal(journal)
    outcomes: list[Outcome] = []
    for index, change in enumerate(plan.changes):
        try:
            change.write(backend)
            error = None
        except IpvsError as failure:
            error = str(failure)
        except Exception as failure:  # a bug or a value the backend cannot take: not applied
            error = f"failed unexpectedly ({type(failure).__name__}: {failure})"
        entry = Entry(action or change.action, change.target, change.command.display, change.before,
                      change.after, "ok" if error is None else error,
                      None if causes is None else causes.get(change.target))
        try:
            journal.append(entry)
        except OSError as failure:
            outcomes.append(Outcome(change, error is None, error or f"applied, but the journal "
                                    f"{journal.path} could not be written ({failure.strerror or failure})."))
            outcomes += [Outcome(rest, False, "not applied: the journal cannot be written.")
                         for rest in plan.changes[index + 1:]]
            break
        outcomes.append(Outcome(change, error is None, error))
    return Report(plan, tuple(outcomes))
