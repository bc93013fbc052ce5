from pathlib import Path

from lvs_tui.model.records import Service, ServiceKey
from lvs_tui.ops.sysctl import drain_warnings, rate_warnings, read_sysctls, remove_warnings

HTTPS = ServiceKey.inet("tcp", "192.0.2.10", 443)


def write(directory: Path, **values: str) -> Path:
    directory.mkdir()
    for name, value in values.items():
        (directory / name).write_text(value + "\n")
    return directory


def test_reads_integer_sysctls_and_explains_them(tmp_path: Path) -> None:
    sysctls = read_sysctls(write(tmp_path / "vs", expire_nodest_conn="1", run_estimation="0",
                                 sync_ports="1", lblc_expiration="86400", bogus="a b"))  # fmt: skip
    assert sysctls.values == {"expire_nodest_conn": 1, "run_estimation": 0, "sync_ports": 1,
                              "lblc_expiration": 86400}  # fmt: skip
    assert "reset" in sysctls.meaning("expire_nodest_conn")
    assert remove_warnings(sysctls) and rate_warnings(sysctls)


def test_no_ipvs_means_no_sysctls_and_no_warnings(tmp_path: Path) -> None:
    sysctls = read_sysctls(tmp_path / "missing")
    assert sysctls.values == {}
    assert remove_warnings(sysctls) == [] and rate_warnings(sysctls) == []


def test_drain_warnings_name_the_service_and_the_cause(tmp_path: Path) -> None:
    quiet = read_sysctls(write(tmp_path / "a", expire_quiescent_template="0"))
    persistent = Service(HTTPS, "wlc", flags=("persistent",), persistence_timeout=600)
    (warning,) = drain_warnings(persistent, quiet)
    assert str(HTTPS) in warning and "expire_quiescent_template=0" in warning and "600 s" in warning
    expiring = read_sysctls(write(tmp_path / "b", expire_quiescent_template="1"))
    assert drain_warnings(persistent, expiring) == []
    sh = Service(HTTPS, "sh", flags=("sh-port",))
    (warning,) = drain_warnings(sh, expiring)
    assert "sh-fallback" in warning and "dropped" in warning
    assert drain_warnings(Service(HTTPS, "sh", flags=("sh-fallback",)), expiring) == []


def test_a_dr_or_tun_drain_warns_of_client_ports_reused_from_fin_wait(tmp_path: Path) -> None:
    from lvs_tui.model.records import Dest, Family, Forward

    web = Service(HTTPS, "rr")
    route, masq = Dest("10.30.0.11", 443, Family.IPV4, Forward.ROUTE), Dest("10.30.0.12", 443, Family.IPV4)
    tunnel = Dest("10.30.0.13", 443, Family.IPV4, Forward.TUNNEL)
    for mode in ("0", "1"):
        sysctls = read_sysctls(write(tmp_path / f"mode{mode}", conn_reuse_mode=mode,
                                     expire_quiescent_template="1"))
        (warning,) = drain_warnings(web, sysctls, route)
        assert f"net.ipv4.vs.conn_reuse_mode={mode} with DR or TUN" in warning and "=3." in warning
        assert drain_warnings(web, sysctls, tunnel) == [warning]
        assert drain_warnings(web, sysctls, masq) == []  # NAT sees TIME_WAIT: mode 1 reschedules
        udp = Service(ServiceKey.inet("udp", "192.0.2.10", 53), "rr")
        assert drain_warnings(udp, sysctls, route) == []
    fixed = read_sysctls(write(tmp_path / "mode3", conn_reuse_mode="3", expire_quiescent_template="1"))
    assert drain_warnings(web, fixed, route) == []
    assert drain_warnings(web, read_sysctls(tmp_path / "unreadable"), route)  # the kernel's default, 1
