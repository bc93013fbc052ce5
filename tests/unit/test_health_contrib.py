"""The example config and the systemd unit shipped in contrib/ stay in step with the code."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

from lvs_tui.cli import parse
from lvs_tui.health.checks import CommandCheck, HttpCheck
from lvs_tui.health.config import load_config

CONTRIB = Path(__file__).resolve().parents[2] / "contrib"


def test_the_example_config_is_valid_and_means_what_its_comments_say() -> None:
    config = load_config(CONTRIB / "health.example.toml")
    web, tls, dns = config.services
    assert (web.min_healthy, web.slow_start, str(web.sorry)) == (1, 30.0, "198.51.100.99:80")
    assert [server.weight for server in web.servers] == [3, 3, 1]
    assert web.servers[2].interval == 5 and web.servers[0].interval == 2
    check = web.servers[0].check
    assert isinstance(check, HttpCheck) and check.expect == (200, 204) and check.body == "ok"
    tls_check = tls.servers[0].check
    assert isinstance(tls_check, HttpCheck) and tls_check.tls and not tls_check.verify
    assert dns.action == "remove" and isinstance(dns.servers[0].check, CommandCheck)
    assert dns.servers[1].check_port == 5353


def test_the_systemd_unit_runs_commands_the_cli_accepts() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(CONTRIB / "lvs-top-health.service")
    service = unit["Service"]
    commands = [service["ExecStart"], service["ExecStartPre"]]
    for line in commands:
        argv = shlex.split(line)
        assert argv[0].endswith("/lvs-top")
        command, args = parse(argv[1:])
        assert command.name == "health" and args.config == "/etc/lvs-top/health.toml"
    assert service["KillSignal"] == "SIGTERM" and service["RestartPreventExitStatus"] == "2"
