"""More of the health checker (`lvs-top health CONFIG`, a real process on the director) against the
real kernel: a flapping server changes weight no faster than rise and fall allow; SIGHUP with a
broken config is refused and the config in force keeps acting (a server answering 503 to a check
expecting 200 is taken out), while a good one is taken up (min_healthy: the last server stays in
rotation although it fails, and the checker says so); the
external command check decides health, and a command that hangs is killed, its whole process
group, at its timeout; a config with mistakes is refused naming FILE:LINE: KEY, and changes nothing.

Real servers are checked on their scripted HTTP server (port 8082, told to answer 200 or 503)
while clients use port 80: a server failing its checks still answers clients, so a request that
reaches it shows it is in rotation. Run with -s to see the figures measured.
"""

from __future__ import annotations

import itertools
import signal
import statistics
import time
from pathlib import Path

import pytest

from tests.kernel.lab import lvs_top
from tests.kernel.lab.commands import ipvsadm, ipvsadm_lines, wait_until
from tests.kernel.lab.health import (
    ROUND_SLACK,
    RS,
    WEB,
    Checker,
    config,
    line_of,
    monotonic_of,
    processes,
    servers_toml,
    start_under_load,
    timeline,
    watch,
    web_rules,
    weights,
)
from tests.kernel.lab.topology import REAL_SERVERS, SCRIPTED_PORT, NatLab, Scripted

INTERVAL, TIMEOUT = 0.3, 0.5
WEIGHTS = {"rs1": 3, "rs2": 2, "rs3": 2}
RS1 = RS["rs1"]


def detect_bound(runs: int, timeout: float = TIMEOUT) -> float:
    """From a change of a server to its weight's: `runs` checks (fall or rise), the last one may
    wait its timeout, and one round."""
    return runs * INTERVAL + timeout + ROUND_SLACK


def rise_fall_changes(results: str, rise: int, fall: int) -> int:
    """How many times rise and fall let a server change between healthy and unhealthy over these
    results (S or F, oldest first), written out independently of lvs_tui.health.state: a change
    needs `rise` successes or `fall` failures in a row. The first state reached from "checking"
    is not a change of weight, so it is not counted."""
    state, letter, run, changes = "checking", "", 0, 0
    for result in results:
        run = run + 1 if result == letter else 1
        letter = result
        target, needed = ("healthy", rise) if result == "S" else ("unhealthy", fall)
        if state != target and run >= needed:
            changes += state != "checking"
            state = target
    return changes


def checks_since(server: Scripted, since: float) -> str:
    return "".join(letter for at, letter in server.log() if at > since)


@pytest.mark.usefixtures("servers_back")
def test_a_flapping_server_changes_weight_no_faster_than_rise_and_fall_allow(
    topology: NatLab, tmp_path: Path
) -> None:
    rise = fall = 3
    rs2 = topology.scripted()["rs2"]
    ipvsadm_lines(web_rules(WEIGHTS))
    text = config(servers_toml(WEIGHTS), interval=INTERVAL, timeout=TIMEOUT, rise=rise, fall=fall,
                  service=f"port = {SCRIPTED_PORT}")
    with Checker(tmp_path, text) as checker:
        print(f"checker up in {checker.start():.1f} s")
        checker.wait_states(dict.fromkeys(RS, "healthy"))

        # Failing two checks in three: never `fall` failures in a row, so never a change.
        rs2.set("FFS")
        since = time.monotonic()
        seen: list[tuple[float, dict[str, int]]] = []
        watch("18 checks of rs2 failing two in three", lambda w: len(checks_since(rs2, since)) >= 18,
              timeout=60, seen=seen)
        flapping = checks_since(rs2, since)
        print(f"rs2 failing 2 checks in 3: {flapping}; its weights seen: {[w[RS['rs2']] for _, w in seen]}")
        assert "FF" in flapping and "FFF" not in flapping
        assert {w[RS["rs2"]] for _, w in seen} == {2}, "rs2's weight changed while it flapped"
        assert checker.journal() == []
        assert checker.states()["rs2"] == "healthy"

        # Three failures, three successes, and again: each run may change the state, no more.
        rs2.set("FFFSSS")
        since = time.monotonic()
        seen = []
        watch("24 checks of rs2 failing three in six", lambda w: len(checks_since(rs2, since)) >= 24,
              timeout=60, seen=seen)
        assert checker.stop()[0] == 0, checker.log()

    results = checks_since(rs2, 0)
    allowed = rise_fall_changes(results, rise, fall)
    entries = checker.journal_of("rs2")
    kernel = [w[RS["rs2"]] for _, w in seen]
    print(f"{len(results)} checks of rs2 in all: {results}; rise/fall allow {allowed} changes, the checker "
          f"made {len(entries)}: {[(e['before']['weight'], e['after']['weight']) for e in entries]}; "
          f"rs2's weights seen in the kernel: {kernel}")
    assert allowed <= len(checks_since(rs2, since)) // min(rise, fall) + 1
    assert 2 <= len(entries) <= allowed, \
        f"{len(entries)} weight changes where rise = fall = {rise} allow at most {allowed}"
    assert [e["after"]["weight"] for e in entries] == [0, 2] * (len(entries) // 2) + [0] * (len(entries) % 2)
    assert [e["cause"].split(":")[0] for e in entries[:2]] == ["health check unhealthy",
                                                                "health check healthy"]
    assert sum(a != b for a, b in itertools.pairwise(kernel)) <= len(entries)
    # How long after the check that changed rs2's state its weight changed (the round's latency).
    served = rs2.log()
    latencies = sorted(monotonic_of(e["time"]) - max(at for at, _ in served if at <= monotonic_of(e["time"]))
                       for e in entries)
    print(f"check -> journal entry: {[round(t, 2) for t in latencies]} s")
    assert statistics.median(latencies) <= 0.5, \
        "the checker does not act at the change of state (a periodic round comes every 2 s)"


@pytest.mark.usefixtures("servers_back")
def test_sighup_refuses_a_broken_config_keeps_acting_and_takes_up_a_good_one_with_min_healthy(
    topology: NatLab, tmp_path: Path
) -> None:
    scripted = topology.scripted()
    ipvsadm_lines(web_rules(WEIGHTS))
    servers = servers_toml(WEIGHTS)
    service = f'port = {SCRIPTED_PORT}\npath = "/health"\nexpect = [200]'
    text = config(servers, interval=INTERVAL, timeout=TIMEOUT, rise=2, fall=2, service=service)
    load = topology.load(limit=20000)
    try:
        with Checker(tmp_path, text) as checker:
            start_under_load(checker, load, 10)  # wrr 3:2:2: rs1 answers 3 of any 7 in a row

            broken = text.replace("rise = 2", "rise = 0")
            checker.config.write_text(broken)
            checker.signal(signal.SIGHUP)
            print(checker.wait_log("the configuration in force keeps running"))
            where = f"{checker.config}:{line_of(broken, 'rise =')}"
            assert (f"error: reload refused: {where}: rise: must be a whole number from 1 to 2147483647, "
                    "not 0.") in checker.log()
            # The config in force still acts.
            rs1_failing = time.monotonic()
            scripted["rs1"].set("F")
            out = watch("rs1 at weight 0", lambda w: w.get(RS1) == 0, timeout=detect_bound(2) + 30)
            print(f"503 after the refused reload -> weight 0: {out - rs1_failing:.2f} s "
                  f"(bound {detect_bound(2):.1f} s)")
            assert out - rs1_failing <= detect_bound(2), timeline(checker, rs1_failing, scripted["rs1"])
            checker.wait_server("rs1", state="unhealthy", taken_out=True, detail="HTTP 503, expected 200")

            # A good config: the same, with min_healthy = 1.
            checker.config.write_text(config(servers, interval=INTERVAL, timeout=TIMEOUT, rise=2, fall=2,
                                             service=f"{service}\nmin_healthy = 1"))
            checker.signal(signal.SIGHUP)
            checker.wait_log("configuration reloaded")
            checker.wait_server("rs1", state="unhealthy", taken_out=True)  # the reload kept its memory
            failing = time.monotonic()
            scripted["rs2"].set("F")
            scripted["rs3"].set("F")
            one_left = watch("one server left in rotation", lambda w: sorted(w.values()) == [0, 0, 2],
                             timeout=detect_bound(2) + 30)
            (kept,) = [name for name, dest in RS.items() if weights()[dest] > 0]
            wait_until("the state file to say who is held", lambda: checker.state()["held"] != [])
            (held,) = checker.state()["held"]
            print(f"all failing -> {kept} held: {held!r}, after {one_left - failing:.2f} s")
            assert held == (f"{RS[kept]} of {WEB} fails its checks but stays in rotation: taking it out "
                            "would leave fewer than min_healthy=1 servers")
            assert f"warning: {held}" in checker.log()
            checker.wait_server(kept, state="unhealthy", taken_out=False, detail="HTTP 503, expected 200")
            load.wait_for(15, since=one_left)
            assert {a.server for a in load.since(one_left)} == {kept}

            # rs1 is well again: it comes back, and the one held can go now.
            well = time.monotonic()
            scripted["rs1"].set("S")
            swapped = watch(f"rs1 back and {kept} out", lambda w: w[RS1] == 3 and w[RS[kept]] == 0,
                            timeout=detect_bound(2) + 30)
            wait_until("the state file to hold nobody", lambda: checker.state()["held"] == [])
            load.wait_for(10, since=swapped)
            assert checker.stop()[0] == 0, checker.log()
    finally:
        answers = load.stop()

    assert [a for a in answers if a.failed] == [], "the port 80 servers never failed: no request may fail"
    assert {a.server for a in answers if a.start > swapped} == {"rs1"}
    # rs1 answers clients on port 80 all along: none reached it while it was out.
    assert "rs1" in {a.server for a in answers if a.end < rs1_failing}
    assert "rs1" not in {a.server for a in answers if out < a.start and a.end < well}
    assert checker.log().count("fails its checks but stays in rotation") == 1, "the hold is said once"
    causes = [(e["target"], e["after"]["weight"], e["cause"]) for e in checker.journal()]
    assert causes[0] == (f"{WEB}>{RS1}", 0, "health check unhealthy: HTTP 503, expected 200")
    assert (f"{WEB}>{RS1}", 3, "health check healthy: HTTP 200") in causes


CHECK_SCRIPT = """#!/bin/sh
# Healthy unless a file down-ADDRESS sits beside this script; notes which server it checked.
here=${0%/*}
echo "$LVS_TOP_ADDRESS $LVS_TOP_PORT" >> "$here/calls"
test ! -e "$here/down-$LVS_TOP_ADDRESS"
"""
# Hangs, and so does the child it starts: the timeout must kill the whole process group.
HANG_SCRIPT = """#!/bin/sh
sleep 3600 &
sleep 3601
"""
HANGING = (["sleep", "3600"], ["sleep", "3601"])
COMMAND_TIMEOUT = 2.0  # a shell script may take a while to start in the emulated VM


def hanging() -> int:
    return sum(len(processes(argv)) for argv in HANGING)


@pytest.mark.usefixtures("servers_back")
def test_a_command_decides_health_and_a_hanging_one_is_killed_at_its_timeout(
    topology: NatLab, tmp_path: Path
) -> None:
    assert hanging() == 0
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    check, hang = scripts / "check", scripts / "hang"
    for path, body in ((check, CHECK_SCRIPT), (hang, HANG_SCRIPT)):
        path.write_text(body)
        path.chmod(0o755)
    ipvsadm_lines(web_rules(WEIGHTS))
    hangs = {"rs3": f'  command = ["{hang}"]\n  timeout = {TIMEOUT}\n'}
    text = config(servers_toml(WEIGHTS, hangs), check="command", interval=INTERVAL, timeout=COMMAND_TIMEOUT,
                  rise=2, fall=2, service=f'command = ["{check}"]')
    with Checker(tmp_path, text) as checker:
        print(f"checker up in {checker.start():.1f} s")
        watch("rs3 at weight 0", lambda w: w.get(RS["rs3"]) == 0, timeout=30)
        rs3 = checker.wait_server("rs3", state="unhealthy", taken_out=True)
        assert rs3["detail"] == f"timed out after {TIMEOUT:g} s (killed)"
        checker.wait_states({"rs1": "healthy", "rs2": "healthy"})
        # Each timed-out check is killed: no more hanging than the check in progress (sh and its two
        # sleeps) and, for a moment, the one just killed; a leak would grow by 2 every 0.5 s.
        samples = []
        for _ in range(20):
            samples.append(hanging())
            time.sleep(0.05)
        print(f"hanging processes (sh's two sleeps) seen in 20 samples: {samples}")
        assert 1 <= max(samples) <= 4, samples

        down = scripts / f"down-{REAL_SERVERS['rs1']}"
        failing = time.monotonic()
        down.touch()
        bound = detect_bound(2, COMMAND_TIMEOUT)
        out = watch("rs1 at weight 0", lambda w: w.get(RS1) == 0, timeout=bound + 30)
        print(f"the command fails -> weight 0: {out - failing:.2f} s (bound {bound:.1f} s)")
        assert out - failing <= bound, timeline(checker, failing)
        checker.wait_server("rs1", state="unhealthy", taken_out=True, detail="exit status 1")
        well = time.monotonic()
        down.unlink()
        back = watch("rs1 back at weight 3", lambda w: w.get(RS1) == 3, timeout=bound + 30)
        print(f"the command succeeds -> weight 3: {back - well:.2f} s (bound {bound:.1f} s)")
        assert back - well <= bound, timeline(checker, well)
        code, took = checker.stop()
        print(f"SIGTERM -> exit {code} in {took:.2f} s")
        assert code == 0, checker.log()
    wait_until("no hanging check left", lambda: hanging() == 0, timeout=5, step=0.1)

    calls = set((scripts / "calls").read_text().splitlines())
    assert calls == {f"{REAL_SERVERS['rs1']} 80", f"{REAL_SERVERS['rs2']} 80"}
    assert [(e["target"], e["cause"]) for e in checker.journal()] == [
        (f"{WEB}>{RS['rs3']}", f"health check unhealthy: timed out after {TIMEOUT:g} s (killed)"),
        (f"{WEB}>{RS1}", "health check unhealthy: exit status 1"),
        (f"{WEB}>{RS1}", "health check healthy: exit status 0"),
    ]


def test_a_config_with_mistakes_is_refused_naming_file_line_and_key_and_changes_nothing(
    tmp_path: Path,
) -> None:
    ipvsadm_lines(web_rules(WEIGHTS))
    table = ipvsadm("-Sn").stdout
    good = config(servers_toml(WEIGHTS))
    bad_address = RS["rs2"].replace(".2:", ".999:")
    mistakes = [  # name, config, the key named, its line's start, what is wrong
        ("unknown-key", good.replace("interval =", "intervall ="), "intervall", "intervall =",
         "unknown setting here"),
        ("bad-address", good.replace(RS["rs2"], bad_address), "address", f'address = "{bad_address}"',
         "must be an IPv4 or IPv6 address"),
        ("rise-0", good.replace("rise = 2", "rise = 0"), "rise", "rise =",
         "must be a whole number from 1 to 2147483647, not 0"),
    ]
    state, journal = tmp_path / "state.json", tmp_path / "journal.jsonl"
    for i, (name, text, key, line, problem) in enumerate(mistakes):
        path = tmp_path / f"{name}.toml"
        path.write_text(text)
        where = f"{path}:{line_of(text, line)}: {key}: "
        args = ["health", str(path), "--state", str(state), "--journal", str(journal)]
        # Once as a process, as an operator runs it: its exit status; then in this process (a start
        # takes seconds in the VM): the same main().
        run = lvs_top.run(*args) if i == 0 else lvs_top.here(*args)
        assert run.code == 2, (name, run.err)
        assert where in run.err and problem in run.err and "nothing was started" in run.err, \
            (name, where, run.err)
        checked = lvs_top.here("health", "--check-config", str(path))
        assert checked.code == 2, name
        assert where in checked.err, name
        assert ipvsadm("-Sn").stdout == table, name
        assert not state.exists() and not journal.exists(), name

    path = tmp_path / "good.toml"
    path.write_text(good)
    checked = lvs_top.here("health", "--check-config", str(path))
    assert checked.code == 0
    assert checked.out.strip() == (
        f"{WEB}: quiesce, min_healthy 0, sorry -: " +
        ", ".join(f"{dest} (http every 0.3s)" for dest in RS.values()))
    assert ipvsadm("-Sn").stdout == table
