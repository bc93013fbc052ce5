"""The check types, run on asyncio: TCP connect, HTTP(S) GET, an external command.

Each check is bounded by its own timeout, so a server that hangs costs only that; a command check
ends with everything it started (health/process.py). Results say in a few words why a server is
unhealthy, for the dashboard and the journal; a check that raises is a failed check saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import ssl
import time
from dataclasses import dataclass

from lvs_tui.health.process import run_command
from lvs_tui.model.printable import fault

BODY_LIMIT = 64 * 1024  # bytes of the answer searched for the expected substring


@dataclass(frozen=True, slots=True)
class TcpCheck:
    timeout: float = 3.0


@dataclass(frozen=True, slots=True)
class HttpCheck:
    path: str = "/"
    host: str | None = None  # the Host header; the server's address when None
    expect: tuple[int, ...] = (200,)
    body: str | None = None  # a substring the answer's body must contain
    tls: bool = False
    verify: bool = True  # with tls: check the certificate and the name
    timeout: float = 3.0


@dataclass(frozen=True, slots=True)
class CommandCheck:
    argv: tuple[str, ...]  # run as is, never through a shell (health/process.py runs it)
    timeout: float = 5.0


Check = TcpCheck | HttpCheck | CommandCheck


@dataclass(frozen=True, slots=True)
class Result:
    healthy: bool
    detail: str  # "HTTP 200", "connection refused", "timed out after 3 s", "exit status 2"
    seconds: float
    broken: bool = False  # the check itself could not run (a bug, a bad setting): said in the log


async def run_check(check: Check, address: str, port: int) -> Result:
    started = time.monotonic()
    try:
        if isinstance(check, CommandCheck):
            healthy, detail = await _command(check, address, port)
        else:
            async with asyncio.timeout(check.timeout):  # not wait_for: see _command
                healthy, detail = await _network(check, address, port)
    except TimeoutError:
        healthy, detail = False, f"timed out after {check.timeout:g} s"
    except OSError as error:
        healthy, detail = False, _reason(error)
    except Exception as error:  # a failed check, never a stopped one: the loop goes on checking
        return could_not_run(error, time.monotonic() - started)
    return Result(healthy, detail, time.monotonic() - started)


def could_not_run(error: BaseException, seconds: float) -> Result:
    """The result of a check that raised: failed, with the cause, and marked to be logged."""
    return Result(False, f"the check could not run: {fault(error)}", seconds, broken=True)


def _reason(error: OSError) -> str:
    """The errno's words ("connection refused"; asyncio's own text repeats the address), else the
    error's text. TLS errors carry OpenSSL's codes in errno, not the system's: their own words."""
    if isinstance(error, ssl.SSLError):
        return f"TLS: {getattr(error, 'verify_message', None) or error.reason or error}".lower()
    if error.errno:
        return os.strerror(error.errno).lower()
    return (str(error) or type(error).__name__).lower()


async def _network(check: TcpCheck | HttpCheck, address: str, port: int) -> tuple[bool, str]:
    context, server_hostname = None, None
    if isinstance(check, HttpCheck) and check.tls:
        context, server_hostname = _tls_context(check.verify), check.host or address
    reader, writer = await asyncio.open_connection(address.strip("[]"), port, ssl=context,
                                                   server_hostname=server_hostname)
    try:
        if isinstance(check, TcpCheck):
            return True, "connected"
        return await _http(check, address, port, reader, writer)
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):  # the answer is what counted
            await writer.wait_closed()


async def _http(check: HttpCheck, address: str, port: int, reader: asyncio.StreamReader,
                writer: asyncio.StreamWriter) -> tuple[bool, str]:
    host = check.host or (f"[{address}]" if ":" in address else address)
    writer.write(f"GET {check.path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: lvs-top health check\r\n"
                 f"Connection: close\r\n\r\n".encode())
    await writer.drain()
    status_line = (await reader.readline()).decode("latin-1").strip()
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not re.fullmatch("[0-9]{3}", parts[1]):
        return False, f"not an HTTP answer: {status_line[:60]!r}"
    status = int(parts[1])
    if status not in check.expect:
        return False, f"HTTP {status}, expected {'/'.join(map(str, check.expect))}"
    if check.body is not None:
        answer = await reader.read(BODY_LIMIT)
        _, _, body = answer.partition(b"\r\n\r\n")
        if check.body.encode() not in body:
            return False, f"HTTP {status} without {check.body!r} in the body"
    return True, f"HTTP {status}"


def _tls_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


async def _command(check: CommandCheck, address: str, port: int) -> tuple[bool, str]:
    try:
        return await run_command(check.argv, address, port, check.timeout)
    except OSError as error:
        return False, f"cannot run {check.argv[0]}: {_reason(error)}"
