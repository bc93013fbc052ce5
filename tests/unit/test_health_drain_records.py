"""The checker and the director's drain records: its quiesces are recorded (so every lvs-top shows
them), and a server it took out that an operator then drained (a dashboard, `lvs-top drain`, a
rollout: another process) is the operator's, never brought back by the checker."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from lvs_tui.health.config import parse_config
from lvs_tui.health.engine import Engine
from lvs_tui.ipvs.backend import DestEdit
from lvs_tui.model.records import DestKey
from lvs_tui.ops.drainrecords import DrainRecord, DrainRecords
from lvs_tui.ops.journal import Journal
from tests.health_fixtures import (
    KEY,
    LOOPBACK,
    BackendThread,
    Listener,
    config_text,
    director,
    until,
    weights,
)


async def test_a_quiesce_is_recorded_and_its_record_ends_when_the_checker_brings_it_back(
    tmp_path: Path,
) -> None:
    server = Listener()
    await server.start()
    sim = director([server.port])
    records = DrainRecords(tmp_path / "drains.json")
    engine = Engine(parse_config(config_text([server.port])), BackendThread(sim).submit,
                    Journal(tmp_path / "journal.jsonl"), round_every=0.2, drains=records)
    task = asyncio.create_task(engine.run())
    try:
        pair = (KEY, DestKey(LOOPBACK, server.port))
        await server.stop()
        await until(lambda: pair in records.read())
        quiesce = records.read()[pair]
        assert (quiesce.origin, quiesce.previous_weight, quiesce.by_hand) == ("health", 5, False)
        assert weights(sim)[server.port] == 0
        await server.start()
        await until(lambda: weights(sim)[server.port] == 5)
        await until(lambda: records.read() == {})
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_server_the_checker_took_out_and_an_operator_drained_stays_out(tmp_path: Path) -> None:
    server = Listener()
    await server.start()
    sim = director([server.port])
    records = DrainRecords(tmp_path / "drains.json")
    engine = Engine(parse_config(config_text([server.port])), BackendThread(sim).submit,
                    Journal(tmp_path / "journal.jsonl"), round_every=0.2, drains=records)
    task = asyncio.create_task(engine.run())
    try:
        pair = (KEY, DestKey(LOOPBACK, server.port))
        await server.stop()
        await until(lambda: pair in records.read())
        # `lvs-top drain` from another process: the server is at weight 0 already; its record says whose.
        records.add([DrainRecord(KEY, pair[1], 0, 1_800_000_000.0, "drain", 1)])
        await until(lambda: any("stands aside" in event.text for event in engine.view.events_of(KEY)))
        await server.start()
        await asyncio.sleep(1.0)  # rounds every 0.2 s: ample time to bring it back, were it the checker's
        assert weights(sim)[server.port] == 0
        assert records.read()[pair].origin == "drain"
        sim.edit_dest(KEY, pair[1], DestEdit(weight=5))  # the rollout's return: the checker's again
        await server.stop()
        await until(lambda: weights(sim)[server.port] == 0)  # unhealthy again: taken out by the checker
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_record_left_by_a_drain_that_ended_elsewhere_is_dropped_so_the_checker_still_brings_back(
    tmp_path: Path,
) -> None:
    """`lvs-top drain` timed out and the operator restored the weight with ipvsadm: the record stayed.
    A checker killed right after taking that server out (before its own record was written) would
    leave the next checker standing aside for it for good; so the checker drops such records."""
    server = Listener()
    await server.start()
    sim = director([server.port])
    records = DrainRecords(tmp_path / "drains.json")
    pair = (KEY, DestKey(LOOPBACK, server.port))
    records.add([DrainRecord(KEY, pair[1], 5, time.time() - 60, "drain", 1)])
    engine = Engine(parse_config(config_text([server.port])), BackendThread(sim).submit,
                    Journal(tmp_path / "journal.jsonl"), round_every=0.2, drains=records)
    task = asyncio.create_task(engine.run())
    try:
        await until(lambda: records.read() == {})  # its server is at weight 5: that drain is over
        await server.stop()
        await until(lambda: weights(sim)[server.port] == 0)
        assert records.read()[pair].origin == "health"
        await server.start()
        await until(lambda: weights(sim)[server.port] == 5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_drain_recorded_after_the_round_read_the_table_is_not_taken_for_an_ended_one(
    tmp_path: Path,
) -> None:
    """The round read weight 5, then `lvs-top drain` set 0 and recorded it: that record is new, not stale."""
    server = Listener()
    await server.start()
    sim = director([server.port])
    records = DrainRecords(tmp_path / "drains.json")
    pair = (KEY, DestKey(LOOPBACK, server.port))
    clock = [time.time()]
    engine = Engine(parse_config(config_text([server.port])), BackendThread(sim).submit,
                    Journal(tmp_path / "journal.jsonl"), round_every=0.2, drains=records,
                    wall=lambda: clock[0])
    records.add([DrainRecord(KEY, pair[1], 5, clock[0] + 1, "drain", 1)])  # started after every round
    task = asyncio.create_task(engine.run())
    try:
        await asyncio.sleep(1.0)  # several rounds, each reading weight 5
        assert pair in records.read()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
