"""`lvs-top restore`: the changes that make the table equal to a saved one, for review.

The plan converges: services and real servers the file lacks are removed, those it has are added
or edited to match, and what already matches is left alone (its counters and connections
untouched). Equality is judged on the ipvsadm rule each side renders, so defaults (a persistence
of 300 s, the host netmask) compare equal however they were written.

Adds and edits come before deletes: if the kernel refuses a write part-way, what ran so far has
taken nothing away, and undoing it (the runner's rollback) puts the table back as it was.
"""

from __future__ import annotations

from lvs_tui.ipvs import validate
from lvs_tui.ipvs.backend import DestConfig, DestEdit, ServiceConfig, ServiceEdit
from lvs_tui.model.records import Snapshot
from lvs_tui.ops import changes
from lvs_tui.ops import commands as ipvsadm
from lvs_tui.ops.changes import Change, Plan
from lvs_tui.ops.rules import DestRule, Rule, ServiceRule


def plan_restore(snapshot: Snapshot, rules: list[Rule], source: str) -> Plan:
    wanted = {rule.config.key: rule.config for rule in rules if isinstance(rule, ServiceRule)}
    wanted_dests = {(rule.service, rule.config.key) for rule in rules if isinstance(rule, DestRule)}
    adds: list[Change] = []
    edits: list[Change] = []
    deletes: list[Change] = []
    for key, wanted_service in wanted.items():
        current = snapshot.service(key)
        if current is None:
            adds.append(changes.add_service(wanted_service))
        elif ipvsadm.add_service(ServiceConfig.of(current)).rule != ipvsadm.add_service(wanted_service).rule:
            # Every field explicit: None would keep the current value, not the file's default.
            edit = ServiceEdit(wanted_service.scheduler, wanted_service.flags,
                               wanted_service.persistence_timeout,
                               validate.netmask(key, wanted_service.netmask), wanted_service.pe or "")
            edits.append(changes.edit_service(current, edit))
    for rule in rules:
        if not isinstance(rule, DestRule):
            continue
        owner = snapshot.service(rule.service)
        now = None if owner is None else owner.dest(rule.config.key)  # indexed: linear in the file
        config = rule.config
        if now is None:
            adds.append(changes.add_dest(rule.service, config))
        elif ipvsadm.add_dest(rule.service, DestConfig.of(now)).rule != \
                ipvsadm.add_dest(rule.service, config).rule:
            dest_edit = DestEdit(config.forward, config.tunnel, config.weight, config.upper_threshold,
                                 config.lower_threshold)
            edits.append(changes.edit_dest(rule.service, now, dest_edit))
    for service in sorted(snapshot.services, key=lambda s: s.key.sort_key):
        if service.key not in wanted:
            deletes.append(changes.delete_service(service))
            continue
        deletes += [changes.delete_dest(service.key, dest) for dest in service.dests
                    if (service.key, dest.key) not in wanted_dests]
    return Plan(f"Restore the table from {source}", (*adds, *edits, *deletes), destructive=True)


SIGNS = {"add_service": "+", "add_dest": "+", "delete_service": "-", "delete_dest": "-"}


def diff_lines(plan: Plan) -> list[str]:
    """`+ ipvsadm -A ...`, `- ipvsadm -d ...`, `~ ipvsadm -e ...`: one line per change."""
    return [f"{SIGNS.get(change.action, '~')} {change.command.display}" for change in plan.changes]
