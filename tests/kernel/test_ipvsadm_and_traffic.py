"""The lab itself, with ipvsadm only: the listing parser reads the mixed table right, and real
traffic from the client namespace is spread by the scheduler and counted by the kernel."""

from __future__ import annotations

from tests.kernel.lab.commands import ipvsadm_lines, landed, listing, save
from tests.kernel.lab.ipvsadm_listing import parse_rules, parse_tunnel_info
from tests.kernel.lab.tables import MIXED_RULES
from tests.kernel.lab.topology import NatLab
from tests.kernel.lab.traffic import IPV4_UDP_OVERHEAD

WRR = (
    "-A -t 10.10.0.1:80 -s wrr",
    "-a -t 10.10.0.1:80 -r 10.20.1.2:80 -m -w 1",
    "-a -t 10.10.0.1:80 -r 10.20.2.2:80 -m -w 2",
    "-a -t 10.10.0.1:80 -r 10.20.3.2:80 -m -w 3",
)


def test_listing_parser_reads_the_mixed_table() -> None:
    ipvsadm_lines(MIXED_RULES)
    plain = listing()
    assert plain.version == "1.2.1"
    assert plain.size > 0
    assert len(plain.services) == sum(rule.startswith("-A") for rule in MIXED_RULES)
    assert sum(len(s.dests) for s in plain.services.values()) == sum(r.startswith("-a") for r in MIXED_RULES)
    assert parse_rules(save()) == {sid: set(s.dests) for sid, s in plain.services.items()}

    https = plain.services["tcp:10.10.0.1:443"]
    assert (https.scheduler, https.persistent, https.mask) == ("wlc", 300, "255.255.255.0")
    assert https.dests["10.20.1.2:443"].columns["Forward"] == "Route"
    assert https.dests["10.20.1.2:443"].int("Weight") == 0
    sip = plain.services["udp:10.10.0.1:5060"]
    assert (sip.persistent, sip.pe, sip.mask) == (120, "sip", None)
    assert plain.services["udp:10.10.0.1:514"].ops
    assert plain.services["tcp:[2001:db8::1]:443"].mask == "64"
    assert plain.services["fwm:5"].flags == ("sh-fallback", "sh-port")
    assert plain.services["fwm:6:ipv6"].flags == ("mh-fallback", "mh-port")
    assert plain.services["fwm:8"].flags == ("flag-1",)
    # Kernel 6.1 keeps the forwarding method asked for, even towards a local address.
    assert plain.services["tcp:10.10.0.1:8080"].dests["127.0.0.1:8081"].columns["Forward"] == "Masq"

    tun = listing("--tun-info").services
    info = {did: parse_tunnel_info(d.columns["TunnelInfo"]) for did, d in tun["fwm:5"].dests.items()}
    assert [(i.type, i.port, i.flags) for i in info.values() if i] == [
        ("gue", 6080, ("nocsum",)),
        ("gue", 6081, ("remcsum",)),
        ("gue", 6082, ("csum",)),
    ]
    thresholds = listing("--thresholds").services["tcp:10.10.0.1:80"].dests["10.20.3.2:80"]
    assert (thresholds.int("Uthreshold"), thresholds.int("Lthreshold")) == (500, 100)


def test_wrr_1_2_3_spreads_60_requests_10_20_30(topology: NatLab) -> None:
    ipvsadm_lines(WRR)
    assert topology.requests(60) == {"rs1": 10, "rs2": 20, "rs3": 30}

    def counters() -> object:
        service = listing("--stats").services["tcp:10.10.0.1:80"]
        return service.columns, {did: d.columns for did, d in service.dests.items()}

    landed(counters)
    service = listing("--stats").services["tcp:10.10.0.1:80"]
    conns = {did: d.int("Conns") for did, d in service.dests.items()}
    assert conns == {"10.20.1.2:80": 10, "10.20.2.2:80": 20, "10.20.3.2:80": 30}
    for column in ("Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"):
        assert service.int(column) == sum(d.int(column) for d in service.dests.values()), column
    # Each request is one TCP connection: at least SYN, ACK, request, ACK, FIN in; SYN-ACK,
    # response, FIN out; the response carries at least the page "rsN\n".
    assert service.int("InPkts") >= 5 * 60
    assert service.int("OutPkts") >= 3 * 60
    assert service.int("OutBytes") > service.int("InBytes") > 60 * 100


def test_udp_echo_counts_every_datagram(topology: NatLab) -> None:
    ipvsadm_lines(["-A -u 10.10.0.1:9000 -s rr", "-a -u 10.10.0.1:9000 -r 10.20.1.2:9000 -m"])
    assert topology.udp(50, 200) == 50
    landed(lambda: listing("--stats").services["udp:10.10.0.1:9000"].columns)
    service = listing("--stats").services["udp:10.10.0.1:9000"]
    size = 200 + IPV4_UDP_OVERHEAD
    assert {c: service.int(c) for c in service.columns} == {
        "Conns": 1, "InPkts": 50, "OutPkts": 50, "InBytes": 50 * size, "OutBytes": 50 * size,
    }
