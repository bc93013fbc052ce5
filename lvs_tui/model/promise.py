"""What each IPVS scheduler promises about how traffic is spread (net/netfilter/ipvs/ip_vs_*.c).

The distribution check judges a service only against its scheduler's own promise: rr and wrr
spread new connections by weight, the least-connection family balances the connections each server
holds, hash schedulers follow the clients, and persistence keeps a client on its server whatever
the weights.
"""

from __future__ import annotations

from enum import StrEnum

from lvs_tui.model.records import Service


class Promise(StrEnum):
    """What the check compares for a service."""

    NEW = "new"  # each server's share of new connections against its entitlement
    ACTIVE = "active"  # each server's share of the connections held against its entitlement
    HASH = "hash"  # no share promise; a server with weight that never gets a connection is wrong
    NONE = "none"  # no share promise at all; only a server taking new connections at weight 0


# scheduler -> (what is checked, what the scheduler promises, in a few words)
SCHEDULERS: dict[str, tuple[Promise, str]] = {
    "rr": (Promise.NEW, "equal shares of new connections"),
    "wrr": (Promise.NEW, "shares of new connections by weight"),
    "fo": (Promise.NEW, "every new connection to the highest weight"),
    "lc": (Promise.ACTIVE, "equal shares of connections held"),
    "wlc": (Promise.ACTIVE, "shares of connections held, by weight"),
    "sed": (Promise.ACTIVE, "shares of active connections, by weight"),
    "nq": (Promise.ACTIVE, "an idle server first, else as sed"),
    "sh": (Promise.HASH, "by client address: no share promise"),
    "mh": (Promise.HASH, "by client address (Maglev): no share promise"),
    "dh": (Promise.NONE, "by destination address: no share promise"),
    "lblc": (Promise.NONE, "by destination address: no share promise"),
    "lblcr": (Promise.NONE, "by destination address: no share promise"),
    "ovf": (Promise.NONE, "highest weight until full: no share promise"),
}


def promise_of(service: Service) -> Promise:
    """What the check may hold `service` to (persistence overrides every share promise)."""
    if service.persistent:
        return Promise.NONE
    return SCHEDULERS.get(service.scheduler, (Promise.NONE, ""))[0]


def help_rows() -> list[tuple[str, str]]:
    """The `?` help's lines on the distribution check: each scheduler's promise, then the rules
    that hold for every service, then the Spread column's words."""
    rows = [(name, words) for name, (_, words) in SCHEDULERS.items()]
    return [
        *rows,
        ("persist.", "a client keeps its server: no share promise"),
        ("sh mh", "flagged: a server with weight that gets nothing for 30 s"),
        ("any", "flagged: new connections at weight 0 beyond persistence"),
        ("Spread", "ok · skewed · … (settling, or too little traffic) · n/a (no share promise)"),
    ]
