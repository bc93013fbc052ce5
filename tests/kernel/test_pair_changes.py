"""Changes to a pair of directors on real kernels: this VM's table (the NAT lab's director, with
traffic) and a second director's namespace, both through their agents. A drain of the pair sets
both tables and waits for the connection on either; a director that refuses leaves both as they
were; a read-only agent refuses every write it is sent."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernel.lab import lvs_top
from tests.kernel.lab.commands import flush_connections, ipvsadm, ipvsadm_lines, sh, wait_until
from tests.kernel.lab.journal import settled
from tests.kernel.lab.topology import REAL_SERVERS, SLOW_HTTP_PORT, VIP, NatLab

pytestmark = pytest.mark.kernel

LB2 = "lvstop-lb2"
RS1 = f"{REAL_SERVERS['rs1']}:{SLOW_HTTP_PORT}"
RULES = [f"-A -t {VIP}:80 -s rr", f"-a -t {VIP}:80 -r {RS1} -m -w 2",
         f"-a -t {VIP}:80 -r {REAL_SERVERS['rs2']}:{SLOW_HTTP_PORT} -m -w 1"]
LONG = 35  # seconds the long request takes: the pair's drain lands while it is in flight
AGENT = f"{sys.executable} -m lvs_tui agent"
CAUSE = "asked through lvs-top agent"


@pytest.fixture
def pair(clean_table: None) -> Iterator[None]:
    """The NAT lab's table here, and the same table in a second director's namespace."""
    flush_connections()
    try:
        sh("ip", "netns", "add", LB2)
        sh("ip", "-n", LB2, "link", "set", "lo", "up")  # IPv4 real servers need an address there
        ipvsadm_lines(RULES)
        ipvsadm_lines(RULES, netns=LB2)
        yield
    finally:
        sh("ip", "netns", "del", LB2, check=False)
        flush_connections()


def saved(netns: str | None = None) -> list[str]:
    return sorted(ipvsadm("-Sn", netns=netns).stdout.splitlines())


def directors(tmp_path: Path, lb2_options: str = "") -> list[str]:
    """--director for this VM's table (lb1) and the namespace's (lb2), each through its agent with
    its own journal."""
    return ["--director", f"lb1={AGENT} --journal {tmp_path / 'lb1.jsonl'}",
            "--director", f"lb2=ip netns exec {LB2} {AGENT} --journal {tmp_path / 'lb2.jsonl'} {lb2_options}"]


def test_a_drain_of_the_pair_sets_both_tables_and_waits_for_the_connection_on_either(
    topology: NatLab, pair: None, tmp_path: Path
) -> None:
    rs2 = f"-a -t {VIP}:80 -r {REAL_SERVERS['rs2']}:{SLOW_HTTP_PORT} -m -w 1"
    ipvsadm("-d", "-t", f"{VIP}:80", "-r", f"{REAL_SERVERS['rs2']}:{SLOW_HTTP_PORT}")  # rs1 alone here first
    long_request = topology.load(path=f"/slow?s={LONG}", limit=1, timeout=LONG + 30)
    answers = []
    try:
        long_request.start()
        wait_until("the long request on rs1", lambda: _active(RS1) == 1, timeout=30)
        ipvsadm_lines([rs2])  # the same table as lb2's again
        drained = lvs_top.run("drain", RS1, *directors(tmp_path), "--yes", "--wait", "--json",
                              "--interval", "1", "--timeout", str(LONG + 90),
                              "--journal", str(tmp_path / "here.jsonl"), timeout=LONG + 150)
        ended = time.monotonic()
    finally:
        answers = long_request.stop(timeout=LONG + 30)
    assert drained.code == 0, drained.err
    lines = [json.loads(line) for line in drained.out.splitlines()]
    progress = [line for line in lines if "active" in line]
    # lb2 had no connection at all: the drain went on because of lb1's, and ended with it.
    assert progress[0]["active"] == 1 and progress[0]["drained"] is False, progress[0]
    assert progress[-1]["drained"] is True and lines[-1] == {"result": "drained", "removed": []}
    (long_answer,) = answers
    assert long_answer.server == "rs1" and not long_answer.failed  # the drain broke no connection
    assert ended >= long_answer.end  # and was not over before it ended
    assert saved() == saved(LB2)  # both tables the same again ...
    assert f"-a -t {VIP}:80 -r {RS1} -m -w 0" in saved(LB2)  # ... with rs1 drained on each
    for name in ("lb1", "lb2"):  # each director journaled its own change, before and after it
        entries = settled(tmp_path / f"{name}.jsonl")
        assert [(e["action"], e["target"], e["before"]["weight"], e["after"]["weight"], e["cause"])
                for e in entries] == [("edit_dest", f"tcp:{VIP}:80>{RS1}", 2, 0, CAUSE)]
    here = settled(tmp_path / "here.jsonl")
    assert sorted(entry["director"] for entry in here) == ["lb1", "lb2"]


def _active(server: str) -> int:
    for line in ipvsadm("-Ln").stdout.splitlines():
        words = line.split()
        if len(words) == 6 and words[1] == server:
            return int(words[4])
    return -1


def test_a_director_that_refuses_leaves_both_as_they_were(pair: None, tmp_path: Path) -> None:
    before = saved()
    (tmp_path / "file").write_text("")  # lb2's journal cannot be made under a file, as on a full disk
    lb1 = f"lb1={AGENT} --journal {tmp_path / 'lb1.jsonl'}"
    lb2 = f"lb2=ip netns exec {LB2} {AGENT} --journal {tmp_path / 'file' / 'j'}"
    refused = lvs_top.here("weight", RS1, "5", "--yes", "--director", lb1, "--director", lb2,
                           "--journal", str(tmp_path / "here.jsonl"))
    assert refused.code == 1, refused.out + refused.err
    assert ("director lb2 refused a change; what was made on lb1 was undone: every director is as it was."
            in refused.err)
    assert saved() == before == saved(LB2)
    weights = [(e["before"]["weight"], e["after"]["weight"]) for e in settled(tmp_path / "lb1.jsonl")]
    assert weights == [(2, 5), (5, 2)]  # made there, then undone there, each journaled by lb1's agent


def test_a_read_only_agent_refuses_every_write_it_is_sent(pair: None) -> None:
    from lvs_tui.directors.client import AgentLink, AgentRefused
    from lvs_tui.directors.specs import parse_director
    from lvs_tui.directors.writes import add_request, delete_request, edit_request
    from lvs_tui.ipvs.backend import DestConfig, DestEdit
    from lvs_tui.model.records import DestKey, ServiceKey

    before = saved(LB2)
    spec = parse_director(f"lb2=ip netns exec {LB2} {AGENT} --read-only")
    assert spec.command is not None
    web, rs1 = ServiceKey.inet("tcp", VIP, 80), DestKey(REAL_SERVERS["rs1"], SLOW_HTTP_PORT)
    link = AgentLink("lb2", spec.command)
    try:
        assert link.open()["read_only"] is True
        for request in (edit_request(web, rs1, DestEdit(weight=0)), delete_request(web, rs1),
                        add_request(web, DestConfig("10.20.3.2", SLOW_HTTP_PORT))):
            op = str(request.pop("op"))
            said = rf"agent is read-only \(--read-only\): the {op} was not made"
            with pytest.raises(AgentRefused, match=said):
                link.request(op, request)
        assert [len(service.dests) for service in link.snapshot().services] == [2]
    finally:
        link.close()
    assert saved(LB2) == before
