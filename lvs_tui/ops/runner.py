"""Applying a plan: each change journaled, made, and journaled again, with one result per item.

A plan is all or nothing for the operator. When a write is refused part-way (a concurrent
ipvsadm, a scheduler module that cannot load), the changes already made are undone, newest first,
and the report says so; `keep_going` applies the rest anyway instead (a host drain that fails in
one service may still be wanted in the others). A change whose intent cannot be journaled is not
made, so a full disk stops the run there, and says what was made before it. Nothing but the
report leaves this module: a bug or an OSError in a write is a failed change like any other.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass

from lvs_tui.ipvs.backend import Backend
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.model.printable import fault
from lvs_tui.ops.changes import Change, Plan
from lvs_tui.ops.journal import Entry, Journal


@dataclass(frozen=True, slots=True)
class Outcome:
    change: Change
    applied: bool
    error: str | None = None  # why it was not applied, or what went wrong after it was
    undone: bool = False  # applied, then undone because a later change failed
    unjournaled: bool = False  # not made because its intent could not be journaled

    @property
    def ok(self) -> bool:
        return self.applied and self.error is None and not self.undone


@dataclass(frozen=True, slots=True)
class Report:
    plan: Plan
    outcomes: tuple[Outcome, ...]
    rollback: tuple[Outcome, ...] = ()  # the undo writes made after a failure, in their order
    refused: tuple[str, ...] = ()  # why the plan was refused before its first write

    @property
    def done(self) -> tuple[Change, ...]:
        """The changes in effect now (applied and not undone)."""
        return tuple(outcome.change for outcome in self.outcomes if outcome.applied and not outcome.undone)

    @property
    def failed(self) -> tuple[Outcome, ...]:
        return tuple(outcome for outcome in self.outcomes if not outcome.ok and not outcome.undone)

    @property
    def rolled_back(self) -> bool:
        """A failure was met and every change made before it was undone: the table is as it was."""
        return any(outcome.undone for outcome in self.outcomes) and all(o.ok for o in self.rollback) \
            and not self.done

    def summary(self) -> str:
        """One line for the status bar: what was done, the first failure in full, and what became
        of the changes made before it."""
        if self.refused:
            return f"{self.plan.title}: nothing was applied: {' '.join(self.refused)}"
        total, failed = len(self.outcomes), self.failed
        if not failed:
            return f"{self.plan.title}: done" if total == 1 else f"{self.plan.title}: all {total} done"
        first = failed[0]
        if total == 1:
            return first.error or ""
        head = f"{self.plan.title}: {first.change.target}: {first.error}"
        if self.rolled_back:
            undone = sum(outcome.undone for outcome in self.outcomes)
            return (f"{head}; the {undone} change{'s' * (undone != 1)} made before it "
                    f"{'were' if undone != 1 else 'was'} undone: the table is as it was.")
        in_effect = f"{len(self.done)} of {total} changes are in effect"
        stuck = [outcome for outcome in self.rollback if not outcome.ok]
        if stuck:
            return f"{head}; undoing failed at {stuck[0].change.target}: {stuck[0].error} ({in_effect})."
        return f"{head} ({in_effect})."


class JournalUnwritable(IpvsError):
    """The audit journal cannot be appended to, so no change is made."""


def check_journal(journal: Journal) -> None:
    """Raise JournalUnwritable unless an entry could be appended now."""
    try:
        journal.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Created as Journal.append creates it: private (0600), never through a symbolic link.
        os.close(os.open(journal.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600))
    except OSError as error:
        raise JournalUnwritable(
            f"the journal {journal.path} cannot be written ({error.strerror or error}): "
            "no change was made; choose another file with --journal PATH."
        ) from None


def run_plan(plan: Plan, backend: Backend, journal: Journal, action: str | None = None,
             causes: Mapping[str, str] | None = None, keep_going: bool = False,
             director: str | None = None) -> Report:
    """Apply `plan` on `backend`; `action` overrides the journal's action name (e.g. "undo"),
    `causes` (by change target) says in the journal why an automatic change was made,
    `keep_going` applies the rest after a failure instead of undoing what was made, and `director`
    names the other director `backend` is (its agent journals the changes there too)."""
    check_journal(journal)
    refused = preflight(plan, backend)
    if refused:
        return Report(plan, tuple(Outcome(change, False, "not applied: the plan was refused before its "
                                          "first write") for change in plan.changes), refused=tuple(refused))
    outcomes: list[Outcome] = []
    for index, change in enumerate(plan.changes):
        outcome = _apply(change, backend, journal, action or change.action,
                         None if causes is None else causes.get(change.target), director)
        outcomes.append(outcome)
        if outcome.ok or (keep_going and not outcome.unjournaled):
            continue
        rest = plan.changes[index + 1:]
        if outcome.unjournaled:  # no undo either: it could not be journaled before it is made
            outcomes += [Outcome(later, False, f"not applied: {_UNJOURNALED}") for later in rest]
            return Report(plan, tuple(outcomes))
        outcomes += [Outcome(later, False, "not applied: an earlier change failed") for later in rest]
        return _rolled_back(plan, outcomes, backend, journal, director)
    return Report(plan, tuple(outcomes))


_UNJOURNALED = "the journal cannot be written"


def preflight(plan: Plan, backend: Backend) -> list[str]:
    """What the director cannot do of `plan` right now, a sentence each: a scheduler or persistence
    engine whose module is neither loaded nor loadable. Checked before the first write, so that a
    plan the kernel would refuse half-way is refused whole."""
    services = [change for change in plan.changes
                if change.action in ("add_service", "edit_service") and change.after is not None]
    if not services:
        return []
    problems: list[str] = []
    for kind, known, module in (("scheduler", backend.schedulers(), "ip_vs_{}"),
                                ("pe", backend.persistence_engines(), "ip_vs_pe_{}")):
        if not known:  # unknown here: the kernel has the last word
            continue
        for change in services:
            name = change.after.get(kind) if change.after is not None else None
            if isinstance(name, str) and name and name not in known:
                what = "scheduler" if kind == "scheduler" else "persistence engine"
                problems.append(f"service {change.target}: the {what} {name!r} is not available on this "
                                f"director ({', '.join(known)} are): load {module.format(name)} or choose "
                                "another.")
    return problems


def _apply(change: Change, backend: Backend, journal: Journal, action: str, cause: str | None,
           director: str | None = None) -> Outcome:
    entry = Entry(action, change.target, change.command.display, change.before, change.after, "", cause,
                  director)
    try:
        write = journal.intend(entry)
    except OSError as failure:
        return Outcome(change, False, f"not applied: {_UNJOURNALED} ({failure.strerror or failure})",
                       unjournaled=True)
    try:
        change.write(backend)
        error = None
    except IpvsError as failure:
        error = str(failure)
    except Exception as failure:  # a bug, or an OSError from below: a failed change, never a crash
        error = f"failed unexpectedly ({fault(failure)})"
    outcome = Entry(action, change.target, change.command.display, change.before, change.after,
                    "ok" if error is None else error, cause, director)
    with contextlib.suppress(OSError):  # the intent then stays open: `journal.unfinished` names it
        journal.settle(write, outcome)
    return Outcome(change, error is None, error)


def _rolled_back(plan: Plan, outcomes: list[Outcome], backend: Backend, journal: Journal,
                 director: str | None) -> Report:
    """Undo the applied changes of `outcomes`, newest first; stop at the first undo that fails."""
    made = [i for i, outcome in enumerate(outcomes) if outcome.applied]
    rollback: list[Outcome] = []
    for index in reversed(made):
        change = outcomes[index].change
        if not change.undo:
            rollback.append(Outcome(change, False, f"{change.command.display} cannot be undone"))
            break
        steps = [_apply(undo, backend, journal, "rollback", f"undoing {change.target}: a later change of "
                        f"{plan.title!r} failed", director) for undo in change.undo]
        rollback += steps
        if not all(step.ok for step in steps):
            break
        outcomes[index] = Outcome(change, True, None, undone=True)
    return Report(plan, tuple(outcomes), tuple(rollback))
