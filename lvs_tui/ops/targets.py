"""What the maintenance commands act on: targets (a host, or one real server ADDRESS:PORT), the
services they are limited to, and the plans for them, built from the dashboard's own plans.

A host target is every real server with that address, in every service (the dashboard's `D`); an
ADDRESS:PORT target is that real server wherever it appears. Nothing here writes: the plans go to
`ops.runner.run_plan` like every other plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lvs_tui.ipvs.errors import InvalidArgument
from lvs_tui.model import inputs
from lvs_tui.model.records import Dest, DestKey, Service, ServiceKey, Snapshot
from lvs_tui.ops import changes
from lvs_tui.ops.changes import Change, DrainStart, Plan
from lvs_tui.ops.sysctl import Sysctls


@dataclass(frozen=True, slots=True)
class Target:
    address: str  # in the kernel's form
    port: int | None  # None: every port of the host

    @property
    def text(self) -> str:
        return self.address if self.port is None else DestKey(self.address, self.port).id

    def matches(self, dest: Dest) -> bool:
        return dest.address == self.address and (self.port is None or dest.port == self.port)


def parse_target(text: str) -> Target:
    """`198.51.100.11`, `2001:db8::11`, `198.51.100.11:8080` or `[2001:db8::11]:80`; InputError
    (a ValueError) with one clause otherwise."""
    try:
        return Target(inputs.address(text, "the target"), None)
    except inputs.InputError:
        pass
    try:
        address, port = inputs.host_port(text, "the target")
    except inputs.InputError:
        raise inputs.InputError(
            f"the target must be a host address or ADDRESS:PORT (an IPv6 address in brackets with a port, "
            f"[2001:db8::11]:80), not {text.strip()[:40]!r}") from None
    return Target(address, port)


def services_of(snapshot: Snapshot, chosen: Sequence[ServiceKey]) -> list[Service]:
    """The services of the table the command may touch: `chosen` (all when empty), in table order.
    InvalidArgument names a chosen service the table does not have."""
    if not chosen:
        return list(snapshot.services)
    missing = [key.id for key in chosen if snapshot.service(key) is None]
    if missing:
        raise InvalidArgument(f"there is no service {', '.join(missing)} on this director.")
    wanted = set(chosen)
    return [service for service in snapshot.services if service.key in wanted]


def matches(services: Iterable[Service], targets: Sequence[Target]) -> list[tuple[Service, Dest]]:
    """Every (service, real server) a target names, each once, in table order.
    InvalidArgument names the first target that matches nothing."""
    services = list(services)
    found: dict[tuple[ServiceKey, DestKey], tuple[Service, Dest]] = {}
    for target in targets:
        hits = [(service, dest) for service in services for dest in service.dests if target.matches(dest)]
        if not hits:
            raise InvalidArgument(f"no real server matches {target.text} in "
                                  f"{'the services chosen' if services else 'the table'}.")
        for service, dest in hits:
            found.setdefault((service.key, dest.key), (service, dest))
    return list(found.values())


def _merged(title: str, plans: Sequence[Plan], destructive: bool) -> Plan:
    """One plan of several, each change once (a host and one of its servers may both be named)."""
    seen: set[tuple[str, str]] = set()
    picked: list[Change] = []
    for plan in plans:
        for change in plan.changes:
            if (change.action, change.target) not in seen:
                seen.add((change.action, change.target))
                picked.append(change)
    drains = tuple(dict.fromkeys(start for plan in plans for start in plan.drains))
    warnings = tuple(dict.fromkeys(warning for plan in plans for warning in plan.warnings))
    skipped = tuple(dict.fromkeys(item for plan in plans for item in plan.skipped))
    return Plan(title, tuple(picked), destructive, warnings, drains, skipped)


def _where(targets: Sequence[Target]) -> str:
    return ", ".join(target.text for target in targets)


def plan_drain(services: Sequence[Service], targets: Sequence[Target], sysctls: Sysctls) -> Plan:
    """Weight 0 for every real server the targets name (the dashboard's drain plan, per target)."""
    plans = [changes.plan_drain(services, target.address, target.port, sysctls) for target in targets]
    if len(plans) == 1:
        return plans[0]
    return _merged(f"Drain {_where(targets)}", plans, destructive=True)


def plan_weight(pairs: Sequence[tuple[Service, Dest]], weight: int, sysctls: Sysctls) -> Plan:
    """Weight `weight` for each (service, real server); those already there are listed as skipped."""
    plans: list[Plan] = []
    skipped: list[str] = []
    for service, dest in pairs:
        plan = changes.plan_weight(service, dest, weight, sysctls)
        if plan.changes:
            plans.append(plan)
        else:
            skipped.append(f"{changes.dest_target(service.key, dest.key)}: already at weight {weight}")
    merged = _merged(f"Set the weight of {len(plans)} real server{'s' * (len(plans) != 1)} to {weight}",
                     plans, destructive=any(plan.destructive for plan in plans))
    return Plan(merged.title, merged.changes, merged.destructive, merged.warnings, merged.drains,
                tuple(skipped))


@dataclass(frozen=True, slots=True)
class Undrain:
    plan: Plan
    unknown: tuple[str, ...]  # drained servers whose weight before the drain nobody knows


def plan_undrain(pairs: Sequence[tuple[Service, Dest]], weights: Mapping[str, int],
                 weight: int | None) -> Undrain:
    """Each drained (weight 0) server back to `weight`, or else to the weight it had before its
    drain (`weights`, by change target: the journal's `drained_weights`)."""
    plans: list[Plan] = []
    skipped: list[str] = []
    unknown: list[str] = []
    for service, dest in pairs:
        target = changes.dest_target(service.key, dest.key)
        if dest.weight > 0:
            skipped.append(f"{target}: not drained (weight {dest.weight})")
            continue
        back = weight if weight is not None else weights.get(target)
        if back is None:
            unknown.append(target)
        elif back == 0:
            skipped.append(f"{target}: already at weight 0")
        else:
            plans.append(changes.plan_restore_weight(service, dest, back))
    count = len(plans)
    merged = _merged(f"Bring back {count} real server{'s' * (count != 1)}", plans, destructive=False)
    plan = Plan(plans[0].title if count == 1 else merged.title, merged.changes, False,
                skipped=tuple(skipped))
    return Undrain(plan, tuple(unknown))


def plan_remove(pairs: Sequence[tuple[Service, Dest]], sysctls: Sysctls) -> Plan:
    """Remove each (service, real server): the dashboard's removal plan, one per server."""
    plans = [changes.plan_remove_dest(service, dest, sysctls) for service, dest in pairs]
    if len(plans) == 1:
        return plans[0]
    return _merged(f"Remove {len(plans)} drained real servers", plans, destructive=True)


def drain_starts(pairs: Sequence[tuple[Service, Dest]], plan: Plan,
                 weights: Mapping[str, int]) -> list[DrainStart]:
    """What a tracker follows for each server: the plan's own drain starts, and for a server that
    was already at weight 0 the weight the journal remembers (0 when nobody knows)."""
    started = {(start.service, start.dest): start for start in plan.drains}
    return [started.get((service.key, dest.key))
            or DrainStart(service.key, dest.key, weights.get(changes.dest_target(service.key, dest.key), 0))
            for service, dest in pairs]


def ramp_weight(final: int, step: int, steps: int) -> int:
    """The weight at `step` (1..steps) of a slow start to `final`: never 0, `final` at the last."""
    return max(1, final * step // steps)


def plan_ramp(pairs: Sequence[tuple[Service, Dest]], finals: Mapping[str, int], step: int,
              steps: int) -> Plan:
    """One step of a slow start: each server of `finals` (by change target) in `pairs` to its
    weight at this step; those already there are left alone."""
    plans = []
    for service, dest in pairs:
        final = finals.get(changes.dest_target(service.key, dest.key))
        if final is not None and dest.weight != ramp_weight(final, step, steps):
            plans.append(changes.plan_restore_weight(service, dest, ramp_weight(final, step, steps)))
    return _merged(f"Slow start, step {step} of {steps}", plans, destructive=False)
