"""The command line: batch output on the simulated director, and failures as one sentence."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lvs_tui.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lvs_tui", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_batch_json_prints_one_object_per_snapshot(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--demo", "--batch", "--json", "-n", "3", "-d", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    first, _, third = (json.loads(line) for line in lines)
    assert first["source"] == "demo (seed 1)"
    assert first["interval"] is None  # measured rates need 2 s of counters (test_batch_rates.py)
    assert {s["id"] for s in first["services"]} == {s["id"] for s in third["services"]}
    service = first["services"][0]
    assert set(service["stats"]) == {
        "conns", "inpkts", "outpkts", "inbytes", "outbytes", "cps", "inpps", "outpps", "inbps", "outbps",
    }  # fmt: skip
    assert service["dests"] and "forward" in service["dests"][0]


def test_batch_text_lists_every_service_and_real_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--demo", "--batch", "--exact"]) == 0
    out = capsys.readouterr().out
    assert "rates: kernel 8 s average" in out
    main(["--demo", "--batch", "--json"])
    doc = json.loads(capsys.readouterr().out)
    for service in doc["services"]:
        for dest in service["dests"]:
            host = f"[{dest['address']}]" if ":" in dest["address"] else dest["address"]
            assert f"-> {host}:{dest['port']} " in out


def test_demo_size_builds_the_requested_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--demo-size", "20x3", "--batch", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["services"]) == 20
    assert all(len(service["dests"]) == 3 for service in doc["services"])


def test_unknown_netns_is_one_sentence_and_exit_1() -> None:
    result = run_cli("--batch", "--netns", "lvs-top-no-such-namespace")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "lvs-top-no-such-namespace" in result.stderr and "ip netns list" in result.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--batch", "-d", "-1"], "--delay: it must be a number of seconds from 0 to 86400"),
        (["--batch", "-n", "many"], "must be a whole number from 0 to 1000000000"),
        (["--demo-size", "10by10", "--batch"], "10by10"),
        (["--demo", "--netns", "blue", "--batch"], "cannot be combined"),
        (["--demo"], "needs a terminal"),
        (["--demo", "--health", "h.toml"], "cannot be combined with --demo"),
        (["health"], "health takes its CONFIG"),
        (["doctor", "--demo"], "doctor examines this host as a director"),
        (["realserver", "--vip", "10.10.0.1"], "realserver needs --mode nat|dr|tun and --vip ADDRESS"),
        (["realserver", "--mode", "nat", "--vip", "10.10.0.1", "--print"], "NAT: give the director's"),
        (["health", "--check-config", "/nonexistent/h.toml"], "/nonexistent/h.toml: cannot read it"),
    ],
)
def test_bad_arguments_exit_2_with_a_sentence(args: list[str], fragment: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_check_config_says_what_it_will_check(tmp_path: Path) -> None:
    config = tmp_path / "health.toml"
    config.write_text('[[service]]\nservice = "tcp:192.0.2.10:80"\nmin_healthy = 1\n'
                      '  [[service.server]]\n  address = "198.51.100.11:80"\n  check = "http"\n')
    result = run_cli("health", "--check-config", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("tcp:192.0.2.10:80: quiesce, min_healthy 1, sorry -: "
                             "198.51.100.11:80 (http every 5s)\n")


def test_check_config_lists_every_mistake_one_line_each_with_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "health.toml"
    config.write_text('[defaults]  # all\ninterval = nan\ndefaults2 = 1\n[[service]]\nservice = "fwm:0"\n'
                      '  [[service.server]]\n  address = "198.51.100.11:80"\n  host = "a\\r\\nX-Evil: 1"\n')
    result = run_cli("health", "--check-config", str(config))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert [line.split(": ")[1] for line in lines] == [f"{config}:{n}" for n in (2, 3, 5, 8)]
    assert lines[3].startswith(f"lvs-top health: {config}:8: host: must be a host name")
    assert "'a\\r\\nX-Evil: 1'" in lines[3] and "\r" not in result.stderr  # said, never sent


def test_a_closed_pipe_ends_quietly() -> None:
    reader = subprocess.Popen(["head", "-c", "10"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert reader.stdin is not None
    writer = subprocess.run(
        [sys.executable, "-m", "lvs_tui", "--demo", "--batch", "-n", "0", "-d", "0"],
        stdout=reader.stdin,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
    )
    reader.stdin.close()
    reader.wait()
    assert writer.returncode == 0
    assert writer.stderr == ""


def test_save_prints_rules_that_parse_back_into_the_same_table(capsys: pytest.CaptureFixture[str]) -> None:
    from lvs_tui.ops.rules import DestRule, ServiceRule, parse_rules

    assert main(["save", "--demo"]) == 0
    text = capsys.readouterr().out
    rules = parse_rules(text)
    main(["--demo", "--batch", "--json"])
    doc = json.loads(capsys.readouterr().out)
    services = {r.config.key.id for r in rules if isinstance(r, ServiceRule)}
    assert services == {s["id"] for s in doc["services"]}
    dests = sum(1 for r in rules if isinstance(r, DestRule))
    assert dests == sum(len(s["dests"]) for s in doc["services"])
    assert "-x 1500 -y 1200" in text  # the thresholds that ipvsadm -S drops
