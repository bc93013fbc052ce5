"""The drain records on the real kernel: a dashboard started after `lvs-top drain` shows that drain
with its tracker, and a "remove once drained" set in a dashboard that then ends is carried out by
the next dashboard once the kernel's counts say drained (a long request on the server keeps the
drain going across the restart)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lvs_tui.model.records import DestKey, ServiceKey
from lvs_tui.ops.drainrecords import DrainRecords
from tests.kernel.lab import dashboard, lvs_top
from tests.kernel.lab.commands import flush_connections, ipvsadm_lines, listing, wait_until
from tests.kernel.lab.drain_polls import active
from tests.kernel.lab.journal import settled
from tests.kernel.lab.topology import REAL_SERVERS, SLOW_HTTP_PORT, VIP, NatLab
from tests.kernel.lab.traffic import Load
from tests.kernel.test_app_changes import select, shown, until

SLOW = ServiceKey.inet("tcp", VIP, SLOW_HTTP_PORT)
RS1 = REAL_SERVERS["rs1"]
ON_RS1 = DestKey(RS1, SLOW_HTTP_PORT)
LONG = 30  # seconds the long request on rs1 takes: it outlasts a dashboard's start and exit in the VM


@pytest.fixture(autouse=True)
def no_connections(clean_table: None) -> Iterator[None]:
    flush_connections()
    yield
    flush_connections()


def long_request_on_rs1(topology: NatLab) -> Load:
    """The slow service over rs1..rs3 (weight 2 on rs1), with one long request held by rs1."""
    ipvsadm_lines([f"-A -t {VIP}:{SLOW_HTTP_PORT} -s rr", f"-a -t {VIP}:{SLOW_HTTP_PORT} -r {RS1} -m -w 2"])
    request = topology.load(path=f"/slow?s={LONG}", port=SLOW_HTTP_PORT, limit=1, timeout=LONG + 30)
    request.wait_ready()
    request.go()
    wait_until("the long request on rs1", lambda: active(SLOW, ON_RS1) == 1, timeout=30)
    ipvsadm_lines([f"-a -t {VIP}:{SLOW_HTTP_PORT} -r {address} -m -w 1"
                   for name, address in REAL_SERVERS.items() if name != "rs1"])
    return request


def test_a_dashboard_started_after_lvs_top_drain_follows_that_drain(topology: NatLab, tmp_path: Path) -> None:
    records, journal = tmp_path / "drains.json", tmp_path / "journal.jsonl"
    request = long_request_on_rs1(topology)
    try:
        drained = lvs_top.run("drain", RS1, "--yes", "--journal", str(journal),
                              "--drain-records", str(records))
        assert drained.code == 0, drained.err
        seen: dict[str, Any] = {}

        async def drive() -> None:
            app: Any = dashboard.app("--journal", str(journal), "--drain-records", str(records), interval=1.0)
            async with dashboard.driven(app, (140, 40)) as pilot:
                await until(pilot, lambda: app.frame.drains.status(SLOW, ON_RS1) is not None)
                status = app.frame.drains.status(SLOW, ON_RS1)
                service = app.frame.snapshot.service(SLOW)
                await select(app, pilot, SLOW.id, ON_RS1.id)
                seen.update(status=status, previous=app.frame.drains.previous_weight(SLOW, ON_RS1),
                            cells=app.dashboard.rows.dest_row(service, service.dest(ON_RS1), None))

        asyncio.run(drive())
    finally:
        answers = request.stop(timeout=LONG + 30)
    status = seen["status"]
    assert status.counts.active == 1 and not status.drained and status.remaining == 1
    assert seen["previous"] == 2  # from the record `lvs-top drain` wrote
    assert "%" in str(seen["cells"][-1])  # the tracker in the State column
    (answer,) = answers
    assert answer.server == "rs1" and not answer.failed


async def drain_with_removal(journal: str, records: str) -> None:
    """A first dashboard: drain rs1 in the slow service with `d`, "remove once drained" ticked,
    then end (the long request on rs1 is still going)."""
    app: Any = dashboard.app("--journal", journal, "--drain-records", records, interval=1.0)
    async with dashboard.driven(app, (140, 40)) as pilot:
        await until(pilot, lambda: app.frame.snapshot is not None
                    and app.frame.snapshot.service(SLOW) is not None)
        await select(app, pilot, SLOW.id, ON_RS1.id)
        await pilot.press("d")
        (await shown(app, pilot, "#remove-when-drained")).value = True
        await pilot.pause(0.2)
        await pilot.press("y")
        await until(pilot, lambda: app.frame.drains.ending(SLOW, ON_RS1) == "auto-remove")


def test_a_removal_set_in_a_dashboard_survives_its_restart_and_happens_once_drained(
    topology: NatLab, tmp_path: Path
) -> None:
    records, journal = tmp_path / "drains.json", tmp_path / "journal.jsonl"
    request = long_request_on_rs1(topology)
    try:
        # The second dashboard is a new app, builder and drain board: all it knows of the first
        # one's drain is the records file (a new process would take the removal over the same way,
        # its predecessor's pid being gone: shown in tests/unit/test_live_drain_records.py).
        asyncio.run(drain_with_removal(str(journal), str(records)))
        (record,) = DrainRecords(records).read().values()
        assert (record.origin, record.remove_when_drained, record.previous_weight) == ("dashboard", True, 2)
        assert active(SLOW, ON_RS1) == 1  # the first dashboard is gone; the drain is not over
        removed: dict[str, Any] = {}

        async def drive() -> None:
            app: Any = dashboard.app("--journal", str(journal), "--drain-records", str(records), interval=1.0)
            async with dashboard.driven(app, (140, 40)) as pilot:
                await until(pilot, lambda: app.frame.drains.ending(SLOW, ON_RS1) == "auto-remove")
                removed["while"] = active(SLOW, ON_RS1)
                await until(pilot, lambda: app.frame.snapshot.service(SLOW).dest(ON_RS1) is None,
                            timeout=LONG + 30)

        asyncio.run(drive())
    finally:
        answers = request.stop(timeout=LONG + 30)
    assert removed["while"] == 1  # the second dashboard took the drain over while rs1 still served
    assert ON_RS1.id not in listing().services[SLOW.id].dests
    (answer,) = answers
    assert answer.server == "rs1" and not answer.failed  # removed only once drained: the request lived
    entries = [(entry["action"], entry["target"]) for entry in settled(journal)]
    target = f"{SLOW.id}>{ON_RS1.id}"
    assert entries == [("edit_dest", target), ("auto_remove", target)]
    assert DrainRecords(records).read() == {}
