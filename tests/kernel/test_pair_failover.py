"""A failover in the middle of a pair's drain, on the DR segment of lab.modes: the director lvd
(the VIP, the IPVS sync daemon's master) and a second director lvd2 on the same bridge (the same
table, the sync daemon's backup, no VIP), steady requests from the client lvc.

`lvs-top drain --director lvd --director lvd2 --wait` drains the real server a long request is on;
once both tables have it at weight 0 and lvd2 holds the synced connection, the VIP moves to lvd2
(as keepalived moves it: the address, then a gratuitous ARP). Shown: the long request ends through
lvd2 with its answer; no request that began after the drain reaches the drained server, through
either director; the drain ends only when neither director counts a connection on it; both tables
end equal; the requests lost to the failover itself are counted apart, and none is lost elsewhere.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernel.lab import lvs_top
from tests.kernel.lab.commands import ipvsadm, ipvsadm_lines, set_sysctl, sh, wait_until
from tests.kernel.lab.journal import settled
from tests.kernel.lab.lvs_top import Run
from tests.kernel.lab.modes import CLIENT, DIRECTOR, DR_SERVERS, DR_VIP, ModesLab, director, ip
from tests.kernel.lab.traffic import Load

pytestmark = pytest.mark.kernel

BACKUP, BACKUP_IP = "lvd2", "10.30.0.3"
RULES = [f"-A -t {DR_VIP}:80 -s rr", *(f"-a -t {DR_VIP}:80 -r {address}:80 -g -w 1"
                                        for address in DR_SERVERS.values())]
SYNC_ID = "9"
LONG = 35  # seconds the long request takes: the drain lands, then the VIP moves, while it is in flight
TCP_TIMEOUT = 45  # the directors forget an idle established connection after this (the kernel's 900)
AGENT = f"{sys.executable} -m lvs_tui agent"
FAILOVER_WINDOW = 3.0  # seconds after the VIP moved in which a request may be lost to the move itself


@pytest.fixture
def pair(modes: ModesLab) -> Iterator[ModesLab]:
    """lvd2 on the bridge with lvd's DR service; the sync daemon from lvd to lvd2; shorter TCP
    timeouts on both, so that the connection lvd keeps after the failover expires within the test."""
    saved = director("-Sn").stdout
    modes.host(BACKUP, BACKUP_IP)
    try:
        set_sysctl("net.ipv4.ip_forward=1", netns=BACKUP)
        director("-C")
        ipvsadm_lines(RULES, netns=DIRECTOR)
        ipvsadm_lines(RULES, netns=BACKUP)
        for netns in (DIRECTOR, BACKUP):
            ipvsadm("--set", str(TCP_TIMEOUT), "120", "300", netns=netns)
            # A DR director sees a connection end in FIN_WAIT: without bit 2, a client port reused
            # within its 120 s goes to that connection's server, drained or not (the drain's warning).
            set_sysctl("net.ipv4.vs.conn_reuse_mode=3", netns=netns)
        director("--start-daemon", "master", "--mcast-interface", "br0", "--syncid", SYNC_ID)
        ipvsadm("--start-daemon", "backup", "--mcast-interface", "eth0", "--syncid", SYNC_ID, netns=BACKUP)
        yield modes
    finally:
        director("--stop-daemon", "master", check=False)
        director("--set", "900", "120", "300", check=False)
        set_sysctl("net.ipv4.vs.conn_reuse_mode=1", netns=DIRECTOR)
        ip(DIRECTOR, f"addr add {DR_VIP}/32 dev br0", check=False)  # back, if it moved
        modes.remove(BACKUP)
        director("-C")
        ipvsadm_lines(saved.splitlines(), netns=DIRECTOR)
        sh("ip", "-n", CLIENT, "neigh", "flush", "all", check=False)


def weight(netns: str, server: str) -> int | None:
    for line in ipvsadm("-Ln", netns=netns).stdout.splitlines():
        words = line.split()
        if len(words) == 6 and words[1] == server:
            return int(words[3])
    return None


def connections(netns: str, server: str) -> list[str]:
    """The connection entries `ipvsadm -Lnc` lists towards `server` (state and addresses)."""
    return [line for line in ipvsadm("-Lnc", netns=netns).stdout.splitlines() if f" {server} " in f"{line} "]


def busy() -> list[str]:
    """The real servers of the DR service with an established connection on lvd."""
    return [f"{address}:80" for address in DR_SERVERS.values()
            if any("ESTABLISHED" in line for line in connections(DIRECTOR, f"{address}:80"))]


def test_a_failover_in_the_middle_of_a_pairs_drain_sends_nothing_to_the_drained_server(
    pair: ModesLab, tmp_path: Path
) -> None:
    load = Load(CLIENT, DR_VIP, 80, "/", 100000, 0.05, 3.0)
    long_request = Load(CLIENT, DR_VIP, 80, f"/slow?s={LONG}", 1, 0.0, LONG + 60)
    drained_by: list[Run] = []
    drainer = None
    try:
        load.start(answers=20)
        long_request.start()
        wait_until("the long request on a real server", lambda: len(busy()) == 1, timeout=30)
        (target,) = busy()
        name = next(name for name, address in DR_SERVERS.items() if target.startswith(f"{address}:"))
        directors = [f"{netns}=ip netns exec {netns} {AGENT} --journal {tmp_path / netns}.jsonl"
                     for netns in (DIRECTOR, BACKUP)]
        args = ("drain", target, "--director", directors[0], "--director", directors[1], "--yes", "--wait",
                "--json", "--interval", "1", "--timeout", "300", "--journal", str(tmp_path / "here.jsonl"))
        # In this process, in a thread (an interpreter's start would take seconds of the long request).
        drainer = threading.Thread(target=lambda: drained_by.append(lvs_top.here(*args)), daemon=True)
        drainer.start()
        wait_until("the drain on both directors",
                   lambda: weight(DIRECTOR, target) == 0 == weight(BACKUP, target), timeout=LONG - 10,
                   step=0.2)
        drained = time.monotonic()
        wait_until("the long request's connection synced to lvd2", lambda: any(
            "ESTABLISHED" in line for line in connections(BACKUP, target)), timeout=10, step=0.2)
        assert not long_request.answers, "the long request ended before the failover: nothing to prove"
        load.wait_for(20, since=drained)  # requests through lvd after the drain

        # The failover, as keepalived makes it: the VIP leaves lvd, lvd2 takes it and says so.
        ip(DIRECTOR, f"addr del {DR_VIP}/32 dev br0")
        ip(BACKUP, f"addr add {DR_VIP}/32 dev eth0")
        failed_over = time.monotonic()
        sh("arping", "-U", "-c", "2", "-I", "eth0", DR_VIP, netns=BACKUP, check=False, timeout=30)
        load.wait_for(20, since=failed_over + FAILOVER_WINDOW)  # requests through lvd2

        drainer.join(timeout=LONG + TCP_TIMEOUT + 120)
        ended = time.monotonic()
    finally:
        answers = load.stop()
        long_answers = long_request.stop(timeout=LONG + 60)
    assert drained_by, "the drain did not end"
    (run,) = drained_by
    assert run.code == 0, run.err
    lines = [json.loads(line) for line in run.out.splitlines() if line.startswith("{")]
    assert lines[-1] == {"result": "drained", "removed": []}
    # lvd2 counted the connection the sync daemon gave it: the drain followed it there.
    where = [{name: counts["active"] for name, counts in line["directors"].items()} for line in lines[:-1]]
    print(f"active connections on each director, poll by poll: {where}")
    assert any(counts.get(BACKUP, 0) >= 1 for counts in where), where
    for netns in (DIRECTOR, BACKUP):  # each director journaled its own change, before making it
        assert [(e["action"], e["target"], e["before"]["weight"], e["after"]["weight"], e["cause"])
                for e in settled(tmp_path / f"{netns}.jsonl")] == [
            ("edit_dest", f"tcp:{DR_VIP}:80>{target}", 1, 0, "asked through lvs-top agent")]
    assert sorted(entry["director"] for entry in settled(tmp_path / "here.jsonl")) == [DIRECTOR, BACKUP]

    (long_answer,) = long_answers
    assert long_answer.server == name, "the long request did not end with its answer through lvd2"
    assert long_answer.end > failed_over and ended >= long_answer.end  # the drain waited for it
    after_drain = [answer for answer in answers if answer.start > drained]
    late = [(round(a.start - drained, 2), round(a.start - failed_over, 2))
            for a in after_drain if a.server == name]
    print(f"answered by {name} after the drain (s after the drain, after the failover): {late}")
    assert name not in {answer.server for answer in after_drain}, "the drained server answered after it"
    lost = [answer for answer in after_drain if answer.failed]
    in_failover = [answer for answer in lost
                   if failed_over - 3.0 <= answer.start <= failed_over + FAILOVER_WINDOW]
    through_backup = [answer for answer in after_drain if answer.start > failed_over]
    print(f"failover: {len(in_failover)} of {len(after_drain)} requests after the drain lost to the VIP's "
          f"move; {len(through_backup)} through lvd2")
    assert lost == in_failover, f"requests lost outside the failover: {set(lost) - set(in_failover)}"
    assert {answer.server for answer in answers if answer.start > failed_over + FAILOVER_WINDOW} - {name}
    assert sorted(director("-Sn").stdout.splitlines()) == \
        sorted(ipvsadm("-Sn", netns=BACKUP).stdout.splitlines())
    assert weight(DIRECTOR, target) == 0 == weight(BACKUP, target)
