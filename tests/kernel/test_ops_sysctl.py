"""The IPVS sysctls as lvs-top reads them equal what `sysctl` says, and follow a change."""

from __future__ import annotations

from tests.kernel.lab.commands import set_sysctl, sysctl


def test_sysctls_equal_sysctl_and_follow_a_change() -> None:
    from lvs_tui.ops.sysctl import read_sysctls, remove_warnings

    names = ["expire_nodest_conn", "expire_quiescent_template", "run_estimation", "conn_reuse_mode"]
    read = read_sysctls()
    for name in names:
        assert read.get(name, -1) == int(sysctl(f"net.ipv4.vs.{name}"))
    before = read.get("expire_nodest_conn")
    set_sysctl("net.ipv4.vs.expire_nodest_conn=1")
    try:
        assert read_sysctls().get("expire_nodest_conn") == 1
        assert remove_warnings(read_sysctls())
    finally:
        set_sysctl(f"net.ipv4.vs.expire_nodest_conn={before}")
