"""Rates over the last polls, for trends and plots (pure, immutable).

A history is a tuple of columns, one per poll: each column holds the cps, pps and bps of every key
rated in that poll, in a flat array that is never written again once built. Adding a poll makes a
new history that shares every older column, so a history handed to another thread can be read
there while the next one is built: nothing is shared by mutation. A poll of 10,000 services costs
one array of 30,000 floats; while the set of keys stays the same, the columns share one index.
"""

from __future__ import annotations

from array import array
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from lvs_tui.model.rates import Rates

Key = TypeVar("Key", bound=Hashable)
POINTS = 120  # polls kept: two minutes at the default interval


class Metric(StrEnum):
    """The rate a trend follows."""

    CPS = "cps"
    PPS = "pps"
    BPS = "bps"

    def of(self, rates: Rates) -> float:
        if self is Metric.CPS:
            return rates.cps
        if self is Metric.PPS:
            return rates.inpps + rates.outpps
        return rates.inbps + rates.outbps


_COLUMN = {Metric.CPS: 0, Metric.PPS: 1, Metric.BPS: 2}
_WIDTH = len(_COLUMN)


@dataclass(frozen=True, slots=True)
class _Poll:
    index: Mapping[Any, int]  # key -> its position; shared by polls with the same keys
    values: array[float]  # cps, pps, bps of each key, in index order


@dataclass(frozen=True, slots=True)
class RateHistory:
    polls: tuple[_Poll, ...] = ()
    points: int = POINTS

    def add(self, rates: Mapping[Key, Rates]) -> RateHistory:
        """This history with one more poll (the oldest dropped beyond `points`)."""
        last = self.polls[-1].index if self.polls else None
        index = last if last is not None and last.keys() == rates.keys() else \
            {key: position for position, key in enumerate(rates)}
        values = array("d", bytes(8 * _WIDTH * len(index)))
        for key, position in index.items():
            rate = rates[key]
            slot = position * _WIDTH
            values[slot] = rate.cps
            values[slot + 1] = rate.inpps + rate.outpps
            values[slot + 2] = rate.inbps + rate.outbps
        kept = self.polls[max(0, len(self.polls) + 1 - self.points):]
        return RateHistory((*kept, _Poll(index, values)), self.points)

    def series(self, key: Hashable, metric: Metric) -> list[float]:
        """The key's values, oldest first; polls in which it had no rate (new, reset) are left out."""
        column = _COLUMN[metric]
        series = []
        for poll in self.polls:
            position = poll.index.get(key)
            if position is not None:
                series.append(poll.values[position * _WIDTH + column])
        return series
