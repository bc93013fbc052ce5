"""lvs-top as the tests run it, always command first (`restore FILE --yes`, `doctor --netns NAME`,
`--batch --json`):

- `run(*args, netns=None)`: a process to its end (`python -m lvs_tui ARGS`, inside `netns` with `ip
  netns exec`), as an operator runs it: its exit status and output;
- `start(*args, ...)`: a long-running process (`health CONFIG ...`), to signal and stop;
- `here(*args, netns=None)`: the same command line through `lvs_tui.cli.main` in this process (in a
  thread that joined `netns`), its output captured: the command's code without an interpreter's start.

Every process runs with a bytecode cache. An interpreter with lvs-top's imports takes seconds to
start in the emulated VM, most of them compiling when nothing is cached: scripts/kernel-suite
compiles the checkout on the host before the VM boots (inside it the checkout is read-only), and
without that bytecode the processes share a cache in the VM's /tmp (PYTHONPYCACHEPREFIX). Each run
and start is counted in `STARTS`, which the suite sums up at its end.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TextIO

from lvs_tui.ipvs.netlink import in_netns

REPO = Path(__file__).resolve().parents[3]
PYCACHE = Path("/tmp/lvs-top-pycache")
STARTS: list[tuple[str, float]] = []  # (command line, seconds) of each process run or started


@dataclass(frozen=True)
class Run:
    """One `lvs-top ...` run: its exit status, output and wall time."""

    args: tuple[str, ...]
    netns: str | None
    code: int
    out: str
    err: str
    seconds: float

    def findings(self) -> list[dict[str, str]]:
        """The findings of a `--json` run of doctor or realserver."""
        try:
            return list(json.loads(self.out)["findings"])
        except (ValueError, KeyError) as error:
            raise AssertionError(f"lvs-top {' '.join(self.args)} printed no JSON findings ({error}):\n"
                                 f"{self.out}\n{self.err}") from None

    def errors(self) -> list[dict[str, str]]:
        return [finding for finding in self.findings() if finding["severity"] == "error"]

    def subjects(self, severity: str) -> list[str]:
        return [finding["subject"] for finding in self.findings() if finding["severity"] == severity]

    def finding(self, severity: str, subject: str) -> dict[str, str]:
        """The one finding of this severity about `subject`; fails with every finding shown."""
        found = [f for f in self.findings() if (f["severity"], f["subject"]) == (severity, subject)]
        assert len(found) == 1, f"not one {severity} about {subject!r} but {len(found)}:\n{self.report()}"
        return found[0]

    def report(self) -> str:
        try:
            return "\n".join(f"{f['severity']:7} {f['subject']}: {f['cause']}" for f in self.findings())
        except AssertionError:
            return f"{self.out}{self.err}"

    def lines(self) -> list[dict[str, Any]]:
        """The JSON objects of a `--batch --json` run, one a line."""
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


def precompiled() -> bool:
    """Whether the checkout's own bytecode is current (compiled on the host by scripts/kernel-suite)."""
    source = REPO / "lvs_tui" / "__main__.py"  # the first module every `python -m lvs_tui` loads
    try:
        header = Path(importlib.util.cache_from_source(str(source))).read_bytes()[:16]
    except OSError:
        return False
    stat = source.stat()
    return header[8:12] == (int(stat.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")


def env() -> dict[str, str]:
    """lvs-top's environment: this checkout first on the path, and a bytecode cache."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    environ = {**os.environ, "PYTHONPATH": path}
    if not precompiled():
        environ["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
        environ.pop("PYTHONDONTWRITEBYTECODE", None)
    return environ


def argv(*args: str, netns: str | None = None) -> list[str]:
    command = [sys.executable, "-m", "lvs_tui", *args]
    return command if netns is None else ["ip", "netns", "exec", netns, *command]


def run(*args: str, netns: str | None = None, timeout: float = 300, input: str | None = None) -> Run:
    """`lvs-top ARGS` as a process to its end (inside `netns`), what it said printed."""
    start = time.monotonic()
    proc = subprocess.run(argv(*args, netns=netns), capture_output=True, text=True, timeout=timeout, cwd=REPO,
                          env=env(), input=input, stdin=None if input is not None else subprocess.DEVNULL)
    seconds = time.monotonic() - start
    STARTS.append((" ".join(args), seconds))
    return _shown(Run(args, netns, proc.returncode, proc.stdout, proc.stderr, seconds), "a process")


def python(code: str, *, wrapper: Sequence[str] = (),
           timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Python `code` in a process of its own with lvs-top's environment (for what the command line
    cannot show, such as the exception a call raises), started through `wrapper` (e.g. setpriv)."""
    start = time.monotonic()
    proc = subprocess.run([*wrapper, sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env=env(), stdin=subprocess.DEVNULL)
    STARTS.append((f"(python -c through {' '.join(wrapper[:1]) or 'nothing'})", time.monotonic() - start))
    return proc


def start(*args: str, log: IO[bytes], netns: str | None = None) -> subprocess.Popen[bytes]:
    """`lvs-top ARGS` started as a long-running process (inside `netns`), its output to `log`. The
    caller waits for it to be ready (and may record that time with `started`)."""
    return subprocess.Popen(argv(*args, netns=netns), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            cwd=REPO, env=env())


def started(args: tuple[str, ...], seconds: float) -> None:
    """Count a start of `start` that took `seconds` until the process was ready."""
    STARTS.append((" ".join(args), seconds))


def here(*args: str, netns: str | None = None) -> Run:
    """`lvs-top ARGS` through `lvs_tui.cli.main` in this process (in a thread that joined `netns`,
    whose sockets, /proc/sys reads and child processes are that namespace's, as with `ip netns exec`),
    what it wrote captured (see `_captured`) and printed."""
    from lvs_tui.cli import main

    def call() -> int:
        try:
            return main(list(args))
        except SystemExit as exit_:  # argparse's errors
            return exit_.code if isinstance(exit_.code, int) else 1

    begun = time.monotonic()
    with _captured() as output:
        code = call() if netns is None else in_netns(netns, call)
    return _shown(Run(args, netns, code, output[0], output[1], time.monotonic() - begun), "in-process")


_STANDARD: list[TextIO] = []  # text streams on file descriptors 1 and 2, made once


@contextlib.contextmanager
def _captured() -> Iterator[list[str]]:
    """What is written to standard output and error meanwhile, as [out, err] once the block ends:
    file descriptors 1 and 2 go to files, and sys.stdout and sys.stderr write to those descriptors.
    So a child process's output is caught too, and so is a stream that lvs-top keeps from its first
    import (the health checker's log keeps the sys.stderr it found): it writes to descriptor 2."""
    if not _STANDARD:
        _STANDARD.extend(open(fd, "w", buffering=1, closefd=False) for fd in (1, 2))  # noqa: SIM115
    output = ["", ""]
    files = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]  # noqa: SIM115
    streams = sys.stdout, sys.stderr
    streams[0].flush()
    streams[1].flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        for fd, file in zip((1, 2), files, strict=True):
            os.dup2(file.fileno(), fd)
        sys.stdout, sys.stderr = _STANDARD
        yield output
    finally:
        for stream in _STANDARD:
            stream.flush()
        sys.stdout, sys.stderr = streams
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)
        for i, file in enumerate(files):
            file.seek(0)
            output[i] = file.read().decode(errors="replace")
            file.close()


def _shown(run: Run, how: str) -> Run:
    where = f" in namespace {run.netns}" if run.netns else ""
    print(f"$ lvs-top {' '.join(run.args)} ({how}{where}): exit {run.code} after {run.seconds:.1f} s")
    shown = run.report() if "--json" in run.args and "--batch" not in run.args else run.out + run.err
    for line in shown.splitlines():
        print(f"    {line}")
    return run
