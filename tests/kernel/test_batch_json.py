"""(f) `lvs-top --batch --json` on the real kernel equals ipvsadm's figures field by field; run as
a process, it prints count lines with the documented keys."""

from __future__ import annotations

from pathlib import Path

from tests.kernel.lab import lvs_top
from tests.kernel.lab.commands import estimator_tick, ipvsadm_lines
from tests.kernel.lab.compare import consistent_read, differences, from_json
from tests.kernel.lab.tables import MIXED_RULES
from tests.kernel.lab.topology import NatLab


def test_batch_json_equals_ipvsadm_on_the_mixed_table(topology: NatLab) -> None:
    ipvsadm_lines(MIXED_RULES)
    assert topology.requests(6) == {"rs1": 1, "rs2": 2, "rs3": 3}
    assert topology.udp(10, 64) == 10
    estimator_tick()  # the counters land on the kernel's tick before the estimator is stopped
    path = Path("/proc/sys/net/ipv4/vs/run_estimation")
    path.write_text("0\n")
    try:
        # In this process (lvs_tui.cli.main): each read of the comparison is the command's code alone.
        expected, actual = consistent_read(lambda: from_json(lvs_top.here("--batch", "--json").lines()[0]),
                                           attempts=4)
    finally:
        path.write_text("1\n")
    assert differences(expected, actual, "lvs-top --batch --json") == []
    assert expected["services"]["tcp:10.10.0.1:80"]["stats"]["conns"] == 6
    assert expected["services"]["udp:10.10.0.1:9000"]["stats"]["inbytes"] == 10 * (64 + 28)


def test_batch_json_prints_count_lines_with_the_documented_keys() -> None:
    ipvsadm_lines(["-A -t 10.10.0.1:80 -s rr", "-a -t 10.10.0.1:80 -r 10.20.1.2:80 -m"])
    run = lvs_top.run("--batch", "--json", "-n", "2", "-d", "0")  # as a process, as an operator runs it
    assert run.code == 0, run.err
    lines = run.lines()
    assert len(lines) == 2
    for obj in lines:
        assert {"time", "info", "services"} <= obj.keys()
        (service,) = obj["services"]
        assert service["protocol"] == "tcp" and service["fwmark"] is None
        assert service["dests"][0]["forward"] == "masq" and service["dests"][0]["tunnel"] is None
