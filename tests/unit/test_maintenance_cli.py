"""`lvs-top undrain` and `lvs-top weight` on a simulated director: the weight before a drain comes
back from the journal, a server with none needs --weight, weights are checked strictly."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvs_tui.cli import main
from lvs_tui.ops.journal import Journal, outcomes
from lvs_tui.ops.sysctl import KERNEL_DEFAULTS, Sysctls
from lvs_tui.ops.targets import parse_target, plan_drain
from tests.unit.maintenance_runs import HOST, TLS, WEB, Clock, director, run, weight_of, weights


def test_undrain_brings_back_the_weights_the_journal_remembers(tmp_path: Path) -> None:
    clock = Clock()
    sim = director(clock)
    before = weights(sim)
    journal = tmp_path / "journal.jsonl"
    assert run("drain", sim, clock, journal, HOST, "--yes") == 0
    assert weight_of(sim, WEB, HOST, 8080) == 0
    assert run("undrain", sim, clock, journal, HOST, "--yes") == 0
    assert weights(sim) == before  # 3 in WEB and 100 in TLS, each its own
    assert run("undrain", sim, clock, journal, HOST, "--yes") == 0  # again: nothing drained, fine
    assert weights(sim) == before


def test_undrain_without_a_recorded_weight_refuses_naming_weight_and_weight_overrides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    sim = director(clock)
    journal = tmp_path / "journal.jsonl"
    assert run("weight", sim, clock, tmp_path / "elsewhere.jsonl", f"{HOST}:443", "0", "--yes") == 0
    capsys.readouterr()
    assert run("undrain", sim, clock, journal, HOST, "--yes") == 2  # this journal knows nothing of it
    err = capsys.readouterr().err
    assert "--weight" in err and f"{TLS}>{HOST}:443" in err and err.count("\n") == 1
    assert weight_of(sim, TLS, HOST, 443) == 0 and not journal.exists()
    assert run("undrain", sim, clock, journal, HOST, "--weight", "7", "--yes") == 0
    assert weight_of(sim, TLS, HOST, 443) == 7 and weight_of(sim, WEB, HOST, 8080) == 3


def test_weight_sets_each_named_server_and_skips_those_already_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    sim = director(clock)
    journal = tmp_path / "journal.jsonl"
    assert run("weight", sim, clock, journal, HOST, "3", "--yes") == 0
    assert weight_of(sim, WEB, HOST, 8080) == 3 and weight_of(sim, TLS, HOST, 443) == 3
    assert "already at weight 3" in capsys.readouterr().out
    assert [entry["target"] for entry in outcomes(Journal(journal).entries())] == [f"{TLS}>{HOST}:443"]


@pytest.mark.parametrize("weight", ["2147483648", "-1", "x", "1e3"])
def test_a_weight_out_of_range_exits_2_with_one_sentence_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], weight: str
) -> None:
    journal = tmp_path / "journal.jsonl"
    assert main(["weight", HOST, weight, "--demo", "--yes", "--journal", str(journal)]) == 2
    err = capsys.readouterr().err
    assert "weight" in err and err.count("\n") == 1
    assert not journal.exists()


def test_without_a_terminal_and_without_yes_undrain_and_weight_refuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("lvs_tui.cli.maintenance.ask", lambda question: None)  # no /dev/tty
    clock = Clock()
    sim = director(clock)
    journal = tmp_path / "journal.jsonl"
    assert run("drain", sim, clock, journal, HOST, "--yes") == 0
    drained = weights(sim)
    assert run("undrain", sim, clock, journal, HOST) == 2
    assert run("weight", sim, clock, journal, HOST, "5") == 2
    assert "add --yes" in capsys.readouterr().err
    assert weights(sim) == drained


def test_a_declined_question_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def decline(question: str) -> str:
        asked.append(question)
        return "n"

    monkeypatch.setattr("lvs_tui.cli.maintenance.ask", decline)
    clock = Clock()
    sim = director(clock)
    before = weights(sim)
    journal = tmp_path / "journal.jsonl"
    assert run("drain", sim, clock, journal, HOST, "--wait", "--remove") == 0
    assert asked == ["Drain and remove once drained? [y/N] "]
    assert weights(sim) == before and not journal.exists()


def test_a_host_and_one_of_its_servers_named_together_change_it_once() -> None:
    sim = director(Clock())
    targets = [parse_target(HOST), parse_target(f"{HOST}:8080"), parse_target("[2001:db8:1::11]:80")]
    plan = plan_drain(sim.snapshot().services, targets, Sysctls(dict(KERNEL_DEFAULTS)))
    assert sorted(change.target for change in plan.changes) == sorted(
        [f"{WEB}>{HOST}:8080", f"{TLS}>{HOST}:443", "tcp:[2001:db8::80]:80>[2001:db8:1::11]:80"])
    assert len(plan.drains) == 3


def test_undrain_with_slow_start_ramps_each_weight_up_in_journaled_steps(tmp_path: Path) -> None:
    clock = Clock()
    sim = director(clock)
    before = weights(sim)
    journal = tmp_path / "journal.jsonl"
    assert run("drain", sim, clock, journal, HOST, "--yes") == 0
    assert run("undrain", sim, clock, journal, HOST, "--slow-start", "4", "--yes") == 0
    assert weights(sim) == before and clock.now == 1003.0  # 4 steps, 1 s apart
    ramped = [(entry["target"], entry["after"]["weight"]) for entry in outcomes(Journal(journal).entries())
              if entry["after"]["weight"] > 0]
    assert [weight for target, weight in ramped if target == f"{TLS}>{HOST}:443"] == [25, 50, 75, 100]
    assert [weight for target, weight in ramped if target == f"{WEB}>{HOST}:8080"] == [1, 2, 3]


def test_json_puts_one_outcome_object_on_standard_output_and_the_plan_on_standard_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    clock = Clock()
    sim = director(clock)
    journal = tmp_path / "journal.jsonl"
    capsys.readouterr()
    assert run("drain", sim, clock, journal, f"{HOST}:8080", "--json", "--yes") == 0
    drained = capsys.readouterr()
    assert json.loads(drained.out) == {"result": "weights-set", "changed": [
        "ipvsadm -e -t 192.0.2.10:80 -r 198.51.100.11:8080 -m -w 0 -x 1500 -y 1200"]}
    assert "ipvsadm -e" in drained.err
    assert run("weight", sim, clock, journal, f"{HOST}:8080", "0", "--json", "--yes") == 0
    assert json.loads(capsys.readouterr().out) == {"result": "unchanged", "changed": [], "failed": []}
    assert run("undrain", sim, clock, journal, f"{HOST}:8080", "--json", "--slow-start", "3", "--yes") == 0
    ramped = json.loads(capsys.readouterr().out)
    assert ramped["result"] == "done" and ramped["failed"] == []
    assert [command.split(" -w ")[1].split()[0] for command in ramped["changed"]] == ["1", "2", "3"]
