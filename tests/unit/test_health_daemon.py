"""`lvs-top health` as a service, on the simulated director and loopback servers: a bad config
starts nothing, SIGHUP reloads (a broken file is refused), SIGTERM stops and leaves weights as they
are, a second checker is refused, and the log lines suit journald."""

from __future__ import annotations

import io
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from lvs_tui.health.claim import take_lock
from lvs_tui.health.daemon import StderrLog, run_health
from lvs_tui.health.statefile import read_state, write_state
from lvs_tui.health.status import HealthView
from lvs_tui.ipvs.backend import DestConfig
from lvs_tui.model.records import DestKey
from lvs_tui.ops.commands import save_lines
from lvs_tui.ops.journal import Journal
from tests.health_fixtures import KEY, LOOPBACK, config_text, director, weights


class Log(StderrLog):
    def __init__(self) -> None:
        self.out = io.StringIO()
        super().__init__(self.out, journald=False)

    def text(self) -> str:
        return self.out.getvalue()


def wait(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


class Driver:
    """Drive the running checker from another thread (the checker owns the main thread, for its
    signals); whatever happens, the checker is stopped at the end, so a failure never hangs."""

    def __init__(self, steps: Callable[[], None]) -> None:
        self.failure: BaseException | None = None
        self._steps = steps
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self._steps()
        except BaseException as error:  # reported by check() on the test's thread
            self.failure = error
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    def check(self) -> None:
        self.thread.join(5)
        if self.failure is not None:
            raise self.failure


def test_a_config_with_mistakes_starts_nothing(tmp_path: Path) -> None:
    config = tmp_path / "health.toml"
    config.write_text(config_text([8080]).replace("rise = 2", "rise = 0"))
    sim = director([8080])
    before = save_lines(sim.snapshot())
    log = Log()
    code = run_health(str(config), tmp_path / "state.json", Journal(tmp_path / "j.jsonl"), None,
                      lambda: sim, None, log)
    assert code == 2
    assert f"{config}:4: rise: must be a whole number from 1 to 2147483647, not 0.\n" in log.text()
    assert "error: nothing was started: fix the mistake above" in log.text()
    assert save_lines(sim.snapshot()) == before
    assert not (tmp_path / "state.json").exists() and not (tmp_path / "j.jsonl").exists()


def test_reload_stop_and_what_is_left_behind(tmp_path: Path) -> None:
    listener = socket.create_server((LOOPBACK, 0))
    port = listener.getsockname()[1]
    config = tmp_path / "health.toml"
    config.write_text(config_text([port]))
    state = tmp_path / "state.json"
    sim = director([port])
    log = Log()

    def operator() -> None:
        wait(lambda: "healthy after" in log.text())
        listener.close()  # the real server dies
        wait(lambda: weights(sim)[port] == 0)
        config.write_text(config_text([port]) + "oops = 1\n")
        os.kill(os.getpid(), signal.SIGHUP)
        wait(lambda: "reload refused" in log.text())
        config.write_text(config_text([port]).replace("fall = 2", "fall = 3"))
        os.kill(os.getpid(), signal.SIGHUP)
        wait(lambda: "configuration reloaded" in log.text())

    driver = Driver(operator)
    code = run_health(str(config), state, Journal(tmp_path / "j.jsonl"), None, lambda: sim, None, log)
    driver.check()
    assert code == 0
    text = log.text()
    assert "unhealthy after 2 checks in a row: connection refused" in text
    assert "reload refused:" in text and "oops: unknown setting" in text
    assert "stopped; weights are left as they are" in text
    assert weights(sim)[port] == 0  # left as it is
    view, taken_out, pid = read_state(state)
    assert pid is None and not view.running
    assert DestKey(LOOPBACK, port) in taken_out[KEY]  # a restarted checker will bring it back


def test_a_second_checker_is_refused_and_told_who_holds_the_state_file(tmp_path: Path) -> None:
    config = tmp_path / "health.toml"
    config.write_text(config_text([8080]))
    state = tmp_path / "state.json"
    holder = take_lock(state, "lvs-top health (pid 812)")  # the first checker
    try:
        log = Log()
        code = run_health(str(config), state, Journal(tmp_path / "j.jsonl"), None, lambda: director([8080]),
                          None, log)
    finally:
        os.close(holder)
    assert code == 1
    assert f"another checker holds {state}.lock (lvs-top health (pid 812), since " in log.text()
    assert not state.exists()


def damaged_state(tmp_path: Path, port: int) -> Path:
    """A state file saying the checker took out `port`, cut short as a crash mid-write would."""
    state = tmp_path / "state.json"
    memory = {KEY: {DestKey(LOOPBACK, port): DestConfig(LOOPBACK, port, weight=4)}}
    write_state(state, HealthView(source="lvs-top health (pid 1)"), memory, pid=None)
    state.write_bytes(state.read_bytes()[:-40])
    return state


def test_a_damaged_state_file_is_moved_aside_and_nothing_starts_until_reset(tmp_path: Path) -> None:
    config = tmp_path / "health.toml"
    config.write_text(config_text([8080]))
    state = damaged_state(tmp_path, 8080)
    damaged = state.read_bytes()
    log = Log()
    assert run_health(str(config), state, Journal(tmp_path / "j.jsonl"), None, lambda: director([8080]), None,
                      log) == 2
    (aside,) = tmp_path.glob("state.json.damaged-*")
    assert aside.read_bytes() == damaged and not state.exists()
    line = next(line for line in log.text().splitlines() if "is damaged" in line)
    assert str(state) in line and str(aside) in line and "--reset-state" in line and "Traceback" not in line
    again = Log()  # the refusal stands: the file moved aside is the reason
    assert run_health(str(config), state, Journal(tmp_path / "j.jsonl"), None, lambda: director([8080]), None,
                      again) == 2
    assert f"{aside} is a damaged one" in again.text()
    reset = Log()  # and --reset-state lifts it, saying so
    stop = Driver(lambda: wait(lambda: "checking 1 service" in reset.text()))
    assert run_health(str(config), state, Journal(tmp_path / "j.jsonl"), None, lambda: director([8080]), None,
                      reset, reset=True) == 0
    stop.check()
    assert f"--reset-state: starting without the memory of what an earlier checker took out (the damaged " \
           f"copy stays in {aside})" in reset.text()


def test_reset_state_starts_without_the_memory_and_says_so(tmp_path: Path) -> None:
    listener = socket.create_server((LOOPBACK, 0))
    port = listener.getsockname()[1]
    config = tmp_path / "health.toml"
    config.write_text(config_text([port]))
    state = damaged_state(tmp_path, port)
    log = Log()

    def operator() -> None:
        wait(lambda: "healthy after" in log.text())

    driver = Driver(operator)
    code = run_health(str(config), state, Journal(tmp_path / "j.jsonl"), None, lambda: director([port]), None,
                      log, reset=True)
    driver.check()
    listener.close()
    assert code == 0
    assert "--reset-state: the damaged state file" in log.text()
    assert read_state(state)[1] == {}  # a new, sound state file


def test_journald_lines_carry_the_priority_and_no_time_of_their_own() -> None:
    out = io.StringIO()
    log = StderrLog(out, journald=True)
    log("warning", "tcp:192.0.2.10:80: 198.51.100.11:80 unhealthy")
    log("error", "cannot act on the table")
    log("info", "stopped")
    assert out.getvalue().splitlines() == ["<4>tcp:192.0.2.10:80: 198.51.100.11:80 unhealthy",
                                           "<3>cannot act on the table", "<6>stopped"]
