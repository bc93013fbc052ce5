"""The engine end to end on loopback: real TCP servers that stop and start, the simulated director
as the table, rounds on a separate backend thread, the journal and the state file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lvs_tui.health.config import parse_config
from lvs_tui.health.engine import Engine
from lvs_tui.health.state import Health
from lvs_tui.health.statefile import read_state
from lvs_tui.ipvs.backend import DestConfig, DestEdit
from lvs_tui.model.records import DestKey
from lvs_tui.ops.journal import Journal, outcomes
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


async def test_dead_server_is_quiesced_journaled_and_brought_back(tmp_path: Path) -> None:
    up, down = Listener(), Listener()
    await up.start()
    await down.start()
    sim = director([up.port, down.port])
    journal = Journal(tmp_path / "journal.jsonl")
    state = tmp_path / "health.json"
    engine = Engine(parse_config(config_text([up.port, down.port])), BackendThread(sim).submit, journal,
                    state_path=state)
    task = asyncio.create_task(engine.run())
    try:
        pair = (KEY, DestKey(LOOPBACK, down.port))
        await until(lambda: engine.view.servers[pair].state is Health.HEALTHY)
        await down.stop()
        await until(lambda: weights(sim)[down.port] == 0)
        assert weights(sim)[up.port] == 5
        status = engine.view.of(*pair)
        assert status is not None and status.taken_out and "refused" in status.detail
        entries = list(outcomes(journal.entries()))
        assert [(e["action"], e["after"]["weight"]) for e in entries] == [("health", 0)]
        assert "unhealthy" in entries[0]["cause"] and "refused" in entries[0]["cause"]
        await until(lambda: read_state(state)[1] == {KEY: {pair[1]: DestConfig(LOOPBACK, down.port,
                                                                               weight=5)}})
        await down.start()
        await until(lambda: weights(sim)[down.port] == 5)
        await until(lambda: not engine.view.servers[pair].taken_out)
        texts = [event.text for event in engine.view.events_of(KEY)]
        assert any("unhealthy" in text for text in texts) and any("-w 5" in text for text in texts)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_server_drained_by_hand_stays_out_and_is_shown_disabled(tmp_path: Path) -> None:
    server = Listener()
    await server.start()
    sim = director([server.port])
    # Someone else's change is seen at the next round: rounds every 0.2 s, not every 5 s.
    engine = Engine(parse_config(config_text([server.port])), BackendThread(sim).submit,
                    Journal(tmp_path / "journal.jsonl"), round_every=0.2)
    task = asyncio.create_task(engine.run())
    try:
        pair = (KEY, DestKey(LOOPBACK, server.port))
        await until(lambda: engine.view.servers[pair].state is Health.HEALTHY)
        sim.edit_dest(KEY, pair[1], DestEdit(weight=0))  # the operator drains it
        await until(lambda: engine.view.servers[pair].state is Health.DISABLED)
        await asyncio.sleep(0.5)  # several rounds: the checker must not bring it back
        assert weights(sim)[server.port] == 0
        assert not (tmp_path / "journal.jsonl").exists()
        sim.edit_dest(KEY, pair[1], DestEdit(weight=2))  # and brings it back
        await until(lambda: engine.view.servers[pair].state is Health.HEALTHY)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_read_only_says_what_it_would_do_and_writes_nothing(tmp_path: Path) -> None:
    down = Listener()
    await down.start()
    port = down.port
    await down.stop()
    sim = director([port])
    engine = Engine(parse_config(config_text([port])), BackendThread(sim).submit,
                    Journal(tmp_path / "journal.jsonl"), read_only="--read-only")
    task = asyncio.create_task(engine.run())
    try:
        await until(lambda: any("not done" in event.text for event in engine.view.events))
        assert weights(sim)[port] == 5
        assert not (tmp_path / "journal.jsonl").exists()
        said = [event.text for event in engine.view.events if "not done" in event.text]
        await asyncio.sleep(0.5)
        assert [event.text for event in engine.view.events if "not done" in event.text] == said  # once
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_restarted_checker_brings_back_what_it_took_out(tmp_path: Path) -> None:
    server = Listener()
    await server.start()
    sim = director([server.port], weight=0)  # left at 0 by the checker that stopped
    memory = {KEY: {DestKey(LOOPBACK, server.port): DestConfig(LOOPBACK, server.port, weight=4)}}
    engine = Engine(parse_config(config_text([server.port])), BackendThread(sim).submit,
                    Journal(tmp_path / "journal.jsonl"), taken_out=memory)
    task = asyncio.create_task(engine.run())
    try:
        await until(lambda: weights(sim)[server.port] == 4)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
