"""A firewall-mark service carries TCP too, and the kernel counts its established connections as
active: a drain of such a server must not read "drained" (nor ask for its removal) while one is
still open. The mark is set by tc on the director's client-facing link, for TCP to VIP:80 only."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lvs_tui.model.records import DestKey, ServiceKey
from lvs_tui.ops.changes import plan_drain
from lvs_tui.ops.drain import DrainBoard
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.runner import run_plan
from lvs_tui.ops.sysctl import read_sysctls
from tests.kernel.lab.commands import flush_connections, ipvsadm_lines, sh, wait_until
from tests.kernel.lab.drain_polls import POLL, active, current, listed_counts
from tests.kernel.lab.topology import REAL_SERVERS, SLOW_HTTP_PORT, VIP, NatLab

if TYPE_CHECKING:
    from lvs_tui.ipvs.kernel import KernelBackend

MARK = ServiceKey.mark(5)
LONG = 6  # seconds the long request takes


@pytest.fixture(autouse=True)
def no_connections(clean_table: None) -> Iterator[None]:
    flush_connections()
    yield
    flush_connections()


@pytest.fixture
def marked() -> Iterator[None]:
    """Mark 5 on TCP to 10.10.0.1:80 arriving from the client namespace."""
    sh("tc", "qdisc", "add", "dev", "vc", "clsact")
    try:
        sh("tc", "filter", "add", "dev", "vc", "ingress", "protocol", "ip", "flower", "ip_proto", "tcp",
               "dst_ip", VIP, "dst_port", "80", "action", "skbedit", "mark", "5")
        yield
    finally:
        sh("tc", "qdisc", "del", "dev", "vc", "clsact", check=False)


def test_fwmark_drain_waits_for_active_tcp_connections(
    topology: NatLab, backend: KernelBackend, marked: None, tmp_path: Path
) -> None:
    rs1 = DestKey(REAL_SERVERS["rs1"], SLOW_HTTP_PORT)
    ipvsadm_lines(["-A -f 5 -s rr", f"-a -f 5 -r {rs1} -m -w 1"])
    long_request = topology.load(path=f"/slow?s={LONG}", limit=1)
    try:
        long_request.wait_ready()
        long_request.go()
        wait_until("the long request through the fwmark service", lambda: active(MARK, rs1) == 1,
                       timeout=30)
        service = current(backend, MARK)
        dest = service.dest(rs1)
        assert dest is not None and dest.active_conns == 1  # the kernel counts it as active
        report = run_plan(plan_drain([service], rs1.address, None, read_sysctls()), backend,
                          Journal(tmp_path / "journal.jsonl"))
        assert not report.failed, report.summary()
        board = DrainBoard()
        board.start(MARK, dest, 1, time.monotonic(), remove_when_drained=True)
        polls = []
        deadline = time.monotonic() + LONG + 30
        while not long_request.answers:  # poll for as long as the connection is open
            assert time.monotonic() < deadline, "the long request never ended"
            listed = listed_counts(MARK, rs1)
            snapshot = backend.snapshot()
            due = board.update(snapshot, time.monotonic())
            status = board.status(MARK, rs1)
            assert status is not None and listed is not None
            polls.append((listed, status, due))
            time.sleep(POLL)
    finally:
        answers = long_request.stop(timeout=LONG + 30)
    (answer,) = answers
    assert answer.server == "rs1"
    assert len(polls) >= 3 and polls[0][0].active == 1
    for listed, status, due in polls:
        counts = status.counts
        assert status.remaining == counts.active + counts.inactive + counts.persistent
        if listed.active:
            assert not status.drained and not due, "drained, or removal asked, with a connection open"
