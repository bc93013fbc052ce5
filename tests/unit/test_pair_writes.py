"""The agent's writes: a real server change as a request and back into the same change on the
agent's table, the agent journaling it there (or refusing it whole when read-only or unjournaled),
and a RemoteBackend sending it to a real agent process."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from lvs_tui.directors.agent import CAUSE, Agent
from lvs_tui.directors.remote import DirectorUnreachable, RemoteBackend
from lvs_tui.directors.specs import DirectorSpec
from lvs_tui.directors.writes import WriteRequestError, add_request, change_of, delete_request, edit_request
from lvs_tui.ipvs.backend import DestConfig, DestEdit
from lvs_tui.ipvs.errors import InvalidArgument
from lvs_tui.ipvs.readonly import ReadOnly
from lvs_tui.model.records import DestKey, Forward, ServiceKey, Tunnel, TunnelType
from lvs_tui.ops import changes
from lvs_tui.ops.journal import INTENDED, Journal, drained_weights
from lvs_tui.sim.director import SimulatedDirector
from tests.unit.maintenance_runs import weights

pytestmark = pytest.mark.unit

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
GUE = ServiceKey.inet("tcp", "192.0.2.20", 8080)  # the demo's tunnelled service
RS = DestKey("198.51.100.11", 8080)
AGENT = (sys.executable, "-m", "lvs_tui", "agent", "--demo")


def sent(request: dict[str, object]) -> dict[str, object]:
    """`request` as the agent reads it: through JSON."""
    return json.loads(json.dumps(request))  # type: ignore[no-any-return]


@pytest.mark.parametrize(("service", "dest", "edit"), [
    (WEB, RS, DestEdit(weight=0)),
    (WEB, RS, DestEdit(None, None, 7, 100, 10)),
    (ServiceKey.inet("tcp", "192.0.2.25", 25), DestKey("203.0.113.61", 25),
     DestEdit(Forward.ROUTE, weight=5)),
    (GUE, DestKey("203.0.113.43", 8080),
     DestEdit(Forward.TUNNEL, Tunnel(TunnelType.GUE, 6081, ("csum",)), 4)),
    (GUE, DestKey("203.0.113.41", 8080), DestEdit(Forward.MASQ, weight=2)),
])
def test_an_edit_request_is_the_same_change_on_the_agents_table(service: ServiceKey, dest: DestKey,
                                                                 edit: DestEdit) -> None:
    table = SimulatedDirector(seed=1).snapshot()
    found = table.service(service)
    server = None if found is None else found.dest(dest)
    assert server is not None
    here = changes.edit_dest(service, server, edit)
    there = change_of(sent(edit_request(service, dest, edit)), table.service)
    assert (there.action, there.target, there.command.display, there.before, there.after) == \
        (here.action, here.target, here.command.display, here.before, here.after)
    assert [undo.command.display for undo in there.undo] == [undo.command.display for undo in here.undo]


def test_an_add_and_a_delete_request_are_the_same_changes_on_the_agents_table() -> None:
    table = SimulatedDirector(seed=1).snapshot()
    tunnel = Tunnel(TunnelType.GUE, 6080, ("nocsum",))
    config = DestConfig("203.0.113.44", 8080, Forward.TUNNEL, tunnel, 3, 9, 2)
    added = change_of(sent(add_request(GUE, config)), table.service)
    assert added.command.display == changes.add_dest(GUE, config).command.display
    assert added.after == config.json()
    web = table.service(WEB)
    server = None if web is None else web.dest(RS)
    assert server is not None
    removed = change_of(sent(delete_request(WEB, RS)), table.service)
    assert (removed.command.display, removed.before) == \
        (changes.delete_dest(WEB, server).command.display, changes.delete_dest(WEB, server).before)


@pytest.mark.parametrize(("request_", "said"), [
    ({"op": "edit_dest", "service": WEB.id, "dest": RS.id, "edit": {"weigth": 0}},
     "the edit_dest request cannot be read (no field 'weigth' in a real server's settings)"),
    ({"op": "edit_dest", "service": WEB.id, "dest": RS.id, "edit": {"weight": True}},
     "the edit_dest request cannot be read (True is not a whole number)"),
    ({"op": "edit_dest", "service": WEB.id, "dest": RS.id}, "the edit_dest request cannot be read ('edit')"),
    ({"op": "edit_dest", "service": "tcp:192.0.2.10", "dest": RS.id, "edit": {}},
     "the edit_dest request cannot be read ("),
    ({"op": "delete_dest", "service": WEB.id, "dest": 7},
     "the delete_dest request cannot be read (dest is not"),
    ({"op": "snapshot", "service": WEB.id, "dest": RS.id}, "'snapshot' is not a write"),
])
def test_a_write_request_that_is_not_a_change_is_one_sentence(request_: dict[str, object], said: str) -> None:
    with pytest.raises(WriteRequestError) as caught:
        change_of(request_, SimulatedDirector(seed=1).snapshot().service)
    assert str(caught.value).startswith(said)


@pytest.mark.parametrize(("request_", "said"), [
    (edit_request(WEB, RS, DestEdit(weight=-1)), "the weight must be between 0 and 2147483647"),
    (edit_request(WEB, DestKey("10.9.9.9", 80), DestEdit(weight=1)),
     "real server 10.9.9.9:80 is not in service tcp:192.0.2.10:80 on this director."),
    (delete_request(ServiceKey.inet("tcp", "10.9.9.9", 80), RS),
     "service tcp:10.9.9.9:80 is not in this director's table."),
])
def test_a_change_the_agents_table_cannot_take_names_the_object(request_: dict[str, object],
                                                                said: str) -> None:
    with pytest.raises(InvalidArgument, match=said.replace("(", r"\(")):
        change_of(sent(request_), SimulatedDirector(seed=1).snapshot().service)


def exchange(agent: Agent, read_only: bool, *requests: dict[str, object]) -> list[dict[str, object]]:
    answers = io.BytesIO()
    asked = io.BytesIO(b"".join(json.dumps(request).encode() + b"\n" for request in requests))
    agent.serve("lb2", read_only, "0.1.0", asked, answers)
    return [json.loads(line) for line in answers.getvalue().splitlines()[1:]]


def test_the_agent_journals_a_write_on_its_director_before_making_it(tmp_path: Path) -> None:
    sim = SimulatedDirector(seed=1)
    journal = Journal(tmp_path / "journal.jsonl")
    drain = {"id": 1, **edit_request(WEB, RS, DestEdit(weight=0))}
    answers = exchange(Agent(lambda: sim, journal), False, drain)
    made = "ipvsadm -e -t 192.0.2.10:80 -r 198.51.100.11:8080 -m -w 0 -x 1500 -y 1200"
    assert answers == [{"id": 1, "ok": True, "command": made}]
    assert weights(sim)[f"{WEB}>{RS}"] == 0
    entries = list(journal.entries())
    assert [(e["action"], e["result"], e["cause"], e["before"]["weight"]) for e in entries] == [
        ("edit_dest", INTENDED, CAUSE, 3), ("edit_dest", "ok", CAUSE, 3)]
    assert drained_weights(journal.entries()) == {f"{WEB}>{RS}": 3}  # undrain on that director knows it


def test_a_read_only_or_unjournaled_agent_refuses_every_write_and_changes_nothing(tmp_path: Path) -> None:
    sim = SimulatedDirector(seed=1)
    before = weights(sim)
    journal = Journal(tmp_path / "journal.jsonl")
    writes = [{"id": 1, **edit_request(WEB, RS, DestEdit(weight=0))}, {"id": 2, **delete_request(WEB, RS)},
              {"id": 3, **add_request(WEB, DestConfig("198.51.100.19", 8080))}]
    refused = exchange(Agent(lambda: sim, journal), True, *writes)
    assert [answer["error"] for answer in refused] == [
        f"director lb2's agent is read-only (--read-only): the {op} was not made."
        for op in ("edit_dest", "delete_dest", "add_dest")]
    unwritable = Journal(tmp_path / "not-a-directory" / "journal.jsonl")
    (tmp_path / "not-a-directory").write_text("")
    refused = exchange(Agent(lambda: sim, unwritable), False, *writes)
    assert all(answer["ok"] is False and "cannot be written" in str(answer["error"]) for answer in refused)
    assert weights(sim) == before and not journal.path.exists()


def test_the_agent_says_the_weights_from_before_its_directors_drains() -> None:
    agent = Agent(SimulatedDirector, None, lambda: {f"{WEB}>{RS}": 3})
    answers = exchange(agent, True, {"id": 1, "op": "drained"})
    assert answers == [{"id": 1, "ok": True, "drained": {f"{WEB}>{RS}": 3}}]


def test_a_journal_entry_of_another_director_is_not_this_ones_drain(tmp_path: Path) -> None:
    from lvs_tui.ops.journal import Entry

    journal = Journal(tmp_path / "journal.jsonl")
    journal.append(Entry("edit_dest", f"{WEB}>{RS}", "ipvsadm -e ...", {"weight": 3}, {"weight": 0}, "ok",
                         None, "lb2"))
    assert drained_weights(journal.entries()) == {}
    assert next(journal.entries())["director"] == "lb2"


def remote(*agent_args: str, writes: bool = True) -> RemoteBackend:
    return RemoteBackend(DirectorSpec("lb2", (*AGENT, *agent_args)), timeout=20, writes=writes)


def test_a_remote_backend_changes_its_directors_real_server_through_the_agent(tmp_path: Path) -> None:
    backend = remote("--journal", str(tmp_path / "lb2.jsonl"))
    try:
        backend.edit_dest(WEB, RS, DestEdit(weight=0))
        assert weights(backend)[f"{WEB}>{RS}"] == 0  # the same agent process: its table
        backend.delete_dest(WEB, RS)
        assert f"{WEB}>{RS}" not in weights(backend)
        backend.add_dest(WEB, DestConfig(RS.address, RS.port, weight=3, upper_threshold=1500))
        assert weights(backend)[f"{WEB}>{RS}"] == 3
        assert backend.drained_weights() == {}  # back at weight 3: no longer drained
    finally:
        backend.close()
    results = [(e["action"], e["result"]) for e in Journal(tmp_path / "lb2.jsonl").entries()]
    assert results == [(action, result) for action in ("edit_dest", "delete_dest", "add_dest")
                       for result in (INTENDED, "ok")]


def test_a_remote_backend_refuses_writes_to_a_read_only_agent_or_a_read_only_session(tmp_path: Path) -> None:
    backend = remote("--read-only", "--journal", str(tmp_path / "lb2.jsonl"))
    try:
        with pytest.raises(ReadOnly, match=r"^director lb2: its agent is read-only .*: editing real server "):
            backend.edit_dest(WEB, RS, DestEdit(weight=0))
        assert weights(backend)[f"{WEB}>{RS}"] == 3
        assert backend.read_only is not None
    finally:
        backend.close()
    session = remote(writes=False)
    with pytest.raises(ReadOnly, match="which only reads"):
        session.delete_dest(WEB, RS)
    with pytest.raises(ReadOnly, match="only its real servers are changed through its agent"):
        remote().delete_service(WEB)
    assert not (tmp_path / "lb2.jsonl").exists()


def test_a_link_that_breaks_during_a_write_says_the_change_may_have_been_made() -> None:
    hello = json.dumps({"protocol": "lvs-top-agent", "version": 3, "director": "lb2", "read_only": False})
    script = f"import sys; print({hello!r}, flush=True); sys.stdin.readline(); sys.exit(3)"
    backend = RemoteBackend(DirectorSpec("lb2", (sys.executable, "-c", script)), timeout=10, writes=True)
    with pytest.raises(DirectorUnreachable) as caught:
        backend.edit_dest(WEB, RS, DestEdit(weight=0))
    backend.close()
    assert str(caught.value).startswith("director lb2: its agent ended before it answered (exit 3)")
    assert str(caught.value).endswith("editing real server 198.51.100.11:8080 of tcp:192.0.2.10:80 may or "
                                      "may not have been made there; look with ipvsadm -Ln on lb2.")


def test_the_agent_and_a_remote_backend_give_the_directors_sysctls() -> None:
    from lvs_tui.ops.sysctl import Sysctls

    agent = Agent(SimulatedDirector, None, None, lambda: Sysctls({"conn_reuse_mode": 3}))
    assert exchange(agent, True, {"id": 1, "op": "sysctls"}) == [
        {"id": 1, "ok": True, "sysctls": {"conn_reuse_mode": 3}}]
    backend = remote(writes=False)
    try:
        assert backend.sysctls().get("conn_reuse_mode", -1) == 1  # the demo's: a kernel's defaults
    finally:
        backend.close()
