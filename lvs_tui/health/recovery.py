"""What a checker took out and its state file does not say yet: read back from the journal.

The checker writes its state file after each round, but a round's changes are made before that,
each announced in the journal first (an intent, then its outcome). A checker killed in between
(`kill -9`, a power cut) leaves servers at weight 0, or removed, that its state file does not
list: a new checker would take them for servers drained by hand and never bring them back. So a
checker starting after one that did not stop cleanly (its pid still in the state file) replays
that process's `health` entries from shortly before the file's last write (a round in flight
when the file was written is not in it) over what the file says: a server it was taking out
(intended or done) is remembered with the settings it had before; one it brought back is
forgotten; one the file says was drained by hand is left alone. An intent with no outcome counts
as done: if the change never reached the kernel, bringing the server "back" to the weight it
still has changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from lvs_tui.ipvs.backend import DestConfig
from lvs_tui.model.export import JsonObject
from lvs_tui.model.records import DestKey, Forward, ServiceKey, Tunnel, TunnelType
from lvs_tui.ops.changes import parse_dest_target
from lvs_tui.ops.journal import INTENDED

Memory = Mapping[ServiceKey, Mapping[DestKey, DestConfig]]


WINDOW = 60.0  # seconds before the state file's last write: longer than a round may take


def replay(memory: Memory, entries: Iterable[JsonObject], pid: int, written: float,
           by_hand: Iterable[tuple[ServiceKey, DestKey]] = ()) -> dict[ServiceKey, dict[DestKey, DestConfig]]:
    """`memory` with the changes that checker `pid` journaled since shortly before `written` (its
    state file's last write, wall-clock) laid over it; `by_hand`: servers it stood aside for."""
    taken = {key: dict(dests) for key, dests in memory.items()}
    since = written - WINDOW
    mine = [entry for entry in entries
            if entry.get("action") == "health" and entry.get("pid") == pid and _newer(entry, since)]
    # Outcomes that say a write failed: their intents changed nothing.
    failed_writes = {entry.get("write") for entry in mine if entry.get("result") not in (INTENDED, "ok")}
    aside = set(by_hand)
    for entry in mine:
        if entry.get("result") not in (INTENDED, "ok") or entry.get("write") in failed_writes:
            continue
        pair = _pair(entry.get("target"))
        if pair is None or pair in aside:
            continue
        service, dest = pair
        after, before = entry.get("after"), entry.get("before")
        if after is None or (isinstance(after, dict) and after.get("weight") == 0):
            config = _config(before)
            if config is not None and dest not in taken.get(service, {}):
                taken.setdefault(service, {})[dest] = config  # the settings to bring it back with
        elif isinstance(after, dict) and isinstance(after.get("weight"), int) and after["weight"] > 0:
            taken.get(service, {}).pop(dest, None)
    return {service: dests for service, dests in taken.items() if dests}


def _newer(entry: JsonObject, since: float) -> bool:
    at = entry.get("time")
    return isinstance(at, int | float) and not isinstance(at, bool) and at >= since


def _pair(target: object) -> tuple[ServiceKey, DestKey] | None:
    if not isinstance(target, str):
        return None
    try:
        return parse_dest_target(target)
    except ValueError:
        return None


def _config(before: object) -> DestConfig | None:
    """The settings a journal entry's `before` gives (DestConfig.json's form), or None."""
    if not isinstance(before, dict):
        return None
    try:
        pair = _pair(f"tcp:0.0.0.0:1>{before['dest']}")
        tunnel = before.get("tunnel")
        weight, upper, lower = before["weight"], before["upper_threshold"], before["lower_threshold"]
        if pair is None or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                   for v in (weight, upper, lower)):
            return None
        return DestConfig(pair[1].address, pair[1].port, Forward(before["forward"]),
                          None if tunnel is None else
                          Tunnel(TunnelType(tunnel["type"]), int(tunnel["port"]), tuple(tunnel["flags"])),
                          weight, upper, lower)
    except (KeyError, TypeError, ValueError):
        return None
