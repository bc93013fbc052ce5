"""The health checker (`lvs-top health CONFIG`, a real process on the director) against the real
kernel, with real traffic from the client namespace: a real server whose HTTP server is stopped
is taken out (weight 0, or deleted) within fall x interval + timeout and one round, and no client
request fails after that; SIGTERM leaves the weights as they are, and a restarted checker brings
back what the first took out once it answers again; `remove` deletes a server and adds it back
with all its settings, its weight ramped over slow_start; with every real server down the sorry
server takes the traffic until one is back. The journal and the state file say what was done and why.

Each figure measured (detection and recovery times, failed requests, ramp weights) is printed:
run with -s to see them.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.kernel.lab.commands import ipvsadm, ipvsadm_lines, listing, wait_until
from tests.kernel.lab.health import (
    ROUND_SLACK,
    RS,
    WEB,
    Checker,
    config,
    failures_outside,
    monotonic_of,
    servers_toml,
    start_under_load,
    timeline,
    wait_answers_from,
    watch,
    web_rules,
    weights,
)
from tests.kernel.lab.topology import VIP, NatLab
from tests.kernel.lab.traffic import Answer

pytestmark = pytest.mark.usefixtures("servers_back")

INTERVAL, TIMEOUT, RISE, FALL = 0.3, 0.5, 2, 3
# From the stop of a server to its weight change in the kernel: fall checks, the last one may
# wait its timeout, and one round to act. And back: rise checks, and one round.
DETECT = FALL * INTERVAL + TIMEOUT + ROUND_SLACK
RECOVER = RISE * INTERVAL + TIMEOUT + ROUND_SLACK
# A request in flight when its server is killed fails although it started just before the stop.
MARGIN = 0.5
WEIGHTS = {"rs1": 3, "rs2": 2, "rs3": 2}
UPPER, LOWER = 50000, 40000  # connection thresholds (-x, -y) of the `remove` test
RS1 = RS["rs1"]


def failed_report(answers: list[Answer], stopped: float) -> str:
    failed = [a for a in answers if a.failed]
    reasons = sorted({a.server.split("(")[0] for a in failed})
    starts = [f"{a.start - stopped:+.2f}" for a in failed]
    return (f"{len(failed)} of {len(answers)} requests failed ({', '.join(reasons) or 'none'}), "
            f"started at {starts} s from the stop")


def test_a_stopped_server_is_quiesced_under_load_left_out_by_sigterm_and_brought_back_by_a_new_checker(
    topology: NatLab, tmp_path: Path
) -> None:
    ipvsadm_lines(web_rules(WEIGHTS))
    text = config(servers_toml(WEIGHTS), interval=INTERVAL, timeout=TIMEOUT, rise=RISE, fall=FALL,
                  service='path = "/"\nexpect = [200]')
    load = topology.load(limit=20000)
    try:
        with Checker(tmp_path, text) as first:
            start_under_load(first, load, 15)
            assert {a.server for a in load.answers} == {"rs1", "rs2", "rs3"}

            stopped = time.monotonic()
            topology.stop_http("rs1")
            out = watch("rs1 at weight 0", lambda w: w.get(RS1) == 0, timeout=DETECT + 30)
            detected = out - stopped
            print(f"stop -> weight 0 seen in the kernel: {detected:.2f} s (bound {DETECT:.1f} s)")
            assert (FALL - 1) * INTERVAL - 0.1 <= detected <= DETECT, (
                f"rs1 taken out {detected:.2f} s after its stop: not within "
                f"[(fall-1) x interval - 0.1, fall x interval + timeout + {ROUND_SLACK}] = "
                f"[{(FALL - 1) * INTERVAL - 0.1:.1f}, {DETECT:.1f}] s\n{timeline(first, stopped)}")
            assert weights() == {RS1: 0, RS["rs2"]: 2, RS["rs3"]: 2}
            first.wait_server("rs1", state="unhealthy", taken_out=True, detail="connection refused")
            assert first.state()["taken_out"] == {WEB: [f"-a -t {VIP}:80 -r {RS1} -m -w 3"]}
            load.wait_for(20, since=out)

            # SIGTERM: a prompt, clean stop that leaves the weights as they are.
            table = ipvsadm("-Sn").stdout
            code, took = first.stop()
            print(f"SIGTERM -> exit {code} in {took:.2f} s")
            assert code == 0 and took <= 10, f"exit {code} after {took:.2f} s: not a prompt clean stop"
            assert "stopped; weights are left as they are" in first.log()
        assert ipvsadm("-Sn").stdout == table, "the stop changed the table"
        assert f"-a -t {VIP}:80 -r {RS1} -m -w 0" in table
        state = first.state()
        assert state["pid"] is None
        assert (first.server("rs1")["state"], first.server("rs1")["taken_out"]) == ("unhealthy", True)
        assert state["taken_out"] == {WEB: [f"-a -t {VIP}:80 -r {RS1} -m -w 3"]}

        # A new checker on the same state file knows it was the checker that took rs1 out: once rs1
        # answers again, it brings it back (a server at weight 0 it had not taken out, it would leave).
        with Checker(tmp_path, text) as second:
            print(f"second checker up in {second.start():.1f} s")
            second.wait_server("rs1", state="unhealthy", taken_out=True)
            assert weights()[RS1] == 0
            topology.start_http("rs1")
            up = time.monotonic()
            back = watch("rs1 back at weight 3", lambda w: w.get(RS1) == 3, timeout=RECOVER + 30)
            print(f"rs1 answers again -> weight 3 seen: {back - up:.2f} s (bound {RECOVER:.1f} s)")
            assert back - up <= RECOVER, \
                f"rs1 back {back - up:.2f} s after it answered, bound {RECOVER:.1f}\n{timeline(second, up)}"
            wait_answers_from(load, "rs1", back)
            second.wait_server("rs1", state="healthy", taken_out=False, detail="HTTP 200")
            assert second.state()["taken_out"] == {}
            assert second.stop()[0] == 0, second.log()
    finally:
        answers = load.stop()

    print(failed_report(answers, stopped))
    assert failures_outside(answers, [(stopped - MARGIN, out)]) == [], \
        f"requests failed outside the detection window [stop - {MARGIN} s, weight 0 seen]"
    assert {a.server for a in answers if a.start > back} == {"rs1", "rs2", "rs3"}

    entries = second.journal()
    assert [(e["action"], e["target"], e["command"], e["result"], e["cause"], e["pid"]) for e in entries] == [
        ("health", f"{WEB}>{RS1}", f"ipvsadm -e -t {VIP}:80 -r {RS1} -m -w 0", "ok",
         "health check unhealthy: connection refused", first.pid),
        ("health", f"{WEB}>{RS1}", f"ipvsadm -e -t {VIP}:80 -r {RS1} -m -w 3", "ok",
         "health check healthy: HTTP 200", second.pid),
    ]
    assert [(e["before"]["weight"], e["after"]["weight"]) for e in entries] == [(3, 0), (0, 3)]
    journaled = monotonic_of(entries[0]["time"])
    print(f"stop -> journal entry: {journaled - stopped:.2f} s")
    assert stopped < journaled <= out + 1.0  # appended just after the kernel changed
    texts = [e["text"] for e in state["events"]]  # the first checker's last word
    assert f"{RS1} unhealthy after {FALL} checks in a row: connection refused" in texts
    assert f"ipvsadm -e -t {VIP}:80 -r {RS1} -m -w 0" in texts
    texts = [e["text"] for e in second.state()["events"]]
    assert f"{RS1} healthy after {RISE} checks in a row: HTTP 200" in texts
    assert second.state()["pid"] is None


def test_remove_with_every_server_down_brings_in_the_sorry_server_then_adds_them_back_ramping_up(
    topology: NatLab, tmp_path: Path
) -> None:
    slow_start = 4.0
    ramped = {"rs1": 4, "rs2": 8, "rs3": 4}
    sorry = f"{topology.sorry()}:80"
    # Connection thresholds, to see them come back (high: a server re-added comes back with the
    # connections it had, TIME_WAIT ones too, and above its upper threshold it would get no more).
    ipvsadm_lines(web_rules(ramped, options=f" -x {UPPER} -y {LOWER}"))
    original = ipvsadm("-Sn").stdout
    text = config(servers_toml(ramped), interval=INTERVAL, timeout=TIMEOUT, rise=RISE, fall=FALL,
                  service=f'action = "remove"\nslow_start = {slow_start}\nsorry = "{sorry}"')
    load = topology.load(limit=20000)
    try:
        with Checker(tmp_path, text) as checker:
            start_under_load(checker, load, 15)

            stopped = time.monotonic()
            for name in RS:
                topology.stop_http(name)
            sorry_in = watch("only the sorry server in the service", lambda w: list(w) == [sorry],
                             timeout=DETECT + 30)
            print(f"all stopped -> all deleted, sorry server in: {sorry_in - stopped:.2f} s "
                  f"(bound {DETECT:.1f} s)")
            assert sorry_in - stopped <= DETECT, timeline(checker, stopped)
            assert weights() == {sorry: 1}
            for name in RS:
                checker.wait_server(name, state="unhealthy", taken_out=True, detail="connection refused")
            # What each will be added back with: every setting it had, thresholds too.
            (service, lines), = checker.state()["taken_out"].items()
            settings = [f"-a -t {VIP}:80 -r {RS[name]} -m -w {weight} -x {UPPER} -y {LOWER}"
                        for name, weight in ramped.items()]
            assert service == WEB and sorted(lines) == settings
            load.wait_for(15, since=sorry_in)

            # One server back: added at once at a low weight, and the sorry server goes.
            topology.start_http("rs2")
            up = time.monotonic()
            seen: list[tuple[float, dict[str, int]]] = []
            watch("rs2 back", lambda w: RS["rs2"] in w and sorry not in w, timeout=RECOVER + 30, seen=seen)
            added = next(at for at, w in seen if RS["rs2"] in w)
            sorry_out = next(at for at, w in seen if sorry not in w)
            print(f"rs2 answers again -> re-added: {added - up:.2f} s, sorry server out: "
                  f"{sorry_out - up:.2f} s (bound {RECOVER:.1f} s)")
            assert sorry_out - up <= RECOVER, timeline(checker, up)
            # rs2 alone takes the traffic for a while; then the two others come back, as rs2 ramps up.
            watch("rs2 ramping up, answering clients", lambda w: w.get(RS["rs2"], 0) >= 3 and
                  len(load.since(sorry_out)) >= 5, timeout=slow_start + 30, seen=seen)
            topology.start_http("rs1", "rs3", wait=False)
            others = time.monotonic()
            full = watch("rs2 at weight 8", lambda w: w.get(RS["rs2"]) == 8, timeout=slow_start + 30,
                         seen=seen)
            topology.wait_http("rs1", "rs3")
            watch("every server back at its weight", lambda w: w == {RS[n]: v for n, v in ramped.items()},
                  timeout=RECOVER + slow_start + 30, seen=seen)
            wait_answers_from(load, "rs1", full)
            wait_answers_from(load, "rs3", full)
            wait_until("the state file to take nobody out", lambda: checker.state()["taken_out"] == {})
            assert checker.stop()[0] == 0, checker.log()
    finally:
        answers = load.stop()

    ramp = [w[RS["rs2"]] for at, w in seen if RS["rs2"] in w and at <= full]
    print(f"rs2's weights seen in the kernel: {ramp}, full weight {full - added:.2f} s after it was re-added "
          f"(slow_start {slow_start:g} s)")
    assert ramp == sorted(ramp) and ramp[-1] == 8, ramp
    assert [w for w in ramp if 0 < w < 8], f"no weight between 0 and 8 seen: {ramp}"
    assert slow_start - 1.0 <= full - added <= slow_start + ROUND_SLACK, \
        f"the ramp took {full - added:.2f} s, not slow_start = {slow_start:g} s (-1, +{ROUND_SLACK})"
    print(failed_report(answers, stopped))
    assert failures_outside(answers, [(stopped - MARGIN, sorry_in)]) == [], \
        f"requests failed outside [stop - {MARGIN} s, sorry server in]"
    assert {a.server for a in answers if sorry_in < a.start and a.end < up} == {"sorry"}
    assert {a.server for a in answers if sorry_out < a.start and a.end < others} == {"rs2"}  # 5 at least
    # Back with all their settings: the very table it started from.
    assert ipvsadm("-Sn").stdout == original
    listed = listing("--thresholds").services[WEB].dests
    assert {(d.int("Uthreshold"), d.int("Lthreshold")) for d in listed.values()} == {(UPPER, LOWER)}

    entries = checker.journal_of("rs2")
    commands = [e["command"].split() for e in entries]
    assert commands[0] == ["ipvsadm", "-d", "-t", f"{VIP}:80", "-r", RS["rs2"]]
    assert entries[0]["cause"] == "health check unhealthy: connection refused"
    assert commands[1][:7] == ["ipvsadm", "-a", "-t", f"{VIP}:80", "-r", RS["rs2"], "-m"]
    assert commands[1][-4:] == ["-x", str(UPPER), "-y", str(LOWER)]
    assert [c[1] for c in commands[2:]] == ["-e"] * (len(commands) - 2)
    journaled = [e["after"]["weight"] for e in entries[1:]]
    print(f"rs2's ramp in the journal: {journaled}")
    assert journaled == sorted(journaled) and journaled[-1] == 8 and 1 <= journaled[0] < 8
    assert set(ramp) <= set(journaled)
    assert {e["cause"] for e in entries[1:]} == {"health check healthy: HTTP 200"}
    assert all(e["result"] == "ok" for e in checker.journal())
    assert [(e["command"], e["cause"]) for e in checker.journal() if e["target"] == f"{WEB}>{sorry}"] == [
        (f"ipvsadm -a -t {VIP}:80 -r {sorry} -m -w 1",
         f"sorry server: no real server of {WEB} is healthy"),
        (f"ipvsadm -d -t {VIP}:80 -r {sorry}",
         f"sorry server: a real server of {WEB} is healthy again"),
    ]
