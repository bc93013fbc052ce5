"""lvs_tui.ops.changes: what each operator action plans, how it is undone, and what it refuses."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from lvs_tui.ipvs.backend import DestConfig, DestEdit, ServiceConfig, ServiceEdit
from lvs_tui.ipvs.errors import InvalidArgument
from lvs_tui.model.records import Dest, DestKey, Family, Forward, Service, ServiceKey
from lvs_tui.ops import changes
from lvs_tui.ops.changes import Plan
from lvs_tui.ops.commands import save_lines
from lvs_tui.ops.sysctl import Sysctls
from lvs_tui.sim import SimulatedDirector

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
TLS = ServiceKey.inet("tcp", "192.0.2.10", 443)
DNS = ServiceKey.inet("udp", "192.0.2.53", 53)
HOST = "198.51.100.7"  # serves in all three services (at weight 0 in DNS)
OTHER = "198.51.100.8"
NO_SYSCTLS = Sysctls({})


def director() -> SimulatedDirector:
    """An empty demo director holding this table; its clock is frozen, so no traffic moves."""
    sim = SimulatedDirector(services=0, dests_per_service=0, clock=lambda: 0.0, wall_clock=lambda: 0.0)
    table = [
        (ServiceConfig(WEB, "wrr"), [DestConfig(HOST, 8080, weight=3), DestConfig(OTHER, 8080, weight=2)]),
        (ServiceConfig(TLS, "wlc", ("persistent",), 600),
         [DestConfig(HOST, 443, Forward.ROUTE, weight=100),
          DestConfig(HOST, 8443, Forward.ROUTE, weight=50)]),
        (ServiceConfig(DNS, "sh", ("sh-port",)), [DestConfig(HOST, 53, weight=0), DestConfig(OTHER, 53)]),
    ]
    for config, dests in table:
        sim.add_service(config)
        for dest in dests:
            sim.add_dest(config.key, dest)
    return sim


def service(sim: SimulatedDirector, key: ServiceKey) -> Service:
    found = sim.snapshot().service(key)
    assert found is not None
    return found


def dest(sim: SimulatedDirector, key: ServiceKey, address: str, port: int) -> Dest:
    found = service(sim, key).dest(DestKey(address, port))
    assert found is not None
    return found


def host_weights(sim: SimulatedDirector) -> list[int]:
    """The weights of HOST in the services where it starts with a weight above 0."""
    return [dest(sim, key, HOST, port).weight for key, port in ((WEB, 8080), (TLS, 443), (TLS, 8443))]


def apply(sim: SimulatedDirector, plan: Plan) -> None:
    for change in plan.changes:
        change.write(sim)


def test_a_host_drain_sets_weight_0_in_every_service_and_lists_what_it_skips() -> None:
    sim = director()
    plan = changes.plan_drain(sim.snapshot().services, HOST, None, Sysctls({"expire_quiescent_template": 0}))
    drained = {(WEB, DestKey(HOST, 8080)): 3, (TLS, DestKey(HOST, 443)): 100, (TLS, DestKey(HOST, 8443)): 50}
    assert {(start.service, start.dest): start.previous_weight for start in plan.drains} == drained
    assert {change.target for change in plan.changes} == {changes.dest_target(*key) for key in drained}
    assert all(change.after is not None and change.after["weight"] == 0 for change in plan.changes)
    assert plan.destructive and HOST in plan.title and "2 services" in plan.title
    assert len(plan.skipped) == 1 and f"{DNS}>{HOST}:53" in plan.skipped[0] and "weight 0" in plan.skipped[0]
    # TLS is persistent with expire_quiescent_template=0: warned once, though two of its servers drain.
    assert sum(str(TLS) in warning for warning in plan.warnings) == 1
    assert not any(str(DNS) in warning for warning in plan.warnings)  # sh without fallback, but skipped
    apply(sim, plan)
    assert host_weights(sim) == [0, 0, 0]
    assert dest(sim, WEB, OTHER, 8080).weight == 2  # another host is left alone


def test_draining_one_server_names_it_and_its_service() -> None:
    sim = director()
    plan = changes.plan_drain(sim.snapshot().services, HOST, 8443, NO_SYSCTLS)
    assert [change.target for change in plan.changes] == [f"{TLS}>{HOST}:8443"]
    assert f"{HOST}:8443" in plan.title and str(TLS) in plan.title
    assert [start.previous_weight for start in plan.drains] == [50]


def test_a_server_already_at_weight_0_is_skipped_not_changed_nor_warned_about() -> None:
    services = director().snapshot().services
    plan = changes.plan_drain(services, HOST, 53, NO_SYSCTLS)
    assert plan.changes == () and plan.drains == () and plan.warnings == ()
    assert len(plan.skipped) == 1
    # Its neighbour at weight 1 does drain, with the warning of sh without sh-fallback.
    neighbour = changes.plan_drain(services, OTHER, 53, NO_SYSCTLS)
    assert any(str(DNS) in warning for warning in neighbour.warnings)


@pytest.mark.parametrize("weight", [-1, changes.MAX_WEIGHT + 1])
def test_a_weight_out_of_bounds_is_refused_naming_the_server(weight: int) -> None:
    sim = director()
    with pytest.raises(InvalidArgument, match=f"{HOST}:8080"):
        changes.plan_weight(service(sim, WEB), dest(sim, WEB, HOST, 8080), weight, NO_SYSCTLS)


def test_the_largest_weight_is_accepted() -> None:
    sim = director()
    plan = changes.plan_weight(service(sim, WEB), dest(sim, WEB, HOST, 8080), changes.MAX_WEIGHT, NO_SYSCTLS)
    apply(sim, plan)
    assert dest(sim, WEB, HOST, 8080).weight == changes.MAX_WEIGHT


def test_a_weight_of_0_is_a_drain_and_bringing_a_server_back_is_not() -> None:
    sim = director()
    down = changes.plan_weight(service(sim, WEB), dest(sim, WEB, HOST, 8080), 0, NO_SYSCTLS)
    assert down.destructive
    assert [(s.dest, s.previous_weight) for s in down.drains] == [(DestKey(HOST, 8080), 3)]
    up = changes.plan_weight(service(sim, DNS), dest(sim, DNS, HOST, 53), 4, NO_SYSCTLS)
    assert not up.destructive and up.drains == ()
    apply(sim, down)
    assert dest(sim, WEB, HOST, 8080).weight == 0
    undo = changes.plan_undo(down, down.changes)
    assert undo is not None
    apply(sim, undo)
    assert dest(sim, WEB, HOST, 8080).weight == 3


def test_changing_the_scheduler_is_destructive_and_other_edits_are_not() -> None:
    sim = director()
    web, tls = service(sim, WEB), service(sim, TLS)
    resched = changes.plan_edit_service(web, ServiceEdit(scheduler="rr"))
    assert resched.destructive and "wrr" in resched.title and "rr" in resched.title.replace("wrr", "")
    assert not changes.plan_edit_service(web, ServiceEdit(scheduler="wrr")).destructive
    assert not changes.plan_edit_service(tls, ServiceEdit(persistence_timeout=900)).destructive
    apply(sim, resched)
    assert service(sim, WEB).scheduler == "rr"


def test_a_service_edit_and_its_undo_put_the_table_back() -> None:
    sim = director()
    before = save_lines(sim.snapshot())
    plan = changes.plan_edit_service(service(sim, TLS), ServiceEdit(persistence_timeout=900, netmask="24"))
    apply(sim, plan)
    edited = service(sim, TLS)
    assert (edited.persistence_timeout, edited.netmask) == (900, "255.255.255.0")
    undo = changes.plan_undo(plan, plan.changes)
    assert undo is not None
    apply(sim, undo)
    assert save_lines(sim.snapshot()) == before


def test_an_add_is_undone_by_removing_what_it_added() -> None:
    sim = director()
    new = ServiceKey.inet("tcp", "192.0.2.30", 80)
    add = changes.plan_add_service(ServiceConfig(new, "rr"))
    add_dest = changes.plan_add_dest(new, DestConfig(OTHER, 80, weight=7))
    assert not add.destructive and add.changes[0].before is None
    apply(sim, add)
    apply(sim, add_dest)
    assert dest(sim, new, OTHER, 80).weight == 7
    for plan in (add_dest, add):
        undo = changes.plan_undo(plan, plan.changes)
        assert undo is not None
        apply(sim, undo)
    assert sim.snapshot().service(new) is None


Build = Callable[[], object]
INVALID: list[tuple[str, Build, str]] = [
    ("unknown scheduler", lambda: changes.add_service(ServiceConfig(WEB, "no such")), str(WEB)),
    ("port", lambda: changes.add_service(ServiceConfig(ServiceKey.inet("tcp", "192.0.2.1", 70000))),
     "192.0.2.1:70000"),
    ("flag", lambda: changes.add_service(ServiceConfig(WEB, "rr", ("sh-port",))), str(WEB)),
    ("address", lambda: changes.add_dest(WEB, DestConfig("backend.example", 80)), "backend.example:80"),
    ("weight", lambda: changes.add_dest(WEB, DestConfig(HOST, 80, weight=-1)), f"{HOST}:80"),
    ("thresholds",
     lambda: changes.add_dest(WEB, DestConfig(HOST, 80, upper_threshold=10, lower_threshold=20)),
     f"{HOST}:80"),
    ("family", lambda: changes.add_dest(WEB, DestConfig("2001:db8::7", 80)), "[2001:db8::7]:80"),
    ("edit", lambda: changes.edit_dest(WEB, Dest(HOST, 80, Family.IPV4), DestEdit(lower_threshold=5)),
     f"{HOST}:80"),
]


@pytest.mark.parametrize(("what", "build", "name"), INVALID, ids=[case[0] for case in INVALID])
def test_invalid_input_is_refused_with_a_sentence_naming_the_object(
    what: str, build: Build, name: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        build()
    message = str(caught.value)
    assert name in message, what
    assert message.endswith("."), "a sentence"


def test_removing_a_busy_server_warns_and_its_undo_re_adds_it_as_it_was() -> None:
    sim = director()
    before = save_lines(sim.snapshot())
    web, idle = service(sim, WEB), dest(sim, WEB, HOST, 8080)
    busy = dataclasses.replace(idle, active_conns=3, inactive_conns=4)
    plan = changes.plan_remove_dest(web, busy, Sysctls({"expire_nodest_conn": 1}))
    assert plan.destructive
    assert "3 active" in plan.warnings[0] and "4 inactive" in plan.warnings[0]
    assert any("expire_nodest_conn" in warning for warning in plan.warnings[1:])
    assert changes.plan_remove_dest(web, idle, Sysctls({"expire_nodest_conn": 0})).warnings == ()
    apply(sim, plan)
    assert service(sim, WEB).dest(idle.key) is None
    undo = changes.plan_undo(plan, plan.changes)
    assert undo is not None
    apply(sim, undo)
    assert save_lines(sim.snapshot()) == before


def test_removing_a_service_warns_of_its_connections_and_undo_brings_back_every_server() -> None:
    sim = director()
    before = save_lines(sim.snapshot())
    tls = service(sim, TLS)
    busy = dataclasses.replace(tls, dests=tuple(dataclasses.replace(d, active_conns=5) for d in tls.dests))
    assert any("10 active" in warning for warning in changes.plan_remove_service(busy).warnings)
    plan = changes.plan_remove_service(tls)
    assert plan.destructive and plan.warnings == ()
    apply(sim, plan)
    assert sim.snapshot().service(TLS) is None
    undo = changes.plan_undo(plan, plan.changes)
    assert undo is not None
    apply(sim, undo)
    assert save_lines(sim.snapshot()) == before


def test_zeroing_counters_has_no_undo() -> None:
    snapshot = director().snapshot()
    plan = changes.plan_zero(None, snapshot)
    assert plan.destructive and plan.warnings and "3 services" in plan.title
    assert not plan.changes[0].undoable
    assert changes.plan_undo(plan, plan.changes) is None
    assert changes.plan_zero(WEB, snapshot).changes[0].target == WEB.id


def test_undo_reverses_only_the_done_changes_newest_first() -> None:
    sim = director()
    plan = changes.plan_drain(sim.snapshot().services, HOST, None, NO_SYSCTLS)
    assert len(plan.changes) == 3
    undo = changes.plan_undo(plan, plan.changes)
    assert undo is not None and undo.undoes == plan.title  # the title says what the undo does:
    assert undo.title.startswith(f"Undo: set real server {plan.drains[-1].dest} of {plan.drains[-1].service} "
                                 f"back to weight {plan.drains[-1].previous_weight}; set real server ")
    assert [change.target for change in undo.changes] == [change.target for change in reversed(plan.changes)]
    previous = {changes.dest_target(s.service, s.dest): s.previous_weight for s in plan.drains}
    assert all(change.after is not None and change.after["weight"] == previous[change.target]
               for change in undo.changes)
    partial = changes.plan_undo(plan, plan.changes[:1])
    assert partial is not None and [c.target for c in partial.changes] == [plan.changes[0].target]
    assert changes.plan_undo(plan, ()) is None
    apply(sim, plan)
    apply(sim, undo)
    assert host_weights(sim) == [3, 100, 50]


def test_undoing_a_service_removal_keeps_the_order_of_its_real_servers() -> None:
    # sh and mh assign their hash buckets walking the server list: another order moves clients.
    sim = director()
    order = [d.key for d in service(sim, TLS).dests]
    plan = changes.plan_remove_service(service(sim, TLS))
    apply(sim, plan)
    undo = changes.plan_undo(plan, plan.changes)
    assert undo is not None
    apply(sim, undo)
    assert [d.key for d in service(sim, TLS).dests] == order


def test_what_the_kernel_or_ipvsadm_would_refuse_or_rewrite_is_refused_when_planned() -> None:
    every_port = ServiceKey.inet("tcp", "192.0.2.99", 0)
    with pytest.raises(InvalidArgument, match="port 0 is allowed only for a persistent service"):
        changes.plan_add_service(ServiceConfig(every_port, "rr"))
    assert changes.plan_add_service(ServiceConfig(every_port, "rr", ("persistent",))).changes
    with pytest.raises(InvalidArgument, match="already exists: select it and press e"):
        changes.plan_add_service(ServiceConfig(WEB, "rr"), [WEB])
    with pytest.raises(InvalidArgument, match="is already in service"):
        changes.plan_add_dest(WEB, DestConfig("10.0.0.1", 80), [DestKey("10.0.0.1", 80)])
    for forward, mode in ((Forward.ROUTE, "DR"), (Forward.TUNNEL, "TUN")):
        with pytest.raises(InvalidArgument, match=f"{mode} cannot change ports"):
            changes.plan_add_dest(WEB, DestConfig("10.0.0.1", 8080, forward))
        assert changes.plan_add_dest(WEB, DestConfig("10.0.0.1", 80, forward)).changes
        assert changes.plan_add_dest(ServiceKey.mark(7), DestConfig("10.0.0.1", 8080, forward)).changes
    assert changes.plan_add_dest(WEB, DestConfig("10.0.0.1", 8080, Forward.MASQ)).changes  # NAT maps ports


def test_a_server_on_another_port_keeps_it_while_it_keeps_its_forwarding() -> None:
    service = Service(WEB, "wrr", dests=(Dest("10.0.0.1", 8080, Family.IPV4, Forward.ROUTE, weight=2),))
    dest = service.dests[0]
    assert changes.plan_weight(service, dest, 5, NO_SYSCTLS).changes  # set by someone else: still editable
    nat = Service(WEB, "wrr", dests=(dataclasses.replace(dest, forward=Forward.MASQ),))
    with pytest.raises(InvalidArgument, match="DR cannot change ports"):
        changes.plan_edit_dest(nat, nat.dests[0], DestEdit(forward=Forward.ROUTE), NO_SYSCTLS)
