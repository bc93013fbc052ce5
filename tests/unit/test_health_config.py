"""The checker's TOML configuration: settings inherited and overridden, and every mistake named
with its file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvs_tui.health.checks import CommandCheck, HttpCheck, TcpCheck
from lvs_tui.health.config import ConfigError, load_config, parse_config
from lvs_tui.model.records import DestKey, ServiceKey

EXAMPLE = """\
[defaults]
check = "http"
interval = 2
fall = 3
min_healthy = 1

[[service]]
service = "tcp:192.0.2.10:80"
path = "/healthz"
expect = [200, 204]
sorry = "198.51.100.99:80"

  [[service.server]]
  address = "198.51.100.11:8080"
  weight = 3

  [[service.server]]
  address = "198.51.100.12:8080"
  check = "tcp"
  port = 8081
  fall = 5

[[service]]
service = "udp:[2001:db8::53]:53"
action = "remove"
slow_start = 30
min_healthy = 0

  [[service.server]]
  address = "[2001:db8:1::53]:53"
  check = "command"
  command = ["/usr/local/bin/check-dns", "--quick"]
  timeout = 1.5
"""


def test_a_complete_config_with_inheritance_and_overrides() -> None:
    config = parse_config(EXAMPLE, "health.toml")
    web, dns = config.services
    assert web.key == ServiceKey.inet("tcp", "192.0.2.10", 80)
    assert (web.action, web.min_healthy, web.sorry) == ("quiesce", 1, DestKey("198.51.100.99", 80))
    first, second = web.servers
    assert first.dest == DestKey("198.51.100.11", 8080) and first.weight == 3
    assert first.check == HttpCheck(path="/healthz", expect=(200, 204), timeout=3.0)
    assert (first.interval, first.rise, first.fall, first.check_port) == (2.0, 2, 3, 8080)
    assert second.check == TcpCheck(3.0)
    assert (second.check_port, second.fall, second.weight) == (8081, 5, None)
    assert dns.key.id == "udp:[2001:db8::53]:53" and (dns.action, dns.slow_start, dns.min_healthy) == (
        "remove", 30.0, 0)
    (resolver,) = dns.servers
    assert resolver.dest == DestKey("2001:db8:1::53", 53)
    assert resolver.check == CommandCheck(("/usr/local/bin/check-dns", "--quick"), 1.5)
    assert config.parallel == 64


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "health.toml")
    return str(caught.value)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('interval = 2', 'intervall = 2', "health.toml:3: intervall: unknown setting here"),
    ('service = "tcp:192.0.2.10:80"', 'service = "tcp:192.0.2.10"',
     "health.toml:8: service: 'tcp:192.0.2.10' is not a service"),
    ('address = "198.51.100.11:8080"', 'address = "198.51.100.11"',
     "health.toml:14: address: the address must be address:port"),
    ('expect = [200, 204]', 'expect = [200, 99]', "health.toml:10: expect: give the accepted HTTP statuses"),
    ('fall = 5', 'fall = 0', "health.toml:21: fall: must be at least 1, not 0"),
    ('check = "tcp"', 'check = "icmp"',
     "health.toml:19: check: 'icmp' is not one of tcp, http, https, command"),
    ('command = ["/usr/local/bin/check-dns", "--quick"]', 'command = "/usr/local/bin/check-dns --quick"',
     "health.toml:32: command: give the program and its arguments as a list"),
    ('action = "remove"', 'action = "delete"',
     "health.toml:25: action: 'delete' is not one of quiesce, remove"),
    ('timeout = 1.5', 'timeout = "soon"', "health.toml:33: timeout: 'soon' is not a number"),
    ('weight = 3', 'weight = 2.5', "health.toml:15: weight: 2.5 is not a whole number"),
    ('min_healthy = 0', 'min_healthy = 2',
     "health.toml:27: min_healthy: 2 is more than the 1 servers listed"),
])
def test_each_mistake_is_named_with_its_line_and_key(old: str, new: str, expected: str) -> None:
    assert old in EXAMPLE
    assert error_of(EXAMPLE.replace(old, new, 1)).startswith(expected)


def test_a_bad_value_inherited_from_the_defaults_points_at_the_defaults() -> None:
    text = EXAMPLE.replace('check = "http"', 'check = "smtp"', 1)
    assert error_of(text).startswith("health.toml:2: check: 'smtp' is not one of")


def test_a_server_listed_twice_and_a_service_configured_twice() -> None:
    twice = EXAMPLE.replace('address = "198.51.100.12:8080"', 'address = "198.51.100.11:8080"')
    assert error_of(twice).startswith("health.toml:18: address: 198.51.100.11:8080 is listed twice")
    again = EXAMPLE.replace('service = "udp:[2001:db8::53]:53"', 'service = "tcp:192.0.2.10:80"')
    assert error_of(again).startswith("health.toml:24: service: tcp:192.0.2.10:80 is configured twice")


def test_broken_toml_names_its_line() -> None:
    assert error_of(EXAMPLE.replace('fall = 5', 'fall = ')).startswith("health.toml:21: not valid TOML")


def test_a_command_with_another_check_type_is_refused() -> None:
    text = EXAMPLE.replace('check = "tcp"', 'check = "tcp"\n  command = ["/bin/true"]')
    assert error_of(text).startswith('health.toml:20: command: a command is given but check = "tcp"')


def test_a_command_given_under_http_defaults_makes_a_command_check() -> None:
    text = ('[defaults]\ncheck = "http"\n[[service]]\nservice = "udp:192.0.2.53:53"\n'
            'command = ["/usr/local/bin/check-dns"]\n  [[service.server]]\n  address = "198.51.100.21:53"\n'
            '  [[service.server]]\n  address = "198.51.100.22:53"\n  check = "tcp"\n')
    first, second = parse_config(text).services[0].servers
    assert first.check == CommandCheck(("/usr/local/bin/check-dns",), 3.0)
    assert second.check == TcpCheck(3.0)  # said on the server itself: that one is meant


def test_no_service_at_all() -> None:
    assert "at least one [[service]] table is needed" in error_of("[defaults]\nrise = 2\n")


def test_an_unreadable_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read it"):
        load_config(tmp_path / "missing.toml")
    path = tmp_path / "health.toml"
    path.write_text(EXAMPLE)
    assert len(load_config(path).services) == 2
