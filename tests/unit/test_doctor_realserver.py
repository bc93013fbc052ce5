"""The real-server kit on described hosts: what each forwarding method needs, each mistake found
with the object named and its fix, and the commands as argument lists."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lvs_tui.cli import main
from lvs_tui.doctor.findings import Finding, Severity, worst
from lvs_tui.doctor.realserver import HostFacts, Interface, check, plan
from lvs_tui.ops.journal import Journal, outcomes

VIP = "10.10.0.1"


def host(lo: tuple[str, ...] = ("127.0.0.1/8",), eth: tuple[str, ...] = ("10.20.1.2/24",),
         sysctls: dict[str, int] | None = None, gateways: tuple[str, ...] = ("10.20.1.1",),
         tunnel: Interface | None = None) -> HostFacts:
    interfaces = [Interface("lo", True, lo, 65536), Interface("eth0", True, eth, 1500, "veth")]
    if tunnel is not None:
        interfaces.append(tunnel)
    return HostFacts(tuple(interfaces), sysctls or {}, gateways, frozenset({"ipip"}))


GOOD_ARP = {"net.ipv4.conf.all.arp_ignore": 1, "net.ipv4.conf.all.arp_announce": 2}


def errors(findings: list[Finding]) -> list[str]:
    return [f"{f.subject}: {f.cause}" for f in findings if f.severity is Severity.ERROR]


def test_a_well_made_dr_real_server_has_no_error() -> None:
    findings = check("dr", VIP, host(lo=("127.0.0.1/8", f"{VIP}/32"), sysctls=GOOD_ARP))
    assert worst(findings) is Severity.OK
    assert {f.subject for f in findings} == {f"VIP {VIP}", "eth0 arp_ignore=1", "eth0 arp_announce=2"}


def test_dr_with_arp_ignore_0_is_said_to_steal_the_traffic() -> None:
    findings = check("dr", VIP, host(lo=(f"{VIP}/32",), sysctls={"net.ipv4.conf.all.arp_announce": 2}))
    [error] = [f for f in findings if f.severity is Severity.ERROR]
    assert error.subject == "eth0 arp_ignore=0"
    assert "answers ARP for the VIP and steals the director's traffic" in error.cause
    assert error.fix == "sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.eth0.arp_ignore=1"


def test_the_interface_value_counts_when_it_is_higher_than_all() -> None:
    sysctls = {"net.ipv4.conf.eth0.arp_ignore": 2, "net.ipv4.conf.eth0.arp_announce": 2}
    assert errors(check("dr", VIP, host(lo=(f"{VIP}/32",), sysctls=sysctls))) == []
    warned = check("dr", VIP, host(lo=(f"{VIP}/32",), sysctls={"net.ipv4.conf.all.arp_ignore": 1}))
    assert [f.subject for f in warned if f.severity is Severity.WARNING] == ["eth0 arp_announce=0"]


def test_dr_without_the_vip_on_lo_or_with_it_on_the_wire() -> None:
    assert errors(check("dr", VIP, host(sysctls=GOOD_ARP))) == [
        f"VIP {VIP}: is not on lo: this host drops the packets the director forwards to it"]
    on_wire = errors(check("dr", VIP, host(lo=(f"{VIP}/32",), eth=("10.20.1.2/24", f"{VIP}/24"),
                                         sysctls=GOOD_ARP)))
    assert on_wire == [f"VIP {VIP}: is on eth0, a network interface: this host claims the VIP on the wire "
                       "and takes the director's traffic"]


def test_tun_needs_the_tunnel_up_with_the_vip_and_rp_filter_relaxed() -> None:
    missing = errors(check("tun", VIP, host(sysctls=GOOD_ARP)))
    assert any(error.startswith("tunl0: does not exist") for error in missing)
    tunnel = Interface("tunl0", True, (f"{VIP}/32",), 1480, "ipip")
    strict = {**GOOD_ARP, "net.ipv4.conf.all.rp_filter": 1}
    assert errors(check("tun", VIP, host(sysctls=strict, tunnel=tunnel))) == [
        "tunl0 rp_filter=1: strict reverse-path filtering drops the decapsulated packets, whose clients are "
        "not routed via tunl0"]
    loose = {**GOOD_ARP, "net.ipv4.conf.all.rp_filter": 2}
    assert errors(check("tun", VIP, host(sysctls=loose, tunnel=tunnel))) == []
    # The VIP on lo serves TUN as well: the decapsulated packet only has to be for a local address.
    bare_tunnel = Interface("tunl0", True, (), 1480, "ipip")
    on_lo = check("tun", VIP, host(lo=(f"{VIP}/32",), sysctls=loose, tunnel=bare_tunnel))
    assert errors(on_lo) == [] and [f.cause for f in on_lo if f.subject == f"VIP {VIP}"] == ["is on lo"]
    nowhere = errors(check("tun", VIP, host(sysctls=loose, tunnel=bare_tunnel)))
    assert nowhere == [f"VIP {VIP}: is not on tunl0 or lo: this host drops the packets the director "
                       "forwards to it"]


def test_nat_needs_the_director_as_gateway() -> None:
    [finding] = check("nat", VIP, host(gateways=("10.20.1.254",)), director="10.20.1.1")
    assert finding.severity is Severity.ERROR and finding.fix == "ip route replace default via 10.20.1.1"
    assert "replies bypass the director" in finding.cause
    assert worst(check("nat", VIP, host(), director="10.20.1.1")) is Severity.OK


def test_the_plans_are_argument_lists() -> None:
    dr = [step.argv for step in plan("dr", VIP, interfaces=("eth0",))]
    assert dr[0] == ("ip", "addr", "replace", f"{VIP}/32", "dev", "lo")
    assert ("sysctl", "-w", "net.ipv4.conf.eth0.arp_ignore=1") in dr
    assert ("sysctl", "-w", "net.ipv4.conf.all.arp_announce=2") in dr
    assert [step.argv for step in plan("nat", VIP, "10.20.1.1")] == [
        ("ip", "route", "replace", "default", "via", "10.20.1.1")]
    assert plan("dr", "2001:db8::1")[0].argv == ("ip", "addr", "replace", "2001:db8::1/128", "dev", "lo")
    with pytest.raises(ValueError, match="--director"):
        plan("nat", VIP)


def test_print_from_the_command_line() -> None:
    result = subprocess.run([sys.executable, "-m", "lvs_tui", "realserver", "--mode", "tun", "--vip", VIP,
                             "--print"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("modprobe ipip ") and "# decapsulate IP-in-IP" in lines[0]
    bad = subprocess.run([sys.executable, "-m", "lvs_tui", "realserver", "--mode", "dr", "--vip", "nope",
                          "--print"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2
    assert bad.stderr == ("lvs-top realserver: --vip nope is not an IP address; "
                          "see lvs-top realserver --help.\n")


def test_apply_stops_at_the_first_failure_journals_each_step_and_says_what_ran(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    ran: list[list[str]] = []

    def fake_run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        ran.append(list(argv))  # nothing is run on this host: the kit would change its network
        failed = "arp_announce" in argv[-1]
        error = "permission denied" if failed else ""
        return subprocess.CompletedProcess(argv, 1 if failed else 0, "", error)

    monkeypatch.setattr("subprocess.run", fake_run)
    journal = tmp_path / "journal.jsonl"
    code = main(["realserver", "--mode", "dr", "--vip", VIP, "--apply", "--journal", str(journal)])
    assert code == 1
    assert ran == [["ip", "addr", "replace", f"{VIP}/32", "dev", "lo"],
                   ["sysctl", "-w", "net.ipv4.conf.all.arp_ignore=1"],
                   ["sysctl", "-w", "net.ipv4.conf.all.arp_announce=2"]]
    assert "step 3 of 3 failed (permission denied); steps 1 to 2 were applied, the rest not" in \
        capsys.readouterr().err
    entries = list(outcomes(Journal(journal).entries()))
    assert [(e["action"], e["result"]) for e in entries] == [("realserver", "ok"), ("realserver", "ok"),
                                                             ("realserver", "permission denied")]
    assert entries[0]["command"] == f"ip addr replace {VIP}/32 dev lo" and entries[0]["target"] == \
        f"realserver dr {VIP}"
