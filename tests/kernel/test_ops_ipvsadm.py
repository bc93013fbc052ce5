"""lvs_tui.ops.commands and lvs_tui.ops.rules against the kernel: each rendered command leaves the
table exactly as the backend's write does, and save -> `ipvsadm -C` -> `ipvsadm -R` rebuilds the
table, thresholds included (compared through `ipvsadm -Sn` plus the thresholds listing, as in
test_writes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from lvs_tui.ipvs.backend import DestConfig, DestEdit, ServiceConfig, ServiceEdit
from lvs_tui.model.records import DestKey, Forward, ServiceKey, Timeouts, Tunnel, TunnelType
from lvs_tui.ops import commands, rules
from lvs_tui.ops.commands import Command
from lvs_tui.ops.rules import Rule, ServiceRule
from tests.kernel.lab.commands import clear, ipvsadm_lines, landed, listing, restore, save
from tests.kernel.lab.commands import ipvsadm as run_ipvsadm
from tests.kernel.lab.compare import table_state
from tests.kernel.lab.tables import MIXED_RULES
from tests.kernel.lab.topology import NatLab

if TYPE_CHECKING:
    from lvs_tui.ipvs.kernel import KernelBackend

# A case gets the backend (the mixed table loaded) and returns the rendered command and the
# backend write it stands for; edits render from the record the backend reads, as the UI will.
Case = Callable[["KernelBackend"], tuple[Command, Callable[[], None]]]
CASES: dict[str, Case] = {}


def add_service(name: str, config: ServiceConfig) -> None:
    def run(b: KernelBackend) -> tuple[Command, Callable[[], None]]:
        return commands.add_service(config), lambda: b.add_service(config)

    CASES[name] = run


def edit_service(name: str, key: ServiceKey, edit: ServiceEdit) -> None:
    def run(b: KernelBackend) -> tuple[Command, Callable[[], None]]:
        now = b.snapshot().service(key)
        assert now is not None
        return commands.edit_service(ServiceConfig.of(now).edited(edit)), lambda: b.edit_service(key, edit)

    CASES[name] = run


def add_dest(name: str, key: ServiceKey, config: DestConfig) -> None:
    def run(b: KernelBackend) -> tuple[Command, Callable[[], None]]:
        return commands.add_dest(key, config), lambda: b.add_dest(key, config)

    CASES[name] = run


def edit_dest(name: str, key: ServiceKey, dest: DestKey, edit: DestEdit) -> None:
    def run(b: KernelBackend) -> tuple[Command, Callable[[], None]]:
        service = b.snapshot().service(key)
        now = service.dest(dest) if service else None
        assert now is not None
        return commands.edit_dest(key, DestConfig.of(now).edited(edit)), lambda: b.edit_dest(key, dest, edit)

    CASES[name] = run


def delete_dest(name: str, key: ServiceKey, dest: DestKey) -> None:
    CASES[name] = lambda b: (commands.delete_dest(key, dest), lambda: b.delete_dest(key, dest))


def delete_service(name: str, key: ServiceKey) -> None:
    CASES[name] = lambda b: (commands.delete_service(key), lambda: b.delete_service(key))


WEB = ServiceKey.inet("tcp", "10.10.0.1", 80)
HTTPS = ServiceKey.inet("tcp", "10.10.0.1", 443)
SIP = ServiceKey.inet("udp", "10.10.0.1", 5060)
V6 = ServiceKey.inet("tcp", "2001:db8::1", 443)
V6DNS = ServiceKey.inet("udp", "2001:db8::1", 53)
FWM5, FWM6 = ServiceKey.mark(5), ServiceKey.mark(6, "ipv6")
TUN, ROUTE, MASQ = Forward.TUNNEL, Forward.ROUTE, Forward.MASQ

add_service("add tcp sh persistent default timeout mask", ServiceConfig(
    ServiceKey.inet("tcp", "10.10.0.1", 8443), "sh", ("persistent", "sh-fallback"), 0, "255.255.255.128"))
add_service("add ipv6 fwmark mh ops", ServiceConfig(ServiceKey.mark(9, "ipv6"), "mh", ("ops", "mh-port")))
add_service("add ipv6 udp sip pe", ServiceConfig(
    ServiceKey.inet("udp", "2001:db8::9", 5060), "rr", ("persistent",), 60, "96", "sip"))
add_service("add sctp wrr", ServiceConfig(ServiceKey.inet("sctp", "10.10.0.1", 3869), "wrr"))
add_service("add tcp port 0 persistent", ServiceConfig(
    ServiceKey.inet("tcp", "10.10.0.5", 0), "lc", ("persistent",), 30))
add_dest("add dest route thresholds", WEB, DestConfig("10.20.1.3", 80, ROUTE, None, 5, 50, 10))
add_dest("add dest gue remcsum", FWM5,
         DestConfig("10.20.1.9", 0, TUN, Tunnel(TunnelType.GUE, 6090, ("remcsum",)), 2))
add_dest("add dest ipv6 gre csum", V6,
         DestConfig("2001:db8:1::9", 443, TUN, Tunnel(TunnelType.GRE, 0, ("csum",)), 0, 7))
add_dest("add dest ipip", HTTPS, DestConfig("10.20.3.2", 443, TUN, Tunnel(), 3))
edit_service("edit service scheduler keeps persistence", HTTPS, ServiceEdit(scheduler="rr"))
edit_service("edit service drops the pe", SIP, ServiceEdit(pe=""))
edit_service("edit service scheduler keeps the pe", SIP, ServiceEdit(scheduler="wrr"))
edit_service("edit service scheduler keeps ops", ServiceKey.inet("udp", "10.10.0.1", 514),
             ServiceEdit(scheduler="rr"))
edit_service("edit service drops persistence", HTTPS, ServiceEdit(flags=()))
edit_service("edit service sh flags", FWM5, ServiceEdit(flags=("sh-port",)))
edit_service("edit service ipv6 timeout and mask", V6, ServiceEdit(persistence_timeout=900, netmask="48"))
edit_service("edit service sh to wrr flag", V6DNS, ServiceEdit(scheduler="wrr", flags=("flag-2",)))
edit_service("edit service ipv6 fwmark mh", FWM6, ServiceEdit(flags=("mh-fallback",)))
edit_dest("edit dest weight keeps thresholds", WEB, DestKey("10.20.3.2", 80), DestEdit(weight=7))
edit_dest("edit dest weight keeps gue", FWM5, DestKey("10.20.2.2", 0), DestEdit(weight=9))
edit_dest("edit dest thresholds", SIP, DestKey("10.20.2.2", 5060),
          DestEdit(upper_threshold=20, lower_threshold=0))
edit_dest("edit dest masq to route", WEB, DestKey("10.20.1.2", 80), DestEdit(forward=ROUTE))
edit_dest("edit dest route to gue", HTTPS, DestKey("10.20.1.2", 443),
          DestEdit(forward=TUN, tunnel=Tunnel(TunnelType.GUE, 5555, ("nocsum",))))
edit_dest("edit dest tunnel to masq", FWM5, DestKey("10.20.1.2", 0), DestEdit(forward=MASQ))
edit_dest("edit dest ipv6 gre weight 0", V6, DestKey("2001:db8:1::3", 443), DestEdit(weight=0))
delete_dest("delete dest ipv6 fwmark", FWM6, DestKey("2001:db8:2::3", 0))
delete_service("delete service ipv6", V6DNS)


def _load_mixed() -> Any:
    """The mixed table alone (`-C` then its rules, in one `ipvsadm -R`), and its state."""
    _reload_mixed()
    return table_state()


def _reload_mixed() -> None:
    ipvsadm_lines(["-C", *MIXED_RULES])


@pytest.mark.parametrize("name", list(CASES))
def test_rendered_command_equals_backend_write(backend: KernelBackend, name: str) -> None:
    before = _load_mixed()
    command, action = CASES[name](backend)
    run_ipvsadm(*command.args)
    wanted = table_state()
    assert wanted != before, f"{command.display} changed nothing: the test would prove nothing"
    _reload_mixed()
    action()
    got = table_state()
    assert got[0] == wanted[0], f"ipvsadm -Sn differs from the backend's write after {command.display}"
    assert got[1] == wanted[1], f"config or thresholds differ after {command.display}"


def test_rendered_zero(topology: NatLab) -> None:

    def stats() -> dict[str, Any]:
        listed = listing("--stats").services
        return {sid: (s.columns, {did: d.columns for did, d in s.dests.items()}) for sid, s in listed.items()}

    ipvsadm_lines(MIXED_RULES)
    topology.requests(4)
    topology.udp(5, 50)
    before = landed(stats)
    assert isinstance(before, dict) and before["tcp:10.10.0.1:80"][0]["Conns"] == "4"
    run_ipvsadm(*commands.zero(ServiceKey.inet("tcp", "10.10.0.1", 80)).args)
    after = stats()
    web, web_dests = after.pop("tcp:10.10.0.1:80")
    assert set(web.values()) == {"0"} and all(set(d.values()) == {"0"} for d in web_dests.values())
    assert after == {sid: v for sid, v in before.items() if sid != "tcp:10.10.0.1:80"}
    assert after["udp:10.10.0.1:9000"][0]["InPkts"] == "5"
    run_ipvsadm(*commands.zero().args)
    assert all(set(s.values()) == {"0"} for s, _ in stats().values())


def test_rendered_set_timeouts_equals_backend(backend: KernelBackend) -> None:

    original = backend.timeouts()
    try:
        wanted = Timeouts(701, 0, 199)
        command = commands.set_timeouts(wanted)
        assert command.args == ("--set", "701", "0", "199")
        run_ipvsadm(*command.args)
        by_ipvsadm = backend.timeouts()
        backend.set_timeouts(original)
        backend.set_timeouts(wanted)
        assert backend.timeouts() == by_ipvsadm == Timeouts(701, original.tcp_fin, 199)
    finally:
        backend.set_timeouts(original)


def test_save_clear_restore_round_trips_with_thresholds(backend: KernelBackend) -> None:

    original = _load_mixed()
    lines = commands.save_lines(backend.snapshot())
    assert any(" -x 500 -y 100" in line for line in lines), "thresholds missing from the save"
    clear()
    restore(lines)
    assert table_state() == original
    # the same text again: saving is deterministic and the restore lost nothing
    assert commands.save_lines(backend.snapshot()) == lines


def test_save_is_ipvsadm_save_plus_thresholds(backend: KernelBackend) -> None:
    import re

    _load_mixed()
    ours = [re.sub(r" -[xy] \d+", "", line) for line in commands.save_lines(backend.snapshot())]
    theirs = [" ".join(line.split()) for line in save()]
    assert sorted(ours) == sorted(theirs)


def _apply(backend: KernelBackend, rules: list[Rule]) -> None:

    for rule in rules:
        if isinstance(rule, ServiceRule):
            backend.add_service(rule.config)
        else:
            backend.add_dest(rule.service, rule.config)


def test_parsed_ipvsadm_save_rebuilds_the_table_through_the_backend(backend: KernelBackend) -> None:

    _load_mixed()
    saved = run_ipvsadm("-Sn").stdout
    wanted = sorted(save())
    parsed = rules.parse_rules(saved)
    assert len(parsed) == len(MIXED_RULES)
    clear()
    _apply(backend, parsed)
    assert sorted(save()) == wanted


def test_parsed_lvs_top_save_rebuilds_everything_through_the_backend(backend: KernelBackend) -> None:

    original = _load_mixed()
    parsed = rules.parse_rules("\n".join(commands.save_lines(backend.snapshot())))
    clear()
    _apply(backend, parsed)
    assert table_state() == original
