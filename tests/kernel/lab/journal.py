"""Reading an lvs-top journal in kernel tests: the outcomes, after checking each intent has one."""

from __future__ import annotations

from pathlib import Path

from lvs_tui.model.export import JsonObject
from lvs_tui.ops.journal import Journal, outcomes, unfinished


def settled(path: Path) -> list[JsonObject]:
    """Every outcome in the journal at `path`, oldest first. Every change is journaled twice (intent,
    then outcome); a run that finished must have left no intent without its outcome."""
    journal = Journal(path)
    open_intents = unfinished(journal.entries())
    assert open_intents == [], f"intents with no outcome in {path}: {open_intents}"
    return list(outcomes(journal.entries()))
