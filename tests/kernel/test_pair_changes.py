"""Changes to a pair of directors on real kernels: this VM's table and a second director's
namespace, both through their agents. A director that refuses leaves both as they were; a read-only
agent refuses every write it is sent. (A drain of a pair under traffic, and a failover in the middle
of it: test_pair_failover.)"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def test_the_dashboard_of_a_pair_marks_its_drift_and_drains_on_both_or_on_neither(
    pair: None, tmp_path: Path,
) -> None:
    """`lvs-top --director local --director lb2=...` on this VM's table and lb2's namespace: the VIP is
    seen on the director that has it; a weight changed by hand on lb2 is marked on its rows; a drain
    confirmed once is made on both; once lb2's
    agent cannot write its journal (as on a full disk), the next drain made here is undone and both
    tables are as they were."""
    from lvs_tui.model.records import DestKey, ServiceKey
    from lvs_tui.ops.journal import Journal, outcomes
    from tests.kernel.lab import dashboard
    from tests.kernel.test_app_changes import select, shown, until

    web = ServiceKey.parse(f"tcp:{VIP}:80")
    rs2 = DestKey(REAL_SERVERS["rs2"], SLOW_HTTP_PORT)
    journal, lb2_state = tmp_path / "here.jsonl", tmp_path / "lb2"
    ipvsadm("-e", "-t", f"{VIP}:80", "-r", rs2.id, "-m", "-w", "4", netns=LB2)  # by hand, on lb2 only
    lb2 = f"lb2=ip netns exec {LB2} {AGENT} --journal {lb2_state / 'journal.jsonl'}"

    def weights() -> list[int | None]:
        return [rs1_weight(saved()), rs1_weight(saved(LB2))]

    def rolled_back() -> bool:
        return any(entry["action"] == "rollback" for entry in outcomes(Journal(journal).entries()))

    async def drain_rs1(app: Any, pilot: Any) -> None:
        await select(app, pilot, web.id, RS1)
        await pilot.press("d")
        assert (await shown(app, pilot, "#everywhere")).value  # offered for lb2 too, ticked
        await pilot.press("y")

    async def maintenance() -> tuple[set[object], list[str], list[str]]:
        app: Any = dashboard.app("--journal", str(journal), "--drain-records", str(tmp_path / "drains.json"),
                                 "--director", "local", "--director", lb2)
        async with dashboard.driven(app, (140, 40)) as pilot:
            await until(pilot, lambda: app.frame.directors is not None
                        and app.frame.directors.directors[1].drift is not None)
            marked = set(app.frame.directors.marked)
            # The VIP is on this VM's table's director (the lab routes the client through it), not lb2.
            await until(pilot, lambda: [state.holds for state in app.frame.directors.directors] == [1, 0])
            assert app.frame.directors.holders(web) == ("local",) and app.frame.directors.vip_problems == ()
            await drain_rs1(app, pilot)
            await until(pilot, lambda: weights() == [0, 0])

            lb2_state.rename(tmp_path / "lb2-journal")
            lb2_state.write_text("")  # lb2's agent cannot make its journal under a file now
            for netns in (None, LB2):
                ipvsadm("-e", "-t", f"{VIP}:80", "-r", RS1, "-m", "-w", "2", netns=netns)
            here, there = saved(), saved(LB2)
            # This dashboard polls only when asked: ask at each look.
            await until(pilot, lambda: app.request_poll() or drained_on_screen(app) == [False, False])
            await drain_rs1(app, pilot)
            await until(pilot, rolled_back)
        return marked, here, there

    marked, here, there = asyncio.run(maintenance())
    assert marked == {web, (web, rs2)}  # rs2's weight: 1 here, 4 on lb2
    assert saved() == here and saved(LB2) == there  # lb2 refused: the drain made here was undone
    made = settled(journal)
    assert [(entry.get("director"), entry["action"], entry["after"]["weight"]) for entry in made[:2]] == [
        (None, "edit_dest", 0), ("lb2", "edit_dest", 0)]
    assert [(entry.get("director"), entry["action"]) for entry in made[2:]] == [
        (None, "edit_dest"), ("lb2", "edit_dest"), (None, "rollback")]
    assert made[3]["result"] != "ok" and "journal" in made[3]["result"]  # what lb2's agent said


def drained_on_screen(app: Any) -> list[bool]:
    """Whether rs1 is at weight 0 in each director's table as the dashboard last read it (the drift
    from the one shown says what the other has)."""
    from lvs_tui.model.records import DestKey, ServiceKey

    view, snapshot = app.frame.directors, app.frame.snapshot
    service = None if snapshot is None else snapshot.service(ServiceKey.parse(f"tcp:{VIP}:80"))
    dest = None if service is None else service.dest(DestKey(REAL_SERVERS["rs1"], SLOW_HTTP_PORT))
    if dest is None or view is None or view.directors[1].drift is None:
        return []
    here = dest.weight == 0
    differs = any(d.what == "weight" and d.dest == dest.key for d in view.directors[1].drift)
    return [here, here != differs]


def rs1_weight(lines: list[str]) -> int | None:
    for line in lines:
        words = line.split()
        if "-r" in words and words[words.index("-r") + 1] == RS1:
            return int(words[words.index("-w") + 1])
    return None
