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
     "health.toml:14: address: must be address:port"),
    ('expect = [200, 204]', 'expect = [200, 99]',
     "health.toml:10: expect: each status must be a whole number from 100 to 599, not 99."),
    ('fall = 5', 'fall = 0', "health.toml:21: fall: must be a whole number from 1 to 2147483647, not 0."),
    ('check = "tcp"', 'check = "icmp"',
     "health.toml:19: check: must be one of tcp, http, https, command, not 'icmp'."),
    ('command = ["/usr/local/bin/check-dns", "--quick"]', 'command = "/usr/local/bin/check-dns --quick"',
     "health.toml:32: command: must give the program and its arguments as a list"),
    ('action = "remove"', 'action = "delete"',
     "health.toml:25: action: must be one of quiesce, remove, not 'delete'."),
    ('timeout = 1.5', 'timeout = "soon"',
     "health.toml:33: timeout: must be a number from 0.01 to 3600, not 'soon'."),
    ('weight = 3', 'weight = 2.5',
     "health.toml:15: weight: must be a whole number from 0 to 2147483647, not 2.5."),
    ('min_healthy = 0', 'min_healthy = 2',
     "health.toml:27: min_healthy: 2 is more than the 1 servers listed"),
])
def test_each_mistake_is_named_with_its_line_and_key(old: str, new: str, expected: str) -> None:
    assert old in EXAMPLE
    assert error_of(EXAMPLE.replace(old, new, 1)).startswith(expected)


def test_a_bad_value_inherited_from_the_defaults_points_at_the_defaults() -> None:
    text = EXAMPLE.replace('check = "http"', 'check = "smtp"', 1)
    assert error_of(text) == "health.toml:2: check: must be one of tcp, http, https, command, not 'smtp'."


def test_a_server_listed_twice_and_a_service_configured_twice() -> None:
    twice = EXAMPLE.replace('address = "198.51.100.12:8080"', 'address = "198.51.100.11:8080"')
    assert error_of(twice) == "health.toml:18: address: 198.51.100.11:8080 is listed twice here."
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
    assert error_of("[defaults]\nrise = 2\n") == ("health.toml: service: no [[service]] table: at least one "
                                                 "service is needed.")


def test_an_unreadable_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read it"):
        load_config(tmp_path / "missing.toml")
    path = tmp_path / "health.toml"
    path.write_text(EXAMPLE)
    assert len(load_config(path).services) == 2


# --- what fuzzing found: every value strict, every table of its type, every line right -------------

SMALL = """\
[defaults]  # every service
interval = 2
timeout = 1

[[service]]  # the web
service = "tcp:192.0.2.10:80"
check = "http"
host = "www.example.org"
path = "/healthz"
sorry = "198.51.100.99:80"

  [[service.server]]  # the first
  address = "198.51.100.11:80"
  weight = 3

  [[service.server]]
  address = "198.51.100.12:80"

[[service]]
service = "udp:192.0.2.53:53"
command = ["/usr/local/bin/check-dns"]
server = [{address = "198.51.100.21:53"}, {address = "198.51.100.22:53", port = 5353}]
"""


def test_the_small_config_with_commented_headers_and_inline_servers_loads() -> None:
    web, dns = parse_config(SMALL).services
    assert [server.dest.port for server in web.servers] == [80, 80]
    assert [server.check_port for server in dns.servers] == [53, 5353]


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("interval = 2", "interval = nan", "health.toml:2: interval: must be a number from 0.1 to 86400, not na"),
    ("interval = 2", "interval = inf", "health.toml:2: interval: must be a number from 0.1 to 86400, not in"),
    ("interval = 2", "interval = 0", "health.toml:2: interval: must be a number from 0.1 to 86400, not 0."),
    ("timeout = 1", "timeout = -inf", "health.toml:3: timeout: must be a number from 0.01 to 3600, not -inf"),
    ('"tcp:192.0.2.10:80"', '"fwm:0"', "health.toml:6: service: 'fwm:0' is not a service"),
    ('"tcp:192.0.2.10:80"', '"fwm:-1"', "health.toml:6: service: 'fwm:-1' is not a service"),
    ("weight = 3", "weight = 9223372036854775808",
     "health.toml:14: weight: must be a whole number from 0 to 2147483647, not 9223372036854775808."),
    ('"198.51.100.11:80"\n', '"198.51.100.11:0"\n',
     "health.toml:13: address: port 0 (every port) leaves the check nowhere to connect"),
    ("port = 5353", "port = 0", "health.toml:22: port: must be a whole number from 1 to 65535, not 0."),
    ('"www.example.org"', '"www.example.org\\r\\nX-Injected: 1"',
     "health.toml:8: host: must be a host name"),
    ('"www.example.org"', '"a..b"', "health.toml:8: host: must be a host name such as www.example.org"),
    ('"/healthz"', '"/healthz\\u0000"', "health.toml:9: path: must not contain control characters"),
    ('"/healthz"', '"/health z"', "health.toml:9: path: must be a request path"),
    ('["/usr/local/bin/check-dns"]', '["/usr/local/bin/check-dns\\u0000"]',
     "health.toml:21: command: argument 1 must not contain control characters"),
    ('"198.51.100.99:80"', '"198.51.100.12:80"', "health.toml:10: sorry: 198.51.100.12:80 is one of the "
                                                 "service's servers; the sorry server stands in for them"),
    ('"198.51.100.99:80"', '"[fe80::1%lo]:80"', "health.toml:10: sorry: must be an IPv4 or IPv6 address "
                                                "without a scope"),
    ('"198.51.100.99:80"', '"[::ffff:c000:263]:80"', None),  # written otherwise, kept in the kernel's form
])
def test_values_are_read_strictly(old: str, new: str, expected: str | None) -> None:
    assert old in SMALL
    text = SMALL.replace(old, new, 1)
    if expected is None:
        assert str(parse_config(text).services[0].sorry) == "[::ffff:192.0.2.99]:80"
    else:
        assert error_of(text).startswith(expected)


@pytest.mark.parametrize(("text", "expected"), [
    ("defaults = 5\n[[service]]\n",
     "health.toml:1: defaults: must be a table ([defaults], its settings below it), not 5."),
    ("service = [1, 2]\n", "health.toml:1: service: must be a table ([[service]] and its settings), not 1."),
    ('service = "tcp:192.0.2.10:80"\n', "health.toml:1: service: must be an array of tables"),
    ('[service]\nservice = "tcp:192.0.2.10:80"\n', "health.toml:1: service: must be an array of tables"),
    ('[[service]]\nservice = "tcp:192.0.2.10:80"\nserver = 5\n',
     "health.toml:3: server: must be an array of tables ([[service.server]], once per real server), "
     "not 5."),
    ('[[service]]\nservice = "tcp:192.0.2.10:80"\n[[service.server]]\nweight = 1\n',
     "health.toml:3: server: the address is missing"),
    ('[[service]]\n[[service.server]]\naddress = "198.51.100.1:80"\n', "health.toml:1: service: the virtual "
                                                                      "service is missing"),
])
def test_tables_of_the_wrong_type_are_mistakes_with_their_line(text: str, expected: str) -> None:
    assert error_of(text).startswith(expected)


def test_every_mistake_in_the_file_is_listed_in_the_files_order() -> None:
    text = (SMALL.replace("interval = 2", "interval = nan").replace("weight = 3", "weight = -1")
            .replace('"/healthz"', '"healthz"').replace("port = 5353", "port = 70000"))
    assert [line.split(": ")[0:2] for line in error_of(text).splitlines()] == [
        ["health.toml:2", "interval"], ["health.toml:9", "path"], ["health.toml:14", "weight"],
        ["health.toml:22", "port"]]


def test_a_bad_default_is_said_once_not_once_per_server() -> None:
    assert error_of(SMALL.replace("timeout = 1", "timeout = 0")).count("timeout") == 1
