"""The command line as a set of commands: each one's --help lists its own options only, every
combination that cannot work is refused in one line with exit 2, and what the commands print did not
change (the snapshots were checked equal to the output of the flat parser they replace).
Update after an intended change of the output: pytest tests/unit/test_cli_commands.py --snapshot-update"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

import lvs_tui.cli
import lvs_tui.sim
from lvs_tui import __version__
from lvs_tui.cli import main
from lvs_tui.cli.common import Exit


def mentions(text: str, option: str) -> bool:
    """`option` as a word of its own: --check is not found in --check-config."""
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text) is not None


@pytest.mark.parametrize(
    ("command", "own", "others"),
    [
        ([], ["--demo", "--netns", "--read-only", "--journal", "--health", "--state", "--delay", "--batch",
              "--iterations", "--json", "--exact", "--version"],
         ["--mode", "--vip", "--sample", "--yes", "--check-config", "--print", "arp_ignore"]),
        (["save"], ["--demo", "--demo-size", "--seed", "--netns"],
         ["--batch", "--json", "--read-only", "--journal", "--yes", "--mode", "--delay"]),
        (["restore"], ["FILE", "--demo", "--netns", "--read-only", "--journal", "--yes"],
         ["--batch", "--health", "--state", "--mode", "--sample", "--json"]),
        (["health"], ["CONFIG", "--netns", "--read-only", "--journal", "--state", "--check-config",
                      "--reset-state"],
         ["--demo", "--batch", "--yes", "--health", "--mode", "--json"]),
        (["doctor"], ["--netns", "--sample", "--json"],
         ["--demo", "--batch", "--journal", "--read-only", "--mode", "--yes"]),
        (["realserver"], ["--mode", "--vip", "--director", "--interface", "--print", "--check", "--apply",
                          "--journal", "--json", "arp_ignore"],
         ["--demo", "--netns", "--batch", "--sample", "--read-only", "--yes"]),
        (["exporter"], ["--listen", "--netns", "--demo", "--state", "--drain-records", "--cache",
                        "--max-series"],
         ["--batch", "--json", "--read-only", "--journal", "--yes", "--mode", "--sample"]),
    ],
)
def test_each_help_lists_its_own_options_and_no_others(
    command: list[str], own: list[str], others: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--help"]) == Exit.OK
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.startswith(f"usage: lvs-top {' '.join(command)}".rstrip())
    assert [option for option in own if not mentions(captured.out, option)] == []
    assert [option for option in others if mentions(captured.out, option)] == []


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == Exit.OK
    assert capsys.readouterr().out == f"lvs-top {__version__}\n"


REALSERVER = ["realserver", "--mode", "dr", "--vip", "10.10.0.1"]

REFUSED = [
    # options of another command
    (["--batch", "--mode", "dr"], "lvs-top: --mode belongs to lvs-top realserver; "
                                  "see lvs-top realserver --help."),
    (["save", "--batch"], "lvs-top save: --batch does not apply to save; see lvs-top save --help."),
    (["--batch", "-y"], "lvs-top: -y belongs to lvs-top restore, drain, undrain, weight and rollout; "
                         "see lvs-top restore --help."),
    (["--batch", "--sample", "3"], "--sample belongs to lvs-top doctor"),
    (["--check-config"], "--check-config belongs to lvs-top health"),
    (["doctor", "--yes"], "lvs-top doctor: --yes belongs to lvs-top restore, drain"),
    (["save", "--read-only"], "lvs-top save: --read-only does not apply to save"),
    (["save", "--json"], "--json does not apply to save"),
    (["restore", "rules", "--health", "h.toml"], "lvs-top restore: --health does not apply to restore"),
    (["doctor", "--demo"], "lvs-top doctor: --demo does not apply to doctor: the doctor examines this "
                           "host as a director"),
    (["doctor", "--demo-size", "3x3"], "--demo-size does not apply to doctor"),
    (["health", "c.toml", "--demo"], "lvs-top health: --demo does not apply to health: the checker probes "
                                     "real servers"),
    (["--frobnicate"], "lvs-top: unknown option --frobnicate; see lvs-top --help."),
    # the dashboard and batch mode
    (["--json"], "lvs-top: --json applies only to --batch; see lvs-top --help."),
    (["--demo", "--exact"], "--exact applies only to --batch"),
    (["--demo", "-n", "3"], "-n/--iterations applies only to --batch"),
    (["--batch", "--health", "x.toml"], "lvs-top: --health does not apply to --batch: batch mode only reads"),
    (["--batch", "--state", "s.json"], "--state does not apply to --batch"),
    (["--batch", "--journal", "j.jsonl"], "--journal does not apply to --batch"),
    (["--batch", "--read-only"], "--read-only does not apply to --batch"),
    (["--demo", "--health", "h.toml"], "--health checks real servers"),
    (["--demo", "--state", "s.json"], "--state reads the checker of a kernel's table"),
    (["--batch", "--seed", "3"], "--seed applies only to --demo"),
    (["--batch", "--demo", "--netns", "blue"], "--netns reads a kernel's table and cannot be combined"),
    (["--batch", "-d", "-1"], "it must be a number of seconds from 0 to 86400, not '-1'"),
    (["--batch", "-d"], "argument -d/--delay: expected one argument"),
    # commands in the wrong place, missing or extra arguments
    (["--demo", "save"], "lvs-top: save is a command and comes first: lvs-top save --demo; "
                         "see lvs-top save --help."),
    (["--demo", "doctor"], "lvs-top: doctor is a command and comes first: lvs-top doctor [options]"),
    (["sve"], "lvs-top: 'sve' is not a command: the commands are save, restore, drain, undrain, weight, "
             "rollout, health, doctor, realserver, exporter"),
    (["save", "restore"], "lvs-top save: one command at a time: restore after save"),
    (["restore"], "lvs-top restore: restore takes one FILE of rules (- for standard input); "
                  "see lvs-top restore --help."),
    (["restore", "a.rules", "b.rules"], "lvs-top restore: unexpected argument 'b.rules'"),
    (["save", "extra"], "lvs-top save: unexpected argument 'extra'; see lvs-top save --help."),
    (["save", "--netns", "blue", "--demo"], "cannot be combined with --demo"),
    (["health"], "lvs-top health: health takes its CONFIG"),
    (["health", "c.toml", "--check-config", "--state", "s.json"],
     "--state does not apply to --check-config, which only reads CONFIG"),
    (["doctor", "--sample", "soon"], "must be a number of seconds from 0 to 86400, not 'soon'"),
    # the real-server kit
    (["realserver"], "realserver needs --mode nat|dr|tun and --vip ADDRESS"),
    (["realserver", "--mode", "xx", "--vip", "10.10.0.1"], "argument --mode: invalid choice: 'xx'"),
    (["realserver", "--mode", "dr", "--vip", "nope"], "lvs-top realserver: --vip nope is not an IP address"),
    ([*REALSERVER, "--json"], "--json applies to --check and --apply"),
    ([*REALSERVER, "--journal", "j.jsonl"], "--journal applies only to --apply"),
    ([*REALSERVER, "--director", "10.20.1.1"], "--director is for NAT"),
    ([*REALSERVER, "--check", "--apply"], "argument --apply: not allowed with argument --check"),
    (["realserver", "--mode", "nat", "--vip", "10.10.0.1", "--director", "10.20.1.1", "--interface", "eth0"],
     "--interface names the interfaces of DR's and TUN's ARP settings"),
    (["realserver", "--mode", "nat", "--vip", "10.10.0.1"], "NAT: give the director's address"),
    (["realserver", "--mode", "nat", "--vip", "10.10.0.1", "--director", "gateway"],
     "--director gateway is not an IP address"),
]


@pytest.mark.parametrize(("argv", "said"), REFUSED, ids=[" ".join(argv) or "-" for argv, _ in REFUSED])
def test_a_refused_command_line_is_one_line_and_exit_2(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) is Exit.USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.endswith(".\n"), captured.err
    assert captured.err.startswith("lvs-top") and "Traceback" not in captured.err
    assert said in captured.err


def test_options_mean_the_same_in_any_order_after_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["save", "--seed", "7", "--demo"]) is Exit.OK
    first = capsys.readouterr().out
    assert main(["save", "--demo", "--seed", "7"]) is Exit.OK
    assert capsys.readouterr().out == first


class Clock:
    """Moves 2 s at each reading, from the same start: the demo gives the same output on every run."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        self.now += 2.0
        return self.now

    def wall(self) -> float:
        return 1_700_000_000.0 + self.now


@pytest.fixture
def frozen_demo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The demo director on `Clock`, its time shown in UTC."""
    clock = Clock()
    director = functools.partial(lvs_tui.sim.SimulatedDirector, clock=clock.monotonic, wall_clock=clock.wall)
    monkeypatch.setattr(lvs_tui.sim, "SimulatedDirector", director)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("frozen_demo")
@pytest.mark.parametrize("argv", [["--batch", "--demo"], ["--batch", "--demo", "--json"],
                                  ["--demo-size", "5x2", "--batch", "-n", "2", "-d", "0", "--exact"],
                                  ["save", "--demo"]], ids=" ".join)
def test_what_batch_mode_and_save_print(
    argv: list[str], snapshot: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) is Exit.OK
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == snapshot


def test_exit_codes_are_defined_once() -> None:
    assert [(code.name, int(code)) for code in Exit] == [("OK", 0), ("ERROR", 1), ("USAGE", 2),
                                                          ("INTERRUPTED", 130)]
    for info in pkgutil.walk_packages(lvs_tui.cli.__path__, "lvs_tui.cli."):
        module = importlib.import_module(info.name)
        own = [name for name in vars(module) if name.startswith("EXIT_") or name in ("_fail", "_say")]
        assert own == [], info.name
