"""The check types against real servers on loopback: answers, refusals, hangs and timeouts."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable

import pytest

from lvs_tui.health.checks import CommandCheck, HttpCheck, TcpCheck, run_check
from lvs_tui.health.prober import Target, probe_forever, probe_round

LOOPBACK = "127.0.0.1"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], object]


async def serve(handler: Handler) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, LOOPBACK, 0)  # type: ignore[arg-type]
    return server, server.sockets[0].getsockname()[1]


def http_answer(status: int, body: bytes, seen: list[bytes]) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.0 %d X\r\nContent-Length: %d\r\n\r\n%s" % (status, len(body), body))
        await writer.drain()
        writer.close()

    return handle


async def never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:  # the test's server closes: end quietly
        writer.close()


@pytest.fixture
async def closed_port() -> AsyncIterator[int]:
    server, port = await serve(never_answers)
    server.close()
    await server.wait_closed()
    yield port


async def test_tcp_connect_and_refused(closed_port: int) -> None:
    server, port = await serve(never_answers)
    async with server:
        up = await run_check(TcpCheck(timeout=1), LOOPBACK, port)
        assert (up.healthy, up.detail) == (True, "connected")
    down = await run_check(TcpCheck(timeout=1), LOOPBACK, closed_port)
    assert not down.healthy and "refused" in down.detail


@pytest.mark.parametrize(("status", "body", "check", "healthy", "detail"), [
    (200, b"ok", HttpCheck(), True, "HTTP 200"),
    (503, b"busy", HttpCheck(), False, "HTTP 503, expected 200"),
    (204, b"", HttpCheck(expect=(200, 204)), True, "HTTP 204"),
    (200, b"status: ready", HttpCheck(body="ready"), True, "HTTP 200"),
    (200, b"status: starting", HttpCheck(body="ready"), False, "HTTP 200 without 'ready' in the body"),
])
async def test_http_status_and_body(status: int, body: bytes, check: HttpCheck, healthy: bool,
                                    detail: str) -> None:
    seen: list[bytes] = []
    server, port = await serve(http_answer(status, body, seen))
    async with server:
        result = await run_check(check, LOOPBACK, port)
    assert (result.healthy, result.detail) == (healthy, detail)
    assert seen[0].startswith(b"GET / HTTP/1.0\r\n")


async def test_http_sends_the_path_and_host_asked_for() -> None:
    seen: list[bytes] = []
    server, port = await serve(http_answer(200, b"", seen))
    async with server:
        await run_check(HttpCheck(path="/healthz?deep=1", host="www.example.org"), LOOPBACK, port)
    request = seen[0].decode()
    assert request.startswith("GET /healthz?deep=1 HTTP/1.0\r\n")
    assert "\r\nHost: www.example.org\r\n" in request


async def test_a_server_that_never_answers_costs_only_the_timeout() -> None:
    server, port = await serve(never_answers)
    async with server:
        started = time.monotonic()
        result = await run_check(HttpCheck(timeout=0.3), LOOPBACK, port)
    assert (result.healthy, result.detail) == (False, "timed out after 0.3 s")
    assert time.monotonic() - started < 2


async def test_command_gets_the_target_and_its_exit_status_decides() -> None:
    code = ("import os, sys; sys.exit(0 if os.environ['LVS_TOP_ADDRESS'] == '10.20.1.2' "
            "and os.environ['LVS_TOP_PORT'] == '8080' else 3)")
    check = CommandCheck((sys.executable, "-c", code), timeout=10)
    assert (await run_check(check, "10.20.1.2", 8080)).healthy
    wrong = await run_check(check, "10.20.1.2", 81)
    assert (wrong.healthy, wrong.detail) == (False, "exit status 3")


async def test_a_hanging_command_is_killed_at_its_timeout() -> None:
    # The command starts a child of its own: the whole group goes when the time is up.
    code = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; " \
           "time.sleep(30)']); time.sleep(30)"
    started = time.monotonic()
    result = await run_check(CommandCheck((sys.executable, "-c", code), timeout=0.5), LOOPBACK, 1)
    assert (result.healthy, result.detail) == (False, "timed out after 0.5 s (killed)")
    assert time.monotonic() - started < 5


async def test_a_command_that_cannot_start_is_unhealthy_with_the_reason() -> None:
    result = await run_check(CommandCheck(("/nonexistent/check",)), LOOPBACK, 1)
    assert not result.healthy and result.detail.startswith("cannot run /nonexistent/check")


async def test_hundreds_of_hanging_targets_take_a_few_timeouts_not_hundreds() -> None:
    server, port = await serve(never_answers)
    async with server:
        accepted = await probe_round([Target(i, LOOPBACK, port, TcpCheck(timeout=0.3)) for i in range(50)])
        assert all(r.healthy for r in accepted)  # the connection is accepted: TCP says alive
        # 200 HTTP checks that all hang, 100 at a time: two rounds of the 0.3 s timeout, not 200.
        hanging = [Target(i, LOOPBACK, port, HttpCheck(timeout=0.3)) for i in range(200)]
        started = time.monotonic()
        results = await probe_round(hanging, parallel=100)
        elapsed = time.monotonic() - started
    assert [r.detail for r in results] == ["timed out after 0.3 s"] * 200
    assert elapsed < 3


async def test_probe_forever_checks_each_target_every_interval() -> None:
    server, port = await serve(never_answers)
    seen: list[object] = []
    async with server:
        targets = [Target(name, LOOPBACK, port, TcpCheck(timeout=1), interval=0.1) for name in "ab"]
        task = asyncio.create_task(probe_forever(targets, lambda t, r: seen.append(t.key)))
        await asyncio.sleep(0.55)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert 4 <= seen.count("a") <= 7 and 4 <= seen.count("b") <= 7


async def test_checks_that_wait_for_a_slot_are_reported_as_falling_behind() -> None:
    server, port = await serve(never_answers)
    queued: list[tuple[object, float]] = []
    async with server:
        # Four hanging HTTP checks of 0.3 s every 0.2 s through one slot: each waits its turn.
        targets = [Target(name, LOOPBACK, port, HttpCheck(timeout=0.3), interval=0.2) for name in "abcd"]
        task = asyncio.create_task(probe_forever(targets, lambda t, r: None, parallel=1,
                                                 on_queued=lambda t, s: queued.append((t.key, s))))
        await asyncio.sleep(1.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert queued and all(seconds > 0.1 for _, seconds in queued)
    roomy: list[object] = []
    server, port = await serve(never_answers)
    async with server:
        targets = [Target(name, LOOPBACK, port, HttpCheck(timeout=0.3), interval=0.2) for name in "abcd"]
        task = asyncio.create_task(probe_forever(targets, lambda t, r: None, parallel=4,
                                                 on_queued=lambda t, s: roomy.append(t.key)))
        await asyncio.sleep(1.0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert roomy == []  # with a slot each, nobody waits
