"""`lvs-top doctor` on a NAT director (the VM's root namespace, with the shared `topology`: client
10.10.0.2, real servers rs1..rs3 at 10.20.N.2 behind it), with real traffic from the client, and
`lvs-top realserver --mode nat --check` run inside a real server's namespace:

- healthy: requests reach every real server, and the doctor, sampling the counters under a stream of
  connections, finds no error; the real-server check sees the default route via the director;
- IP forwarding off: requests fail, and the doctor names `sysctl net.ipv4.ip_forward`;
- a real server whose default route goes to another gateway (a second link straight to the client):
  its requests fail, the doctor finds it from the counters alone (packets in, none out) and names it,
  and the real-server check on it names its default route.

The doctor that must name ip_forward runs as a real process (lab.lvs_top.run), with no connection
flood beside it; the other commands go through `lvs_tui.cli.main` in-process (lab.lvs_top.here): a
process that runs beside a flood is slow in the emulated VM, and the flood lasts as long, leaving as
many half-open entries. Every setting
changed is restored, and checked to work again, before the test ends. Run with -s to see the
findings, the traffic and the times.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator

import pytest

from tests.kernel.lab import lvs_top
from tests.kernel.lab.commands import counters_settled, flush_connections, ipvsadm_lines, set_sysctl, sysctl
from tests.kernel.lab.lvs_top import Run
from tests.kernel.lab.modes import REQUEST_TIMEOUT, ip
from tests.kernel.lab.topology import CLIENT, REAL_SERVERS, VIP, NatLab
from tests.kernel.lab.traffic import Flood, failures
from tests.kernel.lab.traffic import requests as requests_from

SERVICE = f"tcp:{VIP}:80"
RULES = [f"-A -t {VIP}:80 -s rr",
         *(f"-a -t {VIP}:80 -r {address}:80 -m" for address in REAL_SERVERS.values())]
EVERY_SERVER = dict.fromkeys(REAL_SERVERS, 1)
RS3 = REAL_SERVERS["rs3"]
RS3_DIRECTOR = "10.20.3.1"  # the director's address on rs3's network: rs3's default gateway
BYPASS = "10.99.0.1"  # the client's end of a link that lets rs3 answer without the director
SAMPLE = "5"  # the kernel sums the counters every 2 s, later on a loaded VM: 3 s once missed the symptom


@pytest.fixture(scope="module", autouse=True)
def no_connections_left(ipvs_modules: None) -> Iterator[None]:
    """The streams of connections leave thousands of entries (TIME_WAIT lasts 2 minutes), whose real
    servers would come back from the kernel's trash with their counts: flush them for the modules after."""
    yield
    flush_connections()


@pytest.fixture(scope="module", autouse=True)
def doctor_imports(ipvs_modules: None) -> None:
    """The doctor's imports, done before any flood: imports are slow in the emulated VM, and a flood
    from a thread of this process beside them would slow both (and last as long)."""
    importlib.import_module("lvs_tui.doctor.host")


@pytest.fixture
def nat_service(topology: NatLab) -> Iterator[NatLab]:
    """The NAT service 10.10.0.1:80, round robin over rs1..rs3 (clean_table empties the table after)."""
    ipvsadm_lines(RULES)
    yield topology


def requests(n: int) -> dict[str, int]:
    """`n` requests to the VIP from the client, each given up after REQUEST_TIMEOUT (1 s)."""
    return requests_from(CLIENT, VIP, n, timeout=REQUEST_TIMEOUT)


def nat_check(netns: str, director: str) -> Run:
    return lvs_top.here("realserver", "--mode", "nat", "--vip", VIP, "--director", director, "--check",
                        "--json", netns=netns)


def test_nat_reaches_every_real_server_and_the_doctor_finds_no_error_under_traffic(
    nat_service: NatLab,
) -> None:
    answers = requests(6)
    print(f"6 requests to {VIP}: {answers}")
    assert answers == {"rs1": 2, "rs2": 2, "rs3": 2}, "round robin over a working NAT should give 2 each"

    with Flood(CLIENT, VIP) as flood:
        doctor = lvs_top.here("doctor", "--sample", SAMPLE, "--json")
    assert flood.established > 0 and flood.unanswered <= 0.05 * flood.attempts, \
        "the stream of connections went unanswered: the healthy NAT does not work"
    assert doctor.code == 0, f"the doctor exits 1 on a working NAT director:\n{doctor.report()}"
    assert doctor.errors() == [], f"errors on a working NAT director:\n{doctor.report()}"
    assert not [s for s in doctor.subjects("warning") if s.startswith("real server")], doctor.report()

    check = nat_check("rs3", RS3_DIRECTOR)
    assert check.code == 0, f"rs3 routes through the director, yet the check fails:\n{check.report()}"
    ok = check.finding("ok", "default route")
    assert RS3_DIRECTOR in ok["cause"], ok


def test_ip_forwarding_off_breaks_nat_and_the_doctor_names_it(nat_service: NatLab) -> None:
    before = sysctl("net.ipv4.ip_forward")
    set_sysctl("net.ipv4.ip_forward=0")
    try:
        off = requests(3)
        print(f"ip_forward=0: 3 requests to {VIP}: {off}")
        doctor = lvs_top.run("doctor", "--sample", "0.5", "--json")  # as a process, as an operator runs it
    finally:
        set_sysctl(f"net.ipv4.ip_forward={before}")
    on = requests(3)
    print(f"ip_forward={before} again: 3 requests: {on}")

    assert failures(off) == 3, f"with forwarding off the replies cannot pass the director, yet: {off}"
    assert doctor.code == 1, f"the doctor should exit 1 on an error:\n{doctor.report()}"
    assert doctor.subjects("error") == ["sysctl net.ipv4.ip_forward"], \
        f"the one error should be forwarding:\n{doctor.report()}"
    cause = doctor.finding("error", "sysctl net.ipv4.ip_forward")["cause"]
    assert cause.startswith("is 0") and SERVICE in cause, cause
    assert on == EVERY_SERVER, f"NAT does not work again after ip_forward={before}: {on}"


def test_a_real_server_whose_replies_bypass_the_director_is_found_from_the_counters(
    nat_service: NatLab,
) -> None:
    # rs3 gets a second link, straight to the client, and its default route goes there: what it
    # receives through the director it answers past it, from its own address, and the client drops that.
    try:
        ip("rs3", "link add byp0 type veth peer name byp1 netns client", "addr add 10.99.0.2/30 dev byp0",
           "link set byp0 up", f"route replace default via {BYPASS}")
        ip("client", f"addr add {BYPASS}/30 dev byp1", "link set byp1 up")
        answers = requests(3)
        print(f"rs3 routed via {BYPASS}: 3 requests to {VIP}: {answers}")
        # Else rs3's counters from an earlier test may land inside the doctor's sample.
        counters_settled(SERVICE)
        with Flood(CLIENT, VIP) as flood:
            doctor = lvs_top.here("doctor", "--sample", SAMPLE, "--json")
        check = nat_check("rs3", RS3_DIRECTOR)
    finally:
        ip("rs3", f"route replace default via {RS3_DIRECTOR}", "link del byp0", check=False)  # and byp1
    # The flood left hundreds of half-open entries to rs3 on the director (SYN_RECV, kept 60 s). A new
    # connection whose client port matches one goes to rs3 by that entry, unscheduled: IPVS
    # reschedules a reused port only over an entry in TIME_WAIT or CLOSE (conn_reuse_mode), and the
    # client reuses the ports of the flood's unanswered attempts (they left no TIME_WAIT behind). So
    # NAT through rs3 is checked on a fresh connection table: the same rules, loaded again.
    flush_connections()
    ipvsadm_lines(RULES)
    again = requests(3)
    print(f"rs3 routed via the director again: 3 requests: {again}")

    shares = (answers.get("rs1"), answers.get("rs2"), answers.get("rs3"), failures(answers))
    assert shares == (1, 1, None, 1), f"rs3's third of the requests should fail, the others not: {answers}"
    assert flood.unanswered >= 0.2 * flood.attempts, \
        "nearly every connection was answered: rs3 did not take its third of them"
    subject = f"real server {RS3}:80 of {SERVICE}"
    assert doctor.code == 1, f"the doctor should exit 1:\n{doctor.report()}"
    assert doctor.subjects("error") == [subject], f"the one error should be rs3:\n{doctor.report()}"
    cause = doctor.finding("error", subject)["cause"]
    assert "probably not using the director as its gateway" in cause, cause
    took = re.search(r"took (\d+) packets", cause)
    assert took is not None and int(took.group(1)) >= 10, cause
    print(f"the doctor saw {took.group(1)} packets in and none out for rs3 in {SAMPLE} s")

    assert check.code == 1, f"the check on rs3 should fail:\n{check.report()}"
    route = check.finding("error", "default route")
    assert route["cause"].startswith(f"goes via {BYPASS}, not the director {RS3_DIRECTOR}"), route
    assert route["fix"] == f"ip route replace default via {RS3_DIRECTOR}", route
    assert again == EVERY_SERVER, f"NAT through rs3 does not work again after the route was restored: {again}"
