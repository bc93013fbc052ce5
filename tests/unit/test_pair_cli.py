"""drain, undrain and weight on several directors: one plan per table, one confirmation, every
director changed or (when one refuses) every director put back, and a drain's wait on the sum of
their counts; in process on simulated directors, and end to end with real agent processes."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import cast

import pytest

from lvs_tui.cli import main, parse
from lvs_tui.cli.common import guarded
from lvs_tui.cli.drainpair import run_drain_pair
from lvs_tui.cli.undrain import run_undrain_pair
from lvs_tui.cli.weight import run_weight_pair
from lvs_tui.directors.specs import DirectorSpec
from lvs_tui.directors.summed import SummedDirectors, summed
from lvs_tui.ipvs.backend import Backend, DestEdit
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.model.records import DestKey, Snapshot, parse_host_port
from lvs_tui.ops.journal import Journal, outcomes
from lvs_tui.ops.sysctl import Sysctls
from lvs_tui.sim import SimulatedDirector
from tests.unit.maintenance_runs import HOST, TLS, WEB, Clock, weights
from tests.unit.test_ops_runner import Refusing

pytestmark = pytest.mark.unit

AGENT = f"{sys.executable} -m lvs_tui agent --demo"
RS = f"{HOST}:8080"  # in WEB only, at weight 3


class Busier:
    """A director whose server `target` (service>dest) holds `extra` more active connections than
    the simulation says until `until` on `clock`: the backup's synced connections after a failover."""

    def __init__(self, inner: Backend, clock: Clock, target: str, extra: int, until: float) -> None:
        self.inner, self.clock, self.target, self.extra, self.until = inner, clock, target, extra, until

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def snapshot(self) -> Snapshot:
        table = self.inner.snapshot()
        if self.clock() >= self.until:
            return table
        return replace(table, services=tuple(
            replace(service, dests=tuple(replace(dest, active_conns=dest.active_conns + self.extra)
                                         if f"{service.key}>{dest.key}" == self.target else dest
                                         for dest in service.dests)) for service in table.services))


def run_pair(command: str, local: Backend, others: dict[str, Backend], tmp_path: Path, *argv: str,
             clock: Clock | None = None) -> int:
    """`lvs-top COMMAND ARGV --director local --director NAME=... --demo`, the other directors
    being `others` in this process (their agents are tested apart)."""
    directors = [arg for name in ("local", *others) for arg in ("--director", name if name == "local"
                                                                 else f"{name}=unused")]
    _, args = parse([command, *argv, *directors, "--demo", "--journal", str(tmp_path / "journal.jsonl"),
                     "--drain-records", str(tmp_path / "drains.json")])

    def open_other(spec: DirectorSpec, writes: bool) -> Backend:
        assert writes is not args.read_only
        return others[spec.name]

    def open_local(args: object) -> Backend:
        return guarded(args, local)  # type: ignore[arg-type]

    if command == "drain":
        clock = clock or Clock()
        return run_drain_pair(args, open_local, clock, clock.sleep, open_other)
    if command == "undrain":
        return run_undrain_pair(args, open_local, open_other)
    return run_weight_pair(args, open_local, open_other)


def test_a_drain_on_a_pair_sets_both_tables_and_journals_the_others_change_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lb1, lb2 = SimulatedDirector(seed=1), SimulatedDirector(seed=1)
    assert run_pair("drain", lb1, {"lb2": lb2}, tmp_path, HOST, "--yes") == 0
    assert weights(lb1) == weights(lb2)
    assert weights(lb1)[f"{WEB}>{RS}"] == weights(lb1)[f"{TLS}>{HOST}:443"] == 0
    out = capsys.readouterr().out
    assert out.count("director lb2:\n") == 2 and out.count("director local:\n") == 2  # the plans, the results
    done = list(outcomes(Journal(tmp_path / "journal.jsonl").entries()))
    assert sorted((entry["target"], entry.get("director", "")) for entry in done) == sorted(
        (target, director) for target in (f"{WEB}>{RS}", f"{TLS}>{HOST}:443") for director in ("", "lb2"))


def test_when_one_director_refuses_the_others_are_put_back_and_the_operator_is_told(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lb1, lb2, lb3 = SimulatedDirector(seed=1), SimulatedDirector(seed=1), SimulatedDirector(seed=1)
    before = weights(lb1)
    refusing = cast(Backend, Refusing(lb3, refuse=2))  # its second write: one change made there first
    assert run_pair("drain", lb1, {"lb2": lb2, "lb3": refusing}, tmp_path, HOST, "--yes") == 1
    assert weights(lb1) == weights(lb2) == weights(lb3) == before
    err = capsys.readouterr().err
    assert "lvs-top drain: director lb3 refused a change; what was made on local, lb2 was undone: every " \
           "director is as it was.\n" in err


def test_an_undo_that_fails_too_says_what_is_still_in_effect_and_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lb1 = Refusing(SimulatedDirector(seed=1), refuse=3)  # two drain writes, then its first undo write
    lb2 = Refusing(SimulatedDirector(seed=1), refuse=1)
    assert run_pair("drain", cast(Backend, lb1), {"lb2": cast(Backend, lb2)}, tmp_path, HOST, "--yes") == 1
    assert weights(lb2.inner)[f"{WEB}>{RS}"] == 3 and weights(lb1.inner)[f"{TLS}>{HOST}:443"] == 0
    err = capsys.readouterr().err
    assert "director lb2 refused a change; not everything could be undone: on local: Undo: " in err
    assert "Look with ipvsadm -Ln on each." in err


def test_a_read_only_agent_or_a_missing_target_changes_no_director(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lb1 = SimulatedDirector(seed=1)
    before = weights(lb1)
    code = main(["weight", RS, "0", "--demo", "--journal", str(tmp_path / "j.jsonl"), "--yes",
                 "--director", "local", "--director", f"lb2={AGENT} --read-only"])
    assert code == 1
    assert capsys.readouterr().err.endswith(
        "lvs-top weight: director lb2: its agent is read-only (started with --read-only, or without "
        "CAP_NET_ADMIN): nothing was applied to any director.\n")
    code = main(["drain", RS, "--demo", "--journal", str(tmp_path / "j.jsonl"), "--yes",
                 "--director", "local", "--director", f"lb2={AGENT} --demo-size 2x2"])
    assert code == 2
    assert "lvs-top drain: director lb2: " in capsys.readouterr().err
    assert weights(lb1) == before and not (tmp_path / "j.jsonl").exists()


def test_a_pair_drain_waits_for_the_sum_of_both_directors_counts(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    clock = Clock()
    lb1 = SimulatedDirector(seed=1, clock=clock)
    quick = "198.51.100.13:8080"  # its connections end within a simulated minute
    lb2 = cast(Backend, Busier(SimulatedDirector(seed=1, clock=clock), clock, f"{WEB}>{quick}", 5,
                               clock.now + 300))
    code = run_pair("drain", lb1, {"lb2": lb2}, tmp_path, quick, "--yes", "--wait", "--json",
                    "--interval", "10", clock=clock)
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    progress = [line for line in lines if "active" in line]
    lone = [line for line in progress if line["active"] == 5]  # lb1 drained, lb2 still busy
    assert lone and min(line["elapsed"] for line in lone) < 300 <= progress[-1]["elapsed"]
    assert {name: counts["active"] for name, counts in lone[0]["directors"].items()} == {"local": 0, "lb2": 5}
    assert progress[-1]["drained"] is True and lines[-1] == {"result": "drained", "removed": []}
    assert weights(lb1)[f"{WEB}>{quick}"] == weights(lb2)[f"{WEB}>{quick}"] == 0


def test_undrain_on_a_pair_brings_each_back_to_what_that_director_remembers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lb1, lb2 = SimulatedDirector(seed=1), SimulatedDirector(seed=1)
    lb2.edit_dest(WEB, dest_key(RS), DestEdit(weight=0))  # drained there by another: no weight known here
    assert run_pair("undrain", lb1, {"lb2": lb2}, tmp_path, RS, "--yes") == 2
    assert "director lb2: no weight from before the drain is recorded for" in capsys.readouterr().err
    assert run_pair("undrain", lb1, {"lb2": lb2}, tmp_path, RS, "--weight", "4", "--yes", "--json") == 0
    said = json.loads(capsys.readouterr().out)
    assert said["by_director"] == {
        "lb2": ["ipvsadm -e -t 192.0.2.10:80 -r 198.51.100.11:8080 -m -w 4 -x 1500 -y 1200"]}
    assert weights(lb2)[f"{WEB}>{RS}"] == 4 and weights(lb1)[f"{WEB}>{RS}"] == 3  # lb1 was not drained


def dest_key(text: str) -> DestKey:
    return DestKey(*parse_host_port(text))


class Tuned:
    """A director whose agent says it runs with `values` as its net.ipv4.vs sysctls."""

    def __init__(self, inner: Backend, values: dict[str, int]) -> None:
        self.inner, self.values = inner, values

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def sysctls(self) -> Sysctls:
        return Sysctls(self.values)


def test_each_directors_plan_is_warned_of_by_that_directors_own_sysctls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tunnelled = "203.0.113.41:8080"  # a TUN real server of the demo table
    lb2 = cast(Backend, Tuned(SimulatedDirector(seed=1), {"conn_reuse_mode": 3}))
    assert run_pair("weight", SimulatedDirector(seed=1), {"lb2": lb2}, tmp_path, tunnelled, "0", "--yes") == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "conn_reuse_mode" in line]
    assert warned == ["lvs-top weight: warning: director local: net.ipv4.vs.conn_reuse_mode=1 with DR or TUN "
                      "forwarding: the director sees those connections end in FIN_WAIT, and a client that "
                      "reuses the port of one within its FIN timeout (120 s by default) still reaches the "
                      "drained server; set net.ipv4.vs.conn_reuse_mode=3."]


def test_summed_adds_the_counts_keeps_the_highest_weight_and_every_server() -> None:
    one = SimulatedDirector(seed=1).snapshot()
    web = one.service(WEB)
    assert web is not None
    other = replace(one, services=(replace(web, dests=(replace(web.dests[0], weight=9, active_conns=2,
                                                                inactive_conns=1, persistent_conns=4),)),))
    total = summed([one, other])
    first, added = web.dests[0], total.service(WEB).dests[0]  # type: ignore[union-attr]
    assert (added.weight, added.active_conns, added.inactive_conns, added.persistent_conns) == (
        9, first.active_conns + 2, first.inactive_conns + 1, first.persistent_conns + 4)
    assert [service.key for service in total.services] == [service.key for service in one.services]
    assert total.service(WEB).dests[1:] == web.dests[1:]  # type: ignore[union-attr]


def test_a_director_that_cannot_be_read_while_waiting_is_named() -> None:
    class Gone:
        def snapshot(self) -> Snapshot:
            raise IpvsError("IPVS is not available in this kernel.")

    with pytest.raises(IpvsError, match=r"^director lb2: IPVS is not available in this kernel\.$"):
        SummedDirectors([("lb1", SimulatedDirector(seed=1)), ("lb2", Gone())]).snapshot()  # type: ignore[list-item]


def test_a_wait_goes_on_past_a_poll_that_failed(capsys: pytest.CaptureFixture[str]) -> None:
    from lvs_tui.cli import drainwatch
    from lvs_tui.ops.changes import DrainStart

    clock = Clock()
    sim = SimulatedDirector(seed=1, clock=clock)
    polls = {"n": 0}

    class Flaky:
        def snapshot(self) -> Snapshot:
            polls["n"] += 1
            if polls["n"] == 2:
                raise IpvsError("director lb2: no answer within 60 s")
            return sim.snapshot()

    sim.edit_dest(WEB, dest_key("198.51.100.13:8080"), DestEdit(weight=0))
    web = sim.snapshot().service(WEB)
    assert web is not None
    dest = next(dest for dest in web.dests if dest.address == "198.51.100.13")
    said: list[str] = []
    options = drainwatch.WaitOptions(10, None, False, None, clock, clock.sleep, said.append)
    outcome = drainwatch.follow(Flaky(), [(web, dest)], [DrainStart(WEB, dest.key, 1)], options,
                                drainwatch.JsonLines())
    assert outcome.drained and said == ["director lb2: no answer within 60 s (still waiting)"]
    assert polls["n"] > 2


@pytest.mark.parametrize(("argv", "said"), [
    (["drain", RS, "--ssh-command", "ssh -p 2"],
     "--ssh-command says how --director reaches an ssh destination"),
    (["undrain", RS, "--slow-start", "10", "--director", "local", "--director", "lb2"],
     "--slow-start ramps one director's weights"),
    (["weight", RS, "3", "--director", "lb2", "--director", "lb2"], "director lb2 is given twice"),
    (["drain", RS, "--director=-oProxyCommand=x"], "is not a director's name"),
])
def test_a_director_option_that_cannot_be_used_is_one_sentence(argv: list[str], said: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert said in capsys.readouterr().err


def test_an_ssh_destination_changed_by_a_command_starts_its_agent_without_read_only() -> None:
    _, args = parse(["drain", RS, "--director", "lb2"])
    assert args.directors[0].command[-2:] == ("lvs-top", "agent")
    _, args = parse(["drain", RS, "--director", "lb2", "--read-only"])
    assert args.directors[0].command[-1] == "--read-only"


def test_end_to_end_each_agent_journals_its_own_change_and_a_refusal_puts_this_host_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local = tmp_path / "local.jsonl"
    common = ["--demo", "--journal", str(local), "--drain-records", str(tmp_path / "d.json"), "--yes"]
    lb2 = f"lb2={AGENT} --journal {tmp_path / 'lb2.jsonl'}"
    assert main(["drain", RS, *common, "--director", "local", "--director", lb2, "--json"]) == 0
    said = json.loads(capsys.readouterr().out)
    assert said["result"] == "weights-set" and set(said["by_director"]) == {"local", "lb2"}
    assert said["changed"] == [f"ipvsadm -e -t 192.0.2.10:80 -r {RS} -m -w 0 -x 1500 -y 1200"] * 2
    there = list(outcomes(Journal(tmp_path / "lb2.jsonl").entries()))
    assert [(entry["target"], entry["after"]["weight"], entry["cause"]) for entry in there] == [
        (f"{WEB}>{RS}", 0, "asked through lvs-top agent")]
    blocked = f"lb3={AGENT} --journal {tmp_path / 'file' / 'lb3.jsonl'}"
    (tmp_path / "file").write_text("")
    assert main(["weight", RS, "7", *common, "--director", "local", "--director", blocked]) == 1
    err = capsys.readouterr().err
    assert ("director lb3 refused a change; what was made on local was undone: every director is as it "
            "was.") in err
    assert [entry["action"] for entry in outcomes(Journal(local).entries())][-2:] == ["edit_dest", "rollback"]
