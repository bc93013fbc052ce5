"""The TOML scanner that gives the health config's keys their lines, against tomllib: every key
of any document tomllib reads is found, on a line that holds its name; any text at all is scanned
without an exception."""

from __future__ import annotations

import tomllib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lvs_tui.health.tomlpos import key_lines
from tests.toml_strategies import documents, walk

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def name_of(path: tuple[str | int, ...]) -> str:
    return next(part for part in reversed(path) if isinstance(part, str))


@FAST
@given(documents)
def test_every_key_tomllib_reads_is_found_on_a_line_holding_its_name(text: str) -> None:
    data = tomllib.loads(text)
    lines = key_lines(text)
    rows = text.split("\n")  # as tomllib counts lines: a U+2028 in a string is not a line end
    for path in walk(data):
        assert path in lines, (path, text)
        assert name_of(path) in rows[lines[path] - 1], (path, lines[path], text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='[]{}="\'#.,\n ab1\\u', max_size=80))
def test_any_text_is_scanned_without_an_exception(text: str) -> None:
    assert isinstance(key_lines(text), dict)


def test_the_forms_of_the_example_config() -> None:
    text = ('[defaults]                      # every service\ninterval = 2\n\n'
            '[[service]]  # web\nservice = "tcp:192.0.2.10:80"\nbody = "# [[service.server]]"\n'
            '  [[ service . server ]] # one\n  address = "198.51.100.11:80"\n'
            '  [[service.server]]\n  "address" = "198.51.100.12:80"\n'
            '[[service]]\nservice = "udp:192.0.2.53:53"\nserver = [\n  {address = "198.51.100.21:53"},\n'
            '  { address = "198.51.100.22:53", port = 5353 },\n]\n'
            'command = """\n[[service]]\n"""\n')
    lines = key_lines(text)
    assert lines[("defaults",)] == 1 and lines[("defaults", "interval")] == 2
    assert lines[("service", 0)] == 4 and lines[("service", 0, "body")] == 6
    assert lines[("service", 0, "server", 0)] == 7 and lines[("service", 0, "server", 1, "address")] == 10
    assert lines[("service", 1)] == 11 and lines[("service", 1, "server")] == 13
    assert lines[("service", 1, "server", 1)] == 13  # an inline element: the line of its array's key
    assert lines[("service", 1, "server", 1, "port")] == 15
    assert lines[("service", 1, "command")] == 17 and ("service", 2) not in lines
