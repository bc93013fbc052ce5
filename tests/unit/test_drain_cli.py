"""`lvs-top drain` on a simulated director whose clock the test drives: targets, --service, --wait
to the end or to a timeout, --remove, JSON lines, read-only, confirmation, rollback."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lvs_tui.cli import main
from lvs_tui.cli.drainwatch import Bars
from lvs_tui.ipvs.backend import Backend
from lvs_tui.ops.journal import INTENDED, Journal, outcomes
from tests.unit.maintenance_runs import HOST, QUICK, TLS, WEB, Clock, director, run, weight_of, weights
from tests.unit.test_ops_runner import Refusing


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def test_a_host_target_drains_that_host_in_every_service_and_journals_each_weight(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    sim = director(clock)
    before = weights(sim)
    journal = tmp_path / "journal.jsonl"
    assert run("drain", sim, clock, journal, HOST, "--yes") == 0
    after = weights(sim)
    drained = {target for target, weight in after.items() if weight != before[target]}
    assert drained == {f"{WEB}>{HOST}:8080", f"{TLS}>{HOST}:443"}
    assert all(after[target] == 0 for target in drained)
    entries = [entry for entry in outcomes(Journal(journal).entries())]
    assert {(entry["target"], entry["before"]["weight"], entry["result"])
            for entry in entries} == {(f"{WEB}>{HOST}:8080", 3, "ok"), (f"{TLS}>{HOST}:443", 100, "ok")}
    assert "~ ipvsadm -e -t 192.0.2.10:443 -r 198.51.100.11:443 -m -w 0" in capsys.readouterr().out


def test_an_address_port_target_or_a_service_limits_the_drain(tmp_path: Path) -> None:
    clock = Clock()
    sim = director(clock)
    journal = tmp_path / "journal.jsonl"
    assert run("drain", sim, clock, journal, f"{HOST}:443", "--yes") == 0
    assert weight_of(sim, TLS, HOST, 443) == 0 and weight_of(sim, WEB, HOST, 8080) == 3
    assert run("drain", sim, clock, journal, QUICK, "--service", WEB.id, "--yes") == 0
    assert weight_of(sim, WEB, QUICK, 8080) == 0 and weight_of(sim, TLS, QUICK, 443) == 50


def test_draining_a_drained_server_again_changes_nothing_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    sim = director(clock)
    journal = tmp_path / "journal.jsonl"
    assert run("drain", sim, clock, journal, f"{QUICK}:8080", "--yes") == 0
    written = len(list(Journal(journal).entries()))
    capsys.readouterr()
    assert run("drain", sim, clock, journal, f"{QUICK}:8080", "--yes") == 0
    assert "already at weight 0" in capsys.readouterr().out
    assert len(list(Journal(journal).entries())) == written


def test_wait_follows_the_drain_in_json_lines_exits_0_once_drained_and_removes_with_remove(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    sim = director(clock)
    journal = tmp_path / "journal.jsonl"
    assert run("drain", sim, clock, journal, QUICK, "--service", WEB.id, "--wait", "--remove", "--yes") == 0
    lines = json_lines(capsys.readouterr().out)  # not a terminal: JSON lines only on standard output
    polls, last = lines[:-1], lines[-1]
    assert len(polls) > 2 and all(poll["server"] == f"{QUICK}:8080" and poll["service"] == WEB.id
                                  for poll in polls)
    assert {"active", "inactive", "persistent", "progress", "eta", "drained"} <= set(polls[0])
    assert [poll["drained"] for poll in polls] == [False] * (len(polls) - 1) + [True]
    assert polls[-1]["active"] == 0 and polls[0]["active"] > 0  # type: ignore[operator]
    assert [poll["elapsed"] for poll in polls[:3]] == [0.0, 1.0, 2.0]  # one poll a second
    assert last == {"result": "drained", "removed": [f"{WEB}>{QUICK}:8080"]}
    assert weight_of(sim, WEB, QUICK, 8080) is None and weight_of(sim, TLS, QUICK, 443) == 50
    assert [(entry["action"], entry["result"]) for entry in outcomes(Journal(journal).entries())] == \
        [("edit_dest", "ok"), ("delete_dest", "ok")]


def test_wait_exits_1_at_the_timeout_leaves_weight_0_and_names_who_is_still_on_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    sim = director(clock)
    journal = tmp_path / "journal.jsonl"
    assert run("drain", sim, clock, journal, HOST, "--wait", "--timeout", "30", "--remove", "--json",
               "--yes") == 1
    assert clock.now == 1030.0
    captured = capsys.readouterr()
    last = json_lines(captured.out)[-1]
    assert last["result"] == "timeout"
    still = last["still"]
    assert isinstance(still, list) and still
    first = still[0]
    assert first["active"] > 0 and first["connections"]  # the connection table is read
    assert first["connections"][0]["virtual"] == "192.0.2.10"
    assert "not drained after 30 s" in captured.err and f"still on {first['service']}>{first['server']}" \
        in captured.err and "ESTABLISHED" in captured.err
    assert weight_of(sim, WEB, HOST, 8080) == 0 and weight_of(sim, TLS, HOST, 443) == 0  # not removed
    assert [entry["action"] for entry in outcomes(Journal(journal).entries())] == ["edit_dest", "edit_dest"]


def test_read_only_prints_the_plan_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    sim = director(clock)
    before = weights(sim)
    journal = tmp_path / "journal.jsonl"
    assert run("drain", sim, clock, journal, HOST, "--read-only", "--wait", "--remove", "--yes") == 0
    captured = capsys.readouterr()
    assert "~ ipvsadm -e -t 192.0.2.10:80 -r 198.51.100.11:8080" in captured.err  # JSON mode: text on stderr
    assert "- ipvsadm -d -t 192.0.2.10:80 -r 198.51.100.11:8080" in captured.err
    assert "nothing was applied" in captured.err and captured.out == ""
    assert weights(sim) == before and not journal.exists()


def test_without_yes_and_without_a_terminal_drain_exits_2_and_changes_nothing(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    result = subprocess.run(  # a new session has no controlling terminal to ask on
        [sys.executable, "-m", "lvs_tui", "drain", HOST, "--demo", "--journal", str(journal)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False,
        start_new_session=True)
    assert result.returncode == 2, result.stderr
    assert "--yes" in result.stderr and "Traceback" not in result.stderr
    assert not journal.exists()


@pytest.mark.parametrize(("argv", "said"), [
    (["10.9.9.9"], "no real server matches 10.9.9.9"),
    ([f"{HOST}:9999"], f"no real server matches {HOST}:9999"),
    ([HOST, "--service", "tcp:192.0.2.99:80"], "there is no service tcp:192.0.2.99:80"),
    (["not-an-address"], "must be a host address or ADDRESS:PORT"),
    ([HOST, "--service", "tcp:nowhere"], "argument --service"),
    ([HOST, "--remove"], "--remove applies only with --wait"),
])
def test_bad_input_exits_2_with_one_sentence_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    journal = tmp_path / "journal.jsonl"
    assert main(["drain", *argv, "--demo", "--yes", "--journal", str(journal)]) == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1
    assert not journal.exists()


def test_a_refusal_part_way_undoes_the_weights_already_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    sim = director(clock)
    before = weights(sim)
    refusing = Refusing(sim, refuse=2)  # the second of the host's two drains
    journal = tmp_path / "journal.jsonl"
    backend: Backend = refusing  # type: ignore[assignment]
    assert run("drain", backend, clock, journal, HOST, "--wait", "--yes") == 1
    assert weights(sim) == before
    assert "undone: the table is as it was" in capsys.readouterr().err
    entries = list(outcomes(Journal(journal).entries()))
    assert [entry["action"] for entry in entries] == ["edit_dest", "edit_dest", "rollback"]
    assert all(entry["result"] != INTENDED for entry in entries)


def test_each_command_has_its_own_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("drain", "undrain", "weight"):
        assert main([command, "--help"]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: lvs-top {command}") and "exit status" in out




def test_on_a_terminal_each_server_has_a_progress_bar_with_its_counts_and_eta() -> None:
    from rich.console import Console

    from lvs_tui.model.records import DestKey
    from lvs_tui.ops.drain import DrainCounts, DrainTracker

    screen = io.StringIO()
    key = (WEB, DestKey(QUICK, 8080))
    bars = Bars([key], Console(file=screen, force_terminal=True, width=160))
    tracker = DrainTracker(WEB, key[1], DrainCounts(40, 5, 0), 0.0, 1)
    for second, active in ((4.0, 20), (8.0, 10)):
        bars.poll([(key, tracker.update(DrainCounts(active, 5, 0), second))], second)
    bars.close()
    shown = screen.getvalue()
    assert f"{QUICK}:8080 in {WEB}" in shown and "10 active 5 inactive 0 persistent" in shown
    assert "ETA 3s" in shown  # 30 gone in 8 s: the last 10 take about 3 s
