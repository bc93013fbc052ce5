"""The same change on another director of a pair (pure): a plan made on the table on screen, made
again on another director's own table, so that both end alike.

Only real-server changes are made on every director: drain, weight, bring back, edit, add, remove
(what maintenance needs, and what an agent carries). A service's change belongs to the director
shown. Each change is rebuilt on the other table from what it asks for: an edit sets the same
fields there (a drain sets weight 0; a weight step sets the weight the server gets on screen, so a
pair that had drifted ends with the same weight), an add adds the same server, a removal removes
it. What is already so there, or not there at all, is listed as skipped.
"""

from __future__ import annotations

from lvs_tui.ipvs.backend import DestConfig, DestEdit
from lvs_tui.model.records import Snapshot
from lvs_tui.ops import changes
from lvs_tui.ops import commands as ipvsadm
from lvs_tui.ops.changes import Change, DrainStart, Plan
from lvs_tui.ops.sysctl import Sysctls, drain_warnings

DEST_ACTIONS = frozenset({"edit_dest", "add_dest", "delete_dest"})


def for_every_director(plan: Plan) -> bool:
    """Whether `plan` changes real servers only: what is offered for every director of a pair."""
    return bool(plan.changes) and all(
        change.action == "delete_dest" or (change.action in DEST_ACTIONS and change.intent is not None)
        for change in plan.changes)


def counterpart(plan: Plan, table: Snapshot, sysctls: Sysctls) -> Plan:
    """`plan` made on `table` (another director's), warned by that director's `sysctls`. The plan
    must be one `for_every_director` accepts."""
    made: list[Change] = []
    warnings: list[str] = []
    drains: list[DrainStart] = []
    skipped: list[str] = []
    for change in plan.changes:
        pair = changes.parse_dest_target(change.target)
        if pair is None or change.action not in DEST_ACTIONS:
            raise ValueError(f"{change.target}: only real servers are changed on every director")
        service = table.service(pair[0])
        dest = None if service is None else service.dest(pair[1])
        intent = change.intent
        if service is None:
            skipped.append(f"{change.target}: service {pair[0]} is not in this director's table")
        elif change.action == "add_dest":
            assert isinstance(intent, DestConfig)
            if dest is not None:
                skipped.append(f"{change.target}: already in this director's table")
            else:
                made.append(changes.add_dest(service.key, intent))
        elif dest is None:
            skipped.append(f"{change.target}: not in this director's table")
        elif change.action == "delete_dest":
            made.append(changes.delete_dest(service.key, dest))
            warnings += changes.plan_remove_dest(service, dest, sysctls).warnings
        else:
            assert isinstance(intent, DestEdit)
            edit = changes.edit_dest(service.key, dest, intent)
            if edit.command == ipvsadm.edit_dest(service.key, DestConfig.of(dest)):
                skipped.append(f"{change.target}: already so in this director's table")
                continue
            made.append(edit)
            if intent.weight == 0 and dest.weight > 0:
                drains.append(DrainStart(service.key, dest.key, dest.weight))
                warnings += drain_warnings(service, sysctls, dest)
    return Plan(plan.title, tuple(made), plan.destructive, tuple(dict.fromkeys(warnings)), tuple(drains),
                tuple(skipped), plan.undoes)
