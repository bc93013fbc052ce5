"""Rise and fall: how many consecutive results move a real server between healthy and unhealthy.

A server starts as `checking` unless told otherwise (one already in rotation starts `healthy`, so
starting the checker never pulls servers out before `fall` failures). One result never flips a
state: `rise` successes in a row make it healthy, `fall` failures in a row unhealthy, whatever
came before, so a flapping server changes state no faster than rise and fall allow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from lvs_tui.health.checks import Result


class Health(StrEnum):
    CHECKING = "checking"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    DISABLED = "disabled"


@dataclass(slots=True)
class Tracker:
    rise: int
    fall: int
    state: Health = Health.CHECKING
    changed_at: float | None = None
    last: Result | None = None
    _successes: int = field(default=0, repr=False)
    _failures: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if self.rise < 1 or self.fall < 1:
            raise ValueError("rise and fall must be at least 1")

    def record(self, result: Result, at: float) -> Health | None:
        """Count one result; return the new state when this result changed it."""
        self.last = result
        if self.state is Health.DISABLED:
            return None
        if result.healthy:
            self._successes, self._failures = self._successes + 1, 0
            target, needed, run = Health.HEALTHY, self.rise, self._successes
        else:
            self._failures, self._successes = self._failures + 1, 0
            target, needed, run = Health.UNHEALTHY, self.fall, self._failures
        if self.state is not target and run >= needed:
            self.state, self.changed_at = target, at
            return target
        return None

    def disable(self, at: float) -> None:
        """Checks paused (a manual drain wins over the checker): nothing is counted until enabled."""
        self.state, self.changed_at, self._successes, self._failures = Health.DISABLED, at, 0, 0

    def enable(self, at: float) -> None:
        self.state, self.changed_at = Health.CHECKING, at
