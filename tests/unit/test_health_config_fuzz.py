"""The health config loader under fuzzing: any TOML text, and any config of the right shape with
values of any kind, gives a config or a ConfigError (never another exception), and every mistake
reported points at a line that holds its key."""

from __future__ import annotations

import contextlib
import math
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lvs_tui.health.config import ConfigError, HealthConfig, parse_config
from tests.toml_strategies import basic_string, documents

FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROBLEM = re.compile(r"^health\.toml:(?P<line>\d+): (?P<key>.+?): ")


def toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return basic_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml(item) for item in value) + "]"
    return "{ " + ", ".join(f"{key} = {toml(item)}" for key, item in value.items()) + " }"


# Values that are right for their key, most of the time, so that some configs load.
GOOD: dict[str, Any] = {
    "check": ["tcp", "http", "https"], "interval": [0.5, 2, 5], "timeout": [0.2, 1], "rise": [1, 2],
    "fall": [1, 3], "path": ["/", "/healthz"], "host": ["www.example.org"], "expect": [[200], [200, 204]],
    "body": ["ok"], "verify": [True, False], "command": [["/bin/true"]], "port": [80, 8080],
    "action": ["quiesce", "remove"], "slow_start": [0, 30], "min_healthy": [0, 1], "parallel": [1, 64],
    "weight": [0, 1, 5], "service": ["tcp:192.0.2.10:80", "fwm:7", "udp:[2001:db8::53]:53"],
    "address": ["198.51.100.11:80", "198.51.100.12:80", "[2001:db8::1]:443"], "sorry": ["198.51.100.99:80"],
}
BAD = st.sampled_from([
    "fwm:0", "198.51.100.11:0", "[fe80::1%lo]:80", "http", "a..b", "ok\r\nX: 1", "/a b", ["/bin/true\x00"],
    [], [99], 0, -1, 65536, 2**31, 2**63, 0.05, 1e300, float("nan"), float("inf"), True, "", {"a": 1}])
anything = st.one_of(BAD, st.integers(), st.floats(), st.text(max_size=6),
                     st.lists(st.integers(-5, 700), max_size=3))
LEVELS = {"defaults": ["check", "interval", "timeout", "rise", "fall", "path", "expect", "action",
                       "min_healthy", "parallel", "verify"],
          "service": ["service", "check", "host", "path", "body", "command", "sorry", "slow_start",
                      "min_healthy", "interval", "intervall"],
          "server": ["address", "weight", "port", "check", "fall", "timeout", "command", "x"]}


@st.composite
def table(draw: st.DrawFn, level: str) -> dict[str, Any]:
    out = {}
    for key in draw(st.lists(st.sampled_from(LEVELS[level]), max_size=3, unique=True)):
        good = GOOD.get(key)
        out[key] = draw(anything) if good is None or draw(st.integers(0, 9)) == 9 else \
            draw(st.sampled_from(good))
    if level in ("service", "server") and draw(st.integers(0, 9)) < 9:  # the key they need, mostly
        need = "service" if level == "service" else "address"
        out.setdefault(need, draw(st.sampled_from(GOOD[need])))
    return out


@st.composite
def configs(draw: st.DrawFn) -> str:
    """[defaults], [[service]] and [[service.server]] (headers with comments, or inline tables) with
    keys known and unknown and values of any kind; now and then a table of the wrong type."""
    lines = []
    defaults = draw(st.one_of(table("defaults"), st.just(5))) if draw(st.booleans()) else None
    if isinstance(defaults, dict):
        lines.append("[defaults]" + draw(st.sampled_from(["", "  # every service"])))
        lines += [f"{key} = {toml(value)}" for key, value in defaults.items()]
    elif defaults is not None:
        lines.append(f"defaults = {toml(defaults)}")
    for _ in range(draw(st.integers(0, 2))):
        service = draw(table("service"))
        lines.append("[[service]]" + draw(st.sampled_from(["", " # a service", "\t#[[service.server]]"])))
        lines += [f"{key} = {toml(value)}" for key, value in service.items()]
        servers: list[Any] = draw(st.lists(table("server"), min_size=1, max_size=3))
        if draw(st.integers(0, 9)) == 9:
            servers.append(1)  # not a table
        if draw(st.booleans()) or any(not isinstance(server, dict) for server in servers):
            lines.append("server = [\n" + "".join(f"  {toml(server)},  # one\n" for server in servers) + "]")
            continue
        for server in servers:
            assert isinstance(server, dict)
            lines.append("  [[service.server]]" + draw(st.sampled_from(["", "  # one"])))
            lines += [f"  {key} = {toml(value)}" for key, value in server.items()]
    return "\n".join(lines) + "\n"


def check_problems(text: str, error: ConfigError) -> None:
    rows = text.split("\n")
    for problem in error.problems:
        match = PROBLEM.match(problem)
        if match is None:  # said of the whole file: only a file without services, or the count
            assert problem.startswith("health.toml: service: no [[service]] table") or \
                problem.startswith("... and "), problem
            continue
        line, key = int(match["line"]), match["key"]
        assert key in rows[line - 1], (problem, rows[line - 1], text)


@FAST
@given(configs())
def test_any_config_of_the_right_shape_gives_a_config_or_mistakes_on_their_lines(text: str) -> None:
    try:
        assert isinstance(parse_config(text, "health.toml"), HealthConfig)
    except ConfigError as error:
        check_problems(text, error)


@FAST
@given(documents)
def test_any_toml_document_gives_a_config_or_a_config_error(text: str) -> None:
    try:
        parse_config(text, "health.toml")
    except ConfigError as error:
        check_problems(text, error)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_at_all_gives_a_config_or_a_config_error(text: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_config(text, "health.toml")


def test_nesting_too_deep_for_tomllib_is_a_config_error() -> None:
    try:
        parse_config("a = " + "[" * 5000 + "]" * 5000)
    except ConfigError as error:
        assert "nested too deeply" in str(error)
