"""What the checker does about health: one pure decision per service and round.

Given the configured servers, their health and the service as the kernel has it now, `decide`
returns the plan to apply (through the same runner and journal as a manual change) and what the
checker must remember. The rules, in the order they apply:

- a server the checker did not take out and that sits at weight 0 was drained by hand: the
  checker leaves it alone (a manual drain wins);
- an unhealthy server in rotation is taken out (`quiesce`: weight 0; `remove`: deleted), and the
  settings to bring it back are remembered; unless that would leave fewer than `min_healthy`
  servers in rotation: then it stays, and the decision says so loudly;
- a healthy server the checker took out comes back at its weight, ramped over `slow_start`;
- with no healthy server in rotation the sorry server is added; once one is back, it goes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from lvs_tui.health.config import ServiceHealth
from lvs_tui.health.state import Health
from lvs_tui.ipvs.backend import DestConfig, DestEdit
from lvs_tui.model.records import DestKey, Forward, Service
from lvs_tui.ops import changes
from lvs_tui.ops.changes import Change, Plan


@dataclass(frozen=True, slots=True)
class Decision:
    plan: Plan
    taken_out: dict[DestKey, DestConfig]  # what the checker took out, with the settings to restore
    held: tuple[str, ...]  # servers kept in rotation by min_healthy, in words


def ramp(weight: int, recovered_at: float | None, slow_start: float, now: float) -> int:
    """The weight a recovered server has `now`: from 1 up to `weight` over `slow_start` seconds."""
    if slow_start <= 0 or recovered_at is None or weight == 0:
        return weight
    share = (now - recovered_at) / slow_start
    return weight if share >= 1 else max(1, min(weight, math.ceil(weight * share)))


def decide(config: ServiceHealth, service: Service, health: Mapping[DestKey, Health],
           recovered_at: Mapping[DestKey, float], taken_out: Mapping[DestKey, DestConfig],
           now: float) -> Decision:
    memory = dict(taken_out)
    planned: list[Change] = []
    held: list[str] = []
    key = service.key
    in_rotation = {dest.key for dest in service.dests if dest.weight > 0}
    if config.sorry is not None:
        in_rotation.discard(config.sorry)
    for server in config.servers:
        dest = service.dest(server.dest)
        state = health.get(server.dest, Health.CHECKING)
        ours = server.dest in memory
        if state is Health.UNHEALTHY and dest is not None and dest.weight > 0:
            if len(in_rotation) - 1 < config.min_healthy:
                held.append(f"{server.dest} of {key} fails its checks but stays in rotation: taking it out "
                            f"would leave fewer than min_healthy={config.min_healthy} servers")
                continue
            restore = DestConfig.of(dest)
            if server.weight is not None:
                restore = replace(restore, weight=server.weight)
            memory[server.dest] = restore
            in_rotation.discard(server.dest)
            planned.append(changes.delete_dest(key, dest) if config.action == "remove"
                           else changes.edit_dest(key, dest, DestEdit(weight=0)))
        elif state is Health.HEALTHY and ours:
            restore = memory[server.dest]
            weight = ramp(restore.weight, recovered_at.get(server.dest), config.slow_start, now)
            if dest is None:
                planned.append(changes.add_dest(key, replace(restore, weight=weight)))
            elif dest.weight != weight:
                planned.append(changes.edit_dest(key, dest, DestEdit(weight=weight)))
            if weight == restore.weight:
                del memory[server.dest]  # fully back: the checker's part is over
            in_rotation.add(server.dest)
    planned += _sorry(config, service, health, in_rotation)
    title = f"Health checks of {key}: " + ("; ".join(change.command.display for change in planned)
                                           if planned else "nothing to change")
    return Decision(Plan(title, tuple(planned), destructive=False), memory, tuple(held))


def _sorry(config: ServiceHealth, service: Service, health: Mapping[DestKey, Health],
           in_rotation: set[DestKey]) -> list[Change]:
    if config.sorry is None:
        return []
    healthy = [dest for dest in in_rotation if health.get(dest, Health.CHECKING) is not Health.UNHEALTHY]
    present = service.dest(config.sorry)
    if not healthy and present is None:
        forward = next((d.forward for d in service.dests if d.forward is not Forward.LOCAL), Forward.MASQ)
        return [changes.add_dest(service.key, DestConfig(config.sorry.address, config.sorry.port, forward))]
    if healthy and present is not None:
        return [changes.delete_dest(service.key, present)]
    return []
