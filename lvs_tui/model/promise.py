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
    "rr": (Promise.NEW, "new connections in turn: an equal share to every server with weight > 0"),
    "wrr": (Promise.NEW, "new connections in proportion to weight"),
    "fo": (Promise.NEW, "every new connection to the available server with the highest weight"),
    "lc": (Promise.ACTIVE, "the fewest connections (active x 256 + inactive): equal among weight > 0"),
    "wlc": (Promise.ACTIVE, "connections (active x 256 + inactive) in proportion to weight"),
    "sed": (Promise.ACTIVE, "active connections in proportion to weight (least (active+1)/weight)"),
    "nq": (Promise.ACTIVE, "an idle server first, else active connections in proportion to weight"),
    "sh": (Promise.HASH, "by hash of the client address: shares follow the clients"),
    "mh": (Promise.HASH, "by Maglev hash of the client address: shares follow the clients"),
    "dh": (Promise.NONE, "by hash of the destination address: shares follow the destinations"),
    "lblc": (Promise.NONE, "one server per destination address while it is not overloaded"),
    "lblcr": (Promise.NONE, "a set of servers per destination address"),
    "ovf": (Promise.NONE, "the highest weight until its active connections reach its weight"),
}
PERSISTENCE = "persistent: a client keeps its server until its template expires, whatever the weights"
UNKNOWN = "a scheduler this check does not know: no share promise"


def promise_of(service: Service) -> Promise:
    """What the check may hold `service` to (persistence overrides every share promise)."""
    if service.persistent:
        return Promise.NONE
    return SCHEDULERS.get(service.scheduler, (Promise.NONE, UNKNOWN))[0]


def promise_text(service: Service) -> str:
    """The promise in words, for the detail and the help: `wlc: connections ... in proportion to weight`."""
    words = SCHEDULERS.get(service.scheduler, (Promise.NONE, UNKNOWN))[1]
    if service.persistent:
        return f"{service.scheduler}, {PERSISTENCE}"
    return f"{service.scheduler}: {words}"


def help_lines() -> list[str]:
    """One line per scheduler, then persistence: what the distribution check holds each to."""
    checks = {
        Promise.NEW: "share of new connections vs weight",
        Promise.ACTIVE: "share of connections held vs weight",
        Promise.HASH: "no share promise; flags a server with weight that gets nothing",
        Promise.NONE: "no share promise; flags only new connections at weight 0",
    }
    lines = [f"{name:<6}{words} [{checks[promise]}]" for name, (promise, words) in SCHEDULERS.items()]
    lines.append(f"{'pers.':<6}{PERSISTENCE.removeprefix('persistent: ')} [{checks[Promise.NONE]}]")
    return lines
