"""The IPVS sysctls as lvs-top reads them equal what `sysctl` says, and follow a change."""

from __future__ import annotations

import lab


def test_sysctls_equal_sysctl_and_follow_a_change() -> None:
    from lvs_tui.ops.sysctl import read_sysctls, remove_warnings

    names = ["expire_nodest_conn", "expire_quiescent_template", "run_estimation", "conn_reuse_mode"]
    read = read_sysctls()
    for name in names:
        assert read.get(name, -1) == int(lab.sh("sysctl", "-n", f"net.ipv4.vs.{name}").stdout)
    before = read.get("expire_nodest_conn")
    lab.sh("sysctl", "-qw", "net.ipv4.vs.expire_nodest_conn=1")
    try:
        assert read_sysctls().get("expire_nodest_conn") == 1
        assert remove_warnings(read_sysctls())
    finally:
        lab.sh("sysctl", "-qw", f"net.ipv4.vs.expire_nodest_conn={before}")
