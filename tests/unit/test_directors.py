"""The agent, its protocol and the link to it, and `lvs-top compare` over real agent processes."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from lvs_tui.cli import main
from lvs_tui.directors.agent import Agent
from lvs_tui.directors.client import AgentLink, DirectorError
from lvs_tui.directors.protocol import MAX_REQUEST
from lvs_tui.directors.remote import DirectorUnreachable
from lvs_tui.directors.specs import DirectorSpec, parse_director
from lvs_tui.ipvs.backend import Backend
from lvs_tui.ipvs.errors import IpvsError, IpvsUnavailable
from lvs_tui.model.export import FormError, snapshot_json, snapshot_of_json
from lvs_tui.model.records import Snapshot
from lvs_tui.sim.director import SimulatedDirector

pytestmark = pytest.mark.unit

AGENT = (sys.executable, "-m", "lvs_tui", "agent")


def exchange(agent: Agent, requests: bytes) -> list[dict[str, object]]:
    answers = io.BytesIO()
    agent.serve("lb1", True, "0.1.0", io.BytesIO(requests), answers)
    return [json.loads(line) for line in answers.getvalue().splitlines()]


def test_a_snapshot_survives_its_json_form() -> None:
    snapshot = SimulatedDirector(seed=2).snapshot()
    back = snapshot_of_json(json.loads(json.dumps(snapshot_json(snapshot))))
    assert back.services == snapshot.services and back.info == snapshot.info
    assert sum(len(service.dests) for service in back.services) > 10


@pytest.mark.parametrize(("spoil", "said"), [
    (lambda data: data.update(schema=2), "schema 2, not 1"),
    (lambda data: data.pop("services"), "no 'services'"),
    (lambda data: data["services"][0]["dests"][0].update(weight=-1), "a whole number was expected, not -1"),
    (lambda data: data["services"][0].update(port=True), "a whole number was expected, not True"),
    (lambda data: data["services"][0].update(family="ipv5"), "'ipv5' is not a valid Family"),
    (lambda data: data.update(services={}), "a list was expected, not dict"),
])
def test_json_that_is_not_a_snapshot_is_one_sentence(spoil: object, said: str) -> None:
    data = snapshot_json(SimulatedDirector(seed=2).snapshot())
    spoil(data)  # type: ignore[operator]
    with pytest.raises(FormError, match="^" + said.replace("(", r"\(")):
        snapshot_of_json(data)


def test_the_agent_says_hello_answers_each_request_and_goes_on_after_bad_ones() -> None:
    sim = SimulatedDirector(seed=2)
    answers = exchange(Agent(lambda: sim), b'{"id": 1, "op": "snapshot"}\n\n{"id": 2, "op": "drop"}\n'
                       b"not json\n" + b"x" * (MAX_REQUEST + 10) + b'\n{"id": 3, "op": "snapshot"}\n')
    assert answers[0] == {"protocol": "lvs-top-agent", "version": 3, "director": "lb1", "read_only": True,
                          "lvs_top": "0.1.0"}
    assert [(a["id"], a["ok"]) for a in answers[1:]] == [(1, True), (2, False), (None, False), (None, False),
                                                         (3, True)]
    assert answers[2]["error"] == ("no operation 'drop': this agent knows snapshot, daemons, drained, "
                                   "sysctls, addresses, edit_dest, add_dest, delete_dest")
    assert str(answers[4]["error"]).startswith("a request is at most")
    assert snapshot_of_json(answers[5]["snapshot"]).services == sim.snapshot().services


def test_an_agent_without_ipvs_answers_why_and_reads_once_ipvs_is_there() -> None:
    opened: list[Backend] = []

    def open_backend() -> Backend:
        if not opened:
            opened.append(SimulatedDirector(seed=2))
            raise IpvsUnavailable("IPVS is not available in this kernel: load it with `modprobe ip_vs`.")
        return opened[0]

    answers = exchange(Agent(open_backend), b'{"id": 1, "op": "snapshot"}\n{"id": 2, "op": "snapshot"}\n')
    assert answers[1] == {"id": 1, "ok": False,
                          "error": "IPVS is not available in this kernel: load it with `modprobe ip_vs`."}
    assert answers[2]["ok"] is True


@pytest.mark.parametrize(("text", "spec"), [
    ("local", DirectorSpec("local", None)),
    ("lb2", DirectorSpec("lb2", ("ssh", "-T", "--", "lb2", "lvs-top", "agent", "--read-only"))),
    ("admin@lb2.example.net", DirectorSpec("admin@lb2.example.net", (
        "ssh", "-T", "--", "admin@lb2.example.net", "lvs-top", "agent", "--read-only"))),
    ("lb2=ip netns exec lb2 lvs-top agent", DirectorSpec("lb2", ("ip", "netns", "exec", "lb2", "lvs-top",
                                                                  "agent"))),
    ("b='my agent' --x 'a b'", DirectorSpec("b", ("my agent", "--x", "a b"))),
])
def test_a_director_is_local_an_ssh_destination_or_a_named_command(text: str, spec: DirectorSpec) -> None:
    assert parse_director(text) == spec


@pytest.mark.parametrize(("text", "said"), [
    ("-oProxyCommand=touch x", "'-oProxyCommand' is not a director's name"),
    ("-oProxyCommand", "'-oProxyCommand' is not a director"),
    ("lb 2", "'lb 2' is not a director"),
    ("lb2\x1b[2J", "is not a director"),
    ("lb2=", "director lb2 has no command"),
    ("lb2='unclosed", "the command of director lb2 cannot be split into words"),
])
def test_a_director_that_could_inject_an_option_or_a_word_is_refused(text: str, said: str) -> None:
    with pytest.raises(ValueError, match=said.replace("[", r"\[")):
        parse_director(text)


def test_the_ssh_command_is_split_into_words_never_given_to_a_shell() -> None:
    assert parse_director("lb2", "ssh -p 2222 -o 'IdentityFile /k ey'").command == (
        "ssh", "-p", "2222", "-o", "IdentityFile /k ey", "-T", "--", "lb2", "lvs-top", "agent", "--read-only")


def test_a_link_reads_the_table_of_an_agent_process() -> None:
    link = AgentLink("lb1", (*AGENT, "--demo", "--name", "lb1"))
    try:
        assert link.open()["director"] == "lb1"
        assert link.snapshot().services == SimulatedDirector(seed=1).snapshot().services
        assert link.snapshot().services  # a second request on the same process
    finally:
        link.close()


@pytest.mark.parametrize(("command", "said"), [
    ((sys.executable, "-c", "import sys; print('Permission denied (publickey).', file=sys.stderr); "
                            "sys.exit(255)"),
     "director lb2: its agent ended before it answered (exit 255: Permission denied (publickey).)"),
    (("echo", "hello"), "director lb2: not a JSON line: b'hello'"),
    (("echo", '{"protocol": "lvs-top-agent", "version": 9}'),
     "director lb2: it speaks version 9 of the protocol, this lvs-top version 3: run the same lvs-top on "
     "both"),
    (("no-such-command-here",),
     "director lb2: cannot start 'no-such-command-here' (No such file or directory)"),
    ((sys.executable, "-c", "import time; time.sleep(30)"), "director lb2: no answer within 1 s"),
])
def test_a_director_that_cannot_be_read_is_one_sentence_naming_it(command: tuple[str, ...],
                                                                  said: str) -> None:
    link = AgentLink("lb2", command, timeout=1, connect_timeout=1)
    try:
        with pytest.raises(DirectorError) as caught:
            link.open()
            link.snapshot()
    finally:
        link.close()
    assert str(caught.value).startswith(said)


def test_compare_exits_0_when_two_directors_agree_and_1_naming_each_difference(
    capsys: pytest.CaptureFixture[str],
) -> None:
    agent = " ".join(AGENT)
    assert main(["compare", f"lb1={agent} --demo-size 3x2", f"lb2={agent} --demo-size 3x2"]) == 0
    assert capsys.readouterr().out == ("lb1 and lb2 agree: 3 services, 6 real servers.\n"
                                       "sync daemons: lb1 none; lb2 none.\nVIPs: lb1 none; lb2 none.\n")
    # The demo's director runs a sync master and holds its VIPs: two of them, and no backup.
    assert main(["compare", f"lb1={agent} --demo", f"lb2={agent} --demo --seed 5"]) == 1
    vips = "192.0.2.10, 192.0.2.20, 192.0.2.25, 192.0.2.53, 2001:db8::80"
    assert capsys.readouterr().out.splitlines() == [
        "lb1 and lb2 agree: 7 services, 19 real servers.",
        "sync daemons: lb1 master (sync id 1, eth1); lb2 master (sync id 1, eth1).",
        "  lb2 runs no sync backup for lb1's master: the connections lb1 holds are lost if lb2 takes over",
        "  lb1 runs no sync backup for lb2's master: the connections lb2 holds are lost if lb1 takes over",
        f"VIPs: lb1 {vips}; lb2 {vips}.",
        *(f"  VIP {vip} is on lb1 and lb2 at once (split brain, unless they share it by design)"
          for vip in vips.split(", "))]
    assert main(["compare", f"lb1={agent} --demo-size 2x2", f"lb2={agent} --demo-size 3x1", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["left"], report["right"], report["same"]) == ("lb1", "lb2", False)
    assert {(d["dest"], d["what"], d["left"], d["right"]) for d in report["differences"]} >= {
        (None, "presence", False, True)}
    assert any(d["dest"] is not None and d["what"] == "presence" and d["left"] is True
               for d in report["differences"])


def test_compare_that_cannot_reach_a_director_exits_2_with_one_sentence(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["compare", f"lb1={' '.join(AGENT)} --demo", "lb2=no-such-command-here"]) == 2
    assert capsys.readouterr().err == ("lvs-top compare: director lb2: cannot start "
                                       "'no-such-command-here' (No such file or directory)\n")
    assert main(["compare", "lb1=x", "lb1=y"]) == 2
    assert "director lb1 is given twice" in capsys.readouterr().err


def test_batch_json_names_each_directors_snapshot_and_goes_on_past_one_that_fails(
    capsys: pytest.CaptureFixture[str],
) -> None:
    agent = " ".join(AGENT)
    code = main(["--batch", "--json", "-n", "2", "-d", "0", "--director", f"lb1={agent} --demo-size 1x2",
                 "--director", "lb2=no-such-command-here"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1
    assert [line["director"] for line in lines] == ["lb1", "lb2", "lb1", "lb2"]
    assert [len(line["services"]) for line in lines[::2]] == [1, 1]
    assert lines[1]["error"] == lines[3]["error"] == ("director lb2: cannot start 'no-such-command-here' "
                                                      "(No such file or directory)")


def test_a_director_that_dropped_is_read_again_once_it_is_back(tmp_path: Path) -> None:
    from lvs_tui.directors.reader import DirectorReader

    up = tmp_path / "up"
    starts = tmp_path / "starts"
    code = (f"import os, sys; open({str(starts)!r}, 'a').write('x'); os.path.exists({str(up)!r}) or "
            f"sys.exit(3); os.execv(sys.executable, [sys.executable, '-m', 'lvs_tui', 'agent', '--demo'])")
    reader = DirectorReader(DirectorSpec("lb2", (sys.executable, "-c", code)), SimulatedDirector)
    try:
        ended = r"^director lb2: its agent ended before it answered \(exit 3\)$"
        with pytest.raises(DirectorUnreachable, match=ended):
            reader.snapshot()
        up.touch()
        assert reader.snapshot().services and reader.snapshot().services
    finally:
        reader.close()
    assert starts.read_text() == "xx"  # started again after the failure, then kept


def test_an_agent_that_answers_with_an_error_is_asked_again_on_the_same_link(tmp_path: Path) -> None:
    from lvs_tui.directors.reader import DirectorReader

    starts = tmp_path / "starts"
    code = (f"import os, sys; open({str(starts)!r}, 'a').write('x'); os.execv(sys.executable, "
            "[sys.executable, '-m', 'lvs_tui', 'agent', '--netns', 'no-such-namespace-here'])")
    reader = DirectorReader(DirectorSpec("lb2", (sys.executable, "-c", code)), SimulatedDirector)
    try:
        for _ in range(2):
            with pytest.raises(IpvsError, match=r"^director lb2: .*no-such-namespace-here") as refused:
                reader.snapshot()
            assert not isinstance(refused.value, DirectorUnreachable)
    finally:
        reader.close()
    assert starts.read_text() == "x"


def test_several_directors_are_read_delay_apart_and_a_slow_first_read_is_not_made_up_in_a_burst() -> None:
    from lvs_tui.cli.batch import BatchOptions, run_directors
    from lvs_tui.directors.reader import DirectorReader

    now = [0.0]
    slept: list[float] = []

    class Slow(SimulatedDirector):
        reads = 0

        def snapshot(self, whole: object = None) -> Snapshot:
            Slow.reads += 1
            now[0] += 10.0 if Slow.reads == 1 else 0.1  # ssh's first connection, then quick reads
            return super().snapshot()

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    reader = DirectorReader(DirectorSpec("local", None), lambda: Slow(seed=1))
    out, err = io.StringIO(), io.StringIO()
    options = BatchOptions(count=4, delay=1.0, json=True)
    code = run_directors([reader], options, out, err, sleep, lambda: now[0])
    assert code == 0 and len(out.getvalue().splitlines()) == 4
    assert [round(seconds, 3) for seconds in slept] == [0.0, 0.9, 0.9]


def test_an_agent_gives_the_addresses_its_director_holds_and_a_link_reads_them() -> None:
    sim = SimulatedDirector(seed=2)
    sim.held = frozenset({"192.0.2.10", "127.0.0.1"})
    answers = exchange(Agent(lambda: sim), b'{"id": 1, "op": "addresses"}\n')
    assert answers[1] == {"id": 1, "ok": True, "addresses": ["127.0.0.1", "192.0.2.10"]}
    link = AgentLink("lb1", (*AGENT, "--demo-size", "2x1"))  # no sync master: it holds no VIP
    try:
        link.open()
        assert link.addresses() == frozenset()
    finally:
        link.close()


def test_an_agent_gives_the_sync_daemons_and_a_link_reads_them() -> None:
    from lvs_tui.model.records import SyncDaemon

    sim = SimulatedDirector(seed=2)  # the demo runs a sync master
    answers = exchange(Agent(lambda: sim), b'{"id": 1, "op": "daemons"}\n')
    master = {"state": "master", "mcast_ifn": "eth1", "syncid": 1}
    assert answers[1] == {"id": 1, "ok": True, "daemons": [master]}
    link = AgentLink("lb1", (*AGENT, "--demo"))
    try:
        link.open()
        assert link.daemons() == (SyncDaemon("master", "eth1", 1),)
    finally:
        link.close()


@pytest.mark.parametrize(("argv", "said"), [
    (["--director", "lb2=x", "--health", "checks.toml"], "--health applies to this host's table, not to "
                                                         "director lb2: add --director local to show this "
                                                         "host too, or run lvs-top there for it"),
    (["--director", "lb2=x", "--netns", "blue"], "--netns applies to this host's table"),
    (["--director", "lb2=x", "--director", "lb3=y", "--demo"], "--demo applies to this host's table"),
    (["--ssh-command", "ssh -p 2222"], "--ssh-command says how --director reaches an ssh destination"),
])
def test_a_dashboard_of_another_director_refuses_what_only_this_host_has(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(argv) == 2
    assert said in capsys.readouterr().err


def test_a_dashboard_of_several_directors_shows_them_in_order_with_this_hosts_options_on_local(
    tmp_path: Path,
) -> None:
    from lvs_tui.cli import parse
    from lvs_tui.cli.dashboard import app_settings
    from lvs_tui.directors.remote import RemoteBackend

    journal = tmp_path / "journal.jsonl"
    _, args = parse(["--director", "lb2=lvs-top agent --demo", "--director", "local", "--demo",
                     "--journal", str(journal)])
    settings = app_settings(args)
    assert (settings.name, settings.description) == ("lb2", "director lb2")
    # A pair's real servers are changed together: lb2's through its agent, named in this journal.
    assert settings.setup.read_only is None and settings.setup.director == "lb2"
    assert settings.setup.journal.path == journal
    remote = settings.open_backend()
    assert isinstance(remote, RemoteBackend) and remote.read_only is None
    assert settings.open_backend() is remote  # one link, kept across polls
    remote.close()
    (local,) = settings.others
    assert local.name == "local" and local.setup.read_only is None and local.setup.director is None
    assert local.setup.journal.path == journal  # --journal is this host's, shown second
    assert local.open_backend().snapshot().services  # the demo, as --demo asked for this host


def test_an_ssh_director_of_a_pair_starts_its_agent_read_only_only_when_the_dashboard_is() -> None:
    from lvs_tui.cli import parse

    _, pair = parse(["--director", "lb1.example.net", "--director", "lb2.example.net"])
    assert [spec.command[-1] for spec in pair.director] == ["agent", "agent"]
    _, read_only = parse(["--director", "lb1.example.net", "--director", "lb2.example.net", "--read-only"])
    assert [spec.command[-1] for spec in read_only.director] == ["--read-only", "--read-only"]
    _, alone = parse(["--director", "lb2.example.net"])  # one other director: shown, never changed
    assert alone.director[0].command[-1] == "--read-only"


def test_a_remote_director_refuses_every_write_without_starting_its_agent(tmp_path: Path) -> None:
    from lvs_tui.directors.remote import RemoteBackend
    from lvs_tui.ipvs.backend import DestEdit
    from lvs_tui.ipvs.readonly import ReadOnly
    from lvs_tui.model.records import DestKey, ServiceKey

    started = tmp_path / "started"
    backend = RemoteBackend(DirectorSpec("lb2", ("touch", str(started))))
    web = ServiceKey.inet("tcp", "192.0.2.10", 80)
    with pytest.raises(ReadOnly) as refused:
        backend.edit_dest(web, DestKey("10.0.0.2", 80), DestEdit(weight=0))
    assert str(refused.value) == ("director lb2 is read through its agent, which only reads: editing real "
                                  "server 10.0.0.2:80 of tcp:192.0.2.10:80 was not sent.")
    with pytest.raises(ReadOnly):
        backend.delete_service(web)
    with pytest.raises(ReadOnly):
        backend.zero()
    backend.close()
    assert not started.exists()
