"""The connection-table parser on lines as the kernel prints them, and its streaming promise."""

from __future__ import annotations

import itertools
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from lvs_tui.ipvs.errors import IpvsUnavailable, NamespaceNotFound
from lvs_tui.model.connections import ClientGroup, Connection, by_client, for_dest
from lvs_tui.ops.conntable import (
    ConnTableUnavailable,
    iter_connections,
    proc_address,
    read_connections,
    read_dest_connections,
)

HEADER = "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"
V6C = "2001:0db8:0000:0000:0000:0000:0000:0002"  # %pI6 prints every group in full
V6V = "2001:0db8:0000:0000:0000:0000:0000:0001"
V6D = "fd00:0020:0001:0000:0000:0000:0000:0002"
TABLE = [
    HEADER,
    "TCP 0A0A0002 9C40 0A0A0001 0050 0A140102 0050 ESTABLISHED     899\n",
    "TCP 0A0A0002 9C41 0A0A0001 0050 0A140102 0050 TIME_WAIT       117\n",
    "TCP 0A0A0003 D431 0A0A0001 0050 0A140202 1F90 FIN_WAIT         60\n",
    "UDP 0A0A0002 A001 0A0A0001 2328 0A140102 2328 UDP             299\n",
    "SCTP 0A0A0004 0B59 0A0A0001 0B59 0A140102 0B59 ESTABLISHED     30\n",
    # A persistence template of a TCP service: client port 0, state NONE (or ASSURED).
    "TCP 0A0A0002 0000 0A0A0001 1F90 0A140102 0050 ASSURED         118\n",
    # A template of fwmark 10: protocol IP, the mark in the virtual address.
    "IP  0A0A0003 0000 0000000A 0000 0A140102 0000 NONE            948\n",
    f"TCP {V6C} 9C40 {V6V} 01BB {V6D} 01BB ESTABLISHED     900\n",
    # A template with the sip persistence engine: "PEName PEData" at the end.
    "UDP 0A0A0005 0000 0A0A0001 13C4 0A140102 13C4 NONE            119 sip 7f3a@host.example\n",
    # An IPv4 service tunnelling to an IPv6 real server: the destination has its own family.
    f"TCP 0A0A0006 9C40 0A0A0001 0050 {V6D} 0050 SYN_RECV         58\n",
]


def test_parses_every_kind_of_line() -> None:
    conns = list(iter_connections(TABLE))
    assert len(conns) == len(TABLE) - 1
    assert conns[0] == Connection("tcp", "10.10.0.2", 40000, "10.10.0.1", 80, "10.20.1.2", 80,
                                  "ESTABLISHED", 899, False)
    assert conns[2].dest_port == 8080
    assert (conns[3].protocol, conns[3].state, conns[3].virtual_port) == ("udp", "UDP", 9000)
    assert (conns[4].protocol, conns[4].client_port) == ("sctp", 2905)
    tpl = conns[5]
    assert (tpl.is_template, tpl.client_port, tpl.state, tpl.virtual_port) == (True, 0, "ASSURED", 8080)
    fwm = conns[6]
    assert (fwm.protocol, fwm.is_template, fwm.virtual, fwm.expires) == ("ip", True, "0.0.0.10", 948)
    v6 = conns[7]
    assert (v6.client, v6.virtual, v6.dest) == ("2001:db8::2", "2001:db8::1", "fd00:20:1::2")
    assert (v6.client_port, v6.virtual_port, v6.is_template) == (40000, 443, False)
    sip = conns[8]
    assert (sip.is_template, sip.pe_name, sip.pe_data) == (True, "sip", "7f3a@host.example")
    assert (conns[9].virtual, conns[9].dest) == ("10.10.0.1", "fd00:20:1::2")
    assert [c.is_template for c in conns].count(True) == 3


@pytest.mark.parametrize(
    "line",
    [
        "",
        "\n",
        "TCP 0A0A0002 9C40 0A0A0001 0050\n",  # cut short (a read racing a huge table)
        "TCP 0A0A0002 9C40 0A0A0001 0050 0A140102 0050 ESTABLISHED\n",  # no expiry
        "TCP 0A0A00 9C40 0A0A0001 0050 0A140102 0050 ESTABLISHED 899\n",  # short address
        "TCP 0A0A0002 9C4 0A0A0001 0050 0A140102 0050 ESTABLISHED 899\n",  # short port
        "TCP ZZZZZZZZ 9C40 0A0A0001 0050 0A140102 0050 ESTABLISHED 899\n",  # not hex
        "TCP 0A0A0002 9C40 0A0A0001 0050 0A140102 0050 ESTABLISHED soon\n",  # expiry not a number
        "TCP 2001:db8::zz 9C40 0A0A0001 0050 0A140102 0050 ESTABLISHED 899\n",  # bad IPv6
        "garbage\n",
    ],
)
def test_malformed_lines_are_skipped_not_fatal(line: str) -> None:
    good = TABLE[1]
    assert len(list(iter_connections([good, line, good]))) == 2


def test_for_dest_filters_by_address_and_port() -> None:
    conns = list(iter_connections(TABLE))
    assert len(list(for_dest(conns, "10.20.1.2"))) == 7
    assert len(list(for_dest(conns, "10.20.1.2", 80))) == 3
    assert len(list(for_dest(conns, "10.20.2.2", 80))) == 0
    # Any spelling of an IPv6 address, bracketed or not, finds the canonical one.
    assert len(list(for_dest(conns, "[FD00:20:1:0::2]", 443))) == 1
    assert len(list(for_dest(conns, "fd00:20:1::2"))) == 2


def test_by_client_groups_states_templates_and_longest_expiry() -> None:
    groups = by_client(iter_connections(TABLE))
    assert groups[0] == ClientGroup("10.10.0.2", {"ESTABLISHED": 1, "TIME_WAIT": 1, "UDP": 1}, 1, 899)
    assert groups[0].connections == 3
    by_address = {g.client: g for g in groups}
    assert by_address["10.10.0.3"] == ClientGroup("10.10.0.3", {"FIN_WAIT": 1}, 1, 948)
    assert by_address["10.10.0.5"] == ClientGroup("10.10.0.5", {}, 1, 119)  # only a template left
    assert by_address["2001:db8::2"].states == {"ESTABLISHED": 1}
    # Most connections first, then templates, then address order.
    assert [g.client for g in groups] == [
        "10.10.0.2", "10.10.0.3", "10.10.0.4", "10.10.0.6", "2001:db8::2", "10.10.0.5",
    ]


def _synthetic(n: int, clients: int = 5_000) -> Iterator[str]:
    """A header and `n` table lines, yielded one at a time and never held in a list.

    The lines cycle through `clients` clients and three servers; they are built once and
    repeated, so the test times the parser, not the line maker.
    """
    states = ("ESTABLISHED", "TIME_WAIT", "FIN_WAIT", "SYN_RECV")
    distinct = [
        f"TCP {0x0A000000 + i:08X} {1024 + i:04X} 0A0A0001 0050 0A14{i % 3 + 1:02X}02 0050 "
        f"{states[i % 4]:<11} {i % 900:7d}\n"
        for i in range(clients)
    ]
    yield HEADER
    yield from itertools.islice(itertools.cycle(distinct), n)


def test_lines_stream_in_flat_memory() -> None:
    n = 50_000  # enough to tell streaming (under 1 MB) from collecting (about 15 MB); more only takes longer
    tracemalloc.start()
    try:
        total = sum(1 for _ in iter_connections(_synthetic(n)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == n
    # One line and one record at a time plus a bounded address cache; a list of them would take 15 MB.
    assert peak < 4 * 1024 * 1024, peak


def test_filter_and_group_in_one_pass_grow_with_clients_not_connections() -> None:
    n = 50_000
    tracemalloc.start()
    try:
        groups = by_client(for_dest(iter_connections(_synthetic(n, clients=900)), "10.20.1.2", 80))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(groups) == 300  # every third client is on 10.20.1.2
    assert sum(g.connections for g in groups) == sum(1 for i in range(n) if i % 900 % 3 == 0)
    assert peak < 4 * 1024 * 1024, peak


def test_read_connections_streams_a_file(tmp_path: Path) -> None:
    table = tmp_path / "ip_vs_conn"
    table.write_text("".join(TABLE))
    conns = read_connections(str(table))
    assert next(conns).client_port == 40000
    assert len(list(conns)) == len(TABLE) - 2


def test_read_connections_without_ipvs_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConnTableUnavailable, match=r"^IPVS is not loaded .*modprobe ip_vs`\.$"):
        read_connections(str(tmp_path / "missing"))
    assert issubclass(ConnTableUnavailable, IpvsUnavailable)


def test_read_connections_in_a_missing_namespace(tmp_path: Path) -> None:
    with pytest.raises(NamespaceNotFound, match="no-such-ns"):
        read_connections(netns="no-such-ns")
    with pytest.raises(NamespaceNotFound):
        read_connections(netns="../etc")


@pytest.mark.parametrize(("address", "port"), [("10.20.1.2", 80), ("10.20.1.2", None),
                                               ("fd00:20:1::2", 443), ("fd00:20:1::2", None),
                                               ("10.20.2.2", 8080), ("10.20.9.9", None)])
def test_prefiltered_read_finds_what_a_full_parse_finds(tmp_path: Path, address: str,
                                                        port: int | None) -> None:
    # A decoy: the real server's address and port stand in the client columns, not the destination.
    decoy = "TCP 0A140102 0050 0A0A0001 0050 0A140302 0050 ESTABLISHED     899\n"
    table = tmp_path / "ip_vs_conn"
    table.write_text("".join([*TABLE, decoy]))
    expected = list(for_dest(read_connections(str(table)), address, port))
    assert list(read_dest_connections(address, port, str(table))) == expected
    assert all(conn.dest != "10.20.3.2" for conn in expected)


def test_proc_address_is_the_tables_spelling() -> None:
    assert proc_address("10.20.1.2") == "0A140102"
    assert proc_address("[fd00:20:1::2]") == V6D
