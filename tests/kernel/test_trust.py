"""Trust on the real kernel: hostile rules files change nothing; a restore the kernel refuses part-way
is undone to the identical table (or, with --keep-going, says what is in effect); every write is
journaled before and after; and the ranges lvs-top enforces are the ones the kernel and ipvsadm
1.31 take."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lvs_tui.ops.journal import Journal, outcomes
from tests.kernel.lab import lvs_top
from tests.kernel.lab.commands import ipvsadm, ipvsadm_lines, listing, sh
from tests.kernel.lab.health import RS, WEB, Checker, config, servers_toml, watch, web_rules
from tests.kernel.lab.journal import settled
from tests.kernel.lab.tables import MIXED_RULES
from tests.kernel.lab.topology import NatLab

MODPROBE = Path("/proc/sys/kernel/modprobe")
NOT_LOADED = "dh"  # a scheduler module on disk that the suite never loads


def table_state() -> tuple[str, dict[str, Any]]:
    """`ipvsadm -Sn`, byte for byte, and the thresholds it leaves out."""
    listed = listing("--thresholds").services
    thresholds = {sid: {did: (d.int("Uthreshold"), d.int("Lthreshold")) for did, d in s.dests.items()}
                  for sid, s in listed.items()}
    return ipvsadm("-Sn").stdout, thresholds


def saved(tmp_path: Path, extra: list[str]) -> Path:
    """The table as lvs-top saves it, with `extra` lines after it."""
    done = lvs_top.here("save")
    assert done.code == 0, done.err
    path = tmp_path / "table.rules"
    path.write_text(done.out + "".join(line + "\n" for line in extra))
    return path


HOSTILE = {
    "a scheduler this kernel does not have": "-A -t 10.10.0.1:99 -s nosuch",
    "a scoped address": "-A -t [fe80::1%eth0]:80 -s rr",
    "an escape sequence": "-A -t 10.10.0.1:99 -s rr\x1b[2J",
    "a weight above an int": "-a -t 10.10.0.1:80 -r 10.20.9.2:80 -m -w 2147483648",
    "a threshold above an int": "-a -t 10.10.0.1:80 -r 10.20.9.2:80 -m -x 2147483648",
    "digits that are not ASCII": "-a -t 10.10.0.1:80 -r 10.20.9.2:80 -m -w \u0661\u0662",
    "a mark of 0": "-A -f 0 -s rr",
    "a port above 65535": "-A -t 10.10.0.1:65536 -s rr",
}


@pytest.mark.parametrize("line", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_hostile_line_changes_nothing_and_says_why_in_one_line(tmp_path: Path, line: str) -> None:
    ipvsadm_lines(MIXED_RULES)
    before = table_state()
    path = tmp_path / "journal.jsonl"
    done = lvs_top.here("restore", str(saved(tmp_path, ["-A -t 10.10.0.1:98 -s rr", line])), "--yes",
                        "--journal", str(path))
    assert done.code == 1, done.out + done.err
    assert "\x1b" not in done.out + done.err and "Traceback" not in done.err
    assert "nothing was applied" in done.err
    assert table_state() == before and not path.exists()


@pytest.fixture
def modules_cannot_load() -> Iterator[None]:
    """The kernel's module loader made to fail, as on a director whose modules went missing: a
    scheduler on disk is offered, and the kernel refuses it when asked."""
    original = MODPROBE.read_text().strip()
    MODPROBE.write_text("/bin/false\n")
    try:
        yield
    finally:
        MODPROBE.write_text(original + "\n")


def refused_part_way(tmp_path: Path) -> Path:
    """A file that adds a service and a server (made first), then edits a service's scheduler to one
    whose module cannot load (refused by the kernel), then removes a server."""
    done = lvs_top.here("save")
    lines = done.out.splitlines()
    removed = "-a -t 10.10.0.1:80 -r 10.20.3.2:80 "
    kept = [line for line in lines if not line.startswith(removed)]
    edited = [line.replace("-s wrr", f"-s {NOT_LOADED}") if line.startswith("-A -t 10.10.0.1:80 ") else line
              for line in kept]
    assert edited != lines
    path = tmp_path / "refused.rules"
    added = ["-A -t 10.10.0.1:97 -s rr", "-a -t 10.10.0.1:97 -r 10.20.1.2:97 -m"]
    path.write_text("\n".join([*edited, *added]) + "\n")
    return path


def test_a_restore_the_kernel_refuses_part_way_is_undone_to_the_same_table(
        tmp_path: Path, modules_cannot_load: None) -> None:
    ipvsadm_lines(MIXED_RULES)
    before = table_state()
    path = tmp_path / "journal.jsonl"
    done = lvs_top.run("restore", str(refused_part_way(tmp_path)), "--yes", "--journal", str(path))
    assert done.code == 1, done.out + done.err
    assert "undone: the table is as it was" in done.out, done.out
    assert table_state() == before
    outcomes = settled(path)  # every write journaled before it was made and after
    assert all("write" in entry for entry in outcomes)
    assert [entry["action"] for entry in outcomes].count("rollback") == 2  # the added server and service


def test_keep_going_applies_the_rest_and_says_what_is_in_effect(tmp_path: Path,
                                                                 modules_cannot_load: None) -> None:
    ipvsadm_lines(MIXED_RULES)
    done = lvs_top.here("restore", str(refused_part_way(tmp_path)), "--yes", "--keep-going",
                        "--journal", str(tmp_path / "journal.jsonl"))
    assert done.code == 1, done.out + done.err
    assert "changes are in effect" in done.out
    after = ipvsadm("-Sn").stdout
    assert "-A -t 10.10.0.1:97 -s rr" in after and f"-s {NOT_LOADED}" not in after
    assert "-r 10.20.3.2:80" not in after.split("-A -t 10.10.0.1:80")[1].split("-A")[0]


@pytest.mark.parametrize(("rule", "takes"), [
    ("-a -t 10.10.0.1:80 -r 10.20.1.2:80 -m -w 2147483647", True),
    ("-a -t 10.10.0.1:80 -r 10.20.1.2:80 -m -w 2147483648", False),
    ("-a -t 10.10.0.1:80 -r 10.20.1.2:80 -m -x 2147483647 -y 2147483647", True),
    ("-a -t 10.10.0.1:80 -r 10.20.1.2:80 -m -x 2147483648", False),
    ("-A -f 4294967295 -s rr", True),
    ("-A -f 0 -s rr", False),
    ("-A -t 10.10.0.1:65535 -s rr", True),
])
def test_lvs_top_takes_exactly_the_values_ipvsadm_takes(tmp_path: Path, rule: str, takes: bool) -> None:
    head = [] if rule.startswith("-A") else ["-A -t 10.10.0.1:80 -s rr"]
    by_ipvsadm = sh("ipvsadm", "-R", input="\n".join([*head, rule]) + "\n", check=False)
    assert (by_ipvsadm.returncode == 0) is takes, by_ipvsadm.stderr
    ipvsadm("-C")
    path = tmp_path / "rules"
    path.write_text("\n".join([*head, rule]) + "\n")
    done = lvs_top.here("restore", str(path), "--yes", "--journal", str(tmp_path / "journal.jsonl"))
    assert (done.code == 0) is takes, done.out + done.err


def test_a_checker_killed_mid_change_is_followed_by_one_that_brings_the_server_back(
        topology: NatLab, servers_back: None, tmp_path: Path) -> None:
    """`kill -9` of `lvs-top health` right after it took a server out, before or after its state file
    said so (whichever the moment gives): the next checker brings the server back once it answers."""
    weights_before = {"rs1": 3, "rs2": 2, "rs3": 2}
    ipvsadm_lines(web_rules(weights_before))
    text = config(servers_toml(weights_before), interval=0.3, timeout=0.5, rise=2, fall=2,
                  service='path = "/"\nexpect = [200]')
    with Checker(tmp_path, text) as first:
        first.start()
        first.wait_states({"rs1": "healthy", "rs2": "healthy", "rs3": "healthy"})
        topology.stop_http("rs1")
        watch("rs1 at weight 0", lambda now: now.get(RS["rs1"]) == 0, timeout=30)
        first.signal(signal.SIGKILL)  # at once: the round's state write may not have happened
        assert first.proc is not None
        first.proc.wait(timeout=30)
    said = first.state().get("taken_out", {})
    print(f"killed; its state file listed as taken out: {said or 'nothing yet'}")
    topology.start_http("rs1")
    with Checker(tmp_path, text) as second:
        second.start()
        watch("rs1 back at weight 3", lambda now: now.get(RS["rs1"]) == 3, timeout=60)
        code, _ = second.stop()
        assert code == 0
    # The first may have been killed between an intent and its outcome: read outcomes, not `settled`.
    entries = outcomes(Journal(second.journal_path).entries())
    brought_back = [(entry["target"], entry["after"]["weight"], entry["result"])
                    for entry in entries if entry["pid"] == second.pid]
    assert brought_back == [(f"{WEB}>{RS['rs1']}", 3, "ok")], brought_back
