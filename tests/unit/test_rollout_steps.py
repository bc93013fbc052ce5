"""What a rollout runs besides table changes: the operator's command (an argument list, no shell)
and the checks (tcp against a loopback socket, http against a tiny server, a health config's)."""

from __future__ import annotations

import dataclasses
import json
import shlex
import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from lvs_tui.cli.rollout_steps import CheckSpec, Probe, check_once, parse_check, run_command
from lvs_tui.health.checks import HttpCheck, TcpCheck
from lvs_tui.model.records import Dest, Service
from lvs_tui.ops.rollout import command_argv, command_env
from lvs_tui.sim import SimulatedDirector
from tests.unit.maintenance_runs import HOST, TLS, WEB

RECORD = "import json, os, sys; json.dump([sys.argv[2:], os.environ['LVS_TOP_HOST']], open(sys.argv[1], 'w'))"


def test_the_command_runs_without_a_shell_with_the_host_in_its_words_and_environment(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    command = (f"{shlex.quote(sys.executable)} -c {shlex.quote(RECORD)} {record} "
               "--host={host} '$(id); {host}' *")
    argv = command_argv(command, "198.51.100.11")
    result = run_command(argv, command_env("198.51.100.11"), 60, to_stderr=True)
    assert result.ok, result.detail
    words, host = json.loads(record.read_text())
    assert words == ["--host=198.51.100.11", "$(id); 198.51.100.11", "*"]  # nothing substituted or globbed
    assert host == "198.51.100.11"


def test_a_failing_missing_or_endless_command_is_a_failure_saying_why() -> None:
    env = command_env("h")
    failed = run_command([sys.executable, "-c", "raise SystemExit(3)"], env, 60, to_stderr=True)
    assert (failed.ok, failed.detail) == (False, "exit status 3")
    missing = run_command(["/nonexistent/deploy"], env, 60, to_stderr=True)
    assert not missing.ok and missing.detail.startswith("cannot be started")
    endless = run_command([sys.executable, "-c", "import time; time.sleep(60)"], env, 0.5, to_stderr=True)
    assert not endless.ok and "timed out after 0.5 s" in endless.detail


def pairs_of(address: str) -> list[tuple[Service, Dest]]:
    return [(service, dest) for service in SimulatedDirector(seed=1).snapshot().services
            for dest in service.dests if dest.address == address]


def at(probe: Probe, port: int) -> Probe:
    return dataclasses.replace(probe, address="127.0.0.1", port=port)


def test_tcp_passes_on_a_listening_socket_and_fails_on_a_closed_port() -> None:
    probe = CheckSpec().probes(pairs_of(HOST))[0]
    assert isinstance(probe.check, TcpCheck)
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        assert check_once([at(probe, port)]) == []
    failures = check_once([at(probe, port)])  # closed now
    assert len(failures) == 1 and "refused" in failures[0][1]


class Answers(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = {"/healthz": 200, "/moved": 302}.get(self.path, 503)
        self.send_response(code)
        if code == 302:
            self.send_header("Location", "/healthz")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test's output is its asserts."""


@pytest.fixture
def http_port() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("check", "healthy"), [("http:///healthz", True), ("http://moved", True),
                                                 ("http:///down", False)])
def test_http_passes_on_2xx_and_3xx_only(check: str, healthy: bool, http_port: int) -> None:
    probe = parse_check(check).probes(pairs_of(HOST))[0]
    assert isinstance(probe.check, HttpCheck)
    failures = check_once([at(probe, http_port)])
    assert (failures == []) is healthy
    if not healthy:
        assert "HTTP 503" in failures[0][1]


def test_a_health_config_gives_its_check_to_the_servers_it_lists_and_tcp_to_others(tmp_path: Path) -> None:
    config = tmp_path / "health.toml"
    config.write_text(f'[[service]]\nservice = "{WEB.id}"\ncheck = "http"\npath = "/ready"\n\n'
                      f'  [[service.server]]\n  address = "{HOST}:8080"\n  port = 9000\n')
    probes = {probe.server: probe for probe in parse_check(str(config)).probes(pairs_of(HOST))}
    web, tls = probes[f"{WEB.id}>{HOST}:8080"], probes[f"{TLS.id}>{HOST}:443"]
    assert isinstance(web.check, HttpCheck) and web.check.path == "/ready" and web.port == 9000
    assert isinstance(tls.check, TcpCheck) and tls.port == 443
    assert parse_check("tcp") == CheckSpec() and parse_check("http://").http_path == "/"
