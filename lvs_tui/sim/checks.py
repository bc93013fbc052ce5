"""What the simulated director refuses beyond lvs_tui.ipvs.validate's rules (shared with the kernel
backend): schedulers and persistence engines it does not have, as the kernel refuses missing modules."""

from __future__ import annotations

from lvs_tui.ipvs import validate
from lvs_tui.ipvs.backend import tunnel_for
from lvs_tui.ipvs.errors import SchedulerMissing
from lvs_tui.model.records import Dest, DestKey, Family, Forward, ServiceKey, Tunnel
from lvs_tui.sim.schedulers import SCHEDULERS

KNOWN_PES = ("sip",)


def scheduler(key: ServiceKey, name: str) -> str:
    validate.scheduler(key, name)
    if name not in SCHEDULERS:
        known = ", ".join(sorted(SCHEDULERS))
        raise SchedulerMissing(f"service {key}: scheduler {name!r} is not available in the demo director "
                               f"(it has {known}).")  # fmt: skip
    return name


def pe(key: ServiceKey, name: str | None) -> str | None:
    name = validate.pe_name(key, name)
    if name is not None and name not in KNOWN_PES:
        raise SchedulerMissing(f"service {key}: persistence engine {name!r} is not available (known: sip).")
    return name


def service_flags(key: ServiceKey, name: str, names: tuple[str, ...]) -> int:
    return validate.flags(key, names, scheduler(key, name))


def netmask(key: ServiceKey, value: str | None) -> str:
    return validate.netmask(key, value)


def dest(
    service: ServiceKey,
    dest_key: DestKey,
    address: str,
    forward: Forward,
    tunnel: Tunnel | None,
    weight: int,
    upper: int,
    lower: int,
) -> Tunnel | None:
    """Validate a real server's settings; returns the tunnel as stored (None unless tunnelling)."""
    tunnel = tunnel_for(forward, tunnel)
    try:
        family = Family.of(address)
    except ValueError:
        family = service.family  # validate.dest names the bad address
    validate.dest(service, Dest(address, dest_key.port, family, forward, tunnel, weight, upper, lower))
    return tunnel
