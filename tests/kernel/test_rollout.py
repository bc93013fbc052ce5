"""`lvs-top rollout` against the real kernel, with a steady stream of requests across two services
that share the three real servers: each host's HTTP server is restarted one host at a time, never
while it holds a connection, never with more than one host out or a service below the floor, and
each comes back ramped up; a command that fails on the second host stops the rollout there, and
`--resume` finishes it once the cause is gone."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lvs_tui.ipvs.kernel import KernelBackend
from lvs_tui.model.records import DestKey, ServiceKey
from tests.kernel.lab import lvs_top
from tests.kernel.lab.commands import flush_connections, ipvsadm_lines, listing, tcp_accepts, wait_until
from tests.kernel.lab.drain_polls import active
from tests.kernel.lab.journal import settled
from tests.kernel.lab.programs import command as program
from tests.kernel.lab.topology import REAL_SERVERS, SLOW_HTTP_PORT, VIP, WWW, NatLab
from tests.kernel.lab.traffic import Load

WEB = ServiceKey.inet("tcp", VIP, 80)
SLOW = ServiceKey.inet("tcp", VIP, SLOW_HTTP_PORT)
HOSTS = list(REAL_SERVERS.values())
WEIGHT = 4  # per server: one host out leaves 8 of 12 (67 %), two would leave 33 %
LONG = 12  # seconds of the request rs1 holds when the rollout starts: its drain must wait for it
SAMPLE_EVERY = 0.1


@pytest.fixture(autouse=True)
def no_connections(clean_table: None) -> Iterator[None]:
    flush_connections()
    yield
    flush_connections()


@pytest.fixture
def restarts(topology: NatLab, tmp_path: Path) -> Iterator[Path]:
    """The log the restart command writes; afterwards the servers it started are stopped and the
    lab's own started again, so the tests after these find the lab as it was."""
    log = tmp_path / "restarts.jsonl"
    yield log
    if log.exists():
        for line in log.read_text().splitlines():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(json.loads(line)["pid"], signal.SIGKILL)
    stopped = topology.stopped_http()
    if stopped:
        for name in stopped:
            wait_until(f"port 80 of {name} free", functools.partial(closed, REAL_SERVERS[name]), timeout=30)
        topology.start_http(*stopped)


def shared_services(topology: NatLab, long_request: bool) -> tuple[Load, Load | None]:
    """WEB and SLOW over rs1..rs3 at weight 4, a steady load on WEB, and (with `long_request`) a
    request rs1 holds in SLOW for LONG seconds."""
    slow: Load | None = None
    ipvsadm_lines([f"-A -t {VIP}:{SLOW_HTTP_PORT} -s rr",
                   f"-a -t {VIP}:{SLOW_HTTP_PORT} -r {HOSTS[0]} -m -w {WEIGHT}"])
    if long_request:
        slow = topology.load(path=f"/slow?s={LONG}", port=SLOW_HTTP_PORT, limit=1, timeout=LONG + 30)
        slow.wait_ready()
        slow.go()
        wait_until("the long request on rs1", lambda: active(SLOW, DestKey(HOSTS[0], SLOW_HTTP_PORT)) == 1,
                   timeout=30)
    rules = [f"-A -t {VIP}:80 -s rr"]
    for address in HOSTS:
        rules.append(f"-a -t {VIP}:80 -r {address}:80 -m -w {WEIGHT}")
        if address != HOSTS[0]:
            rules.append(f"-a -t {VIP}:{SLOW_HTTP_PORT} -r {address} -m -w {WEIGHT}")
    ipvsadm_lines(rules)
    load = topology.load(pause=0.05, limit=20000)  # runs until stopped
    load.wait_ready()
    load.go()
    load.wait_for(12)
    assert {answer.server for answer in load.answers} == {"rs1", "rs2", "rs3"}
    return load, slow


def closed(address: str) -> bool:
    return not tcp_accepts(address, 80)


@dataclass(frozen=True)
class Sample:
    at: float  # time.monotonic()
    weights: dict[tuple[str, str], int]  # (service id, host) -> weight


class Sampler:
    """The weights of both services read over netlink every SAMPLE_EVERY seconds, in a thread."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="weights", daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        backend = KernelBackend()
        try:
            while not self._stop.is_set():
                snapshot = backend.snapshot()
                self.samples.append(Sample(time.monotonic(), {
                    (service.key.id, dest.address): dest.weight for service in snapshot.services
                    for dest in service.dests}))
                self._stop.wait(SAMPLE_EVERY)
        finally:
            backend.close()


def weights_now() -> dict[tuple[str, str], int]:
    return {(service, dest.rsplit(":", 1)[0]): row.int("Weight")
            for service, entry in listing().services.items() for dest, row in entry.dests.items()}


def rollout(*args: str, tmp_path: Path, timeout: float = 420) -> lvs_top.Run:
    return lvs_top.run("rollout", *HOSTS, *args, "--max-out", "1", "--min-capacity", "60",
                       "--interval", "0.5", "--timeout", "120", "--yes", "--json",
                       "--journal", str(tmp_path / "journal.jsonl"),
                       "--drain-records", str(tmp_path / "drains.json"),
                       "--rollout-state", str(tmp_path / "rollout.json"), timeout=timeout)


def test_rollout_restarts_each_host_alone_drained_and_brings_it_back_ramped(
    topology: NatLab, tmp_path: Path, restarts: Path
) -> None:
    restart = " ".join([*program("restart_http"), "{host}", str(restarts), str(WWW)])
    load, slow = shared_services(topology, long_request=True)
    assert slow is not None
    try:
        with Sampler() as sampler:
            done = rollout("--exec", restart, "--check", "http:///", "--slow-start", "4", tmp_path=tmp_path)
            time.sleep(1)
    finally:
        answers = load.stop()
        long_answers = slow.stop(timeout=LONG + 30)

    assert done.code == 0, done.err
    assert [answer for answer in answers if answer.failed] == [], "client requests failed"
    (long_answer,) = long_answers
    assert long_answer.server == "rs1" and not long_answer.failed  # drained, not cut
    assert set(weights_now().values()) == {WEIGHT}
    assert not (tmp_path / "rollout.json").exists()  # a rollout done leaves no progress behind

    restarted = [json.loads(line) for line in restarts.read_text().splitlines()]
    assert [(entry["host"], entry["env"]) for entry in restarted] == [(host, host) for host in HOSTS]
    assert [entry["active"] for entry in restarted] == [0, 0, 0]  # never restarted with a connection on it

    samples = sampler.samples
    assert len(samples) > 100
    for sample in samples:
        out = {host for (_, host), weight in sample.weights.items() if weight == 0}
        assert len(out) <= 1, f"more than one host out at {sample.at}: {out}"
        for service in (WEB, SLOW):
            left = sum(weight for (sid, _), weight in sample.weights.items() if sid == service.id)
            assert left * 100 >= 60 * 3 * WEIGHT, f"{service} at {left} of {3 * WEIGHT} at {sample.at}"
    for entry in restarted:
        before = [sample for sample in samples if sample.at <= entry["at"]][-1]
        assert before.weights[(WEB.id, entry["host"])] == before.weights[(SLOW.id, entry["host"])] == 0
        ramp = {weight for sample in samples if sample.at > entry["at"]
                for (_, host), weight in sample.weights.items() if host == entry["host"]}
        assert ramp & {1, 2, 3}, f"{entry['host']} came back at once, not ramped: {sorted(ramp)}"
    events = [json.loads(line) for line in done.out.splitlines()]
    assert [event["host"] for event in events if event.get("stage") == "back"] == HOSTS
    journaled = {(entry["target"], entry["after"]["weight"]) for entry in settled(tmp_path / "journal.jsonl")}
    for host in HOSTS:
        assert (f"{WEB.id}>{host}:80", 0) in journaled and (f"{WEB.id}>{host}:80", WEIGHT) in journaled


def test_a_command_failing_on_the_second_host_stops_there_and_resume_finishes(
    topology: NatLab, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / HOSTS[1]).touch()  # the second host's "deploy" fails until this is gone
    command = f"test ! -e {broken}/{{host}}"
    load, _ = shared_services(topology, long_request=False)
    try:
        failed = rollout("--exec", command, tmp_path=tmp_path)
        after_failure = weights_now()
        journal_after_failure = settled(tmp_path / "journal.jsonl")
        (broken / HOSTS[1]).unlink()
        resumed = rollout("--exec", command, "--resume", tmp_path=tmp_path)
    finally:
        answers = load.stop()

    assert failed.code == 1, failed.err
    assert f"the command failed on {HOSTS[1]} (exit status 1)" in failed.err and "--resume" in failed.err
    for service in (WEB.id, SLOW.id):
        assert after_failure[(service, HOSTS[0])] == WEIGHT  # done: back
        assert after_failure[(service, HOSTS[1])] == 0  # failed: stays drained
        assert after_failure[(service, HOSTS[2])] == WEIGHT  # untouched
    assert not [entry for entry in journal_after_failure if HOSTS[2] in entry["target"]]
    assert resumed.code == 0, resumed.err
    assert set(weights_now().values()) == {WEIGHT}
    resumed_events = [json.loads(line) for line in resumed.out.splitlines()]
    assert [event["host"] for event in resumed_events if event.get("stage") == "back"] == HOSTS[1:]
    assert [answer for answer in answers if answer.failed] == [], "client requests failed"
