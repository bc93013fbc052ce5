"""Command checks as processes: started clean, and ended with everything they started.

A check's program gets a minimal environment (PATH, LANG, and the LVS_TOP_* variables: the target,
and LVS_TOP_CHECK, a token naming this run of the check), runs in a session and process group of
its own, and when it ends or its time is up the whole group is killed, so a helper it left in the
background does not outlive it.

A program can still leave the group: a daemon calls setsid(). The `lvs-top health` service makes
itself a child subreaper (PR_SET_CHILD_SUBREAPER), so such an orphan is re-parented to the checker
instead of init; after a check ends the checker looks for its own children that are not a running
check's program (a scan of /proc's parent pids, at most once a second), kills each (with its group)
unless it carries the token of a check still running, and reaps it. The limits: a process that
changes user cannot be killed by an unprivileged checker, one that escapes before the subreaper
is set is not seen, and in the dashboard (`--health`), which does not take the subreaper role for
its whole process, only the group is killed. A per-check cgroup would close these, and is not
available to us.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import itertools
import os
import re
import signal
import subprocess
import threading
import time

SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PR_SET_CHILD_SUBREAPER = 36
SWEEP_EVERY = 1.0  # seconds between two scans of /proc for orphans (each costs a few ms)
MARK = "LVS_TOP_CHECK"  # names the run of a check its processes belong to

_lock = threading.Lock()
_leaders: set[int] = set()  # pids of the checks' programs, until reaped
_tokens: set[str] = set()  # tokens of the checks running now
_pending: set[int] = set()  # orphans killed, to reap
_serial = itertools.count(1)
_subreaper = False
_swept = -SWEEP_EVERY
_deferred = False

_PID = re.compile("[0-9]+")  # a process directory under /proc


def become_subreaper() -> bool:
    """Take the subreaper role for this process (the service only: every orphan below it becomes
    its child, and it must reap them); False when the kernel refuses."""
    global _subreaper
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        _subreaper = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        _subreaper = False
    return _subreaper


def environment(address: str, port: int, token: str) -> dict[str, str]:
    """What a check's program gets: nothing of the checker's own environment but PATH and LANG."""
    env = {"PATH": os.environ.get("PATH") or SAFE_PATH}
    if "LANG" in os.environ:
        env["LANG"] = os.environ["LANG"]
    return {**env, "LVS_TOP_ADDRESS": address, "LVS_TOP_PORT": str(port), MARK: token}


async def run_command(argv: tuple[str, ...], address: str, port: int, timeout: float) -> tuple[bool, str]:
    token = f"{os.getpid()}.{next(_serial)}"
    with _lock:
        _tokens.add(token)
        # Started and registered under the lock: a sweep on another thread never sees it unregistered.
        try:
            proc = subprocess.Popen(argv, env=environment(address, port, token), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True, close_fds=True)
        except BaseException:
            _tokens.discard(token)
            raise
        _leaders.add(proc.pid)
    timed_out = False
    try:
        await _exited(proc.pid, timeout)
    except TimeoutError:
        timed_out = True
    finally:  # ended, timed out or cancelled: the group goes, then the program is reaped
        found = _end(proc, token)
    for _ in range(4):  # an orphan killed may leave orphans of its own: they come to us in a moment
        if not found:
            break
        await asyncio.sleep(0.02)
        found = sweep(force=True)
    _sweep_soon(asyncio.get_running_loop())
    status = proc.returncode
    if timed_out:
        return False, f"timed out after {timeout:g} s (killed)"
    if status is None:
        return False, "did not end when killed (stuck in the kernel)"
    if status < 0:
        return False, f"killed by signal {-status}"
    return status == 0, f"exit status {status}"


async def _exited(pid: int, timeout: float) -> None:
    """Until the program has exited (not reaped: its pid keeps its group's id from being reused)."""
    async with asyncio.timeout(timeout):
        try:
            fd = os.pidfd_open(pid)
        except OSError:  # a kernel before 5.3: look every 50 ms instead
            while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
                await asyncio.sleep(0.05)
            return
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        loop.add_reader(fd, _settle, done)
        try:
            await done
        finally:
            loop.remove_reader(fd)
            os.close(fd)


def _settle(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


def _end(proc: subprocess.Popen[bytes], token: str) -> int:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone already
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):  # stuck in the kernel: reaped later
        proc.wait(timeout=2)
    with _lock:
        _leaders.discard(proc.pid)
        _tokens.discard(token)
    return sweep()


def _sweep_soon(loop: asyncio.AbstractEventLoop) -> None:
    """A sweep skipped to keep scans at one a second is done at the end of that second, once."""
    global _deferred
    if _subreaper and not _deferred and time.monotonic() - _swept < SWEEP_EVERY:
        _deferred = True
        loop.call_later(SWEEP_EVERY, _deferred_sweep)


def _deferred_sweep() -> None:
    global _deferred
    _deferred = False
    sweep(force=True)


def sweep(force: bool = False) -> int:
    """Kill and reap the orphans of ended checks (subreaper only); how many were found."""
    global _swept
    now = time.monotonic()
    if not _subreaper or (not force and now - _swept < SWEEP_EVERY and not _pending):
        return 0
    _swept = now
    found = 0
    with _lock:
        leaders, tokens = set(_leaders), set(_tokens)
    for pid in _children() - leaders:
        if _token(pid) in tokens:
            continue  # a helper of a check still running: ended with it
        found += 1
        for kill in (os.killpg, os.kill):  # its group (if it leads one), then itself
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill(pid, signal.SIGKILL)
        _pending.add(pid)
    for pid in list(_pending):
        try:
            reaped, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            reaped = pid
        if reaped:
            _pending.discard(pid)
    return found


def _children() -> set[int]:
    """This process's children, from /proc (no /proc/self/task/*/children on every kernel)."""
    me, found = os.getpid(), set()
    for name in os.listdir("/proc"):
        if not _PID.fullmatch(name):
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except OSError:
            continue
        if len(fields) > 1 and fields[1] == str(me).encode():
            found.add(int(name))
    return found


def _token(pid: int) -> str | None:
    """The LVS_TOP_CHECK a process was started with; None if unreadable (a zombie, another user)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as source:
            environ = source.read()
    except OSError:
        return None
    for entry in environ.split(b"\0"):
        name, _, value = entry.partition(b"=")
        if name == MARK.encode():
            return value.decode("ascii", "replace")
    return None
