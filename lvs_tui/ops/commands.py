"""The ipvsadm equivalent of every write, and the table in `ipvsadm -R` format (pure, no I/O).

Commands are argument lists (never shell strings); `Command.display` is the shell-quoted form an
operator reads before confirming, `Command.rule` the line `ipvsadm -R` takes. Each command states
every field the kernel will hold, because `ipvsadm -E/-e` reset what they are not given (default
scheduler wlc, DR forwarding, weight 1, no thresholds) while the backend edits read-modify-write:
render the result of `ServiceConfig.edited` / `DestConfig.edited`, not the edit.

`save_lines` writes what `ipvsadm -Sn` writes plus the thresholds (-x/-y) that ipvsadm 1.31's -S
drops; `lvs_tui.ops.rules` reads that back.
"""

from __future__ import annotations

import ipaddress
import shlex
from dataclasses import dataclass

from lvs_tui.ipvs import validate
from lvs_tui.ipvs.backend import DestConfig, ServiceConfig
from lvs_tui.model import flags as service_flags
from lvs_tui.model.records import (
    FLAG_ONEPACKET,
    FLAG_PERSISTENT,
    Dest,
    DestKey,
    Family,
    Forward,
    Protocol,
    ServiceKey,
    Snapshot,
    SyncDaemon,
    Timeouts,
    TunnelType,
)

PROGRAM = "ipvsadm"
DEFAULT_SCHEDULER = "wlc"  # what ipvsadm sends when -s is absent

PROTOCOL_OPTION = {Protocol.TCP: "-t", Protocol.UDP: "-u", Protocol.SCTP: "--sctp-service"}
# LOCAL has no switch of its own: the kernel makes any method to a local address LOCALNODE,
# and ipvsadm -S prints such a server with -g.
FORWARD_OPTION = {Forward.MASQ: "-m", Forward.ROUTE: "-g", Forward.LOCAL: "-g", Forward.TUNNEL: "-i"}
CSUM_OPTION = {"nocsum": "--tun-nocsum", "csum": "--tun-csum", "remcsum": "--tun-remcsum"}


@dataclass(frozen=True, slots=True)
class Command:
    """One ipvsadm invocation; `args` excludes the program name."""

    args: tuple[str, ...]

    @property
    def argv(self) -> list[str]:
        return [PROGRAM, *self.args]

    @property
    def display(self) -> str:
        """Shell form, e.g. `ipvsadm -a -t '[2001:db8::1]:443' -r ...` (brackets are quoted)."""
        return shlex.join(self.argv)

    @property
    def rule(self) -> str:
        """The line for `ipvsadm -R`, which splits on blanks and needs no quoting."""
        return " ".join(self.args)

    def __str__(self) -> str:
        return self.display


# --- rendering -------------------------------------------------------------------------------


def host_port(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def service_args(key: ServiceKey) -> list[str]:
    """`-t 10.0.0.1:80`, `-u [2001:db8::1]:53`, `--sctp-service ...`, `-f 5`, `-f 6 -6`."""
    if key.fwmark is not None:
        return ["-f", str(key.fwmark)] + (["-6"] if key.family is Family.IPV6 else [])
    assert key.protocol is not None
    return [PROTOCOL_OPTION[key.protocol], host_port(key.address, key.port)]


def _host_mask(key: ServiceKey) -> str:
    return "128" if key.family is Family.IPV6 else "255.255.255.255"


def _service_options(config: ServiceConfig) -> list[str]:
    key = config.key
    raw = validate.flags(key, config.flags, config.scheduler)  # raises on a flag the scheduler lacks
    args = ["-s", config.scheduler]
    timeout = validate.persistence(key, raw, config.persistence_timeout)  # port 0 needs persistence
    if raw & service_flags.PERSISTENT:
        args += ["-p", str(timeout)]
    netmask = validate.netmask(key, config.netmask)
    if netmask != _host_mask(key):
        args += ["-M", netmask]
    if config.pe:
        args += ["--pe", config.pe]
    if raw & service_flags.ONEPACKET:
        args.append("-o")
    sched = [name for name in config.flags if name not in (FLAG_PERSISTENT, FLAG_ONEPACKET)]
    if sched:
        args += ["-b", ",".join(sched)]
    return args


def add_service(config: ServiceConfig) -> Command:
    return Command(("-A", *service_args(config.key), *_service_options(config)))


def edit_service(config: ServiceConfig) -> Command:
    """`-E` with the whole resulting service (see `ServiceConfig.edited`)."""
    return Command(("-E", *service_args(config.key), *_service_options(config)))


def delete_service(key: ServiceKey) -> Command:
    return Command(("-D", *service_args(key)))


def _dest_options(config: DestConfig) -> list[str]:
    if config.forward not in FORWARD_OPTION:
        raise ValueError(f"real server {config.key}: ipvsadm cannot express forwarding "
                         f"{config.forward.value!r}.")
    args = ["-r", host_port(config.address, config.port), FORWARD_OPTION[config.forward],
            "-w", str(config.weight)]
    tunnel = config.tunnel if config.forward is Forward.TUNNEL else None
    if tunnel is not None:
        args += ["--tun-type", tunnel.type.value]
        if tunnel.type is TunnelType.GUE:
            args += ["--tun-port", str(tunnel.port)]
        args += [CSUM_OPTION[flag] for flag in tunnel.flags]
    if config.upper_threshold:
        args += ["-x", str(config.upper_threshold)]
    if config.lower_threshold:
        args += ["-y", str(config.lower_threshold)]
    return args


def add_dest(service: ServiceKey, config: DestConfig) -> Command:
    return Command(("-a", *service_args(service), *_dest_options(config)))


def edit_dest(service: ServiceKey, config: DestConfig) -> Command:
    """`-e` with the whole resulting real server (see `DestConfig.edited`)."""
    return Command(("-e", *service_args(service), *_dest_options(config)))


def delete_dest(service: ServiceKey, dest: DestKey) -> Command:
    return Command(("-d", *service_args(service), "-r", host_port(dest.address, dest.port)))


def zero(service: ServiceKey | None = None) -> Command:
    return Command(("-Z", *(service_args(service) if service is not None else [])))


def set_timeouts(timeouts: Timeouts) -> Command:
    """`--set tcp tcpfin udp`; a 0 leaves that timeout unchanged, in ipvsadm as in the backend."""
    return Command(("--set", str(timeouts.tcp), str(timeouts.tcp_fin), str(timeouts.udp)))


def start_daemon(daemon: SyncDaemon) -> Command:
    return Command(("--start-daemon", daemon.state, "--mcast-interface", daemon.mcast_ifn,
                    "--syncid", str(daemon.syncid)))


def stop_daemon(state: str) -> Command:
    return Command(("--stop-daemon", state))


# --- save --------------------------------------------------------------------------------------


def _dest_order(dest: Dest) -> tuple[int, bytes, int]:
    packed = ipaddress.ip_address(dest.address).packed
    return (len(packed), packed, dest.port)


class Unsaveable(ValueError):
    """A table that a rules file cannot express, each reason a sentence naming the object."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


def save_problems(snapshot: Snapshot) -> list[str]:
    """What in the table `ipvsadm -R` (and so `lvs-top restore`) could not set back: a forwarding
    method ipvsadm has no option for, a weight or threshold above the int it takes."""
    problems = []
    for service in snapshot.services:
        for dest in service.dests:
            name = f"real server {dest.key} of {service.key}"
            if dest.forward not in FORWARD_OPTION:
                problems.append(f"{name} forwards by {dest.forward.value}, which ipvsadm cannot set: "
                                "change its forwarding method first.")
            for what, value in (("weight", dest.weight), ("upper threshold", dest.upper_threshold),
                                ("lower threshold", dest.lower_threshold)):
                if value > validate.INT_MAX:
                    problems.append(f"{name} has a {what} of {value}, above the {validate.INT_MAX} that "
                                    "ipvsadm and lvs-top restore can set: lower it first.")
    return problems


def save_lines(snapshot: Snapshot) -> list[str]:
    """The table as `ipvsadm -R` lines: each `-A` then its `-a`, in ipvsadm's sorted order.

    Raises Unsaveable, with every reason, for a table a rules file cannot give back: a file that
    restores to another table is worse than none."""
    problems = save_problems(snapshot)
    if problems:
        raise Unsaveable(problems)
    lines: list[str] = []
    for service in sorted(snapshot.services, key=lambda s: s.key.sort_key):
        lines.append(add_service(ServiceConfig.of(service)).rule)
        for dest in sorted(service.dests, key=_dest_order):
            lines.append(add_dest(service.key, DestConfig.of(dest)).rule)
    return lines
