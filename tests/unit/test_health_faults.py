"""The checker under faults: a check that raises, reloads while checks run. Fake checks (through
`prober.run_check`) make each fault happen on cue, on loopback, in a fraction of a second."""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lvs_tui.health import prober
from lvs_tui.health.checks import Check, CommandCheck, HttpCheck, Result, run_check
from lvs_tui.health.config import parse_config
from lvs_tui.health.engine import Engine
from lvs_tui.health.feed import EngineFeed
from lvs_tui.health.state import Health
from lvs_tui.health.statefile import read_state
from lvs_tui.ipvs.backend import Backend, DestConfig, ServiceConfig
from lvs_tui.model.records import DestKey, ServiceKey
from lvs_tui.ops.journal import Journal, outcomes, unfinished
from lvs_tui.sim import SimulatedDirector
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


def fast(ports: list[int], interval: float = 0.1, rise: int = 1, fall: int = 1) -> str:
    return config_text(ports).replace("interval = 0.1", f"interval = {interval}") \
        .replace("rise = 2", f"rise = {rise}").replace("fall = 2", f"fall = {fall}")


async def test_a_check_that_raises_is_a_failed_check_with_its_cause() -> None:
    server = Listener()
    await server.start()
    try:
        idna = await run_check(HttpCheck(host="a..b", tls=True, timeout=1), LOOPBACK, server.port)
    finally:
        await server.stop()
    assert not idna.healthy and idna.broken
    assert idna.detail.startswith("the check could not run: ") and "idna" in idna.detail
    nul = await run_check(CommandCheck((sys.executable, "-c", "pass\x00")), LOOPBACK, 1)
    assert not nul.healthy and nul.broken and "null" in nul.detail


@pytest.mark.parametrize("seed", [1, 2])
async def test_checks_raising_at_random_never_stop_the_others_nor_leave_a_server_checking(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, seed: int) -> None:
    chance = random.Random(seed)
    seen: dict[int, int] = {}

    async def flaky(check: Check, address: str, port: int) -> Result:
        seen[port] = seen.get(port, 0) + 1
        await asyncio.sleep(0)
        if chance.random() < 0.4:
            raise chance.choice([UnicodeError("label empty or too long"), ValueError("embedded null byte"),
                                 RuntimeError("a bug"), KeyError("x")])
        return Result(True, "connected", 0.0)

    monkeypatch.setattr(prober, "run_check", flaky)
    ports = list(range(1, 9))
    logged: list[str] = []
    engine = Engine(parse_config(fast(ports)), BackendThread(director(ports)).submit,
                    Journal(tmp_path / "journal.jsonl"), log=lambda level, text: logged.append(text),
                    round_every=0.2)
    task = asyncio.create_task(engine.run())
    try:
        await asyncio.sleep(0.5)
        before = dict(seen)
        await asyncio.sleep(0.4)
        assert all(seen[port] - before.get(port, 0) >= 3 for port in ports), seen  # all still checked
        states = [engine.view.servers[(KEY, DestKey(LOOPBACK, port))].state for port in ports]
        assert Health.CHECKING not in states
        assert any("the check could not run" in line for line in logged)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()  # it stopped because it was told to, not because of a check


async def test_reload_replaces_the_check_loops_exactly_once(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    calls: list[int] = []

    async def counted(check: Check, address: str, port: int) -> Result:
        calls.append(port)
        await asyncio.sleep(0)
        if port == 1:  # one broken check, as the idna error was
            raise UnicodeError("label empty or too long")
        return Result(True, "connected", 0.0)

    monkeypatch.setattr(prober, "run_check", counted)
    ports = list(range(1, 9))  # every 0.1 s: 80 checks a second
    engine = Engine(parse_config(fast(ports)), BackendThread(director(ports)).submit,
                    Journal(tmp_path / "journal.jsonl"), round_every=0.2)
    task = asyncio.create_task(engine.run())
    rates = []
    try:
        for _ in range(4):  # before the first reload, then after each of three
            await asyncio.sleep(0.1)
            start, began = len(calls), time.monotonic()
            await asyncio.sleep(0.3)
            rates.append((len(calls) - start) / (time.monotonic() - began))
            engine.reload(parse_config(fast(ports)))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert all(55 <= rate <= 100 for rate in rates), rates


class RefusesTheSorryServer(SimulatedDirector):
    """A table whose add of the sorry server raises something unexpected (as adding the scoped
    `[fe80::1%lo]:80` did), after the round's first change went through."""

    def add_dest(self, service: ServiceKey, config: DestConfig) -> None:
        if config.port == SORRY.port:
            raise RuntimeError("cannot pack the address")
        super().add_dest(service, config)


SORRY = DestKey("198.51.100.250", 80)


async def test_a_round_that_fails_after_its_first_change_still_records_it(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    up = {"server": True}

    async def answer(check: Check, address: str, port: int) -> Result:
        await asyncio.sleep(0)
        return Result(True, "connected", 0.0) if up["server"] else Result(False, "connection refused", 0.0)

    monkeypatch.setattr(prober, "run_check", answer)
    port = 8080
    sim = RefusesTheSorryServer(seed=1, services=0)
    sim.add_service(ServiceConfig(KEY, "wrr"))
    sim.add_dest(KEY, DestConfig(LOOPBACK, port, weight=5))
    text = fast([port]).replace('service = "tcp', f'sorry = "{SORRY}"\nservice = "tcp')
    logged: list[str] = []
    state, journal = tmp_path / "health.json", Journal(tmp_path / "journal.jsonl")
    engine = Engine(parse_config(text), BackendThread(sim).submit, journal, state_path=state,
                    log=lambda level, line: logged.append(f"{level}: {line}"), round_every=0.2)
    task = asyncio.create_task(engine.run())
    pair = (KEY, DestKey(LOOPBACK, port))
    try:
        await until(lambda: engine.view.servers[pair].state is Health.HEALTHY)
        up["server"] = False  # unhealthy: weight 0, then the sorry server, which raises
        await until(lambda: any(str(SORRY) in line and "cannot pack" in line for line in logged))
        await asyncio.sleep(0.5)  # more rounds: each retries the sorry server, none forgets
        assert weights(sim)[port] == 0
        status = engine.view.of(*pair)
        assert status is not None and status.taken_out and status.state is Health.UNHEALTHY
        assert pair[1] in read_state(state)[1][KEY]  # a restarted checker would bring it back too
        assert unfinished(journal.entries()) == []
        entries = list(outcomes(journal.entries()))
        assert entries[0]["after"]["weight"] == 0 and entries[0]["result"] == "ok"
        assert len(entries) > 2 and all("cannot pack the address" in entry["result"] for entry in entries[1:])
        assert sum("cannot pack" in line for line in logged) == 1  # said once; every attempt journaled
        up["server"] = True
        await until(lambda: weights(sim)[port] == 5)  # brought back: it was never forgotten
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class SlowBackendThread(BackendThread):
    """Jobs that take their time after acting, so the engine can be stopped with one in flight."""

    def submit(self, job: Callable[[Backend], Any], done: Callable[[Any], None]) -> None:
        def slow(backend: Backend) -> Any:
            outcome = job(backend)
            time.sleep(0.3)
            return outcome

        super().submit(slow, done)


async def test_a_round_in_flight_when_the_checker_stops_is_recorded(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    up = {"server": True}

    async def answer(check: Check, address: str, port: int) -> Result:
        await asyncio.sleep(0)
        return Result(up["server"], "connected" if up["server"] else "connection refused", 0.0)

    monkeypatch.setattr(prober, "run_check", answer)
    sim = director([8080])
    state = tmp_path / "health.json"
    engine = Engine(parse_config(fast([8080])), SlowBackendThread(sim).submit, Journal(tmp_path / "j.jsonl"),
                    state_path=state, round_every=0.2)
    task = asyncio.create_task(engine.run())
    pair = (KEY, DestKey(LOOPBACK, 8080))
    try:
        await until(lambda: engine.view.servers[pair].state is Health.HEALTHY)
        up["server"] = False
        await until(lambda: weights(sim)[8080] == 0)  # applied; the round has not come back yet
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    engine.write_state(None)  # as the service does once the engine has stopped
    assert pair[1] in read_state(state)[1][KEY]


def test_a_checker_thread_that_cannot_start_says_so_on_the_status_line(tmp_path: Path) -> None:
    engine = Engine(parse_config(fast([8080])), BackendThread(director([8080])).submit,
                    Journal(tmp_path / "j.jsonl"))
    feed = EngineFeed(engine, netns_path=str(tmp_path / "no-such-namespace"))
    feed.start()
    try:
        view = feed.view()
    finally:
        feed.stop()
    assert not view.running and view.problem is not None
    assert view.problem.startswith("the health checker stopped: FileNotFoundError")
