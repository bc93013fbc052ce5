"""The poller never overlaps polls, collapses a backlog, and recovers from a failing backend."""

from __future__ import annotations

import queue
import threading
from collections.abc import Collection

from lvs_tui.ipvs.errors import IpvsUnavailable
from lvs_tui.model.records import Info, ServiceKey, Snapshot
from lvs_tui.ops.poller import Poller, PollResult


class SlowBackend:
    """Blocks each snapshot until released; counts concurrent calls."""

    description = "slow"

    def __init__(self) -> None:
        self.release = threading.Semaphore(0)
        self.entered = threading.Semaphore(0)
        self.running = 0
        self.most_at_once = 0
        self.polls = 0
        self.closed = False
        self.asked: list[Collection[ServiceKey] | None] = []

    def snapshot(self, whole: Collection[ServiceKey] | None = None) -> Snapshot:
        self.asked.append(whole)
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        self.entered.release()
        self.release.acquire(timeout=5)
        self.running -= 1
        self.polls += 1
        return Snapshot(float(self.polls), float(self.polls), Info("1.2.1", 4096))

    def close(self) -> None:
        self.closed = True


def test_requests_during_a_poll_collapse_into_one_next_poll() -> None:
    backend = SlowBackend()
    results: queue.Queue[PollResult] = queue.Queue()
    poller = Poller(lambda: backend, results.put)  # type: ignore[arg-type, return-value]
    poller.start()
    poller.request()
    assert backend.entered.acquire(timeout=5)  # first poll is running
    for _ in range(10):
        poller.request()
    backend.release.release()
    first = results.get(timeout=5)
    assert backend.entered.acquire(timeout=5)  # exactly one more poll starts...
    backend.release.release()
    second = results.get(timeout=5)
    poller.stop()
    assert first.snapshot is not None and second.snapshot is not None
    assert backend.polls == 2 and backend.most_at_once == 1
    assert results.empty()
    assert backend.closed


def test_a_failing_backend_is_reported_and_reopened() -> None:
    attempts: list[int] = []
    backend = SlowBackend()

    def open_backend() -> SlowBackend:
        attempts.append(1)
        if len(attempts) == 1:
            raise IpvsUnavailable("IPVS is not available in this kernel: load it with `modprobe ip_vs`.")
        return backend

    results: queue.Queue[PollResult] = queue.Queue()
    poller = Poller(open_backend, results.put)  # type: ignore[arg-type]
    poller.start()
    poller.request()
    failed = results.get(timeout=5)
    assert failed.snapshot is None and failed.error is not None and "modprobe ip_vs" in failed.error
    backend.release.release()
    poller.request()
    recovered = results.get(timeout=5)
    poller.stop()
    assert recovered.snapshot is not None and recovered.error is None
    assert len(attempts) == 2


def test_each_poll_asks_which_services_to_read_whole_at_that_moment() -> None:
    backend = SlowBackend()
    results: queue.Queue[PollResult] = queue.Queue()
    selected = [ServiceKey.inet("tcp", "192.0.2.10", 80)]
    poller = Poller(lambda: backend, results.put,  # type: ignore[arg-type, return-value]
                    whole=lambda: frozenset(selected))
    poller.start()
    for _ in range(2):
        poller.request()
        assert backend.entered.acquire(timeout=5)
        backend.release.release()
        results.get(timeout=5)
        selected[:] = [ServiceKey.inet("tcp", "192.0.2.10", 443)]  # the operator moves on
    poller.stop()
    assert [{key.id for key in whole or ()} for whole in backend.asked] == [{"tcp:192.0.2.10:80"},
                                                                          {"tcp:192.0.2.10:443"}]


def test_a_backend_that_recovers_by_itself_is_kept_across_failed_polls() -> None:
    class Refusing(SlowBackend):
        recovers_by_itself = True  # as a remote director's: its own link comes back

        def snapshot(self, whole: Collection[ServiceKey] | None = None) -> Snapshot:
            raise IpvsUnavailable("director lb2: IPVS is not available in this kernel.")

    opened: list[SlowBackend] = []

    def open_backend() -> SlowBackend:
        opened.append(Refusing())
        return opened[-1]

    results: queue.Queue[PollResult] = queue.Queue()
    poller = Poller(open_backend, results.put)  # type: ignore[arg-type]
    poller.start()
    for _ in range(3):
        poller.request()
        assert results.get(timeout=5).error == "director lb2: IPVS is not available in this kernel."
    poller.stop()
    assert len(opened) == 1 and opened[0].closed  # one backend, closed once, at the end
