"""The real-server kit (`lvs-top realserver`, run inside each real server's namespace) and the
doctor (`lvs-top doctor --netns lvd`) on DR and TUN, with real traffic through the bridged topology
of lab.modes (director lvd, client lvc, DR real servers lvr1/lvr2, TUN real server lvr3):

- healthy: requests reach every real server, the client finds the VIP at the director's MAC, the
  doctor finds no error and each real server's check passes;
- a DR VIP missing on the director: its requests fail, and the doctor names the service;
- a DR real server with arp_ignore=0 answers ARP for the VIP (arping from the client), and its
  check names `eth0 arp_ignore=0`;
- a DR real server without the VIP on lo loses its share of the requests, and its check says the
  VIP is not on lo;
- a TUN real server without the tunnel device (a namespace made without fallback tunnels) loses its
  share, and its check names tunl0;
- `realserver --apply` in a fresh namespace turns a DR real server whose every request fails into
  one that answers them all, and that stays silent to ARP for the VIP; it runs what --print shows.

Each mistake is undone (or its namespace removed) and the traffic checked again. The topology is
built once for the module and removed after it. `--apply` runs as a real process inside the fresh
namespace (lab.lvs_top.run: `ip netns exec lvr5 python -m lvs_tui realserver ... --apply`); the
checks and the doctor go through `lvs_tui.cli.main` in-process, in a thread that joined the
namespace (lab.lvs_top.here), as a process takes seconds to start in the emulated VM. Run with -s
to see the findings and the traffic.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernel.lab import lvs_top
from tests.kernel.lab.commands import set_sysctl, sh, sysctl
from tests.kernel.lab.journal import settled
from tests.kernel.lab.lvs_top import Run
from tests.kernel.lab.modes import (
    BRIDGE_MAC,
    CLIENT,
    DIRECTOR,
    DR_VIP,
    REQUEST_TIMEOUT,
    TUN_SERVERS,
    TUN_VIP,
    ModesLab,
    arping,
    director,
    ip,
    mac,
    neighbour,
)
from tests.kernel.lab.traffic import failures
from tests.kernel.lab.traffic import requests as requests_from

DR_SERVICE, TUN_SERVICE = f"tcp:{DR_VIP}:80", f"tcp:{TUN_VIP}:80"
FRESH_VIP = "10.30.0.101"  # the DR service of the --apply test, whose only real server is new


@pytest.fixture
def fresh_neighbours(modes: ModesLab) -> Iterator[ModesLab]:
    """The client forgets the MAC addresses it learnt, before and after: a test that makes a real
    server answer ARP for a VIP must not leave the client sending that VIP's traffic to it."""
    ip(CLIENT, "neigh flush all")
    yield modes
    ip(CLIENT, "neigh flush all")


def requests(address: str, n: int) -> dict[str, int]:
    """`n` requests to `address` from the client, each given up after REQUEST_TIMEOUT (1 s)."""
    return requests_from(CLIENT, address, n, timeout=REQUEST_TIMEOUT)


def check(netns: str, mode: str, vip: str) -> Run:
    return lvs_top.here("realserver", "--mode", mode, "--vip", vip, "--check", "--json", netns=netns)


def test_dr_and_tun_reach_every_real_server_and_neither_doctor_nor_check_finds_an_error(
    fresh_neighbours: ModesLab,
) -> None:
    dr = requests(DR_VIP, 10)
    tun = requests(TUN_VIP, 4)
    print(f"10 requests to the DR VIP: {dr}; 4 to the TUN VIP: {tun}")
    assert dr == {"lvr1": 5, "lvr2": 5}, f"round robin over two DR real servers should give 5 each: {dr}"
    assert tun == {"lvr3": 4}, f"the TUN real server should answer every request: {tun}"
    at = neighbour(CLIENT, DR_VIP)
    print(f"the client has the DR VIP at {at}; the director's bridge is {BRIDGE_MAC}")
    assert at == BRIDGE_MAC, "the client must reach the VIP at the director, not at a real server"

    doctor = lvs_top.here("doctor", "--netns", DIRECTOR, "--sample", "0.5", "--json")
    assert doctor.code == 0 and doctor.errors() == [], \
        f"errors on a working DR/TUN director:\n{doctor.report()}"
    # ipip's 20 bytes do not fit in br0's 1500: the doctor is right to warn about full-size packets.
    mtu = doctor.finding("warning", f"real server {TUN_SERVERS['lvr3']}:80 of {TUN_SERVICE}")
    assert "MTU 1500" in mtu["cause"], mtu

    runs = {"lvr1": check("lvr1", "dr", DR_VIP), "lvr3": check("lvr3", "tun", TUN_VIP)}
    for (netns, run), (vip, home) in zip(runs.items(), ((DR_VIP, "lo"), (TUN_VIP, "tunl0")), strict=True):
        assert run.code == 0 and run.errors() == [], f"{netns} is a working real server:\n{run.report()}"
        assert run.finding("ok", f"VIP {vip}")["cause"] == f"is on {home}", run.report()
        assert "eth0 arp_ignore=1" in run.subjects("ok"), run.report()
    assert runs["lvr3"].finding("ok", "tunl0")["cause"] == "is up, rp_filter=0", runs["lvr3"].report()


def test_a_dr_vip_missing_on_the_director_is_found_by_the_doctor(fresh_neighbours: ModesLab) -> None:
    try:
        ip(DIRECTOR, f"addr del {DR_VIP}/32 dev br0")
        lost = requests(DR_VIP, 2)
        print(f"no VIP on the director: 2 requests to the DR VIP: {lost}")
        doctor = lvs_top.here("doctor", "--netns", DIRECTOR, "--sample", "0.5", "--json")
    finally:
        ip(DIRECTOR, f"addr replace {DR_VIP}/32 dev br0")
    ip(CLIENT, "neigh flush all")
    back = requests(DR_VIP, 2)
    print(f"the VIP back on the director: 2 requests: {back}")

    assert failures(lost) == 2, f"nobody should answer ARP for the VIP (the real servers must not): {lost}"
    assert doctor.code == 1, doctor.report()
    assert doctor.subjects("error") == [f"service {DR_SERVICE}"], doctor.report()
    assert "is not configured on the director" in doctor.finding("error", f"service {DR_SERVICE}")["cause"]
    assert back == {"lvr1": 1, "lvr2": 1}, f"DR does not work again with the VIP back: {back}"


def test_a_dr_real_server_with_arp_ignore_0_answers_arp_for_the_vip_and_its_check_names_it(
    fresh_neighbours: ModesLab,
) -> None:
    rs = mac("lvr2", "eth0")
    before = arping(CLIENT, DR_VIP)
    assert before == {BRIDGE_MAC}, f"only the director ({BRIDGE_MAC}) may answer ARP for the VIP: {before}"
    set_sysctl("net.ipv4.conf.all.arp_ignore=0", "net.ipv4.conf.eth0.arp_ignore=0", netns="lvr2")
    try:
        after = arping(CLIENT, DR_VIP)
        run = check("lvr2", "dr", DR_VIP)
    finally:
        set_sysctl("net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.eth0.arp_ignore=1", netns="lvr2")
    print(f"lvr2's eth0 is {rs}")
    assert after == {BRIDGE_MAC, rs}, \
        f"with arp_ignore=0 lvr2 ({rs}) should answer ARP for the VIP too, as the director does: {after}"
    assert run.code == 1, run.report()
    assert run.subjects("error") == ["eth0 arp_ignore=0"], \
        f"the one error should be arp_ignore:\n{run.report()}"
    cause = run.finding("error", "eth0 arp_ignore=0")["cause"]
    assert "answers ARP for any local address" in cause and "steals the director's traffic" in cause, cause
    assert arping(CLIENT, DR_VIP) == {BRIDGE_MAC}, "lvr2 still answers ARP for the VIP after arp_ignore=1"


def test_a_dr_real_server_without_the_vip_on_lo_loses_its_share_and_its_check_says_so(
    fresh_neighbours: ModesLab,
) -> None:
    try:
        ip("lvr1", f"addr del {DR_VIP}/32 dev lo")
        lost = requests(DR_VIP, 4)
        print(f"no VIP on lvr1's lo: 4 requests to the DR VIP: {lost}")
        run = check("lvr1", "dr", DR_VIP)
    finally:
        ip("lvr1", f"addr replace {DR_VIP}/32 dev lo")
    back = requests(DR_VIP, 2)
    print(f"the VIP back on lvr1's lo: 2 requests: {back}")

    assert (lost.get("lvr2"), lost.get("lvr1"), failures(lost)) == (2, None, 2), \
        f"lvr1's half of the requests should fail (it drops packets for an address it lacks): {lost}"
    assert run.code == 1, run.report()
    assert run.subjects("error") == [f"VIP {DR_VIP}"], run.report()
    assert run.finding("error", f"VIP {DR_VIP}")["cause"].startswith("is not on lo"), run.report()
    assert back == {"lvr1": 1, "lvr2": 1}, f"lvr1 does not answer again with the VIP back on lo: {back}"


def test_a_tun_real_server_without_the_tunnel_device_loses_its_share_and_its_check_names_tunl0(
    fresh_neighbours: ModesLab,
) -> None:
    modes = fresh_neighbours
    # A namespace made while the kernel creates fallback tunnels in the root namespace only: no tunl0,
    # although ipip is loaded (as in a container on a host where the sysctl is set).
    knob = "net.core.fb_tunnels_only_for_init_net"
    old = sysctl(knob)
    set_sysctl(f"{knob}=1")
    try:
        modes.host("lvr4", "10.30.0.14")
    finally:
        set_sysctl(f"{knob}={old}")
    try:
        assert sh("ip", "-n", "lvr4", "link", "show", "tunl0", check=False).returncode != 0, \
            "lvr4 should have no tunl0"
        modes.web("lvr4")
        modes.wait_web("lvr4")
        director("-a", "-t", f"{TUN_VIP}:80", "-r", "10.30.0.14:80", "-i")
        lost = requests(TUN_VIP, 4)
        print(f"lvr4 (no tunl0) added to the TUN service: 4 requests: {lost}")
        run = check("lvr4", "tun", TUN_VIP)
    finally:
        director("-d", "-t", f"{TUN_VIP}:80", "-r", "10.30.0.14:80", check=False)
        modes.remove("lvr4")
    back = requests(TUN_VIP, 2)
    print(f"lvr4 taken out again: 2 requests: {back}")

    assert (lost.get("lvr3"), lost.get("lvr4"), failures(lost)) == (2, None, 2), \
        f"lvr4's half should fail (nothing decapsulates the director's IP-in-IP), lvr3's not: {lost}"
    assert run.code == 1, run.report()
    tunnel = run.finding("error", "tunl0")
    assert tunnel["cause"].startswith("does not exist (the ipip module is loaded)"), tunnel
    assert f"VIP {TUN_VIP}" in run.subjects("error"), f"the VIP cannot be on tunl0 either:\n{run.report()}"
    assert back == {"lvr3": 2}, back


def test_realserver_apply_turns_a_fresh_namespace_into_a_working_dr_real_server(
    fresh_neighbours: ModesLab, tmp_path: Path
) -> None:
    modes = fresh_neighbours
    journal = tmp_path / "journal.jsonl"
    address = "10.30.0.15"
    modes.host("lvr5", address)
    try:
        modes.web("lvr5")
        ip(DIRECTOR, f"addr add {FRESH_VIP}/32 dev br0")
        director("-A", "-t", f"{FRESH_VIP}:80", "-s", "rr")
        director("-a", "-t", f"{FRESH_VIP}:80", "-r", f"{address}:80", "-g")
        modes.wait_web("lvr5")
        direct = requests(address, 1)
        before = requests(FRESH_VIP, 2)
        print(f"lvr5 fresh: 1 request to its own address {direct}; 2 to the VIP {FRESH_VIP}: {before}")
        checked = check("lvr5", "dr", FRESH_VIP)
        args = ("realserver", "--mode", "dr", "--vip", FRESH_VIP, "--interface", "eth0")
        printed = lvs_top.here(*args, "--print", netns="lvr5")
        applied = lvs_top.run(*args, "--journal", str(journal), "--apply", netns="lvr5")
        after = requests(FRESH_VIP, 3)
        print(f"after --apply: 3 requests to the VIP: {after}")
        silent = arping(CLIENT, FRESH_VIP)
    finally:
        director("-D", "-t", f"{FRESH_VIP}:80", check=False)
        ip(DIRECTOR, f"addr del {FRESH_VIP}/32 dev br0", check=False)
        modes.remove("lvr5")

    assert direct == {"lvr5": 1}, f"lvr5's HTTP server should answer on its own address: {direct}"
    assert failures(before) == 2, \
        f"a fresh namespace lacks the VIP: the director's packets are dropped: {before}"
    assert checked.code == 1 and f"VIP {FRESH_VIP}" in checked.subjects("error"), checked.report()
    assert printed.code == 0, printed.out + printed.err
    plan = [line.split(" # ")[0].strip() for line in printed.out.splitlines() if line.strip()]
    ran = [line[2:] for line in applied.out.splitlines() if line.startswith("+ ")]
    assert ran == plan, f"--apply ran {ran}, but --print shows {plan}"
    assert f"ip addr replace {FRESH_VIP}/32 dev lo" in plan, plan
    assert applied.code == 0, f"--apply failed:\n{applied.out}{applied.err}"
    entries = settled(journal)
    assert [(e["action"], e["command"], e["result"]) for e in entries] == [
        ("realserver", command, "ok") for command in plan], f"the journal should record each step: {entries}"
    assert not [line for line in applied.out.splitlines() if line.startswith("error")], applied.out
    assert after == {"lvr5": 3}, f"after --apply lvr5 should answer every request to the VIP: {after}"
    assert silent == {BRIDGE_MAC}, f"lvr5 holds the VIP now but must not answer ARP for it: {silent}"

