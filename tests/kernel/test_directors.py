"""Two directors, each its own network namespace with its own IPVS table: an agent in each (one
started by `ip netns exec`, one with --netns), read by `lvs-top compare` and by the agent link."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernel.lab import lvs_top
from tests.kernel.lab.commands import ipvsadm, ipvsadm_lines, sh
from tests.kernel.lab.compare import VIEWS, differences, from_ipvsadm, from_snapshot
from tests.kernel.lab.ipvsadm_listing import parse_listing
from tests.kernel.lab.tables import MIXED_RULES

pytestmark = pytest.mark.kernel

LB1, LB2 = "lvstop-lb1", "lvstop-lb2"
PYTHON = f"{sys.executable} -m lvs_tui"
# One agent through `ip netns exec` (as any command would start it), one through its own --netns.
DIRECTORS = (f"lb1={PYTHON} agent --netns {LB1}", f"lb2=ip netns exec {LB2} {PYTHON} agent")


@pytest.fixture
def pair() -> Iterator[None]:
    """Two director namespaces, each with the mixed table (tcp, udp, sctp, fwmark, IPv6; masq, route,
    tunnel; thresholds and persistence)."""
    try:
        for netns in (LB1, LB2):
            sh("ip", "netns", "add", netns)
            sh("ip", "-n", netns, "link", "set", "lo", "up")  # IPv4 real servers need an address here
            ipvsadm_lines(MIXED_RULES, netns=netns)
        yield
    finally:
        for netns in (LB1, LB2):
            sh("ip", "netns", "del", netns, check=False)


def test_an_ipv4_real_server_in_a_namespace_without_an_address_is_refused_saying_so() -> None:
    from lvs_tui.ipvs.backend import DestConfig, ServiceConfig
    from lvs_tui.ipvs.errors import InvalidArgument
    from lvs_tui.ipvs.kernel import KernelBackend
    from lvs_tui.model.records import ServiceKey

    sh("ip", "netns", "add", LB1)
    backend = KernelBackend(netns=LB1)
    try:
        web = ServiceKey.inet("tcp", "10.10.0.1", 80)
        backend.add_service(ServiceConfig(web, "wrr"))
        with pytest.raises(InvalidArgument, match=r"needs an IPv4 address of its own \(`ip link set lo up`"):
            backend.add_dest(web, DestConfig("10.20.1.2", 80))
        sh("ip", "-n", LB1, "link", "set", "lo", "up")  # 127.0.0.1: the namespace's local table exists
        backend.add_dest(web, DestConfig("10.20.1.2", 80))  # the same add, no route to it needed
        assert [dest.address for dest in backend.snapshot().services[0].dests] == ["10.20.1.2"]
    finally:
        backend.close()
        sh("ip", "netns", "del", LB1, check=False)


def ipvsadm_table(netns: str) -> dict[str, object]:
    return from_ipvsadm({view: parse_listing(ipvsadm("-Ln", "--exact", *view.split(), netns=netns).stdout)
                         for view in VIEWS})


def test_an_agent_in_each_namespace_gives_that_directors_table_as_its_ipvsadm_lists_it(pair: None) -> None:
    from lvs_tui.directors.client import AgentLink
    from lvs_tui.directors.specs import parse_director

    ipvsadm("-e", "-t", "10.10.0.1:80", "-r", "10.20.2.2:80", "-m", "-w", "9", netns=LB2)  # lb2's own
    for text, netns in zip(DIRECTORS, (LB1, LB2), strict=True):
        spec = parse_director(text)
        assert spec.command is not None
        link = AgentLink(spec.name, spec.command)
        try:
            hello = link.open()
            snapshot = link.snapshot()
        finally:
            link.close()
        assert hello["read_only"] is False and (netns == LB2 or hello["director"].endswith(f"/{LB1}"))
        assert differences(ipvsadm_table(netns), from_snapshot(snapshot), f"the agent of {netns}") == []
        assert {d.address: d.weight for s in snapshot.services for d in s.dests
                if s.key.id == "tcp:10.10.0.1:80"}["10.20.2.2"] == (9 if netns == LB2 else 2)


def test_compare_agrees_then_names_the_weight_and_the_server_that_drifted(pair: None) -> None:
    same = lvs_top.run("compare", *DIRECTORS)
    assert (same.code, same.err) == (0, ""), same.err
    services = len([rule for rule in MIXED_RULES if rule.startswith("-A")])
    dests = len([rule for rule in MIXED_RULES if rule.startswith("-a")])
    assert same.out == (f"lb1 and lb2 agree: {services} services, {dests} real servers.\n"
                        "sync daemons: lb1 none; lb2 none.\nVIPs: lb1 none; lb2 none.\n")

    ipvsadm("-e", "-t", "10.10.0.1:80", "-r", "10.20.2.2:80", "-m", "-w", "5", netns=LB2)
    ipvsadm("-d", "-t", "10.10.0.1:80", "-r", "10.20.1.2:80", netns=LB1)
    drifted = lvs_top.here("compare", *DIRECTORS)  # in this process: its agents are processes still
    assert drifted.code == 1, drifted.err
    assert drifted.out.splitlines() == [
        "lb1 and lb2 differ in 2 places:",
        "  tcp:10.10.0.1:80 -> 10.20.1.2:80: only on lb2",
        "  tcp:10.10.0.1:80 -> 10.20.2.2:80: weight 2 on lb1, 5 on lb2",
        "sync daemons: lb1 none; lb2 none.",
        "VIPs: lb1 none; lb2 none.",
    ]
    as_json = lvs_top.here("compare", *DIRECTORS, "--json")
    assert as_json.code == 1
    assert json.loads(as_json.out)["differences"][1] == {
        "service": "tcp:10.10.0.1:80", "dest": "10.20.2.2:80", "what": "weight", "left": 2, "right": 5}



def test_compare_gives_each_directors_sync_daemon_and_names_a_backup_that_ignores_the_master(
    pair: None,
) -> None:
    # The pair's segment: the master sends on one end, the backup listens on the other.
    sh("ip", "link", "add", "lvstop-a", "netns", LB1, "type", "veth", "peer", "name", "lvstop-b",
       "netns", LB2)
    for netns, link in ((LB1, "lvstop-a"), (LB2, "lvstop-b")):
        sh("ip", "-n", netns, "link", "set", link, "up")
    try:
        ipvsadm("--start-daemon", "master", "--mcast-interface", "lvstop-a", "--syncid", "5", netns=LB1)
        ipvsadm("--start-daemon", "backup", "--mcast-interface", "lvstop-b", "--syncid", "5", netns=LB2)
        for netns, state, link in ((LB1, "master", "lvstop-a"), (LB2, "backup", "lvstop-b")):
            listed = ipvsadm("-L", "--daemon", netns=netns).stdout
            assert listed.startswith(f"{state} sync daemon (mcast={link}, syncid=5"), listed

        paired = lvs_top.here("compare", *DIRECTORS)
        assert paired.code == 0, paired.out + paired.err
        assert paired.out.splitlines()[1:] == ["sync daemons: lb1 master (sync id 5, lvstop-a); lb2 backup "
                                               "(sync id 5, lvstop-b).", "VIPs: lb1 none; lb2 none."]

        ipvsadm("--stop-daemon", "backup", netns=LB2)
        ipvsadm("--start-daemon", "backup", "--mcast-interface", "lvstop-b", "--syncid", "6", netns=LB2)
        # The VIPs, as keepalived puts them on the master: both on lb1, and one of them on lb2 too.
        sh("ip", "-n", LB1, "addr", "add", "10.10.0.1/32", "dev", "lo")
        sh("ip", "-n", LB1, "addr", "add", "2001:db8::1/128", "dev", "lo", "nodad")
        sh("ip", "-n", LB2, "addr", "add", "10.10.0.1/32", "dev", "lo")
        mismatched = lvs_top.here("compare", *DIRECTORS, "--json")
        assert mismatched.code == 1, mismatched.err
        report = json.loads(mismatched.out)
        assert report["differences"] == [] and report["sync"]["lb2"] == [
            {"state": "backup", "mcast_ifn": "lvstop-b", "syncid": 6}]
        assert report["sync_problems"] == [
            "lb1's sync master sends sync id 5, lb2's backup takes only 6: it ignores what lb1 sends"]
        assert report["vips"] == {"lb1": ["10.10.0.1", "2001:db8::1"], "lb2": ["10.10.0.1"]}
        assert report["vip_problems"] == [
            "VIP 10.10.0.1 is on lb1 and lb2 at once (split brain, unless they share it by design)"]
    finally:
        ipvsadm("--stop-daemon", "master", check=False, netns=LB1)
        ipvsadm("--stop-daemon", "backup", check=False, netns=LB2)


def test_lvs_top_starts_and_stops_the_sync_daemon_as_ipvsadm_lists_it_and_names_each_refusal(
    tmp_path: Path,
) -> None:
    from lvs_tui.ipvs.errors import InvalidArgument, ObjectExists, ObjectNotFound
    from lvs_tui.ipvs.kernel import KernelBackend
    from lvs_tui.model.records import SyncDaemon
    from lvs_tui.ops import changes
    from lvs_tui.ops.journal import Journal
    from lvs_tui.ops.runner import run_plan

    sh("ip", "netns", "add", LB1)
    sh("ip", "-n", LB1, "link", "add", "lvstop-s", "type", "dummy")
    sh("ip", "-n", LB1, "link", "set", "lvstop-s", "up")
    backend = KernelBackend(netns=LB1)
    journal = Journal(tmp_path / "journal.jsonl")
    try:
        master = SyncDaemon("master", "lvstop-s", 5)
        report = run_plan(changes.plan_start_daemon(master, backend.daemons()), backend, journal)
        assert not report.failed, report.summary()
        assert ipvsadm("-L", "--daemon", netns=LB1).stdout.startswith("master sync daemon (mcast=lvstop-s, "
                                                                      "syncid=5")
        assert backend.daemons() == (master,)
        with pytest.raises(ObjectExists, match="a sync master is already running here; stop it first"):
            backend.start_daemon(SyncDaemon("master", "lvstop-s", 6))
        with pytest.raises(ObjectNotFound, match="no sync backup is running here"):
            backend.stop_daemon("backup")
        with pytest.raises(InvalidArgument, match="this network namespace has no such interface"):
            backend.start_daemon(SyncDaemon("backup", "lvstop-none", 5))
        stop = changes.plan_stop_daemon(master)
        stopped = run_plan(stop, backend, journal)
        assert not stopped.failed and ipvsadm("-L", "--daemon", netns=LB1).stdout == ""
        undo = changes.plan_undo(stop, stopped.done)
        assert undo is not None and not run_plan(undo, backend, journal, "undo").failed
        assert backend.daemons() == (master,)  # the undo started it again, as it was
    finally:
        ipvsadm("--stop-daemon", "master", check=False, netns=LB1)
        ipvsadm("--stop-daemon", "backup", check=False, netns=LB1)
        backend.close()
        sh("ip", "netns", "del", LB1, check=False)


def test_the_dashboard_shows_another_directors_table_through_its_agent(pair: None) -> None:
    from textual.widgets import Static

    from lvs_tui.ui.grid import Grid
    from tests.kernel.lab import dashboard

    ipvsadm("-e", "-t", "10.10.0.1:80", "-r", "10.20.2.2:80", "-m", "-w", "9", netns=LB2)  # lb2's own

    async def shown() -> tuple[int, dict[str, list[str]], str]:
        app = dashboard.app("--director", DIRECTORS[1])
        async with dashboard.driven(app, (160, 40)) as pilot:
            services = app.query_one("#services", Grid)
            for _ in range(1200):
                if services.row_count:
                    break
                await asyncio.sleep(0.1)
            names = [services.render_line(i + 1).text.split()[:2] for i in range(services.row_count)]
            services.focus()
            for _ in range(names.index(["TCP", "10.10.0.1:80"])):
                await pilot.press("down")
            await pilot.pause()
            dests = app.query_one("#dests", Grid)
            rows = [dests.render_line(i + 1).text.split() for i in range(dests.row_count)]
            status = str(app.query_one("#status-line", Static).render())
            return services.row_count, {words[0]: words for words in rows}, status

    count, dests, status = asyncio.run(shown())
    assert count == len([rule for rule in MIXED_RULES if rule.startswith("-A")])
    # tcp:10.10.0.1:80 selected: its real servers with lb2's weights.
    assert {address: words[2] for address, words in dests.items()} == {
        "10.20.1.2:80": "1", "10.20.2.2:80": "9", "10.20.3.2:80": "3"}
    assert status.startswith("read-only director lb2"), status
