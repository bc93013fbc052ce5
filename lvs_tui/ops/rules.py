"""Rules files in `ipvsadm -R` format (what `lvs-top save` and `ipvsadm -Sn` print), parsed into
typed configs (pure, no I/O). A file with a bad line is refused whole, every bad line named."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lvs_tui.ipvs import validate
from lvs_tui.ipvs.backend import DestConfig, ServiceConfig
from lvs_tui.ipvs.errors import InvalidArgument
from lvs_tui.ipvs.validate import MAX_TIMEOUT
from lvs_tui.model import flags as service_flags
from lvs_tui.model import inputs
from lvs_tui.model.inputs import INT_MAX, PORT_MAX, U32_MAX, InputError
from lvs_tui.model.printable import printable
from lvs_tui.model.records import (
    FLAG_ONEPACKET,
    FLAG_PERSISTENT,
    Dest,
    DestKey,
    Family,
    Forward,
    Protocol,
    ServiceKey,
    Tunnel,
    TunnelType,
)
from lvs_tui.ops.commands import CSUM_OPTION, DEFAULT_SCHEDULER


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
        super().__init__(f"line {line}: {printable(problem.rstrip('.'))}.")
        self.line = line
        self.problem = problem


class RulesError(ValueError):
    """Every line of a file that is not a rule lvs-top can apply, in the order of the file."""

    def __init__(self, problems: list[RuleError]) -> None:
        count = len(problems)
        super().__init__(f"{count} line{'s' * (count != 1)} cannot be applied: "
                         + "; ".join(str(problem) for problem in problems))
        self.problems = problems


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
_SWITCHES = {"-o", "-6", "-m", "-g", "-i", *CSUM_OPTION.values()}
_SERVICE_ONLY = {"-s", "-p", "-M", "--pe", "-o", "-b"}
_DEST_ONLY = {"-r", "-m", "-g", "-i", "-w", "-x", "-y", "--tun-type", "--tun-port", *CSUM_OPTION.values()}
_DIGITS = re.compile("[0-9]+")  # -p's optional value: ASCII digits, as every number here
_FORWARDS = {"-m": Forward.MASQ, "-g": Forward.ROUTE, "-i": Forward.TUNNEL}


def parse_rules(text: str) -> list[Rule]:
    """Every `-A`/`-a` line of `text`; comments (#) and blank lines are skipped.

    Raises RulesError listing every line that is malformed, names a value the kernel or ipvsadm
    would refuse, or adds a real server to a service no earlier line adds: all or nothing.
    """
    rules: list[Rule] = []
    problems: list[RuleError] = []
    services: dict[ServiceKey, set[DestKey]] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        tokens = raw.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        try:
            rule = _parse_line(number, tokens)
            _check_order(number, rule, services)
        except RuleError as problem:
            problems.append(problem)
            continue
        except (InvalidArgument, InputError) as exc:
            problems.append(RuleError(number, str(exc)))
            continue
        rules.append(rule)
    if problems:
        raise RulesError(problems)
    return rules


def _check_order(number: int, rule: Rule, services: dict[ServiceKey, set[DestKey]]) -> None:
    """A service is added once, before its real servers; a real server once per service."""
    if isinstance(rule, ServiceRule):
        if rule.config.key in services:
            raise RuleError(number, f"service {rule.config.key} is already added above")
        services[rule.config.key] = set()
        return
    dests = services.get(rule.service)
    if dests is None:
        raise RuleError(number, f"real server {rule.config.key} belongs to service {rule.service}, "
                                "which no earlier -A line adds")
    if rule.config.key in dests:
        raise RuleError(number, f"real server {rule.config.key} is already in service {rule.service}")
    dests.add(rule.config.key)


def parse_dest_rule(line: str) -> DestRule:
    """One `-a` line (as `Command.rule` writes it) back into the real server it adds."""
    tokens = line.split()
    if not tokens:
        raise RuleError(1, "empty: expected -a (add a real server)")
    try:
        rule = _parse_line(1, tokens)
    except (InvalidArgument, InputError) as exc:
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
            if value is None and i < len(tokens) and (option != "-p" or _DIGITS.fullmatch(tokens[i])):
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
        mark = _int(number, "the firewall mark", options["-f"], U32_MAX, 1)
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
    timeout = _int(number, "the persistence timeout", options["-p"], MAX_TIMEOUT) if options.get("-p") else 0
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
    csum = tuple(flag for flag, opt in CSUM_OPTION.items() if opt in options)
    if forward is Forward.TUNNEL:
        kind = options.get("--tun-type", "ipip")
        if kind not in {t.value for t in TunnelType}:
            raise RuleError(number, f"{kind!r} is not a tunnel type (ipip, gue, gre)")
        given = options.get("--tun-port")
        tun_port = 0 if given is None else _int(number, "the tunnel port", given, PORT_MAX)
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


def _int(number: int, what: str, text: str, high: int = INT_MAX, low: int = 0) -> int:
    try:
        return inputs.whole(text, what, low, high)
    except InputError as error:
        raise RuleError(number, str(error)) from None


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
        address = inputs.address(address)
    except InputError:
        raise RuleError(number, f"{text!r} is not a numeric ADDRESS:PORT (IPv6 in brackets, no scope)") \
            from None
    if not port:
        if default_port is None:
            raise RuleError(number, f"{text!r} has no port")
        return address, default_port
    return address, _int(number, "the port", port, PORT_MAX)
