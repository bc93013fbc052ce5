"""What a process start costs in the lab VM: the interpreter, the imports the kernel suite's
processes make, and `lvs-top save` / `lvs-top doctor` with and without bytecode. Prints figures,
asserts nothing (the kernel suite's time table in the README was measured with it).

Run in one VM (it is a pytest file, so that kernel-suite runs it alone):

    scripts/kernel-suite --python .venv/bin/python -- bench/vm_starts.py -s

Each figure is one run's wall time; the first of a pair shows what the first start pays.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, check=False)
    return time.monotonic() - start, proc.returncode


def importtime(code: str, env: dict[str, str]) -> list[tuple[float, str]]:
    """The slowest imports (cumulative seconds, module) of `python -X importtime -c CODE`."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                          env=env, cwd=REPO, check=False)
    rows = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if line.startswith("import time:") and len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]) / 1e6, parts[2].rstrip()))
    return sorted(rows, reverse=True)[:10]


def test_vm_starts() -> None:
    subprocess.run(["modprobe", "ip_vs"], check=True)
    python = sys.executable
    plain = {**os.environ, "PYTHONPATH": str(REPO)}  # the VM's environment: PYTHONDONTWRITEBYTECODE=1
    cache = tempfile.mkdtemp(prefix="vm-starts-pyc.")
    prefixed = {**plain, "PYTHONPYCACHEPREFIX": cache}
    prefixed.pop("PYTHONDONTWRITEBYTECODE", None)
    lines = []
    for argv in (["true"], ["ipvsadm", "-Ln"], ["sh", "-c", "true"], [python, "-c", "pass"],
                 [python, "-S", "-c", "pass"]):
        seconds, _ = timed(argv, plain)
        lines.append(f"{seconds:6.2f} s  {' '.join(argv[-3:])}")
    for module in ("socket, threading", "urllib.request", "http.server", "pyroute2", "textual.app",
                   "lvs_tui.cli", "lvs_tui.cli.doctor", "lvs_tui.health.daemon", "lvs_tui.cli.realserver"):
        seconds, _ = timed([python, "-c", f"import {module}"], plain)
        lines.append(f"{seconds:6.2f} s  import {module}")
    for args in (["save"], ["doctor", "--sample", "0", "--json"]):
        command = [python, "-m", "lvs_tui", *args]
        for label, env in (("checkout's bytecode, if compiled", plain), ("cache in the VM, 1st", prefixed),
                           ("cache in the VM, 2nd", prefixed)):
            seconds, code = timed(command, env)
            lines.append(f"{seconds:6.2f} s  lvs-top {' '.join(args)} ({label}; exit {code})")
    for statement in ("import lvs_tui.cli", "import lvs_tui.cli.doctor, lvs_tui.doctor.host"):
        lines.append(f"slowest imports of {statement!r} (cumulative):")
        slowest = importtime(statement, plain)
        lines += [f"    {seconds:6.2f} s  {module.strip()}" for seconds, module in slowest]
    shutil.rmtree(cache, ignore_errors=True)
    print("\n" + "\n".join(lines))
