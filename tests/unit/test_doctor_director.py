"""The director's doctor on described directors: each forwarding method's needs, the NAT symptom
from two tables, and each finding naming its object."""

from __future__ import annotations

from dataclasses import replace

from lvs_tui.doctor.director import DirectorFacts, Route, diagnose
from lvs_tui.doctor.findings import Finding, Severity
from lvs_tui.ipvs.backend import DestConfig, ServiceConfig
from lvs_tui.model.records import Forward, ServiceKey, Snapshot, Tunnel, TunnelType
from lvs_tui.sim import SimulatedDirector

VIP = "10.10.0.1"
WEB = ServiceKey.inet("tcp", VIP, 80)


def table(forward: Forward, port: int = 80, tunnel: Tunnel | None = None) -> SimulatedDirector:
    sim = SimulatedDirector(seed=1, services=0)
    sim.add_service(ServiceConfig(WEB, "rr"))
    for n in (1, 2):
        sim.add_dest(WEB, DestConfig(f"10.20.{n}.2", port, forward, tunnel))
    return sim


def facts(**changes: object) -> DirectorFacts:
    # A jumbo-frame link: room for the tunnels' headers (the TUN test narrows it).
    base = DirectorFacts(1, frozenset({VIP, "10.20.1.1"}), lambda address: Route(None, "eth1", 9000),
                         frozenset({"ipip", "fou", "ip_gre"}), {"conntrack": 0, "expire_nodest_conn": 1})
    return replace(base, **changes)  # type: ignore[arg-type]


def problems(findings: list[Finding]) -> list[str]:
    return [f"{f.subject}: {f.cause}" for f in findings if f.severity >= Severity.WARNING]


def snapshot(sim: SimulatedDirector) -> Snapshot:
    return sim.snapshot()


def test_a_sound_director_has_only_sysctl_notes() -> None:
    for forward in (Forward.MASQ, Forward.ROUTE, Forward.TUNNEL):
        sim = table(forward)
        findings = diagnose(snapshot(sim), snapshot(sim), facts(), 3)
        assert problems(findings) == [], forward
        assert [f.subject for f in findings] == ["sysctl net.ipv4.vs.expire_nodest_conn=1",
                                                 "sysctl net.ipv4.vs.conntrack=0"]


def test_nat_without_forwarding() -> None:
    sim = table(Forward.MASQ)
    [finding] = [f for f in diagnose(snapshot(sim), snapshot(sim), facts(ip_forward=0), 3)
                 if f.severity is Severity.ERROR]
    assert finding.subject == "sysctl net.ipv4.ip_forward" and "tcp:10.10.0.1:80" in finding.cause
    assert finding.fix == "sysctl -w net.ipv4.ip_forward=1"


def test_nat_replies_that_bypass_the_director_show_in_the_counters() -> None:
    sim = table(Forward.MASQ)
    before = snapshot(sim)
    service = before.service(WEB)
    assert service is not None
    one, two = sorted(service.dests, key=lambda dest: dest.address)
    grown = replace(service, dests=(
        replace(one, stats=one.stats._replace(inpkts=one.stats.inpkts + 40)),  # in, nothing out
        replace(two, stats=two.stats._replace(inpkts=two.stats.inpkts + 40, outpkts=two.stats.outpkts + 35)),
    ))
    after = Snapshot(before.time + 3, before.monotonic + 3, before.info, (grown,))
    assert problems(diagnose(before, after, facts(), 3)) == [
        "real server 10.20.1.2:80 of tcp:10.10.0.1:80: took 40 packets from clients and sent none back "
        "through the director in 3 s: real server 10.20.1.2 is probably not using the director as its "
        "gateway, so its replies bypass it and clients drop them"]


def test_dr_needs_the_vip_here_servers_on_the_link_and_the_same_port() -> None:
    sim = table(Forward.ROUTE, port=8080)
    routed = facts(local_addresses=frozenset({"10.20.1.1"}),
                   route=lambda a: Route("10.20.1.254" if a == "10.20.2.2" else None, "eth1", 1500))
    found = problems(diagnose(snapshot(sim), snapshot(sim), routed, 3))
    assert found[0].startswith("service tcp:10.10.0.1:80: is DR, but the VIP 10.10.0.1 is not configured")
    assert "real server 10.20.2.2:8080 of tcp:10.10.0.1:80: is reached via the gateway 10.20.1.254: DR " \
           "rewrites only the MAC address" in " ".join(found)
    assert sum("DR cannot change ports: packets arrive for port 80" in line for line in found) == 2


def test_tun_needs_its_module_and_room_for_the_header() -> None:
    sim = table(Forward.TUNNEL, tunnel=Tunnel(TunnelType.GUE, 5555))
    ethernet = facts(modules=frozenset({"ipip"}), route=lambda a: Route(None, "eth1", 1500))
    found = sorted(problems(diagnose(snapshot(sim), snapshot(sim), ethernet, 3)))
    assert found[0] == ("real server 10.20.1.2:80 of tcp:10.10.0.1:80: gue adds 32 bytes and the path via "
                        "eth1 has MTU 1500: full-size client packets (over 1468 bytes) need fragmentation or "
                        "path-MTU discovery")
    assert found[1] == ("real server 10.20.1.2:80 of tcp:10.10.0.1:80: tunnels with gue but the fou module "
                        "is neither loaded nor installed: the director cannot encapsulate")
    assert problems(diagnose(snapshot(sim), snapshot(sim), facts(), 3)) == []


def test_a_server_without_a_route() -> None:
    sim = table(Forward.MASQ)
    found = sorted(problems(diagnose(snapshot(sim), snapshot(sim), facts(route=lambda a: None), 3)))
    assert found == [f"real server 10.20.{n}.2:80 of tcp:10.10.0.1:80: has no route from the director: "
                     "nothing reaches it" for n in (1, 2)]


def test_dr_and_tun_under_a_port_reuse_mode_that_leaks_drains_are_warned_of() -> None:
    for forward in (Forward.ROUTE, Forward.TUNNEL):
        sim = table(forward)
        leaky = facts(vs_sysctls={"conn_reuse_mode": 1})
        assert problems(diagnose(snapshot(sim), snapshot(sim), leaky, 3)) == [
            "sysctl net.ipv4.vs.conn_reuse_mode=1: the DR and TUN services (tcp:10.10.0.1:80) see their "
            "connections end in FIN_WAIT, where this mode does not reschedule: a client that reuses a port "
            "within the FIN timeout reaches the same real server, even once it is drained (weight 0)."]
        fixed = facts(vs_sysctls={"conn_reuse_mode": 3})
        assert problems(diagnose(snapshot(sim), snapshot(sim), fixed, 3)) == []
    nat = table(Forward.MASQ)  # NAT sees TIME_WAIT, which mode 1 reschedules
    assert problems(diagnose(snapshot(nat), snapshot(nat), facts(vs_sysctls={"conn_reuse_mode": 1}), 3)) == []
