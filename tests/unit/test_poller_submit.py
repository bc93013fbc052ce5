"""Poller.submit: a write runs on the poller thread with its backend, and a poll shows its result."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lvs_tui.ipvs.backend import Backend, DestConfig, ServiceConfig
from lvs_tui.ipvs.errors import IpvsError, ObjectNotFound
from lvs_tui.model.records import ServiceKey
from lvs_tui.ops.poller import Poller, PollResult
from lvs_tui.sim import SimulatedDirector

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
NEW = ServiceKey.inet("tcp", "192.0.2.30", 80)
WAIT = 5.0  # seconds; only a broken poller waits this long


class Harness:
    def __init__(self) -> None:
        self.director = SimulatedDirector(services=0, dests_per_service=0, clock=lambda: 0.0,
                                          wall_clock=lambda: 0.0)
        self.director.add_service(ServiceConfig(WEB, "wrr"))
        self.director.add_dest(WEB, DestConfig("198.51.100.1", 8080))
        self.opened = 0
        self.results: queue.Queue[PollResult] = queue.Queue()
        self.poller = Poller(self.open, self.results.put)

    def open(self) -> Backend:
        self.opened += 1
        return self.director

    def submit(self, job: Any) -> queue.Queue[Any]:
        """Submit `job`; the returned queue gets (what `done` received, the thread it ran on)."""
        outcomes: queue.Queue[Any] = queue.Queue()
        self.poller.submit(job, lambda outcome: outcomes.put((outcome, threading.current_thread())))
        return outcomes


@pytest.fixture
def harness() -> Iterator[Harness]:
    h = Harness()
    h.poller.start()
    yield h
    h.poller.stop()


def test_a_job_runs_on_the_poller_thread_and_done_gets_its_value(harness: Harness) -> None:
    seen: dict[str, Any] = {}

    def job(backend: Backend) -> int:
        seen["backend"], seen["thread"] = backend, threading.current_thread()
        return len(backend.snapshot().services)

    outcome, done_thread = harness.submit(job).get(timeout=WAIT)
    assert outcome == 1
    assert seen["backend"] is harness.director and harness.opened == 1
    assert seen["thread"] is done_thread and done_thread is not threading.main_thread()


def test_a_poll_follows_the_job_and_shows_its_change(harness: Harness) -> None:
    outcomes = harness.submit(lambda backend: backend.add_service(ServiceConfig(NEW, "rr")))
    assert outcomes.get(timeout=WAIT)[0] is None
    result = harness.results.get(timeout=WAIT)  # nobody called request(): the job asked for it
    assert result.error is None and result.snapshot is not None
    assert result.snapshot.service(NEW) is not None


def test_a_job_submitted_without_a_poll_is_not_followed_by_one(harness: Harness) -> None:
    outcomes: queue.Queue[Any] = queue.Queue()
    for _ in range(3):
        harness.poller.submit(lambda backend: len(backend.snapshot().services), outcomes.put, poll=False)
    assert [outcomes.get(timeout=WAIT) for _ in range(3)] == [1, 1, 1]
    with pytest.raises(queue.Empty):
        harness.results.get(timeout=0.3)  # the headless checker's rounds read what they need
    harness.poller.request()
    assert harness.results.get(timeout=WAIT).snapshot is not None  # and asking still polls


def test_a_refused_job_hands_its_error_to_done_and_polling_goes_on(harness: Harness) -> None:
    missing = ServiceKey.inet("tcp", "192.0.2.99", 80)
    outcome, _ = harness.submit(lambda backend: backend.delete_service(missing)).get(timeout=WAIT)
    assert isinstance(outcome, ObjectNotFound) and str(missing) in str(outcome)
    assert harness.results.get(timeout=WAIT).snapshot is not None
    assert harness.submit(lambda backend: "still working").get(timeout=WAIT)[0] == "still working"


def test_a_bug_in_a_job_becomes_an_error_for_done_not_a_dead_poller(harness: Harness) -> None:
    def broken(backend: Backend) -> None:
        raise KeyError("oops")

    outcome, _ = harness.submit(broken).get(timeout=WAIT)
    assert isinstance(outcome, IpvsError) and "oops" in str(outcome)
    assert harness.results.get(timeout=WAIT).snapshot is not None


def test_jobs_run_in_the_order_submitted_before_the_poll() -> None:
    h = Harness()
    order: list[str] = []
    polled = threading.Event()

    def deliver(result: PollResult) -> None:
        order.append("poll")
        polled.set()

    def job(name: str) -> Callable[[Backend], None]:
        return lambda backend: order.append(name)

    h.poller = Poller(h.open, deliver)
    for name in ("first", "second", "third"):
        h.poller.submit(job(name), lambda outcome: None)
    h.poller.start()
    try:
        assert polled.wait(WAIT)
    finally:
        h.poller.stop()
    assert order == ["first", "second", "third", "poll"]
