"""Is the traffic spread the way the weights say? (pure; the dashboard's distribution check)

Each real server is entitled to `weight / sum(weights)` of its service's new connections among the
servers that can take new ones (weight > 0, not over the upper threshold). Its observed share comes
from client-side rates over the same interval. A share that strays beyond the tolerance is flagged,
but only when the service saw enough new connections for the share to mean something.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lvs_tui.model.rates import Rates
from lvs_tui.model.records import Dest, DestKey, Service

# Below this many new connections in the interval, shares are noise, not evidence.
MIN_NEW_CONNECTIONS = 20.0
# A share may stray by this much (absolute, of the whole service) before it is flagged.
TOLERANCE = 0.10


class DestState(StrEnum):
    """What an operator must see at a glance about one real server."""

    OK = "ok"
    QUIESCENT = "quiescent"  # weight 0: existing connections finish, no new ones
    OVERLOADED = "overloaded"  # at or over its upper threshold: the kernel sends it nothing new
    RESET = "reset"  # its counters went backwards in the interval (zeroed, or deleted and re-added)
    SKEWED = "skewed"  # its share of new connections strays from what its weight entitles it to


@dataclass(frozen=True, slots=True)
class Share:
    """One real server's entitlement and observed shares, as fractions of its service (0..1)."""

    dest: DestKey
    state: DestState
    expected: float
    conns: float | None  # None when the interval gives no evidence (too little traffic, or a reset)
    bytes: float | None

    @property
    def deviation(self) -> float | None:
        return None if self.conns is None else self.conns - self.expected


def is_overloaded(dest: Dest) -> bool:
    """The kernel's rule: active + inactive connections reached the upper threshold (0 = none)."""
    return dest.upper_threshold > 0 and dest.active_conns + dest.inactive_conns >= dest.upper_threshold


def _entitled(dest: Dest) -> bool:
    return dest.weight > 0 and not is_overloaded(dest)


def shares(
    service: Service,
    rates: dict[DestKey, Rates],
    resets: frozenset[DestKey] = frozenset(),
    seconds: float = 1.0,
) -> list[Share]:
    """The check for every real server of `service`, in the service's order.

    `rates` holds the client-side rates of the real servers over an interval of `seconds`;
    a server missing from it (new, or reset) gives no evidence.
    """
    entitled_weight = sum(dest.weight for dest in service.dests if _entitled(dest))
    total_cps = sum(rates[d.key].cps for d in service.dests if d.key in rates)
    total_bps = sum(rates[d.key].inbps + rates[d.key].outbps for d in service.dests if d.key in rates)
    enough = total_cps * seconds >= MIN_NEW_CONNECTIONS
    out = []
    for dest in service.dests:
        expected = dest.weight / entitled_weight if entitled_weight and _entitled(dest) else 0.0
        dest_rates = rates.get(dest.key)
        conns = bytes_share = None
        if dest_rates is not None and enough:
            conns = dest_rates.cps / total_cps
            if total_bps > 0:
                bytes_share = (dest_rates.inbps + dest_rates.outbps) / total_bps
        if dest.key in resets:
            state = DestState.RESET
        elif is_overloaded(dest):
            state = DestState.OVERLOADED
        elif dest.weight == 0:
            state = DestState.QUIESCENT
        elif conns is not None and abs(conns - expected) > TOLERANCE:
            state = DestState.SKEWED
        else:
            state = DestState.OK
        out.append(Share(dest.key, state, expected, conns, bytes_share))
    return out
