"""One round of the checker, on the thread that owns the backend: read the table, then per service
decide and apply, each service on its own.

A service whose part raises (a bug, a refusal nobody expected) gets its cause in its own
`ServiceRound`, and the round goes on with the next service: whatever the services before it
changed is reported back, so the engine records it (memory, state file) as it does any change.
The runner journals each change as it is made and turns a change that raises into a failed one,
so a plan stopped half-way is reported too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lvs_tui.health.config import HealthConfig, ServiceHealth
from lvs_tui.health.policy import Decision, decide
from lvs_tui.health.state import Health
from lvs_tui.ipvs.backend import Backend, DestConfig
from lvs_tui.model.printable import fault
from lvs_tui.model.records import DestKey, Service, ServiceKey
from lvs_tui.ops.changes import dest_target, parse_dest_target
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.runner import Report, run_plan

AWAY_BY_HAND = "weight 0 set by hand: the checker stands aside until it is back in rotation"
ABSENT = "not in the service: the checker stands aside until it is added back"

Pair = tuple[ServiceKey, DestKey]
Memory = Mapping[ServiceKey, Mapping[DestKey, DestConfig]]


@dataclass(frozen=True, slots=True)
class ServiceRound:
    config: ServiceHealth
    service: Service | None  # None: not in the kernel's table
    decision: Decision | None
    report: Report | None
    error: str | None = None  # why this service's part of the round failed (nothing was applied)


@dataclass(frozen=True, slots=True)
class RoundInput:
    """What the engine knew when it started the round (copies: the round runs on another thread)."""

    config: HealthConfig
    health: Mapping[Pair, Health]
    recovered: Mapping[Pair, float]
    memory: Memory
    causes: Mapping[str, str]  # by change target: the check result behind each change
    now: float


def play_round(backend: Backend, journal: Journal, read_only: str | None,
               given: RoundInput) -> list[ServiceRound]:
    """Read the services checked (only those: on a table of thousands a round costs what it
    checks), decide and (unless read-only) apply, per service."""
    snapshot = backend.snapshot_of([config.key for config in given.config.services])
    rounds = []
    for config in given.config.services:
        service = snapshot.service(config.key)
        if service is None:
            rounds.append(ServiceRound(config, None, None, None))
            continue
        try:
            rounds.append(_play_service(backend, journal, read_only, given, config, service))
        except Exception as error:  # this service's part only: the others still get theirs
            rounds.append(ServiceRound(config, service, None, None, fault(error)))
    return rounds


def _play_service(backend: Backend, journal: Journal, read_only: str | None, given: RoundInput,
                  config: ServiceHealth, service: Service) -> ServiceRound:
    key = config.key
    decision = decide(config, service,
                      {dest: state for (owner, dest), state in given.health.items() if owner == key},
                      {dest: at for (owner, dest), at in given.recovered.items() if owner == key},
                      given.memory.get(key, {}), given.now)
    report = None
    if decision.plan.changes and read_only is None:
        # Each change stands alone (a dead server stays out though the sorry server is refused):
        # keep going, and the next round retries what failed.
        report = run_plan(decision.plan, backend, journal, action="health",
                          causes={**given.causes, **_sorry_causes(config, decision)}, keep_going=True)
    return ServiceRound(config, service, decision, report)


def _sorry_causes(config: ServiceHealth, decision: Decision) -> dict[str, str]:
    if config.sorry is None:
        return {}
    target = dest_target(config.key, config.sorry)
    for change in decision.plan.changes:
        if change.target == target:
            return {target: f"sorry server: no real server of {config.key} is healthy" if change.action ==
                    "add_dest" else f"sorry server: a real server of {config.key} is healthy again"}
    return {}


def remembered(service_round: ServiceRound, before: Mapping[DestKey, DestConfig]) -> tuple[
        dict[DestKey, DestConfig], set[DestKey]]:
    """What the checker remembers after a service's round, and the servers the round changed: the
    decision's memory, but a change not applied is as if not decided (the next round retries)."""
    assert service_round.decision is not None
    memory = dict(service_round.decision.taken_out)
    touched = set()
    for outcome in () if service_round.report is None else service_round.report.outcomes:
        target = parse_dest_target(outcome.change.target)
        if target is None:
            continue
        touched.add(target[1])
        if not outcome.applied:
            memory.pop(target[1], None)
            if target[1] in before:
                memory[target[1]] = before[target[1]]
    return memory, touched


def aside_reasons(config: ServiceHealth, service: Service, memory: Mapping[DestKey, DestConfig],
                  touched: set[DestKey]) -> dict[DestKey, str]:
    """The servers the checker leaves alone, and why: out of rotation, but not by its doing (the
    servers this round changed excepted: the table read before it no longer says)."""
    reasons = {}
    for server in config.servers:
        if server.dest in memory or server.dest in touched:
            continue
        now = service.dest(server.dest)
        if now is None:
            reasons[server.dest] = ABSENT
        elif now.weight == 0:
            reasons[server.dest] = AWAY_BY_HAND
    return reasons
