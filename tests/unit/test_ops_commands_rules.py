"""lvs_tui.ops.commands and lvs_tui.ops.rules: each write as ipvsadm arguments, save lines, parsing
rules."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

from lvs_tui.ipvs.backend import DestConfig, DestEdit, ServiceConfig, ServiceEdit
from lvs_tui.ipvs.errors import InvalidArgument
from lvs_tui.model import flags as service_flags
from lvs_tui.model.records import (
    Dest,
    DestKey,
    Family,
    Forward,
    Info,
    Service,
    ServiceKey,
    Snapshot,
    Stats,
    Timeouts,
    Tunnel,
    TunnelType,
)
from lvs_tui.ops import commands, rules
from lvs_tui.ops.rules import DestRule, RulesError, ServiceRule


def _tables() -> ModuleType:
    """The kernel suite's mixed table (a pure module): the same rules and configs, written twice."""
    path = Path(__file__).parents[1] / "kernel" / "lab" / "tables.py"
    spec = importlib.util.spec_from_file_location("kernel_tables", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TABLES = _tables()
MIXED = TABLES.mixed_configs()
WEB = ServiceKey.inet("tcp", "10.10.0.1", 80)
V6 = ServiceKey.inet("tcp", "2001:db8::1", 443)


def _flat(pairs: list[tuple[ServiceConfig, list[DestConfig]]]) -> list[object]:
    out: list[object] = []
    for service, dests in pairs:
        out.append(service)
        out += [(service.key, dest) for dest in dests]
    return out


# --- rendering ---------------------------------------------------------------------------------


def test_each_mixed_config_renders_the_ipvsadm_line_the_lab_uses() -> None:
    rendered = []
    for service, dests in MIXED:
        rendered.append(commands.add_service(service).rule)
        rendered += [commands.add_dest(service.key, dest).rule for dest in dests]
    assert rendered == list(TABLES.MIXED_RULES)


def test_a_command_is_an_argument_list_and_a_quoted_display() -> None:
    command = commands.add_dest(V6, DestConfig("2001:db8:1::2", 8443, Forward.MASQ, weight=5))
    assert command.argv == ["ipvsadm", "-a", "-t", "[2001:db8::1]:443", "-r", "[2001:db8:1::2]:8443",
                            "-m", "-w", "5"]
    assert command.display == "ipvsadm -a -t '[2001:db8::1]:443' -r '[2001:db8:1::2]:8443' -m -w 5"
    assert str(command) == command.display
    assert command.rule == "-a -t [2001:db8::1]:443 -r [2001:db8:1::2]:8443 -m -w 5"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (ServiceConfig(WEB), "-A -t 10.10.0.1:80 -s wlc"),
        # persistence without a timeout is ipvsadm's 300 s, written out so the command is explicit
        (ServiceConfig(WEB, "rr", ("persistent",)), "-A -t 10.10.0.1:80 -s rr -p 300"),
        (ServiceConfig(WEB, "rr", ("persistent",), 60, "24"),
         "-A -t 10.10.0.1:80 -s rr -p 60 -M 255.255.255.0"),
        (ServiceConfig(V6, "sh", ("persistent", "sh-fallback", "sh-port"), 30, "/64"),
         "-A -t [2001:db8::1]:443 -s sh -p 30 -M 64 -b sh-fallback,sh-port"),
        (ServiceConfig(ServiceKey.inet("udp", "10.0.0.1", 5060), "rr", ("persistent", "ops"), 120, None,
                       "sip"), "-A -u 10.0.0.1:5060 -s rr -p 120 --pe sip -o"),
        (ServiceConfig(ServiceKey.inet("sctp", "10.0.0.1", 3868), "mh", ("mh-port",)),
         "-A --sctp-service 10.0.0.1:3868 -s mh -b mh-port"),
        (ServiceConfig(ServiceKey.mark(6, Family.IPV6), "wrr", ("flag-1", "flag-3")),
         "-A -f 6 -6 -s wrr -b flag-1,flag-3"),
    ],
)
def test_add_service(config: ServiceConfig, expected: str) -> None:
    assert commands.add_service(config).rule == expected


def test_a_flag_the_scheduler_does_not_know_is_refused_before_any_command_is_shown() -> None:
    with pytest.raises(InvalidArgument, match="sh-port"):
        commands.add_service(ServiceConfig(WEB, "rr", ("sh-port",)))


def _service(**kw: object) -> Service:
    base = Service(ServiceKey.inet("udp", "10.0.0.1", 5060), "rr", ("persistent",),
                   service_flags.PERSISTENT | service_flags.HASHED, 120, "255.255.255.0", "sip")
    return replace(base, **kw)  # type: ignore[arg-type]


def test_edit_service_states_every_field_it_keeps() -> None:
    # ipvsadm -E resets what it is not given, so the command carries the kept pe, mask and timeout
    config = ServiceConfig.of(_service()).edited(ServiceEdit(scheduler="wrr"))
    assert commands.edit_service(config).rule == "-E -u 10.0.0.1:5060 -s wrr -p 120 -M 255.255.255.0 --pe sip"


def test_edit_service_that_drops_the_pe_and_persistence() -> None:
    config = ServiceConfig.of(_service()).edited(ServiceEdit(flags=(), pe=""))
    assert commands.edit_service(config).rule == "-E -u 10.0.0.1:5060 -s rr -M 255.255.255.0"


def test_edit_service_flags_for_a_new_scheduler() -> None:
    config = ServiceConfig.of(_service()).edited(ServiceEdit(scheduler="sh", flags=("ops", "sh-port")))
    assert commands.edit_service(config).rule == (
        "-E -u 10.0.0.1:5060 -s sh -M 255.255.255.0 --pe sip -o -b sh-port")


def test_delete_and_zero_name_the_service() -> None:
    assert commands.delete_service(V6).args == ("-D", "-t", "[2001:db8::1]:443")
    assert commands.delete_service(ServiceKey.mark(6, "ipv6")).args == ("-D", "-f", "6", "-6")
    assert commands.delete_dest(ServiceKey.mark(5), DestKey("10.0.0.2", 0)).args == (
        "-d", "-f", "5", "-r", "10.0.0.2:0")
    assert commands.zero().args == ("-Z",)
    assert commands.zero(ServiceKey.inet("sctp", "10.0.0.1", 3868)).args == (
        "-Z", "--sctp-service", "10.0.0.1:3868")
    assert commands.set_timeouts(Timeouts(900, 0, 300)).args == ("--set", "900", "0", "300")


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (DestConfig("10.0.0.2", 80), "-r 10.0.0.2:80 -m -w 1"),
        (DestConfig("10.0.0.2", 80, Forward.ROUTE, weight=0, upper_threshold=9, lower_threshold=3),
         "-r 10.0.0.2:80 -g -w 0 -x 9 -y 3"),
        (DestConfig("10.0.0.2", 80, Forward.TUNNEL, Tunnel()), "-r 10.0.0.2:80 -i -w 1 --tun-type ipip"),
        (DestConfig("10.0.0.2", 80, Forward.TUNNEL, Tunnel(TunnelType.GRE, 0, ("csum",)), lower_threshold=1,
                    upper_threshold=2), "-r 10.0.0.2:80 -i -w 1 --tun-type gre --tun-csum -x 2 -y 1"),
        (DestConfig("10.0.0.2", 80, Forward.TUNNEL, Tunnel(TunnelType.GUE, 6080, ("remcsum",))),
         "-r 10.0.0.2:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum"),
        # the kernel turns any method to a local address into LOCALNODE; ipvsadm -S writes it as -g
        (DestConfig("127.0.0.1", 80, Forward.LOCAL), "-r 127.0.0.1:80 -g -w 1"),
    ],
)
def test_add_dest(config: DestConfig, expected: str) -> None:
    assert commands.add_dest(WEB, config).rule == "-a -t 10.10.0.1:80 " + expected


def test_bypass_forwarding_has_no_ipvsadm_form() -> None:
    with pytest.raises(ValueError, match="bypass"):
        commands.add_dest(WEB, DestConfig("10.0.0.2", 80, Forward.BYPASS))


GUE = Dest("10.0.0.2", 0, Family.IPV4, Forward.TUNNEL, Tunnel(TunnelType.GUE, 6080, ("nocsum",)), 4, 50, 10)


def test_edit_dest_keeps_the_tunnel_and_thresholds() -> None:
    config = DestConfig.of(GUE).edited(DestEdit(weight=0))
    assert commands.edit_dest(ServiceKey.mark(5), config).rule == (
        "-e -f 5 -r 10.0.0.2:0 -i -w 0 --tun-type gue --tun-port 6080 --tun-nocsum -x 50 -y 10")


def test_edit_dest_leaving_tunnel_mode_drops_the_tunnel() -> None:
    config = DestConfig.of(GUE).edited(DestEdit(forward=Forward.MASQ, upper_threshold=0, lower_threshold=0))
    assert commands.edit_dest(ServiceKey.mark(5), config).rule == "-e -f 5 -r 10.0.0.2:0 -m -w 4"


def test_edit_dest_into_tunnel_mode_defaults_to_ipip() -> None:
    config = DestConfig.of(Dest("10.0.0.2", 80, Family.IPV4)).edited(DestEdit(forward=Forward.TUNNEL))
    assert commands.edit_dest(WEB, config).rule == "-e -t 10.10.0.1:80 -r 10.0.0.2:80 -i -w 1 --tun-type ipip"


# --- save and parse ----------------------------------------------------------------------------


def _rich_snapshot() -> Snapshot:
    """The mixed table as the kernel reports it, with counters, listed in hash (unsorted) order."""
    services = []
    for config, dests in reversed(MIXED):
        raw = service_flags.encode(config.flags, config.scheduler) | service_flags.HASHED
        host = "128" if config.key.family is Family.IPV6 else "255.255.255.255"
        records = tuple(
            Dest(d.address, d.port, Family.of(d.address),
                 Forward.LOCAL if d.address == "127.0.0.1" else d.forward, d.tunnel, d.weight,
                 d.upper_threshold, d.lower_threshold, 3, 7, 1, Stats(conns=42))
            for d in reversed(dests)
        )
        services.append(Service(config.key, config.scheduler, service_flags.decode(raw, config.scheduler),
                                raw, config.persistence_timeout, config.netmask or host, config.pe,
                                Stats(conns=9), records))
    return Snapshot(0.0, 0.0, Info("1.2.1", 4096), tuple(services))


def _as_configs(rules: list[rules.Rule]) -> list[object]:
    return [r.config if isinstance(r, ServiceRule) else (r.service, r.config) for r in rules]


def test_save_writes_each_service_then_its_servers_sorted_with_thresholds() -> None:
    lines = commands.save_lines(_rich_snapshot())
    assert lines[0] == "-A --sctp-service 10.10.0.1:3868 -s wlc"  # services in lvs-top's order
    web = lines.index("-A -t 10.10.0.1:80 -s wrr")
    assert lines[web : web + 4] == [
        "-A -t 10.10.0.1:80 -s wrr",
        "-a -t 10.10.0.1:80 -r 10.20.1.2:80 -m -w 1",
        "-a -t 10.10.0.1:80 -r 10.20.2.2:80 -m -w 2",
        "-a -t 10.10.0.1:80 -r 10.20.3.2:80 -m -w 3 -x 500 -y 100",
    ]
    # every rule of the lab's table, one for one (the local server is saved as -g, like ipvsadm -S)
    expected = [rule.replace("127.0.0.1:8081 -m", "127.0.0.1:8081 -g") for rule in TABLES.MIXED_RULES]
    assert sorted(lines) == sorted(expected)


def test_save_then_parse_round_trips_the_rich_snapshot() -> None:
    snapshot = _rich_snapshot()
    parsed = rules.parse_rules("\n".join(commands.save_lines(snapshot)))
    services = {r.config.key: r.config for r in parsed if isinstance(r, ServiceRule)}
    dests = {(r.service, r.config.key): r.config for r in parsed if isinstance(r, DestRule)}
    assert len(services) + len(dests) == len(parsed) == sum(1 + len(s.dests) for s in snapshot.services)
    for service in snapshot.services:
        config = ServiceConfig.of(service)
        host = "128" if service.key.family is Family.IPV6 else "255.255.255.255"
        # what parsing says "unset" (host mask, no timeout without persistence) the save leaves out
        assert services[service.key] == replace(
            config, netmask=None if config.netmask == host else config.netmask,
            persistence_timeout=config.persistence_timeout if service.persistent else 0)
        for dest in service.dests:
            want = DestConfig.of(dest)
            if want.forward is Forward.LOCAL:
                want = replace(want, forward=Forward.ROUTE)
            assert dests[(service.key, dest.key)] == want
    # saving what was parsed gives the same text: a fixed point
    again = [commands.add_service(r.config).rule if isinstance(r, ServiceRule)
             else commands.add_dest(r.service, r.config).rule for r in parsed]
    assert again == commands.save_lines(snapshot)


def test_parse_gives_the_lab_configs_with_line_numbers() -> None:
    text = "# saved by hand\n\n" + "\n".join(TABLES.MIXED_RULES) + "\n"
    parsed = rules.parse_rules(text)
    assert _as_configs(parsed) == _flat(MIXED)
    assert [r.line for r in parsed] == list(range(3, 3 + len(TABLES.MIXED_RULES)))
    assert isinstance(parsed[0], ServiceRule) and isinstance(parsed[1], DestRule)


def test_parse_applies_ipvsadm_defaults_and_long_options() -> None:
    text = "\n".join([
        "-A -t 10.0.0.1:80 -p",
        "-a -t 10.0.0.1:80 -r 10.0.0.2",
        "--add-service --udp-service=[2001:DB8::0001]:53 --scheduler sh --persistent=60 --netmask 64 "
        "--sched-flags sh-port",
        "-a -u [2001:db8::1]:53 --real-server [2001:db8::2]:53 --ipip --weight 0 --u-threshold 5",
    ])
    (svc, dest, svc6, dest6) = _as_configs(rules.parse_rules(text))
    assert svc == ServiceConfig(ServiceKey.inet("tcp", "10.0.0.1", 80), "wlc", ("persistent",), 300)
    # no port: the service's; no method: DR; no weight: 1 (as ipvsadm)
    assert dest == (ServiceKey.inet("tcp", "10.0.0.1", 80), DestConfig("10.0.0.2", 80, Forward.ROUTE))
    assert svc6 == ServiceConfig(ServiceKey.inet("udp", "2001:db8::1", 53), "sh", ("persistent", "sh-port"),
                                 60, "64")
    assert dest6 == (ServiceKey.inet("udp", "2001:db8::1", 53),
                     DestConfig("2001:db8::2", 53, Forward.TUNNEL, Tunnel(), 0, 5))


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("-A -t 10.0.0.1:80\n-X -t 10.0.0.1:80", 2, "expected -A"),
        ("\n\n-A -t 10.0.0.1:80 -s", 3, "option -s needs a value"),
        ("-A -t 10.0.0.1:80 --frobnicate", 1, "unknown option '--frobnicate'"),
        ("-A -t www.example.com:80", 1, "not a numeric ADDRESS:PORT"),
        ("-A -t 10.0.0.1", 1, "has no port"),
        ("-A -t 10.0.0.1:http", 1, "the port must be a whole number from 0 to 65535"),
        ("-A -t 10.0.0.1:80 -u 10.0.0.1:53", 1, "exactly one service"),
        ("-A -s rr", 1, "exactly one service"),
        ("-A -t 10.0.0.1:80 -6", 1, "-6 applies only"),
        ("-A -t 10.0.0.1:80 -s rr -b sh-port", 1, "'sh-port' does not apply to scheduler 'rr'"),
        ("-A -t 10.0.0.1:80 -p 60 -M 255.0.255.0", 1, "not an IPv4 netmask"),
        ("-A -t 10.0.0.1:0", 1, "port 0 is allowed only for a persistent service"),
        ("-A -t 10.0.0.1:80 -r 10.0.0.2:80", 1, "option -r does not apply to a service"),
        ("-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80", 2, "already added"),
        ("-a -t 10.0.0.1:80 -r 10.0.0.2:80", 1, "which no earlier -A line adds"),
        ("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -m", 2, "needs -r"),
        ("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2 -s rr", 2, "option -s does not apply to a real"),
        ("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2 -m -g", 2, "one forwarding method"),
        ("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2 -w -1", 2,
         "the weight must be a whole number from 0 to 2147483647"),
        ("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2 -w 1 -w 2", 2, "given twice"),
        ("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2 -x 1 -y 2", 2, "lower threshold (2) is above"),
        ("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2 -m --tun-type gue", 2, "need tunnel forwarding"),
        ("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type vxlan", 2, "not a tunnel type"),
        ("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gue", 2, "needs a port"),
        ("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r [2001:db8::2]:80 -m", 2, "needs tunnel forwarding"),
        ("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2\n-a -t 10.0.0.1:80 -r 10.0.0.2:80", 3,
         "already in service"),
        ("-A -f 0", 1, "firewall mark must be a whole number from 1 to 4294967295"),
        ("-A -t 10.0.0.1:80 -s rr pe sip", 1, "unknown option 'pe'"),
    ],
)
def test_a_malformed_line_is_named_by_its_number(text: str, line: int, problem: str) -> None:
    with pytest.raises(RulesError) as caught:
        rules.parse_rules(text)
    assert isinstance(caught.value, ValueError)
    (error,) = caught.value.problems
    assert error.line == line
    message = str(error)
    assert message.startswith(f"line {line}: ") and message.endswith(".")
    assert problem in message
    assert "\n" not in message


@pytest.mark.parametrize("line", ["", "   ", "-A -t 10.0.0.1:80 -s rr", "-a -t 10.0.0.1:80", "junk"])
def test_a_real_server_line_that_is_not_one_is_a_rule_error(line: str) -> None:
    """A state file keeps the servers a checker took out as `-a` lines; a damaged one is a
    RuleError (the reader names it), never an IndexError."""
    with pytest.raises(rules.RuleError):
        rules.parse_dest_rule(line)
