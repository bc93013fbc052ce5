"""The connection-table reader against the real kernel: after real traffic through the NAT lab,
`read_connections()` lists exactly what `ipvsadm -Lcn` lists, and the "who is still on it" helpers
count one real server's entries right."""

from __future__ import annotations

import collections
import ipaddress
import socket

import pytest

from lvs_tui.ipvs.errors import NamespaceNotFound
from lvs_tui.ipvs.netlink import in_netns
from lvs_tui.model.connections import Connection, by_client, for_dest
from lvs_tui.ops.conntable import read_connections, read_dest_connections
from tests.kernel.lab.commands import flush_connections, ipvsadm, ipvsadm_lines, sh, wait_until
from tests.kernel.lab.topology import CLIENT, CLIENT_IP, REAL_SERVERS, NatLab

RULES = (
    "-A -t 10.10.0.1:80 -s rr",
    "-a -t 10.10.0.1:80 -r 10.20.1.2:80 -m",
    "-a -t 10.10.0.1:80 -r 10.20.2.2:80 -m",
    "-a -t 10.10.0.1:80 -r 10.20.3.2:80 -m",
    # Persistent: every request of the one client goes to one server, under one template.
    "-A -t 10.10.0.1:8080 -s rr -p 120",
    "-a -t 10.10.0.1:8080 -r 10.20.1.2:80 -m",
    "-a -t 10.10.0.1:8080 -r 10.20.2.2:80 -m",
    "-A -u 10.10.0.1:9000 -s rr",
    "-a -u 10.10.0.1:9000 -r 10.20.1.2:9000 -m",
)

@pytest.fixture(autouse=True)
def no_connections(clean_table: None) -> None:
    """Start from an empty connection table: `ipvsadm -C` leaves entries until they expire (TIME_WAIT
    lasts 2 minutes), so earlier tests' traffic would show up here."""
    flush_connections()


Entry = tuple[str, str, int, str, int, str, int, str]


def _endpoint(text: str) -> tuple[str, int]:
    host, port = text.rsplit(":", 1)
    return str(ipaddress.ip_address(host.strip("[]"))), int(port)


def ipvsadm_entries() -> collections.Counter[Entry]:
    """`ipvsadm -Lcn` as (protocol, client, cport, virtual, vport, dest, dport, state) entries."""
    entries: collections.Counter[Entry] = collections.Counter()
    for line in ipvsadm("-Lcn").stdout.splitlines()[2:]:  # title, column header
        proto, _expire, state, source, virtual, dest = line.split()[:6]
        entries[(proto.lower(), *_endpoint(source), *_endpoint(virtual), *_endpoint(dest), state)] += 1
    return entries


def entry(conn: Connection) -> Entry:
    return (conn.protocol, conn.client, conn.client_port, conn.virtual, conn.virtual_port,
            conn.dest, conn.dest_port, conn.state)


def test_read_connections_matches_ipvsadm_and_groups_one_server(topology: NatLab) -> None:
    ipvsadm_lines(RULES)
    assert sum(topology.requests(30).values()) == 30
    sticky = topology.requests(6, port=8080)
    assert len(sticky) == 1, sticky  # persistence: one server took all six
    assert topology.udp(3, 100) == 3

    conns = list(read_connections())
    expected = ipvsadm_entries()
    assert collections.Counter(entry(c) for c in conns) == expected, (conns, expected)
    assert len(conns) == 30 + 6 + 1 + 1  # + one template + one UDP flow

    (template,) = [c for c in conns if c.is_template]
    sticky_address = REAL_SERVERS[next(iter(sticky))]
    assert (template.protocol, template.client, template.client_port) == ("tcp", CLIENT_IP, 0)
    assert (template.virtual_port, template.dest, template.dest_port) == (8080, sticky_address, 80)
    assert 0 < template.expires <= 120
    assert all(c.expires > 0 and c.pe_name is None for c in conns)

    rs1 = REAL_SERVERS["rs1"]
    on_rs1 = sticky_address == rs1
    mine = list(for_dest(read_connections(), rs1))
    assert len(mine) == 10 + 1 + (6 + 1 if on_rs1 else 0)
    assert len(list(for_dest(read_connections(), rs1, 9000))) == 1
    assert len(list(for_dest(read_connections(), rs1, 80))) == 10 + (6 + 1 if on_rs1 else 0)
    # The prefiltered reader behind the "who is still on it" screen finds exactly the same entries
    # (their seconds to expiry aside: a second may tick between the two reads of the table).
    for port in (None, 80, 9000):
        assert sorted(c._replace(expires=0) for c in read_dest_connections(rs1, port)) == \
            sorted(c._replace(expires=0) for c in for_dest(read_connections(), rs1, port))

    (group,) = by_client(mine)
    states = collections.Counter(c.state for c in mine if not c.is_template)
    assert group.client == CLIENT_IP
    assert group.states == dict(states)
    assert group.connections == 10 + 1 + (6 if on_rs1 else 0)
    assert group.templates == (1 if on_rs1 else 0)
    assert group.longest_expiry == max(c.expires for c in mine)
    assert states["UDP"] == 1  # the UDP flow's one state name


def test_read_connections_in_a_namespace_sees_that_namespace(topology: NatLab) -> None:
    ipvsadm_lines(RULES)
    topology.requests(3)
    assert len(list(read_connections())) == 3
    # The client namespace has its own (empty) IPVS table: reading the host's would give 3.
    assert list(read_connections(netns="client")) == []
    with pytest.raises(NamespaceNotFound, match="does not exist"):
        read_connections(netns="no-such-ns")


IPV6 = {  # (netns or None for the director, device, address/64)
    "client": ("client", "vc0", "fd00:10::2/64"),
    "director-client": (None, "vc", "fd00:10::1/64"),
    "director-rs1": (None, "vr1", "fd00:20:1::1/64"),
    "rs1": ("rs1", "vr10", "fd00:20:1::2/64"),
}

def udp6_send() -> None:
    """One datagram from [fd00:10::2]:40000 to the IPv6 VIP (from the client namespace)."""
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        sock.bind(("fd00:10::2", 40000))
        sock.sendto(b"x", ("fd00:10::1", 9000))


def _ip(netns: str | None, *args: str, check: bool = True) -> None:
    sh("ip", *(("-n", netns) if netns else ()), *args, check=check)


def test_ipv6_entries_match_ipvsadm(topology: NatLab) -> None:
    try:
        for netns, dev, address in IPV6.values():
            _ip(netns, "addr", "add", address, "dev", dev, "nodad")
        _ip("client", "-6", "route", "add", "default", "via", "fd00:10::1")
        ipvsadm_lines(["-A -u [fd00:10::1]:9000 -s rr",
                           "-a -u [fd00:10::1]:9000 -r [fd00:20:1::2]:9000 -m"])
        in_netns(CLIENT, udp6_send)
        wait_until("the IPv6 entry", lambda: any(True for _ in read_connections()), timeout=10, step=0.05)
        conns = list(read_connections())
        assert [entry(c) for c in conns] == [
            ("udp", "fd00:10::2", 40000, "fd00:10::1", 9000, "fd00:20:1::2", 9000, "UDP")
        ]
        assert collections.Counter(entry(c) for c in conns) == ipvsadm_entries()
        assert list(read_dest_connections("fd00:20:1::2", 9000)) == conns
    finally:
        _ip("client", "-6", "route", "del", "default", check=False)
        for netns, dev, address in IPV6.values():
            _ip(netns, "addr", "del", address, "dev", dev, check=False)
