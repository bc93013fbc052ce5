"""/proc/net/ip_vs read back: every real server's key, forwarding, weight and connection counts equal
the snapshot the text was printed from (the kernel lab compares the file with netlink itself)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lvs_tui.ipvs.backend import DestConfig, DestEdit, ServiceConfig
from lvs_tui.ipvs.procfs import ProcFormatError, ProcReader, parse_ip_vs
from lvs_tui.model.records import DestKey, Family, Forward, ServiceKey
from lvs_tui.sim.director import SimulatedDirector
from tests.unit.procfs_text import proc_text

pytestmark = pytest.mark.unit


def mixed() -> SimulatedDirector:
    sim = SimulatedDirector(seed=3, services=0)
    web, dns = ServiceKey.inet("tcp", "10.10.0.1", 80), ServiceKey.inet("udp", "2001:db8::1", 53)
    mark4, mark6 = ServiceKey.mark(1), ServiceKey.mark(7, Family.IPV6)
    sim.add_service(ServiceConfig(web, "wrr", flags=("persistent",), persistence_timeout=300))
    sim.add_service(ServiceConfig(dns, "rr"))
    sim.add_service(ServiceConfig(mark4, "sh", flags=("ops",)))
    sim.add_service(ServiceConfig(mark6, "lc"))
    sim.add_service(ServiceConfig(ServiceKey.inet("sctp", "10.10.0.2", 3868), "rr"))  # no real server
    sim.add_dest(web, DestConfig("10.20.3.1", 8081, weight=3))
    sim.add_dest(web, DestConfig("10.20.3.2", 80, Forward.ROUTE, weight=0))
    sim.add_dest(web, DestConfig("10.20.3.3", 80, Forward.TUNNEL, weight=65535))
    sim.add_dest(dns, DestConfig("2001:db8::11", 53, weight=1))
    sim.add_dest(mark4, DestConfig("10.20.3.1", 0, Forward.ROUTE, weight=2))
    sim.add_dest(mark6, DestConfig("2001:db8::12", 0, Forward.LOCAL, weight=1))
    for key in (web, dns, mark4):
        sim.inject(key, 20)
    return sim


def listed(sim: SimulatedDirector) -> dict[ServiceKey, list[tuple[str, int, Forward, int, int, int]]]:
    return {service.key: [(dest.address, dest.port, dest.forward, dest.weight, dest.active_conns,
                           dest.inactive_conns) for dest in service.dests]
            for service in sim.snapshot().services}


def test_every_real_server_reads_back_as_printed_ipv4_ipv6_and_fwmark() -> None:
    sim = mixed()
    table = parse_ip_vs(proc_text(sim.snapshot()))
    got = {key: [(dest.key.address, dest.key.port, dest.forward, dest.weight, dest.active, dest.inactive)
                 for dest in dests] for key, dests in table.items()}
    assert got == listed(sim)
    assert any(active for dests in got.values() for (*_, active, _) in dests)  # counts were not all zero


def test_a_large_table_reads_back_whole() -> None:
    sim = SimulatedDirector(seed=1, services=300, dests_per_service=10)
    table = parse_ip_vs(proc_text(sim.snapshot()))
    assert sum(map(len, table.values())) == 3000
    assert {key: [dest.key for dest in dests] for key, dests in table.items()} == \
        {service.key: [dest.key for dest in service.dests] for service in sim.snapshot().services}


@pytest.mark.parametrize("line", ["TCP  0A0A0001:0050", "  -> 0A140301:1F91 Bounce 1 0 0",
                                  "AH  0A0A0001:0000 rr", "TCP  0A0A01:0050 rr",
                                  "  -> [2001:db8::zz]:0050 Masq 1 0 0"])
def test_a_line_not_in_the_kernels_format_is_refused_with_its_number(line: str) -> None:
    text = proc_text(mixed().snapshot())
    with pytest.raises(ProcFormatError, match=r"line \d+ is not in the kernel's format"):
        parse_ip_vs(text + line + ("\n  -> 0A140301:1F91      Masq    1      0          0\n"
                                   if not line.startswith("  ->") else "\n"))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="IP Virtual Server version\n ->0123456789ABCDEF:[]TCPUDFWMasqRoute", max_size=400))
def test_any_text_is_a_table_or_one_format_error(noise: str) -> None:
    try:
        parse_ip_vs("IP Virtual Server version 1.2.1 (size=4096)\nProt\n  ->\n" + noise)
    except ProcFormatError as error:
        assert "\n" not in str(error)


def test_a_reader_that_read_before_gives_what_a_fresh_one_gives_after_the_table_changed() -> None:
    """Services whose lines did not change are taken from the previous read: the others are not."""
    sim = mixed()
    reader = ProcReader()
    reader.parse(proc_text(sim.snapshot()))
    web = ServiceKey.inet("tcp", "10.10.0.1", 80)
    sim.inject(web, 7)
    sim.edit_dest(web, DestKey("10.20.3.1", 8081), DestEdit(weight=9))
    sim.delete_service(ServiceKey.mark(1))
    text = proc_text(sim.snapshot())
    assert reader.parse(text) == parse_ip_vs(text)
    assert {dest.key: dest.weight for dest in reader.parse(text)[web]}[DestKey("10.20.3.1", 8081)] == 9
    assert ServiceKey.mark(1) not in reader.parse(text)
