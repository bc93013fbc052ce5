"""Command checks as processes: a minimal environment, their own process group killed when they
end, and daemons that left the group found and ended by the service (a child subreaper)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lvs_tui.health.checks import CommandCheck, run_check

ROOT = Path(__file__).resolve().parents[2]


def gone(pid: int, seconds: float = 3.0) -> bool:
    """The process has ended (a zombie waiting for its reaper counts as ended)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.02)
    return False


async def test_the_program_gets_path_lang_and_its_target_and_nothing_else(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
    monkeypatch.setenv("LANG", "C.UTF-8")
    seen = tmp_path / "env.json"
    code = f"import json, os; json.dump(dict(os.environ), open({str(seen)!r}, 'w'))"
    result = await run_check(CommandCheck((sys.executable, "-c", code), timeout=10), "10.20.1.2", 8080)
    assert result.healthy, result.detail
    env = json.loads(seen.read_text())
    assert set(env) == {"PATH", "LANG", "LVS_TOP_ADDRESS", "LVS_TOP_PORT", "LVS_TOP_CHECK"}
    assert (env["LVS_TOP_ADDRESS"], env["LVS_TOP_PORT"], env["LANG"]) == ("10.20.1.2", "8080", "C.UTF-8")
    assert env["PATH"] == os.environ["PATH"]


async def test_a_helper_left_running_in_the_group_ends_with_the_check(tmp_path: Path) -> None:
    pid_file = tmp_path / "helper.pid"
    code = ("import subprocess, sys; helper = subprocess.Popen([sys.executable, '-c', 'import time; "
            f"time.sleep(30)']); open({str(pid_file)!r}, 'w').write(str(helper.pid))")
    result = await run_check(CommandCheck((sys.executable, "-c", code), timeout=10), "127.0.0.1", 1)
    assert (result.healthy, result.detail) == (True, "exit status 0")  # it exited; its helper did not
    assert gone(int(pid_file.read_text()))


async def test_a_program_killed_by_a_signal_says_so() -> None:
    code = "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"
    result = await run_check(CommandCheck((sys.executable, "-c", code), timeout=10), "127.0.0.1", 1)
    assert (result.healthy, result.detail) == (False, f"killed by signal {signal.SIGTERM.value}")


def orphans(tmp_path: Path, *extra: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-m", "tests.health_orphans", str(tmp_path), *extra], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=True)
    outcome: dict[str, object] = json.loads(done.stdout)
    return outcome


def test_the_service_ends_daemons_that_left_the_group_but_not_those_of_a_check_still_running(
        tmp_path: Path) -> None:
    outcome = orphans(tmp_path)
    assert outcome["subreaper"] is True
    assert outcome["quick"] == "exit status 0"
    assert outcome["slow"] == "exit status 0"  # its daemon lived while it ran, though another check ended
    assert outcome["alive"] == {"quick": False, "slow": False}  # and both ended with their checks


def test_without_the_subreaper_role_a_daemon_outlives_its_check(tmp_path: Path) -> None:
    outcome = orphans(tmp_path, "--no-subreaper")  # the dashboard's case: the limit, shown
    pids = outcome["pids"]
    assert isinstance(pids, dict)
    try:
        assert outcome["alive"] == {"quick": True, "slow": True}
    finally:
        for pid in pids.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
