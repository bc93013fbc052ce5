"""`lvs-top drain HOST --wait` against the real kernel, with a steady stream of requests across two
services that share the three real servers: the command waits for the long request a drain must
let finish, removes the host from every service once drained, and journals every step; with a
timeout shorter than that request it exits 1, names the connection and leaves the weights at 0."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lvs_tui.model.records import DestKey, ServiceKey
from tests.kernel.lab import lvs_top
from tests.kernel.lab.commands import flush_connections, ipvsadm_lines, listing, save, wait_until
from tests.kernel.lab.drain_polls import active
from tests.kernel.lab.journal import settled
from tests.kernel.lab.topology import CLIENT_IP, REAL_SERVERS, SLOW_HTTP_PORT, VIP, NatLab
from tests.kernel.lab.traffic import Load

WEB = ServiceKey.inet("tcp", VIP, 80)
SLOW = ServiceKey.inet("tcp", VIP, SLOW_HTTP_PORT)
RS1 = REAL_SERVERS["rs1"]
LONG = 35  # seconds the long request takes: it outlasts the start of lvs-top in the VM (up to ~20 s)


@pytest.fixture(autouse=True)
def no_connections(clean_table: None) -> Iterator[None]:
    flush_connections()
    yield
    flush_connections()


def shared_services(topology: NatLab) -> tuple[Load, Load]:
    """WEB and SLOW over rs1..rs3, a long request on rs1 in SLOW, and a steady load on WEB."""
    ipvsadm_lines([f"-A -t {VIP}:{SLOW_HTTP_PORT} -s rr", f"-a -t {VIP}:{SLOW_HTTP_PORT} -r {RS1} -m -w 2"])
    long_request = topology.load(path=f"/slow?s={LONG}", port=SLOW_HTTP_PORT, limit=1, timeout=LONG + 30)
    long_request.wait_ready()
    long_request.go()
    wait_until("the long request on rs1", lambda: active(SLOW, DestKey(RS1, SLOW_HTTP_PORT)) == 1,
               timeout=30)
    rules = [f"-A -t {VIP}:80 -s rr"]
    for name, address in REAL_SERVERS.items():
        rules.append(f"-a -t {VIP}:80 -r {address}:80 -m -w 2")
        if name != "rs1":
            rules.append(f"-a -t {VIP}:{SLOW_HTTP_PORT} -r {address} -m -w 1")
    ipvsadm_lines(rules)
    load = topology.load(pause=0.05, limit=5000)  # runs until stopped: the drain waits out LONG
    load.wait_ready()
    load.go()
    load.wait_for(12)
    assert {answer.server for answer in load.answers} == {"rs1", "rs2", "rs3"}
    return load, long_request


def test_drain_wait_remove_lets_the_long_request_finish_and_removes_the_host_everywhere(
    topology: NatLab, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.jsonl"
    load, long_request = shared_services(topology)
    try:
        done = lvs_top.run("drain", RS1, "--wait", "--remove", "--yes", "--json", "--journal", str(journal),
                           timeout=LONG + 120)
        finished = time.monotonic()
        load.wait_for(10, since=finished)  # the service goes on without rs1
    finally:
        answers = load.stop()
        long_answers = long_request.stop(timeout=LONG + 30)

    assert done.code == 0, done.err
    lines = [json.loads(line) for line in done.out.splitlines()]
    assert lines[-1]["result"] == "drained"
    assert sorted(lines[-1]["removed"]) == sorted([f"{WEB.id}>{RS1}:80", f"{SLOW.id}>{RS1}:{SLOW_HTTP_PORT}"])
    slow_polls = [line for line in lines[:-1] if line["service"] == SLOW.id]
    assert slow_polls[0]["active"] == 1 and not slow_polls[0]["drained"]  # the long request was on it
    assert slow_polls[-1]["drained"] and slow_polls[-1]["active"] == 0
    assert [answer for answer in answers if answer.failed] == [], "client requests failed"
    assert {answer.server for answer in answers if answer.start > finished} == {"rs2", "rs3"}
    (long_answer,) = long_answers
    assert long_answer.server == "rs1" and not long_answer.failed
    assert not [rule for rule in save() if RS1 in rule]
    assert all(not dest.startswith(RS1) for service in listing().services.values() for dest in service.dests)
    entries = settled(journal)
    assert sorted((entry["action"], entry["target"], entry["result"]) for entry in entries) == sorted([
        ("edit_dest", f"{WEB.id}>{RS1}:80", "ok"), ("edit_dest", f"{SLOW.id}>{RS1}:{SLOW_HTTP_PORT}", "ok"),
        ("delete_dest", f"{WEB.id}>{RS1}:80", "ok"),
        ("delete_dest", f"{SLOW.id}>{RS1}:{SLOW_HTTP_PORT}", "ok")])
    assert [entry["action"] for entry in entries][:2] == ["edit_dest", "edit_dest"]  # drains, then removals


def test_drain_timeout_shorter_than_the_long_request_exits_1_naming_it_and_leaves_weight_0(
    topology: NatLab, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.jsonl"
    load, long_request = shared_services(topology)
    try:
        done = lvs_top.run("drain", RS1, "--wait", "--timeout", "3", "--remove", "--yes", "--journal",
                           str(journal), timeout=60)
        weights = {(service, dest): listed.int("Weight") for service, entry in listing().services.items()
                   for dest, listed in entry.dests.items()}
    finally:
        answers = load.stop()
        long_answers = long_request.stop(timeout=LONG + 30)

    assert done.code == 1, done.err
    assert "not drained after 3 s" in done.err
    assert f"still on {SLOW.id}>{RS1}:{SLOW_HTTP_PORT}: 1 active" in done.err
    assert f"TCP {CLIENT_IP}:" in done.err and f"-> {VIP}:{SLOW_HTTP_PORT} ESTABLISHED" in done.err
    assert weights[(WEB.id, f"{RS1}:80")] == 0 and weights[(SLOW.id, f"{RS1}:{SLOW_HTTP_PORT}")] == 0
    assert [answer for answer in answers if answer.failed] == []
    (long_answer,) = long_answers
    assert long_answer.server == "rs1" and not long_answer.failed
    assert [entry["action"] for entry in settled(journal)] == ["edit_dest", "edit_dest"]  # nothing removed
