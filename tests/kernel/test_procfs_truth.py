"""/proc/net/ip_vs, read by lvs_tui.ipvs.procfs for the tiered poll, against netlink on the real
kernel: every service and real server of the mixed table (tcp, udp, sctp, IPv6, fwmark, every
forwarding method) with its weight and connection counts, under traffic; and in a named namespace,
that namespace's table only."""

from __future__ import annotations

from lvs_tui.ipvs.kernel import KernelBackend
from lvs_tui.ipvs.procfs import ProcReader, ProcTable
from lvs_tui.model.records import Snapshot
from tests.kernel.lab.commands import flush_connections, ipvsadm, ipvsadm_lines
from tests.kernel.lab.tables import MIXED_RULES
from tests.kernel.lab.topology import CLIENT, NatLab

Listing = dict[str, list[tuple[str, str, int, int, int]]]


def from_netlink(snapshot: Snapshot) -> Listing:
    # /proc prints "Masq" for every method it has no word for (the kernel's ip_vs_fwd_name).
    return {service.key.id: [(dest.key.id, dest.forward.value if dest.forward.value != "bypass" else "masq",
                              dest.weight, dest.active_conns, dest.inactive_conns) for dest in service.dests]
            for service in snapshot.services}


def from_proc(table: ProcTable) -> Listing:
    return {key.id: [(dest.key.id, dest.forward.value, dest.weight, dest.active, dest.inactive)
                     for dest in dests] for key, dests in table.items()}


def agreed(backend: KernelBackend, reader: ProcReader, attempts: int = 5) -> tuple[Listing, Listing]:
    """(netlink, /proc) read while no count changed: netlink before and after the file agree."""
    for _ in range(attempts):
        before = from_netlink(backend.snapshot())
        proc = from_proc(reader.read())
        if from_netlink(backend.snapshot()) == before:
            return before, proc
    raise AssertionError(f"the table kept changing over {attempts} reads")


def test_proc_lists_every_real_server_as_netlink_reads_it_under_traffic(topology: NatLab) -> None:
    flush_connections()
    ipvsadm_lines(MIXED_RULES)
    assert topology.requests(12) == {"rs1": 2, "rs2": 4, "rs3": 6}
    backend, reader = KernelBackend(), ProcReader()
    try:
        netlink, proc = agreed(backend, reader)
    finally:
        backend.close()
    assert proc == netlink
    families = {key.split(":")[0] for key in proc}
    assert {"tcp", "udp", "sctp", "fwm"} <= families and any("2001:db8" in key for key in proc), proc
    assert sum(inactive + active for dests in proc.values() for *_, active, inactive in dests) > 0, \
        "the requests left no connection to count"
    assert {forward for dests in proc.values() for _, forward, *_ in dests} == {"masq", "route", "tunnel"}


def test_proc_of_a_named_namespace_lists_that_namespaces_table_only(topology: NatLab) -> None:
    ipvsadm_lines(["-A -t 10.10.0.1:80 -s rr", "-a -t 10.10.0.1:80 -r 10.20.1.2:80 -m -w 3"])
    ipvsadm("-A", "-u", "192.0.2.1:53", "-s", "lc", netns=CLIENT)
    ipvsadm("-a", "-u", "192.0.2.1:53", "-r", "192.0.2.11:53", "-g", "-w", "7", netns=CLIENT)
    try:
        inside = KernelBackend(netns=CLIENT)
        try:
            netlink = from_netlink(inside.snapshot())
        finally:
            inside.close()
        proc = from_proc(ProcReader(CLIENT).read())
        assert proc == netlink == {"udp:192.0.2.1:53": [("192.0.2.11:53", "route", 7, 0, 0)]}
        assert "tcp:10.10.0.1:80" in from_proc(ProcReader().read())
    finally:
        ipvsadm("-C", netns=CLIENT)
