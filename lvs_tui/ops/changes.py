"""Planned changes to a director: what will change, its ipvsadm equivalent, and how to undo it.

A `Change` is one backend write, built from the records of the latest snapshot so it knows the
object before and after. A `Plan` is what one operator action asks for (one change, or one per
service for a host drain), with the warnings to show before it runs. Nothing here writes: see
`ops.runner` for applying a plan. Every builder validates first and raises `InvalidArgument`
with a sentence naming the object, so a bad value never reaches the confirmation step.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from lvs_tui.ipvs import validate
from lvs_tui.ipvs.backend import Backend, DestConfig, DestEdit, ServiceConfig, ServiceEdit
from lvs_tui.ipvs.errors import InvalidArgument
from lvs_tui.model.export import JsonObject, daemon_json
from lvs_tui.model.records import (
    Dest,
    DestKey,
    Family,
    Service,
    ServiceKey,
    Snapshot,
    SyncDaemon,
    parse_host_port,
)
from lvs_tui.ops import commands as ipvsadm
from lvs_tui.ops.sysctl import Sysctls, drain_warnings, remove_warnings

Write = Callable[[Backend], None]
MAX_WEIGHT = validate.INT_MAX


@dataclass(frozen=True, slots=True)
class Change:
    """One write: journaled as `action` on `target`, shown as `command`."""

    action: str  # the backend method: add_service, edit_dest, ...
    target: str  # `tcp:10.0.0.1:80` or `tcp:10.0.0.1:80>10.20.1.2:80`
    command: ipvsadm.Command
    write: Write = field(repr=False, compare=False)
    before: JsonObject | None
    after: JsonObject | None
    undo: tuple[Change, ...] = ()  # the writes that put `before` back; () when nothing can
    # A real server's change as asked (the edit, or the server added): made again on another
    # director's table for a pair (ops.pairplan).
    intent: DestEdit | DestConfig | None = field(default=None, repr=False, compare=False)

    @property
    def undoable(self) -> bool:
        return bool(self.undo)


@dataclass(frozen=True, slots=True)
class DrainStart:
    """A drain a plan starts: the tracker needs the weight to bring back."""

    service: ServiceKey
    dest: DestKey
    previous_weight: int


@dataclass(frozen=True, slots=True)
class Plan:
    title: str  # what the confirmation names, e.g. "Drain 10.20.1.2 in 3 services"
    changes: tuple[Change, ...]
    destructive: bool  # confirmation defaults to "no" and needs an explicit yes
    warnings: tuple[str, ...] = ()
    drains: tuple[DrainStart, ...] = ()
    skipped: tuple[str, ...] = ()  # items the action leaves alone, and why (listed, not hidden)
    undoes: str = ""  # an undo: the title of the plan it reverses


def dest_target(service: ServiceKey, dest: DestKey) -> str:
    return f"{service.id}>{dest.id}"


def parse_dest_target(target: str) -> tuple[ServiceKey, DestKey] | None:
    """The service and real server of a `dest_target`; None for a service's own target."""
    service, separator, dest = target.partition(">")
    if not separator:
        return None
    address, port = parse_host_port(dest)
    return ServiceKey.parse(service), DestKey(address, port)




def _with_counts(config: JsonObject, dest: Dest) -> JsonObject:
    return {**config, "active_conns": dest.active_conns, "inactive_conns": dest.inactive_conns,
            "persistent_conns": dest.persistent_conns}


# --- single changes ------------------------------------------------------------------------------


def add_service(config: ServiceConfig) -> Change:
    validate.service_key(config.key)
    validate.scheduler(config.key, config.scheduler)
    command = ipvsadm.add_service(config)  # validates flags, persistence, netmask
    key = config.key
    return Change("add_service", key.id, command, lambda b: b.add_service(config), None,
                  config.json(), (delete_service_key(key),))


def delete_service_key(key: ServiceKey) -> Change:
    """Removing a service this session added: nothing to put back but the service itself."""
    return Change("delete_service", key.id, ipvsadm.delete_service(key), lambda b: b.delete_service(key),
                  None, None)


def delete_service(service: Service) -> Change:
    key = service.key
    config = ServiceConfig.of(service)
    # The kernel lists its newest real server first: adding them oldest first puts the list back
    # in its order, which sh and mh hash over.
    restore = (add_service(config),
               *(add_dest(key, DestConfig.of(dest)) for dest in reversed(service.dests)))
    before = {**config.json(), "dests": [dest.key.id for dest in service.dests]}
    return Change("delete_service", key.id, ipvsadm.delete_service(key), lambda b: b.delete_service(key),
                  before, None, restore)


def edit_service(service: Service, edit: ServiceEdit) -> Change:
    key = service.key
    now = ServiceConfig.of(service)
    after = now.edited(edit)
    validate.scheduler(key, after.scheduler)
    command = ipvsadm.edit_service(after)  # validates flags, persistence, netmask
    back = ServiceEdit(now.scheduler, now.flags, now.persistence_timeout, now.netmask, now.pe or "")
    undo = Change("edit_service", key.id, ipvsadm.edit_service(now), lambda b: b.edit_service(key, back),
                  after.json(), now.json())
    return Change("edit_service", key.id, command, lambda b: b.edit_service(key, edit),
                  now.json(), after.json(), (undo,))


def add_dest(service: ServiceKey, config: DestConfig) -> Change:
    _check_dest(service, config)
    command = ipvsadm.add_dest(service, config)
    return Change("add_dest", dest_target(service, config.key), command,
                  lambda b: b.add_dest(service, config), None, config.json(),
                  (delete_dest_key(service, config.key),), config)


def delete_dest_key(service: ServiceKey, dest: DestKey) -> Change:
    return Change("delete_dest", dest_target(service, dest), ipvsadm.delete_dest(service, dest),
                  lambda b: b.delete_dest(service, dest), None, None)


def delete_dest(service: ServiceKey, dest: Dest) -> Change:
    config = DestConfig.of(dest)
    key = dest.key
    return Change("delete_dest", dest_target(service, key), ipvsadm.delete_dest(service, key),
                  lambda b: b.delete_dest(service, key), _with_counts(config.json(), dest), None,
                  (add_dest(service, config),))


def edit_dest(service: ServiceKey, dest: Dest, edit: DestEdit) -> Change:
    now = DestConfig.of(dest)
    after = now.edited(edit)
    _check_dest(service, after)
    if after.forward is not now.forward:  # a server added otherwise keeps its port while it keeps its mode
        validate.dest_port(service, after.address, after.port, after.forward)
    key = dest.key
    back = DestEdit(now.forward, now.tunnel, now.weight, now.upper_threshold, now.lower_threshold)
    undo = Change("edit_dest", dest_target(service, key), ipvsadm.edit_dest(service, now),
                  lambda b: b.edit_dest(service, key, back), after.json(), now.json(), intent=back)
    return Change("edit_dest", dest_target(service, key), ipvsadm.edit_dest(service, after),
                  lambda b: b.edit_dest(service, key, edit), _with_counts(now.json(), dest),
                  after.json(), (undo,), edit)


def zero(service: ServiceKey | None) -> Change:
    """Counters cannot be put back: a zero has no undo."""
    return Change("zero", "all services" if service is None else service.id, ipvsadm.zero(service),
                  lambda b: b.zero(service), None, None)


def start_daemon(daemon: SyncDaemon) -> Change:
    validate.daemon(daemon)
    stop = Change("stop_daemon", daemon_target(daemon.state), ipvsadm.stop_daemon(daemon.state),
                  lambda b: b.stop_daemon(daemon.state), daemon_json(daemon), None)
    return Change("start_daemon", daemon_target(daemon.state), ipvsadm.start_daemon(daemon),
                  lambda b: b.start_daemon(daemon), None, daemon_json(daemon), (stop,))


def stop_daemon(daemon: SyncDaemon) -> Change:
    """Stopping the running `daemon`: its settings are kept, to start it again."""
    return Change("stop_daemon", daemon_target(daemon.state), ipvsadm.stop_daemon(daemon.state),
                  lambda b: b.stop_daemon(daemon.state), daemon_json(daemon), None, (start_daemon(daemon),))


def daemon_target(state: str) -> str:
    return f"sync {state}"


def _check_dest(service: ServiceKey, config: DestConfig) -> None:
    try:
        family = Family.of(config.address)
    except ValueError:
        raise InvalidArgument(f"real server {config.key}: {config.address!r} is not an IP address.") from None
    validate.dest(service, Dest(config.address, config.port, family, config.forward, config.tunnel,
                                config.weight, config.upper_threshold, config.lower_threshold))


# --- plans: what one operator action asks for ------------------------------------------------------


def plan_add_service(config: ServiceConfig, existing: Collection[ServiceKey] = ()) -> Plan:
    """`existing`: the services of the table on screen, so a duplicate is refused before it is sent."""
    change = add_service(config)
    if config.key in existing:
        raise InvalidArgument(f"service {config.key} already exists: select it and press e to edit it.")
    return Plan(f"Add service {config.key}", (change,), destructive=False)


def plan_add_dest(service: ServiceKey, config: DestConfig, existing: Collection[DestKey] = ()) -> Plan:
    """`existing`: the service's real servers on screen, so a duplicate is refused before it is sent."""
    change = add_dest(service, config)
    # Here, not in add_dest: an undo or a restore puts back what the kernel had, whatever its port.
    validate.dest_port(service, config.address, config.port, config.forward)
    if config.key in existing:
        raise InvalidArgument(f"real server {config.key} is already in service {service}: select it and "
                              "press e to edit it.")
    return Plan(f"Add real server {config.key} to {service}", (change,), destructive=False)


def plan_edit_service(service: Service, edit: ServiceEdit) -> Plan:
    """A plan with no changes when the edit leaves the service as it is."""
    change = edit_service(service, edit)
    if change.command == ipvsadm.edit_service(ServiceConfig.of(service)):
        return Plan(f"Service {service.key} already has these settings", (), destructive=False)
    rescheduled = edit.scheduler is not None and edit.scheduler != service.scheduler
    title = (f"Change the scheduler of {service.key} from {service.scheduler} to {edit.scheduler}"
             if rescheduled else f"Edit service {service.key}")
    return Plan(title, (change,), destructive=rescheduled)


def plan_edit_dest(service: Service, dest: Dest, edit: DestEdit, sysctls: Sysctls) -> Plan:
    """A plan with no changes when the edit leaves the real server as it is."""
    change = edit_dest(service.key, dest, edit)
    if change.command == ipvsadm.edit_dest(service.key, DestConfig.of(dest)):
        return Plan(f"Real server {dest.key} already has these settings", (), destructive=False)
    drains = edit.weight == 0 and dest.weight > 0
    warnings = tuple(drain_warnings(service, sysctls, dest)) if drains else ()
    starts = (DrainStart(service.key, dest.key, dest.weight),) if drains else ()
    return Plan(f"Edit real server {dest.key} of {service.key}", (change,), destructive=drains,
                warnings=warnings, drains=starts)


def plan_weight(service: Service, dest: Dest, weight: int, sysctls: Sysctls) -> Plan:
    if not 0 <= weight <= MAX_WEIGHT:
        raise InvalidArgument(f"real server {dest.key}: the weight must be between 0 and {MAX_WEIGHT}.")
    plan = plan_edit_dest(service, dest, DestEdit(weight=weight), sysctls)
    return Plan(f"Set the weight of {dest.key} in {service.key} from {dest.weight} to {weight}",
                plan.changes, plan.destructive, plan.warnings, plan.drains)


def plan_drain(services: Sequence[Service], address: str, port: int | None, sysctls: Sysctls) -> Plan:
    """Weight 0 for the real server `address[:port]` in each of `services` that has it."""
    changes: list[Change] = []
    warnings: list[str] = []
    starts: list[DrainStart] = []
    skipped: list[str] = []
    for service in services:
        for dest in service.dests:
            if dest.address != address or (port is not None and dest.port != port):
                continue
            if dest.weight == 0:
                skipped.append(f"{dest_target(service.key, dest.key)}: already at weight 0")
                continue
            changes.append(edit_dest(service.key, dest, DestEdit(weight=0)))
            starts.append(DrainStart(service.key, dest.key, dest.weight))
            warnings += drain_warnings(service, sysctls, dest)
    where = address if port is None else DestKey(address, port).id
    count = len({start.service for start in starts})
    title = (f"Drain {where} in {count} service{'s' if count != 1 else ''}" if port is None or count != 1
             else f"Drain {where} in {starts[0].service}")
    return Plan(title, tuple(changes), destructive=True, warnings=tuple(dict.fromkeys(warnings)),
                drains=tuple(starts), skipped=tuple(skipped))


def plan_restore_weight(service: Service, dest: Dest, weight: int) -> Plan:
    change = edit_dest(service.key, dest, DestEdit(weight=weight))
    return Plan(f"Bring {dest.key} back into {service.key} at weight {weight}", (change,), destructive=False)


def plan_remove_dest(service: Service, dest: Dest, sysctls: Sysctls) -> Plan:
    warnings = list(remove_warnings(sysctls))
    live = dest.active_conns + dest.inactive_conns
    if live:
        warnings.insert(0, f"real server {dest.key} still has {dest.active_conns} active and "
                           f"{dest.inactive_conns} inactive connections; drain it first to let them finish.")
    return Plan(f"Remove real server {dest.key} from {service.key}", (delete_dest(service.key, dest),),
                destructive=True, warnings=tuple(warnings))


def plan_remove_service(service: Service) -> Plan:
    active = sum(dest.active_conns for dest in service.dests)
    warnings = (f"service {service.key} has {active} active connections; they break when it goes.",) \
        if active else ()
    return Plan(f"Remove service {service.key} and its {len(service.dests)} real servers",
                (delete_service(service),), destructive=True, warnings=warnings)


def plan_zero(service: ServiceKey | None, snapshot: Snapshot) -> Plan:
    what = f"service {service}" if service is not None else f"all {len(snapshot.services)} services"
    return Plan(f"Zero the counters of {what}", (zero(service),), destructive=True,
                warnings=("counters cannot be restored; this cannot be undone.",))


def plan_start_daemon(daemon: SyncDaemon, running: Sequence[SyncDaemon]) -> Plan:
    """Start `daemon`; InvalidArgument when one of its state runs already (the kernel keeps one)."""
    for other in running:
        if other.state == daemon.state:
            raise InvalidArgument(f"a sync {other.state} is already running (on {other.mcast_ifn}, sync id "
                                  f"{other.syncid}): stop it first.")
    change = start_daemon(daemon)
    return Plan(f"Start the sync {daemon.state} on {daemon.mcast_ifn}, sync id {daemon.syncid}", (change,),
                destructive=False)


def plan_stop_daemon(daemon: SyncDaemon) -> Plan:
    if daemon.state == "master":
        said = ("this director's connections are no longer copied to the backup: a failover while it is "
                "stopped drops them.")
    else:
        said = ("this director no longer takes in the master's connections: if it takes over, it drops "
                "them.")
    return Plan(f"Stop the sync {daemon.state} ({daemon.mcast_ifn}, sync id {daemon.syncid})",
                (stop_daemon(daemon),), destructive=True, warnings=(said,))


def plan_undo(plan: Plan, done: Sequence[Change]) -> Plan | None:
    """The plan that reverses the changes of `plan` that succeeded (`done`), newest first; its
    title says what the undo does, `undoes` names what it reverses."""
    changes = tuple(undo for change in reversed(done) for undo in change.undo)
    if not changes:
        return None
    said = [what_undo_does(change) for change in changes[:UNDO_NAMED]]
    if len(changes) > UNDO_NAMED:
        said.append(f"{len(changes) - UNDO_NAMED} more")
    title = "Undo: " + "; ".join(said)
    return Plan(title, changes, destructive=True, undoes=plan.title)


UNDO_NAMED = 3  # an undo's title names this many of its changes, and counts the rest


def what_undo_does(change: Change) -> str:
    """`put back real server 10.20.1.2:80 in tcp:10.0.0.1:80 at weight 3`, from one undo change."""
    if change.action in ("start_daemon", "stop_daemon"):
        verb = "start the" if change.action == "start_daemon" else "stop the"
        return f"{verb} {change.target} again" if change.before is None else \
            f"{verb} {change.target} (started in this session)"
    pair = parse_dest_target(change.target)
    after = change.after or {}
    if pair is None:
        edited = f"set service {change.target} back to scheduler {after.get('scheduler')}"
        return {"add_service": f"add service {change.target} back",
                "delete_service": f"remove service {change.target} (added in this session)",
                }.get(change.action, edited)
    service, dest = pair
    weight = after.get("weight")
    return {"add_dest": f"put back real server {dest} in {service} at weight {weight}",
            "delete_dest": f"remove real server {dest} from {service} (added in this session)",
            }.get(change.action, f"set real server {dest} of {service} back to weight {weight}")
