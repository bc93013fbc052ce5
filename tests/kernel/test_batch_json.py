"""(f) `lvs-top --batch --json` on the real kernel equals ipvsadm's figures field by field."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import lab
from compare import consistent_read, differences, from_json
from tables import MIXED_RULES

REPO = Path(__file__).resolve().parents[2]


def batch_json(*args: str) -> list[dict[str, object]]:
    proc = subprocess.run(
        [sys.executable, "-m", "lvs_tui", "--batch", "--json", *args],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def test_batch_json_equals_ipvsadm_on_the_mixed_table(topology: lab.Lab) -> None:
    lab.ipvsadm_lines(MIXED_RULES)
    assert topology.traffic(6) == {"rs1": 1, "rs2": 2, "rs3": 3}
    assert topology.udp(10, 64) == 10
    time.sleep(2.5)  # let the counters land before the estimator is stopped
    path = Path("/proc/sys/net/ipv4/vs/run_estimation")
    path.write_text("0\n")
    try:
        expected, actual = consistent_read(lambda: from_json(batch_json()[0]), attempts=4)
    finally:
        path.write_text("1\n")
    assert differences(expected, actual, "lvs-top --batch --json") == []
    assert expected["services"]["tcp:10.10.0.1:80"]["stats"]["conns"] == 6
    assert expected["services"]["udp:10.10.0.1:9000"]["stats"]["inbytes"] == 10 * (64 + 28)


def test_batch_json_prints_count_lines_with_the_documented_keys() -> None:
    lab.ipvsadm_lines(["-A -t 10.10.0.1:80 -s rr", "-a -t 10.10.0.1:80 -r 10.20.1.2:80 -m"])
    lines = batch_json("-n", "2", "-d", "0")
    assert len(lines) == 2
    for obj in lines:
        assert {"time", "info", "services"} <= obj.keys()
        (service,) = obj["services"]  # type: ignore[misc]
        assert service["protocol"] == "tcp" and service["fwmark"] is None
        assert service["dests"][0]["forward"] == "masq" and service["dests"][0]["tunnel"] is None
