"""The ipvsadm equivalent of every write, and save/restore in `ipvsadm -R` format (pure, no I/O).

Commands are argument lists (never shell strings); `Command.display` is the shell-quoted form an
operator reads before confirming, `Command.rule` the line `ipvsadm -R` takes. Each command states
every field the kernel will hold, because `ipvsadm -E/-e` reset what they are not given (default
scheduler wlc, DR forwarding, weight 1, no thresholds) while the backend edits read-modify-write.

`save_lines` writes what `ipvsadm -Sn` writes plus the thresholds (-x/-y) that ipvsadm 1.31's -S
drops; `parse_rules` reads that back, and `ipvsadm -Sn` output, into typed configs.
"""

from __future__ import annotations

import ipaddress
import shlex
from dataclasses import dataclass, replace

from lvs_tui.ipvs import validate
from lvs_tui.ipvs.backend import DestConfig, DestEdit, ServiceConfig, ServiceEdit
from lvs_tui.ipvs.errors import InvalidArgument
from lvs_tui.model import flags as service_flags
from lvs_tui.model.records import (
    FLAG_ONEPACKET,
    FLAG_PERSISTENT,
    Dest,
    DestKey,
    Family,
    Forward,
    Protocol,
    Service,
    ServiceKey,
    Snapshot,
    Timeouts,
    Tunnel,
    TunnelType,
)

PROGRAM = "ipvsadm"
DEFAULT_SCHEDULER = "wlc"  # what ipvsadm sends when -s is absent

_PROTOCOL_OPTION = {Protocol.TCP: "-t", Protocol.UDP: "-u", Protocol.SCTP: "--sctp-service"}
# LOCAL has no switch of its own: the kernel makes any method to a local address LOCALNODE,
# and ipvsadm -S prints such a server with -g.
_FORWARD_OPTION = {Forward.MASQ: "-m", Forward.ROUTE: "-g", Forward.LOCAL: "-g", Forward.TUNNEL: "-i"}
_CSUM_OPTION = {"nocsum": "--tun-nocsum", "csum": "--tun-csum", "remcsum": "--tun-remcsum"}


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


# --- records -> configs ----------------------------------------------------------------------


def service_config(service: Service) -> ServiceConfig:
    """What a listed service was configured with."""
    return ServiceConfig(service.key, service.scheduler, service.flags, service.persistence_timeout,
                         service.netmask, service.pe)


def dest_config(dest: Dest) -> DestConfig:
    return DestConfig(dest.address, dest.port, dest.forward, dest.tunnel, dest.weight,
                      dest.upper_threshold, dest.lower_threshold)


def edited_service(now: Service, edit: ServiceEdit) -> ServiceConfig:
    """The service after `edit`, laid over it as KernelBackend.edit_service does."""
    config = service_config(now)
    return replace(
        config,
        scheduler=config.scheduler if edit.scheduler is None else edit.scheduler,
        flags=config.flags if edit.flags is None else edit.flags,
        persistence_timeout=(config.persistence_timeout if edit.persistence_timeout is None
                             else edit.persistence_timeout),
        netmask=config.netmask if edit.netmask is None else edit.netmask,
        pe=config.pe if edit.pe is None else (edit.pe or None),  # "" removes the engine
    )


def edited_dest(now: Dest, edit: DestEdit) -> DestConfig:
    """The real server after `edit`, laid over it as KernelBackend.edit_dest does."""
    forward = now.forward if edit.forward is None else edit.forward
    kept = now.tunnel if forward is Forward.TUNNEL else None  # leaving tunnel mode drops them
    tunnel = edit.tunnel if edit.tunnel is not None else kept
    if forward is Forward.TUNNEL and tunnel is None:
        tunnel = Tunnel()
    return DestConfig(
        now.address,
        now.port,
        forward,
        tunnel,
        now.weight if edit.weight is None else edit.weight,
        now.upper_threshold if edit.upper_threshold is None else edit.upper_threshold,
        now.lower_threshold if edit.lower_threshold is None else edit.lower_threshold,
    )


# --- rendering -------------------------------------------------------------------------------


def host_port(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def service_args(key: ServiceKey) -> list[str]:
    """`-t 10.0.0.1:80`, `-u [2001:db8::1]:53`, `--sctp-service ...`, `-f 5`, `-f 6 -6`."""
    if key.fwmark is not None:
        return ["-f", str(key.fwmark)] + (["-6"] if key.family is Family.IPV6 else [])
    assert key.protocol is not None
    return [_PROTOCOL_OPTION[key.protocol], host_port(key.address, key.port)]


def _host_mask(key: ServiceKey) -> str:
    return "128" if key.family is Family.IPV6 else "255.255.255.255"


def _service_options(config: ServiceConfig) -> list[str]:
    key = config.key
    raw = validate.flags(key, config.flags, config.scheduler)  # raises on a flag the scheduler lacks
    args = ["-s", config.scheduler]
    if raw & service_flags.PERSISTENT:
        args += ["-p", str(validate.persistence(key, raw, config.persistence_timeout))]
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
    """`-E` with the whole resulting service (see `edited_service`)."""
    return Command(("-E", *service_args(config.key), *_service_options(config)))


def delete_service(key: ServiceKey) -> Command:
    return Command(("-D", *service_args(key)))


def _dest_options(config: DestConfig) -> list[str]:
    if config.forward not in _FORWARD_OPTION:
        raise ValueError(f"real server {config.key}: ipvsadm cannot express forwarding "
                         f"{config.forward.value!r}.")
    args = ["-r", host_port(config.address, config.port), _FORWARD_OPTION[config.forward],
            "-w", str(config.weight)]
    tunnel = config.tunnel if config.forward is Forward.TUNNEL else None
    if tunnel is not None:
        args += ["--tun-type", tunnel.type.value]
        if tunnel.type is TunnelType.GUE:
            args += ["--tun-port", str(tunnel.port)]
        args += [_CSUM_OPTION[flag] for flag in tunnel.flags]
    if config.upper_threshold:
        args += ["-x", str(config.upper_threshold)]
    if config.lower_threshold:
        args += ["-y", str(config.lower_threshold)]
    return args


def add_dest(service: ServiceKey, config: DestConfig) -> Command:
    return Command(("-a", *service_args(service), *_dest_options(config)))


def edit_dest(service: ServiceKey, config: DestConfig) -> Command:
    """`-e` with the whole resulting real server (see `edited_dest`)."""
    return Command(("-e", *service_args(service), *_dest_options(config)))


def delete_dest(service: ServiceKey, dest: DestKey) -> Command:
    return Command(("-d", *service_args(service), "-r", host_port(dest.address, dest.port)))


def zero(service: ServiceKey | None = None) -> Command:
    return Command(("-Z", *(service_args(service) if service is not None else [])))


def set_timeouts(timeouts: Timeouts) -> Command:
    """`--set tcp tcpfin udp`; a 0 leaves that timeout unchanged, in ipvsadm as in the backend."""
    return Command(("--set", str(timeouts.tcp), str(timeouts.tcp_fin), str(timeouts.udp)))


# --- save --------------------------------------------------------------------------------------


def _dest_order(dest: Dest) -> tuple[int, bytes, int]:
    packed = ipaddress.ip_address(dest.address).packed
    return (len(packed), packed, dest.port)


def save_lines(snapshot: Snapshot) -> list[str]:
    """The table as `ipvsadm -R` lines: each `-A` then its `-a`, in ipvsadm's sorted order."""
    lines: list[str] = []
    for service in sorted(snapshot.services, key=lambda s: s.key.sort_key):
        lines.append(add_service(service_config(service)).rule)
        for dest in sorted(service.dests, key=_dest_order):
            lines.append(add_dest(service.key, dest_config(dest)).rule)
    return lines


# --- parse -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServiceRule:
    line: int
    config: ServiceConfig


@dataclass(frozen=True, slots=True)
class DestRule:
    line: int
    service: ServiceKey
    config: DestConfig


Rule = ServiceRule | DestRule


class RuleError(ValueError):
    """A line that is not a rule lvs-top can apply; the message names the line and the problem."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem.rstrip('.')}.")
        self.line = line
        self.problem = problem


# Long spellings that ipvsadm accepts, mapped to the short ones parsed below.
_ALIASES = {
    "--add-service": "-A", "--add-server": "-a", "--tcp-service": "-t", "--udp-service": "-u",
    "--fwmark-service": "-f", "--scheduler": "-s", "--persistent": "-p", "--netmask": "-M",
    "--ops": "-o", "--sched-flags": "-b", "--real-server": "-r", "--masquerading": "-m",
    "--gatewaying": "-g", "--ipip": "-i", "--weight": "-w", "--u-threshold": "-x",
    "--l-threshold": "-y", "--ipv6": "-6",
}
_WITH_VALUE = {"-t", "-u", "--sctp-service", "-f", "-s", "-M", "--pe", "-b", "-r", "-w", "-x", "-y",
               "--tun-type", "--tun-port"}
_SWITCHES = {"-o", "-6", "-m", "-g", "-i", *_CSUM_OPTION.values()}
_SERVICE_ONLY = {"-s", "-p", "-M", "--pe", "-o", "-b"}
_DEST_ONLY = {"-r", "-m", "-g", "-i", "-w", "-x", "-y", "--tun-type", "--tun-port", *_CSUM_OPTION.values()}
_FORWARDS = {"-m": Forward.MASQ, "-g": Forward.ROUTE, "-i": Forward.TUNNEL}


def parse_rules(text: str) -> list[Rule]:
    """Every `-A`/`-a` line of `text`; comments (#) and blank lines are skipped.

    Raises RuleError for the first line that is malformed, names a value the kernel would refuse,
    or adds a real server to a service no earlier line adds; nothing partial is returned.
    """
    rules: list[Rule] = []
    services: dict[ServiceKey, set[DestKey]] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        tokens = raw.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        try:
            rule = _parse_line(number, tokens)
        except InvalidArgument as exc:
            raise RuleError(number, str(exc)) from None
        if isinstance(rule, ServiceRule):
            if rule.config.key in services:
                raise RuleError(number, f"service {rule.config.key} is already added above")
            services[rule.config.key] = set()
        else:
            dests = services.get(rule.service)
            if dests is None:
                raise RuleError(number, f"real server {rule.config.key} belongs to service {rule.service}, "
                                        "which no earlier -A line adds")
            if rule.config.key in dests:
                raise RuleError(number, f"real server {rule.config.key} is already in service {rule.service}")
            dests.add(rule.config.key)
        rules.append(rule)
    return rules


def parse_dest_rule(line: str) -> DestRule:
    """One `-a` line (as `Command.rule` writes it) back into the real server it adds."""
    try:
        rule = _parse_line(1, line.split())
    except InvalidArgument as exc:
        raise RuleError(1, str(exc)) from None
    if not isinstance(rule, DestRule):
        raise RuleError(1, "expected -a (add a real server)")
    return rule


def _options(number: int, tokens: list[str]) -> dict[str, str]:
    """Option -> value ("" for switches); `--opt=value` is split as popt does."""
    options: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        token, value = tokens[i], None
        if token.startswith("--") and "=" in token:
            token, value = token.split("=", 1)
        option = _ALIASES.get(token, token)
        i += 1
        if option in _WITH_VALUE or option == "-p":
            if value is None and i < len(tokens) and (option != "-p" or tokens[i].isdigit()):
                value = tokens[i]
                i += 1
            if value is None and option != "-p":  # -p's timeout is optional, as in ipvsadm
                raise RuleError(number, f"option {token} needs a value")
        elif value is not None or option not in _SWITCHES:
            raise RuleError(number, f"unknown option {tokens[i - 1]!r}")
        if option in options:
            raise RuleError(number, f"option {token} is given twice")
        options[option] = value or ""
    return options


def _parse_line(number: int, tokens: list[str]) -> Rule:
    command = _ALIASES.get(tokens[0], tokens[0])
    if command not in ("-A", "-a"):
        raise RuleError(number, f"expected -A (add a service) or -a (add a real server), not {tokens[0]!r}")
    options = _options(number, tokens[1:])
    key = _service_key(number, options)
    misplaced = sorted(set(options) & (_DEST_ONLY if command == "-A" else _SERVICE_ONLY))
    if misplaced:
        what = "a service (-A)" if command == "-A" else "a real server (-a)"
        raise RuleError(number, f"option {misplaced[0]} does not apply to {what}")
    if command == "-A":
        return ServiceRule(number, _service_config(number, key, options))
    if "-r" not in options:
        raise RuleError(number, "a real server needs -r ADDRESS:PORT")
    return DestRule(number, key, _dest_config(number, key, options))


def _service_key(number: int, options: dict[str, str]) -> ServiceKey:
    given = [opt for opt in ("-t", "-u", "--sctp-service", "-f") if opt in options]
    if len(given) != 1:
        raise RuleError(number, "name exactly one service: -t, -u or --sctp-service ADDRESS:PORT, or -f MARK")
    option = given[0]
    if option == "-f":
        mark = _int(number, "the firewall mark", options["-f"])
        key = ServiceKey.mark(mark, Family.IPV6 if "-6" in options else Family.IPV4)
    else:
        if "-6" in options:
            raise RuleError(number, "-6 applies only to a firewall-mark service (-f)")
        address, port = _address_port(number, options[option], None)
        protocol = {"-t": Protocol.TCP, "-u": Protocol.UDP, "--sctp-service": Protocol.SCTP}[option]
        key = ServiceKey.inet(protocol, address, port)
    validate.service_key(key)
    return key


def _service_config(number: int, key: ServiceKey, options: dict[str, str]) -> ServiceConfig:
    scheduler = validate.scheduler(key, options.get("-s", DEFAULT_SCHEDULER))
    names = [FLAG_PERSISTENT] * ("-p" in options) + [FLAG_ONEPACKET] * ("-o" in options)
    names += [name for name in options.get("-b", "").split(",") if name]
    raw = validate.flags(key, tuple(names), scheduler)
    timeout = _int(number, "the persistence timeout", options["-p"]) if options.get("-p") else 0
    netmask = validate.netmask(key, options["-M"]) if "-M" in options else None
    return ServiceConfig(key, scheduler, service_flags.decode(raw, scheduler),
                         validate.persistence(key, raw, timeout), netmask,
                         validate.pe_name(key, options.get("--pe")))


def _dest_config(number: int, service: ServiceKey, options: dict[str, str]) -> DestConfig:
    # ipvsadm's defaults: the service's port, direct routing, weight 1
    address, port = _address_port(number, options["-r"], service.port)
    methods = [_FORWARDS[opt] for opt in ("-m", "-g", "-i") if opt in options]
    if len(methods) > 1:
        raise RuleError(number, "choose one forwarding method of -m, -g and -i")
    forward = methods[0] if methods else Forward.ROUTE
    tunnel = None
    csum = tuple(flag for flag, opt in _CSUM_OPTION.items() if opt in options)
    if forward is Forward.TUNNEL:
        kind = options.get("--tun-type", "ipip")
        if kind not in {t.value for t in TunnelType}:
            raise RuleError(number, f"{kind!r} is not a tunnel type (ipip, gue, gre)")
        tun_port = _int(number, "the tunnel port", options["--tun-port"]) if "--tun-port" in options else 0
        tunnel = Tunnel(TunnelType(kind), tun_port, csum)
    elif "--tun-type" in options or "--tun-port" in options or csum:
        raise RuleError(number, "tunnel options need tunnel forwarding (-i)")
    config = DestConfig(
        address, port, forward, tunnel,
        _int(number, "the weight", options.get("-w", "1")),
        _int(number, "the upper threshold", options.get("-x", "0")),
        _int(number, "the lower threshold", options.get("-y", "0")),
    )
    validate.dest(service, Dest(address, port, Family.of(address), forward, tunnel, config.weight,
                                config.upper_threshold, config.lower_threshold))
    return config


def _int(number: int, what: str, text: str) -> int:
    if not text.isdigit():
        raise RuleError(number, f"{what} must be a number, not {text!r}")
    return int(text)


def _address_port(number: int, text: str, default_port: int | None) -> tuple[str, int]:
    """`10.0.0.1:80`, `[2001:db8::1]:80`, or (real servers only) an address alone."""
    if text.startswith("["):
        address, sep, port = text[1:].partition("]")
        port = port.removeprefix(":") if sep else "?"
    elif text.count(":") == 1:
        address, _, port = text.partition(":")
    else:  # IPv4 without a port, or a bare IPv6 address
        address, port = text, ""
    try:
        address = ipaddress.ip_address(address).compressed
    except ValueError:
        raise RuleError(number, f"{text!r} is not a numeric ADDRESS:PORT (IPv6 in brackets)") from None
    if not port:
        if default_port is None:
            raise RuleError(number, f"{text!r} has no port")
        return address, default_port
    return address, _int(number, "the port", port)
