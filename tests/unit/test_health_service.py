"""`lvs-top health` as real processes (tests/health_child.py: the simulated director, loopback
servers, real signals): SIGTERM after a check that raised stops cleanly, and of two checkers
started at the same moment on one state file exactly one runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.health_fixtures import config_text

ROOT = Path(__file__).resolve().parents[2]


class Child:
    """One checker process; its stderr goes to a file, read while it runs."""

    def __init__(self, tmp_path: Path, name: str, config: Path, state: Path, broken: str = "",
                 *extra: str) -> None:
        self.log = tmp_path / f"{name}.log"
        env = {**os.environ, "LVS_TOP_TEST_BROKEN": broken, "JOURNAL_STREAM": ""}
        with self.log.open("w") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "tests.health_child", str(config), str(state),
                                          *extra], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=err)

    def text(self) -> str:
        return self.log.read_text()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(10)


def wait(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.fixture
def listener() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    yield server.getsockname()[1]
    server.close()


def test_sigterm_after_a_check_that_raised_exits_0_without_a_traceback(tmp_path: Path, listener: int) -> None:
    broken = socket.create_server(("127.0.0.1", 0))  # up, but its check raises (as host "a..b" did)
    config = tmp_path / "health.toml"
    config.write_text(config_text([listener, broken.getsockname()[1]]))
    child = Child(tmp_path, "checker", config, tmp_path / "health.json", str(broken.getsockname()[1]))
    try:
        wait(lambda: "the check could not run: UnicodeError" in child.text())
        wait(lambda: "healthy after 2 checks" in child.text())
    finally:
        code = child.stop()
        broken.close()
    text = child.text()
    assert code == 0, text
    assert "Traceback" not in text and "stopped; weights are left as they are" in text
    assert text.count("counted as a failed check") == 1  # said once, not at every check


def test_two_checkers_started_at_once_exactly_one_runs(tmp_path: Path, listener: int) -> None:
    config = tmp_path / "health.toml"
    config.write_text(config_text([listener]))
    state = tmp_path / "health.json"
    children = [Child(tmp_path, name, config, state) for name in ("first", "second")]
    try:
        wait(lambda: any(child.proc.poll() is not None for child in children))
        time.sleep(0.3)  # the other had the time to refuse too, if it was going to
        refused = [child for child in children if child.proc.poll() is not None]
        assert len(refused) == 1, [child.text() for child in children]
        (running,) = [child for child in children if child not in refused]
        assert refused[0].proc.returncode == 1
        said = refused[0].text()
        # Who holds it: its pid, or (refused in the instant between its lock and its writing) that
        # it is starting.
        assert "another checker holds" in said and ("pid" in said or "it is starting" in said), said
        wait(lambda: "checking 1 service" in running.text())
    finally:
        codes = [child.stop() for child in children]
    assert codes.count(0) == 1
