"""Changes to a pair of directors on real kernels: this VM's table and a second director's
namespace, both through their agents. A director that refuses leaves both as they were; a read-only
agent refuses every write it is sent. (A drain of a pair under traffic, and a failover in the middle
of it: test_pair_failover.)"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernel.lab import lvs_top
from tests.kernel.lab.commands import ipvsadm, ipvsadm_lines, sh
from tests.kernel.lab.journal import settled
from tests.kernel.lab.topology import REAL_SERVERS, SLOW_HTTP_PORT, VIP

pytestmark = pytest.mark.kernel

LB2 = "lvstop-lb2"
RS1 = f"{REAL_SERVERS['rs1']}:{SLOW_HTTP_PORT}"
RULES = [f"-A -t {VIP}:80 -s rr", f"-a -t {VIP}:80 -r {RS1} -m -w 2",
         f"-a -t {VIP}:80 -r {REAL_SERVERS['rs2']}:{SLOW_HTTP_PORT} -m -w 1"]
AGENT = f"{sys.executable} -m lvs_tui agent"


@pytest.fixture
def pair(clean_table: None) -> Iterator[None]:
    """The NAT lab's table here, and the same table in a second director's namespace."""
    try:
        sh("ip", "netns", "add", LB2)
        sh("ip", "-n", LB2, "link", "set", "lo", "up")  # IPv4 real servers need an address there
        ipvsadm_lines(RULES)
        ipvsadm_lines(RULES, netns=LB2)
        yield
    finally:
        sh("ip", "netns", "del", LB2, check=False)


def saved(netns: str | None = None) -> list[str]:
    return sorted(ipvsadm("-Sn", netns=netns).stdout.splitlines())


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
