"""(c) Each write of the backend leaves the table exactly as the equivalent ipvsadm command does:
compared through `ipvsadm -Sn` plus the thresholds that `-S` omits; edits keep untouched fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.kernel.lab.commands import clear, ipvsadm, ipvsadm_lines, landed, listing
from tests.kernel.lab.compare import COUNTERS, consistent_read, from_snapshot, table_state
from tests.kernel.lab.tables import MIXED_RULES, mixed_configs
from tests.kernel.lab.topology import NatLab

if TYPE_CHECKING:
    from lvs_tui.ipvs.kernel import KernelBackend


def build_with_backend(backend: KernelBackend) -> None:
    for service, dests in mixed_configs():
        backend.add_service(service)
        for dest in dests:
            backend.add_dest(service.key, dest)


def assert_same_as_ipvsadm(ipvsadm_commands: list[str], backend_action: Callable[[], None]) -> None:
    """Mixed table + ipvsadm commands, versus mixed table + the backend's action (`-C` then the
    mixed table's rules, in one `ipvsadm -R`)."""
    ipvsadm_lines(["-C", *MIXED_RULES])
    before = table_state()
    ipvsadm_lines(ipvsadm_commands)
    wanted = table_state()
    assert wanted != before, "the ipvsadm command changed nothing: the test would prove nothing"
    ipvsadm_lines(["-C", *MIXED_RULES])
    backend_action()
    got = table_state()
    assert got[0] == wanted[0], "ipvsadm -Sn differs"
    assert got[1] == wanted[1], "service config or thresholds differ"


def test_adding_the_mixed_table_equals_ipvsadm(backend: KernelBackend) -> None:
    ipvsadm_lines(MIXED_RULES)
    wanted = table_state()
    clear()
    build_with_backend(backend)
    got = table_state()
    assert got[0] == wanted[0]
    assert got[1] == wanted[1]


def _keys() -> dict[str, Any]:
    from lvs_tui.model.records import DestKey, ServiceKey

    return {
        "web": ServiceKey.inet("tcp", "10.10.0.1", 80),
        "https": ServiceKey.inet("tcp", "10.10.0.1", 443),
        "sip": ServiceKey.inet("udp", "10.10.0.1", 5060),
        "syslog": ServiceKey.inet("udp", "10.10.0.1", 514),
        "v6": ServiceKey.inet("tcp", "2001:db8::1", 443),
        "fwm5": ServiceKey.mark(5),
        "fwm6": ServiceKey.mark(6, "ipv6"),
        "rs3": DestKey("10.20.3.2", 80),
        "rs1": DestKey("10.20.1.2", 80),
        "gue2": DestKey("10.20.2.2", 0),
        "sip_rs": DestKey("10.20.2.2", 5060),
        "v6_gre": DestKey("2001:db8:1::3", 443),
    }


EDITS: list[tuple[str, list[str], Callable[[KernelBackend, dict[str, Any]], None]]] = []


def edit(name: str, commands: list[str]) -> Callable[[Callable[[KernelBackend, dict[str, Any]], None]], None]:
    def register(action: Callable[[KernelBackend, dict[str, Any]], None]) -> None:
        EDITS.append((name, commands, action))

    return register


def _dest_edit(**kw: Any) -> Any:
    from lvs_tui.ipvs.backend import DestEdit

    return DestEdit(**kw)


def _service_edit(**kw: Any) -> Any:
    from lvs_tui.ipvs.backend import ServiceEdit

    return ServiceEdit(**kw)


@edit("dest weight keeps masq and thresholds", ["-e -t 10.10.0.1:80 -r 10.20.3.2:80 -m -w 7 -x 500 -y 100"])
def _(b: KernelBackend, k: dict[str, Any]) -> None:
    b.edit_dest(k["web"], k["rs3"], _dest_edit(weight=7))


@edit(
    "dest weight keeps the gue tunnel",
    ["-e -f 5 -r 10.20.2.2:0 -i -w 9 --tun-type gue --tun-port 6081 --tun-remcsum"],
)
def _(b: KernelBackend, k: dict[str, Any]) -> None:
    b.edit_dest(k["fwm5"], k["gue2"], _dest_edit(weight=9))


@edit("dest weight 0 keeps the gre tunnel on ipv6",
      ["-e -t [2001:db8::1]:443 -r [2001:db8:1::3]:443 -i -w 0 --tun-type gre --tun-nocsum"])
def _(b: KernelBackend, k: dict[str, Any]) -> None:
    b.edit_dest(k["v6"], k["v6_gre"], _dest_edit(weight=0))


@edit("dest upper threshold only", ["-e -u 10.10.0.1:5060 -r 10.20.2.2:5060 -m -w 1 -x 20 -y 5"])
def _(b: KernelBackend, k: dict[str, Any]) -> None:
    b.edit_dest(k["sip"], k["sip_rs"], _dest_edit(upper_threshold=20))


@edit("dest forward masq -> route", ["-e -t 10.10.0.1:80 -r 10.20.1.2:80 -g -w 1"])
def _(b: KernelBackend, k: dict[str, Any]) -> None:
    from lvs_tui.model.records import Forward

    b.edit_dest(k["web"], k["rs1"], _dest_edit(forward=Forward.ROUTE))


@edit("service scheduler keeps persistence and mask", ["-E -t 10.10.0.1:443 -s rr -p 300 -M 255.255.255.0"])
def _(b: KernelBackend, k: dict[str, Any]) -> None:
    b.edit_service(k["https"], _service_edit(scheduler="rr"))


@edit("service scheduler keeps the sip pe", ["-E -u 10.10.0.1:5060 -s wrr -p 120 --pe sip"])
def _(b: KernelBackend, k: dict[str, Any]) -> None:
    b.edit_service(k["sip"], _service_edit(scheduler="wrr"))


@edit("service scheduler keeps ops", ["-E -u 10.10.0.1:514 -s rr -o"])
def _(b: KernelBackend, k: dict[str, Any]) -> None:
    b.edit_service(k["syslog"], _service_edit(scheduler="rr"))


@edit("service sh flags", ["-E -f 5 -s sh -b sh-port"])
def _(b: KernelBackend, k: dict[str, Any]) -> None:
    b.edit_service(k["fwm5"], _service_edit(flags=("sh-port",)))


@edit("service persistence timeout keeps the ipv6 mask", ["-E -t [2001:db8::1]:443 -s rr -p 900 -M 64"])
def _(b: KernelBackend, k: dict[str, Any]) -> None:
    b.edit_service(k["v6"], _service_edit(persistence_timeout=900))


@edit("delete one real server", ["-d -f 6 -6 -r [2001:db8:2::3]:0"])
def _(b: KernelBackend, k: dict[str, Any]) -> None:
    from lvs_tui.model.records import DestKey

    b.delete_dest(k["fwm6"], DestKey("2001:db8:2::3", 0))


@edit("delete one service", ["-D -u 10.10.0.1:5060"])
def _(b: KernelBackend, k: dict[str, Any]) -> None:
    b.delete_service(k["sip"])


@pytest.mark.parametrize("name", [name for name, _, _ in EDITS])
def test_write_equals_ipvsadm(backend: KernelBackend, name: str) -> None:
    (commands, action), = [(c, a) for n, c, a in EDITS if n == name]
    keys = _keys()
    assert_same_as_ipvsadm(commands, lambda: action(backend, keys))


def test_zero_one_service_then_all(topology: NatLab, backend: KernelBackend) -> None:
    from lvs_tui.model.records import ServiceKey

    ipvsadm_lines(MIXED_RULES)
    topology.requests(6)
    topology.udp(10, 100)
    landed(lambda: {sid: s.columns for sid, s in listing("--stats").services.items()})

    def counters() -> dict[str, Any]:
        _, table = consistent_read(lambda: from_snapshot(backend.snapshot()))
        return {
            sid: ({c: s["stats"][c] for c in COUNTERS},
                  {did: {c: d["stats"][c] for c in COUNTERS} for did, d in s["dests"].items()})
            for sid, s in table["services"].items()
        }

    before = counters()
    assert before["tcp:10.10.0.1:80"][0]["conns"] == 6
    assert before["udp:10.10.0.1:9000"][0]["inpkts"] == 10

    backend.zero(ServiceKey.inet("tcp", "10.10.0.1", 80))
    after_one = counters()
    zeroed = dict.fromkeys(COUNTERS, 0)
    web_service, web_dests = after_one["tcp:10.10.0.1:80"]
    assert web_service == zeroed
    assert all(d == zeroed for d in web_dests.values())
    assert {s: v for s, v in after_one.items() if s != "tcp:10.10.0.1:80"} == {
        s: v for s, v in before.items() if s != "tcp:10.10.0.1:80"
    }, "zeroing one service touched another"

    backend.zero()
    after_all = counters()
    for svc, dests in after_all.values():
        assert svc == zeroed and all(d == zeroed for d in dests.values())
    # the same figures ipvsadm reports
    stats = listing("--stats").services
    assert all(s.int("Conns") == 0 and s.int("InPkts") == 0 for s in stats.values())


def test_set_timeouts_equals_ipvsadm_set(backend: KernelBackend) -> None:
    from lvs_tui.model.records import Timeouts

    original = backend.timeouts()
    try:
        ipvsadm("--set", "700", "0", "200")
        wanted = ipvsadm("-Ln", "--timeout").stdout
        ipvsadm("--set", str(original.tcp), str(original.tcp_fin), str(original.udp))
        backend.set_timeouts(Timeouts(tcp=700, tcp_fin=0, udp=200))  # 0 = leave tcp_fin unchanged
        assert ipvsadm("-Ln", "--timeout").stdout == wanted
        assert backend.timeouts() == Timeouts(700, original.tcp_fin, 200)
    finally:
        ipvsadm("--set", str(original.tcp), str(original.tcp_fin), str(original.udp))
