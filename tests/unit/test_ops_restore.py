"""lvs_tui.ops.restore: the plan that converges a table to a rules file, and its diff."""

from __future__ import annotations

from lvs_tui.ipvs.backend import DestConfig, ServiceConfig
from lvs_tui.model.records import DestKey, Forward, ServiceKey, Tunnel, TunnelType
from lvs_tui.ops import commands
from lvs_tui.ops.changes import Plan, dest_target
from lvs_tui.ops.commands import save_lines
from lvs_tui.ops.restore import diff_lines, plan_restore
from lvs_tui.ops.rules import DestRule, Rule, parse_rules
from lvs_tui.sim import SimulatedDirector

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
TLS = ServiceKey.inet("tcp", "192.0.2.10", 443)
DNS = ServiceKey.inet("udp", "192.0.2.53", 53)
NEW = ServiceKey.inet("tcp", "192.0.2.30", 80)
A, B, C = "198.51.100.1", "198.51.100.2", "198.51.100.3"


def director() -> SimulatedDirector:
    """Three services on a frozen clock; TLS is persistent behind a /24 and tunnels to one server."""
    sim = SimulatedDirector(services=0, dests_per_service=0, clock=lambda: 0.0, wall_clock=lambda: 0.0)
    tables = [
        (ServiceConfig(WEB, "wrr"), [DestConfig(A, 8080, weight=3), DestConfig(B, 8080, weight=2)]),
        (ServiceConfig(TLS, "wlc", ("persistent",), 600, "255.255.255.0"),
         [DestConfig(A, 443, Forward.TUNNEL, Tunnel(TunnelType.GUE, 6080), upper_threshold=100,
                     lower_threshold=50), DestConfig(B, 443, Forward.ROUTE)]),
        (ServiceConfig(DNS, "rr"), [DestConfig(A, 53)]),
    ]
    for config, dests in tables:
        sim.add_service(config)
        for dest in dests:
            sim.add_dest(config.key, dest)
    return sim


# Equal: WEB and its A. Edited: WEB's B weight, TLS (not persistent, host mask, rr), TLS's A (masq,
# no thresholds). Added: WEB's C, NEW and its server. Removed: TLS's B, DNS with its server.
WANTED = """\
# a comment, then a blank line

-A -t 192.0.2.10:80 -s wrr
-a -t 192.0.2.10:80 -r 198.51.100.1:8080 -m -w 3
-a -t 192.0.2.10:80 -r 198.51.100.2:8080 -m -w 7
-a -t 192.0.2.10:80 -r 198.51.100.3:8080 -m -w 1
-A -t 192.0.2.10:443 -s rr
-a -t 192.0.2.10:443 -r 198.51.100.1:443 -m -w 1
-A -t 192.0.2.30:80 -s rr
-a -t 192.0.2.30:80 -r 198.51.100.3:80 -m -w 1
"""


def rendered(rules: list[Rule]) -> set[str]:
    return {commands.add_dest(rule.service, rule.config).rule if isinstance(rule, DestRule)
            else commands.add_service(rule.config).rule for rule in rules}


def apply(sim: SimulatedDirector, plan: Plan) -> None:
    for change in plan.changes:
        change.write(sim)


def test_the_plan_removes_extras_adds_the_missing_edits_what_differs_and_leaves_equal_ones() -> None:
    sim = director()
    plan = plan_restore(sim.snapshot(), parse_rules(WANTED), "wanted.rules")
    actions = {(change.action, change.target) for change in plan.changes}
    assert actions == {
        ("delete_service", DNS.id),  # its real server goes with it, not one by one
        ("delete_dest", dest_target(TLS, DestKey(B, 443))),
        ("edit_service", TLS.id),
        ("edit_dest", dest_target(TLS, DestKey(A, 443))),
        ("edit_dest", dest_target(WEB, DestKey(B, 8080))),
        ("add_dest", dest_target(WEB, DestKey(C, 8080))),
        ("add_service", NEW.id),
        ("add_dest", dest_target(NEW, DestKey(C, 80))),
    }
    assert plan.destructive and "wanted.rules" in plan.title
    # Adds and edits first: a refusal part-way has then taken nothing away, and is undone whole.
    kinds = [change.action.split("_")[0] for change in plan.changes]
    assert max(i for i, kind in enumerate(kinds) if kind != "delete") < kinds.index("delete")


def test_applying_the_plan_makes_the_table_equal_to_the_file() -> None:
    sim = director()
    rules = parse_rules(WANTED)
    apply(sim, plan_restore(sim.snapshot(), rules, "wanted.rules"))
    assert set(save_lines(sim.snapshot())) == rendered(rules)
    assert plan_restore(sim.snapshot(), rules, "wanted.rules").changes == ()  # converged
    tls = sim.snapshot().service(TLS)
    assert tls is not None and not tls.persistent and tls.netmask == "255.255.255.255"
    server = tls.dest(DestKey(A, 443))
    assert server is not None and server.forward is Forward.MASQ and server.tunnel is None
    assert (server.upper_threshold, server.lower_threshold) == (0, 0)


def test_the_table_s_own_save_output_plans_nothing() -> None:
    sim = director()
    snapshot = sim.snapshot()
    assert plan_restore(snapshot, parse_rules("\n".join(save_lines(snapshot))), "saved").changes == ()


def test_defaults_written_another_way_compare_equal() -> None:
    sim = SimulatedDirector(services=0, dests_per_service=0, clock=lambda: 0.0, wall_clock=lambda: 0.0)
    sim.add_service(ServiceConfig(TLS, "wlc", ("persistent",)))  # ipvsadm's default timeout: 300 s
    sim.add_dest(TLS, DestConfig(A, 443, Forward.ROUTE))
    # -p without a value, an explicit host mask, -r without a port, no -g and no -w: all defaults.
    rules = parse_rules("--add-service -t 192.0.2.10:443 -p -M 255.255.255.255\n"
                        "-a -t 192.0.2.10:443 -r 198.51.100.1\n")
    assert plan_restore(sim.snapshot(), rules, "defaults").changes == ()


def test_an_empty_file_removes_every_service_and_nothing_else() -> None:
    sim = director()
    plan = plan_restore(sim.snapshot(), [], "empty")
    assert sorted(change.target for change in plan.changes) == sorted(key.id for key in (WEB, TLS, DNS))
    assert {change.action for change in plan.changes} == {"delete_service"}


def test_the_diff_has_one_signed_ipvsadm_line_per_change() -> None:
    plan = plan_restore(director().snapshot(), parse_rules(WANTED), "wanted.rules")
    lines = diff_lines(plan)
    assert len(lines) == len(plan.changes)
    signs = {"add": "+", "delete": "-", "edit": "~"}
    for line, change in zip(lines, plan.changes, strict=True):
        assert line == f"{signs[change.action.split('_')[0]]} {change.command.display}"
