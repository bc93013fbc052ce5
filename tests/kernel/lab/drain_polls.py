"""Following a drain as the dashboard does, checked against ipvsadm at every poll (the helpers of
test_ops_drain.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lvs_tui.model.records import Dest, DestKey, Service, ServiceKey, Snapshot
from lvs_tui.ops.changes import DrainStart
from lvs_tui.ops.drain import DrainBoard, DrainCounts, DrainStatus
from tests.kernel.lab.commands import listing

if TYPE_CHECKING:
    from lvs_tui.ipvs.kernel import KernelBackend

POLL = 0.25  # seconds between polls


def listed_counts(service: ServiceKey, dest: DestKey) -> DrainCounts | None:
    """ipvsadm's counts of one real server (`-Ln --exact --persistent-conn`), None when it is gone."""
    listed = listing("--persistent-conn").services.get(service.id)
    row = None if listed is None else listed.dests.get(dest.id)
    if row is None:
        return None
    return DrainCounts(row.int("ActiveConn"), row.int("InActConn"), row.int("PersistConn"))


def active(service: ServiceKey, dest: DestKey) -> int:
    counts = listed_counts(service, dest)
    return 0 if counts is None else counts.active


def criterion(service: ServiceKey) -> Callable[[DrainCounts], int]:
    """What a drain waits for, written out independently of lvs_tui.ops.drain."""
    if service.protocol is not None and service.protocol.value == "tcp":
        return lambda counts: counts.active + counts.persistent
    return lambda counts: counts.inactive + counts.persistent


@dataclass(frozen=True)
class Poll:
    at: float
    listed: DrainCounts  # ipvsadm, read just before the snapshot
    counts: DrainCounts  # the snapshot's
    status: DrainStatus
    due: list[tuple[Service, Dest]]


def follow(board: DrainBoard, backend: KernelBackend, service: ServiceKey, dest: DestKey,
           timeout: float = 60) -> tuple[list[Poll], DrainCounts]:
    """Poll as the dashboard does until the board says drained, and two polls more; return the
    polls and ipvsadm's counts after the last one."""
    polls: list[Poll] = []
    deadline = time.monotonic() + timeout
    while True:
        listed = listed_counts(service, dest)
        assert listed is not None, f"{dest} left {service} during its drain"
        at = time.monotonic()
        snapshot = backend.snapshot()
        due = board.update(snapshot, at)
        status = board.status(service, dest)
        assert status is not None, f"the board stopped following {dest}"
        snap_service = snapshot.service(service)
        snap_dest = None if snap_service is None else snap_service.dest(dest)
        assert snap_dest is not None
        polls.append(Poll(at, listed, DrainCounts.of(snap_dest), status, list(due)))
        drained_at = next((i for i, p in enumerate(polls) if p.status.drained), None)
        if drained_at is not None and len(polls) - drained_at >= 3:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"not drained after {timeout} s: {[(p.listed, p.status) for p in polls]}")
        time.sleep(POLL)
    final = listed_counts(service, dest)
    assert final is not None
    return polls, final


def check_polls(polls: list[Poll], final: DrainCounts, service: ServiceKey, dest: DestKey) -> int:
    """The board agrees with ipvsadm poll by poll; returns the index of the first drained poll."""
    left = criterion(service)
    after = [p.listed for p in polls[1:]] + [final]
    compared = 0
    for poll, listed_after in zip(polls, after, strict=True):
        # The snapshot sits between two ipvsadm reads: when they agree, it must agree with them.
        if poll.listed == listed_after:
            assert poll.counts == poll.listed, (poll.counts, poll.listed)
            compared += 1
        assert poll.status.counts == poll.counts
        assert poll.status.remaining == left(poll.counts)
        assert poll.status.drained == (left(poll.counts) == 0)
    assert compared >= len(polls) // 2, "ipvsadm's counts never held still: nothing was compared"
    # Counts of a weight-0 server only go down, and snapshot i comes after ipvsadm read i and
    # before read i+1: the board's first "drained" is at the first poll whose ipvsadm read meets
    # the criterion, or one poll before it, never earlier.
    reads = [*(p.listed for p in polls), final]
    met = next(i for i, listed in enumerate(reads) if left(listed) == 0)
    drained = next(i for i, p in enumerate(polls) if p.status.drained)
    assert met - 1 <= drained <= met, [(p.listed, p.counts, p.status.drained) for p in polls]
    assert all(p.status.drained for p in polls[drained:]), "drained, then not drained again"
    assert drained > 0, "drained at once: the test proved nothing"
    return drained


def current(backend: KernelBackend, service: ServiceKey) -> Service:
    found = backend.snapshot().service(service)
    assert found is not None
    return found


def sandwiched(
    backend: KernelBackend, starts: tuple[DrainStart, ...]
) -> tuple[dict[str, DrainCounts], Snapshot]:
    """A snapshot between two ipvsadm reads that agree on the drained servers' counts."""
    def read() -> dict[str, DrainCounts]:
        counts = {}
        for start in starts:
            listed = listed_counts(start.service, start.dest)
            assert listed is not None
            counts[f"{start.service.id}>{start.dest.id}"] = listed
        return counts

    for _ in range(20):
        before = read()
        snapshot = backend.snapshot()
        if read() == before:
            return before, snapshot
        time.sleep(POLL)
    raise TimeoutError("ipvsadm's counts never held still")
