"""`lvs-top rollout` on a simulated director whose clock the test drives, with a fake command
runner and check: the order of the steps, the weights at every step, the capacity floor, a failure
and --resume, bad input, read-only."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from lvs_tui.cli import main, parse
from lvs_tui.cli.common import guarded
from lvs_tui.cli.rollout import run_rollout
from lvs_tui.cli.rollout_steps import CommandResult, Probe
from lvs_tui.model.records import DestKey, ServiceKey
from lvs_tui.ops.journal import Journal, outcomes
from lvs_tui.ops.rollout import Progress, load_progress, save_progress
from lvs_tui.sim import SimulatedDirector
from tests.unit.maintenance_runs import Clock, director, run, weights

APP = ServiceKey.inet("tcp", "192.0.2.20", 8080)  # the demo table's: three hosts at weight 1
HOSTS = ("203.0.113.41", "203.0.113.42", "203.0.113.43")


class Commands:
    """The command runner: records each run, fails on the hosts named."""

    def __init__(self, failing: Sequence[str] = ()) -> None:
        self.failing = set(failing)
        self.runs: list[tuple[list[str], str]] = []

    def __call__(self, argv: Sequence[str], env: Mapping[str, str], timeout: float,
                 to_stderr: bool) -> CommandResult:
        self.runs.append((list(argv), env["LVS_TOP_HOST"]))
        if env["LVS_TOP_HOST"] in self.failing:
            return CommandResult(False, "exit status 3")
        return CommandResult(True, "exit status 0")


def passing(probes: Sequence[Probe]) -> list[tuple[Probe, str]]:
    return []


def app_weights(sim: SimulatedDirector) -> dict[str, int]:
    service = sim.snapshot().service(APP)
    assert service is not None
    return {dest.address: dest.weight for dest in service.dests}


def rollout(sim: SimulatedDirector, clock: Clock, tmp_path: Path, *argv: str,
            commands: Commands | None = None,
            checker: Callable[[Sequence[Probe]], list[tuple[Probe, str]]] = passing,
            sleep: Callable[[float], None] | None = None) -> int:
    _, args = parse(["rollout", *argv, "--demo", "--journal", str(tmp_path / "journal.jsonl"),
                     "--rollout-state", str(tmp_path / "rollout.json")])
    return run_rollout(args, lambda args: guarded(args, sim), clock, sleep or clock.sleep,
                       commands or Commands(), checker)


def test_three_hosts_one_at_a_time_never_leave_more_than_one_out_and_come_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    sim = director(clock)
    seen: list[dict[str, int]] = []
    edit = sim.edit_dest

    def recorded(*args: object) -> None:
        edit(*args)  # type: ignore[arg-type]
        seen.append(app_weights(sim))

    monkeypatch.setattr(sim, "edit_dest", recorded)
    commands = Commands()
    before = weights(sim)
    assert rollout(sim, clock, tmp_path, *HOSTS, "--exec", "deploy --to {host}", "--slow-start", "2",
                   "--yes", commands=commands) == 0
    assert weights(sim) == before
    assert commands.runs == [(["deploy", "--to", host], host) for host in HOSTS]
    assert len(seen) == 6 and all(sum(weight == 0 for weight in step.values()) <= 1 for step in seen)
    assert [host for step in seen for host, weight in step.items() if weight == 0] == list(HOSTS)
    out = capsys.readouterr().out
    assert "draining 203.0.113.42 (1 real server)" in out and "running: deploy --to 203.0.113.42" in out
    assert out.count("check passed") == 3 and out.count("back at weight 1 (slow start 2 s)") == 3
    assert out.index("draining 203.0.113.41") < out.index("drained in") < out.index("running: deploy --to "
                                                                                     "203.0.113.41") \
        < out.index("check passed") < out.index("back at weight 1") < out.index("draining 203.0.113.42")
    assert not (tmp_path / "rollout.json").exists()  # done: nothing left to resume


def test_a_failing_command_stops_at_its_host_and_resume_finishes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    sim = director(clock)
    failing = Commands(failing=[HOSTS[1]])
    assert rollout(sim, clock, tmp_path, *HOSTS, "--exec", "deploy {host}", "--yes", commands=failing) == 1
    assert app_weights(sim) == {HOSTS[0]: 1, HOSTS[1]: 0, HOSTS[2]: 1}
    journal = list(outcomes(Journal(tmp_path / "journal.jsonl").entries()))
    assert not any(HOSTS[2] in entry["target"] for entry in journal)  # the third is untouched
    # The demo's hosts are TUN real servers, drained under the kernel's default conn_reuse_mode: warned.
    said = [line for line in capsys.readouterr().err.splitlines() if "conn_reuse_mode" not in line]
    err = "\n".join(said)
    assert len(said) == 1 and HOSTS[1] in err and "--resume" in err and "exit status 3" in err
    progress = load_progress(tmp_path / "rollout.json")
    assert progress is not None
    assert (progress.done, progress.batch, progress.stage, progress.failed) == ([HOSTS[0]], [HOSTS[1]],
                                                                                "command", True)
    # Not without --resume:
    assert rollout(sim, clock, tmp_path, *HOSTS, "--exec", "deploy {host}", "--yes") == 2
    assert "--resume" in capsys.readouterr().err
    again = Commands()
    assert rollout(sim, clock, tmp_path, *HOSTS, "--exec", "deploy {host}", "--resume", "--yes",
                   commands=again) == 0
    assert [host for _, host in again.runs] == [HOSTS[1], HOSTS[2]]  # the done host is not redone
    assert app_weights(sim) == {HOSTS[0]: 1, HOSTS[1]: 1, HOSTS[2]: 1}
    assert not (tmp_path / "rollout.json").exists()


def test_a_check_that_never_passes_fails_at_the_timeout_and_resume_checks_again_without_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    sim = director(clock)

    def refused(probes: Sequence[Probe]) -> list[tuple[Probe, str]]:
        return [(probe, "connection refused") for probe in probes]

    first = Commands()
    assert rollout(sim, clock, tmp_path, HOSTS[0], "--exec", "deploy", "--timeout", "30", "--yes",
                   commands=first, checker=refused) == 1
    err = capsys.readouterr().err
    assert "connection refused" in err and "after 30 s" in err and HOSTS[0] in err
    progress = load_progress(tmp_path / "rollout.json")
    assert progress is not None and progress.stage == "check" and app_weights(sim)[HOSTS[0]] == 0
    again = Commands()
    assert rollout(sim, clock, tmp_path, HOSTS[0], "--exec", "deploy", "--resume", "--yes",
                   commands=again) == 0
    assert len(first.runs) == 1 and again.runs == [] and app_weights(sim)[HOSTS[0]] == 1


def test_the_floor_waits_for_capacity_then_drains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clock = Clock()
    sim = director(clock)
    journal = tmp_path / "journal.jsonl"
    assert run("weight", sim, clock, journal, HOSTS[2], "0", "--yes") == 0  # out already: weight 1 journaled
    capsys.readouterr()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        waits.append(seconds)
        if len(waits) == 3:  # someone brings the third host back
            assert run("weight", sim, clock, journal, HOSTS[2], "1", "--yes") == 0

    assert rollout(sim, clock, tmp_path, HOSTS[0], "--exec", "deploy", "--min-capacity", "60", "--yes",
                   sleep=sleep) == 0
    out = capsys.readouterr().out
    assert out.count(f"would leave {APP.id}: 33% (1 of 3), below the floor of 60%") == 1
    assert out.index("waiting") < out.index(f"draining {HOSTS[0]}")


def test_the_floor_fails_at_the_timeout_naming_the_service_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    sim = director(clock)
    before = weights(sim)
    assert rollout(sim, clock, tmp_path, HOSTS[0], "--exec", "deploy", "--min-capacity", "70",
                   "--timeout", "20", "--yes") == 1
    assert clock.now == 1020.0 and weights(sim) == before
    err = capsys.readouterr().err
    assert f"{APP.id}: 67% (2 of 3), below the floor of 70%" in err and "after 20 s" in err
    said = [line for line in err.splitlines() if "conn_reuse_mode" not in line]  # the TUN hosts' warning
    assert f"{HOSTS[0]} was not drained" in err and "--resume" in err and len(said) == 1


@pytest.mark.parametrize(("argv", "said"), [
    ([HOSTS[0]], "needs --exec"),
    ([HOSTS[0], "--exec", "deploy", "--max-out", "0"], "--max-out must be a whole number from 1"),
    ([HOSTS[0], "--exec", "deploy", "--min-capacity", "101"],
     "--min-capacity must be a whole number from 0 to 100"),
    ([HOSTS[0], "--exec", "deploy 'open"], "cannot be split"),
    ([HOSTS[0], "--exec", "deploy", "--check", "/nonexistent/health.toml"], "not tcp, http://PATH"),
    (["--exec", "deploy"], "at least one TARGET"),
])
def test_bad_input_exits_2_in_one_sentence(argv: list[str], said: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    journal = tmp_path / "journal.jsonl"
    assert main(["rollout", *argv, "--demo", "--yes", "--journal", str(journal)]) == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1
    assert not journal.exists()


def test_resume_with_other_targets_or_nothing_to_resume_exits_2_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    sim = director(clock)
    before = weights(sim)
    assert rollout(sim, clock, tmp_path, *HOSTS, "--exec", "deploy", "--resume", "--yes") == 2
    assert "no rollout to resume" in capsys.readouterr().err
    state = tmp_path / "rollout.json"
    recorded = Progress(list(HOSTS), "deploy", [HOSTS[0]], [HOSTS[1]], "command", failed=True)
    save_progress(state, recorded)
    assert rollout(sim, clock, tmp_path, HOSTS[0], HOSTS[1], "--exec", "deploy", "--resume", "--yes") == 2
    assert rollout(sim, clock, tmp_path, *HOSTS, "--exec", "other", "--resume", "--yes") == 2
    err = capsys.readouterr().err
    assert err.count("give the same TARGETs and --exec") == 2 and err.count("\n") == 2
    assert load_progress(state) == recorded and weights(sim) == before
    assert not (tmp_path / "journal.jsonl").exists()


def test_read_only_shows_the_batches_and_the_capacity_left_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    sim = director(clock)
    before = weights(sim)
    commands = Commands()
    assert rollout(sim, clock, tmp_path, *HOSTS, "198.51.100.11", "--exec", "deploy", "--max-out", "2",
                   "--read-only", "--yes", commands=commands) == 0
    captured = capsys.readouterr()
    assert f"batch 1: {HOSTS[0]}, {HOSTS[1]}: would leave {APP.id}: 33% (1 of 3)" in captured.out
    assert f"batch 2: {HOSTS[2]}, 198.51.100.11: would leave tcp:192.0.2.10:80: 50% (3 of 6); " \
           f"tcp:192.0.2.10:443: 60% (150 of 250); {APP.id}: 67% (2 of 3)" in captured.out
    assert "nothing was applied" in captured.err
    assert rollout(sim, clock, tmp_path, HOSTS[0], "--exec", "deploy", "--min-capacity", "70",
                   "--read-only") == 0
    assert f"{APP.id}: 67% (2 of 3) (below the floor of 70%: it would wait)" in capsys.readouterr().out
    assert weights(sim) == before and commands.runs == [] and not (tmp_path / "rollout.json").exists()
    assert not (tmp_path / "journal.jsonl").exists()


def test_json_puts_one_event_per_step_on_standard_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    sim = director(clock)
    assert rollout(sim, clock, tmp_path, HOSTS[0], "--exec", "deploy {host}", "--json", "--yes") == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    steps = [line for line in lines if "stage" in line]
    assert [step["stage"] for step in steps] == ["plan", "drain", "drained", "command", "check", "back",
                                                 "done"]
    steps = steps[1:]
    assert all(step["host"] == HOSTS[0] for step in steps)
    assert steps[2]["argv"] == ["deploy", HOSTS[0]]
    assert steps[4]["weights"] == {f"{APP.id}>{HOSTS[0]}:8080": 1}
    polls = [line for line in lines if "stage" not in line]  # the drain's progress, as drain --json shows it
    assert polls and polls[-1]["drained"] is True and polls[-1]["server"] == f"{HOSTS[0]}:8080"


def test_a_server_already_at_weight_0_stays_out(tmp_path: Path) -> None:
    clock = Clock()
    sim = director(clock)
    web = ServiceKey.inet("tcp", "192.0.2.10", 80)
    assert rollout(sim, clock, tmp_path, "198.51.100.14", "--exec", "deploy", "--yes") == 0
    found = sim.snapshot().service(web)
    assert found is not None and (dest := found.dest(DestKey("198.51.100.14", 8080))) is not None
    assert dest.weight == 0


def test_a_state_file_that_cannot_be_written_exits_2_before_any_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    sim = director(clock)
    before = weights(sim)
    (tmp_path / "blocked").write_text("a file where a directory should be")
    state = tmp_path / "blocked" / "rollout.json"
    _, args = parse(["rollout", HOSTS[0], "--exec", "deploy", "--demo", "--yes", "--journal",
                     str(tmp_path / "journal.jsonl"), "--rollout-state", str(state)])
    assert run_rollout(args, lambda args: guarded(args, sim), clock, clock.sleep, Commands(), passing) == 2
    assert "cannot be written" in capsys.readouterr().err and weights(sim) == before


def test_a_batch_of_two_is_drained_together_and_the_command_runs_once_per_host(tmp_path: Path) -> None:
    clock = Clock()
    sim = director(clock)
    at_each_run: list[dict[str, int]] = []

    class Watching(Commands):
        def __call__(self, argv: Sequence[str], env: Mapping[str, str], timeout: float,
                     to_stderr: bool) -> CommandResult:
            at_each_run.append(app_weights(sim))
            return super().__call__(argv, env, timeout, to_stderr)

    commands = Watching()
    assert rollout(sim, clock, tmp_path, *HOSTS, "--exec", "deploy {host}", "--max-out", "2", "--yes",
                   commands=commands) == 0
    assert [host for _, host in commands.runs] == list(HOSTS)
    both_out = {HOSTS[0]: 0, HOSTS[1]: 0, HOSTS[2]: 1}
    assert at_each_run == [both_out, both_out, {HOSTS[0]: 1, HOSTS[1]: 1, HOSTS[2]: 0}]
    assert app_weights(sim) == dict.fromkeys(HOSTS, 1)


def test_the_drain_is_in_the_drain_records_while_the_host_is_out_and_leaves_them_once_back(
    tmp_path: Path
) -> None:
    from lvs_tui.ops.drainrecords import DrainRecords

    clock = Clock()
    sim = director(clock)
    records = DrainRecords(tmp_path / "drains.json")
    seen: list[dict[str, tuple[str, int]]] = []

    class Watching(Commands):
        def __call__(self, argv: Sequence[str], env: Mapping[str, str], timeout: float,
                     to_stderr: bool) -> CommandResult:
            seen.append({f"{record.service}>{record.dest}": (record.origin, record.previous_weight)
                         for record in records.read().values()})
            return super().__call__(argv, env, timeout, to_stderr)

    assert rollout(sim, clock, tmp_path, HOSTS[0], "--exec", "deploy", "--drain-records",
                   str(tmp_path / "drains.json"), "--yes", commands=Watching()) == 0
    assert seen == [{f"{APP}>{HOSTS[0]}:8080": ("rollout", 1)}]
    assert records.read() == {}
