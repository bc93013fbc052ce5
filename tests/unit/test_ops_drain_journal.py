"""Drain tracking and the audit journal (pure; the kernel proof comes with the drain action)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lvs_tui.model.records import DestKey, ServiceKey
from lvs_tui.ops.drain import DrainCounts, DrainTracker, aggregate, remaining
from lvs_tui.ops.journal import Entry, Journal, default_path

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
DNS = ServiceKey.inet("udp", "192.0.2.53", 53)
MARK = ServiceKey.mark(7)
RS = DestKey("198.51.100.11", 80)


def test_the_criterion_depends_on_the_protocol() -> None:
    counts = DrainCounts(active=3, inactive=5, persistent=2)
    assert remaining(WEB, counts) == 3 + 2  # TCP waits for active conns and templates
    assert remaining(WEB, counts, wait_inactive=True) == 3 + 5 + 2
    assert remaining(DNS, counts) == 5 + 2  # UDP has no active count
    # A mark can carry TCP (counted active) as well as UDP: everything is waited for.
    assert remaining(MARK, counts) == 3 + 5 + 2


def test_progress_eta_and_drained() -> None:
    tracker = DrainTracker(WEB, RS, DrainCounts(100, 40, 0), started_at=0.0, previous_weight=3)
    assert tracker.status.progress == 0.0 and tracker.status.eta is None
    status = tracker.update(DrainCounts(50, 60, 0), at=10.0)  # 5 per second
    assert status.progress == 0.5
    assert status.eta == pytest.approx(10.0)
    assert not status.drained
    status = tracker.update(DrainCounts(0, 90, 0), at=20.0)
    assert status.drained and status.eta == 0.0 and status.progress == 1.0


def test_a_stalled_drain_has_no_eta_and_templates_hold_it_open() -> None:
    tracker = DrainTracker(WEB, RS, DrainCounts(10, 0, 4), started_at=0.0, previous_weight=1)
    status = tracker.update(DrainCounts(0, 0, 4), at=5.0)
    assert not status.drained and status.remaining == 4  # returning clients still pinned
    tracker2 = DrainTracker(WEB, RS, DrainCounts(10, 0, 0), started_at=0.0, previous_weight=1)
    assert tracker2.update(DrainCounts(10, 0, 0), at=5.0).eta is None


def test_a_host_drained_everywhere_is_done_when_every_part_is() -> None:
    done = DrainTracker(WEB, RS, DrainCounts(0, 0, 0), 0.0, 1).status
    busy = DrainTracker(DNS, RS, DrainCounts(0, 8, 0), 0.0, 1).update(DrainCounts(0, 4, 0), 4.0)
    total = aggregate([done, busy])
    assert not total.drained and total.remaining == 4 and total.eta == pytest.approx(4.0)
    assert aggregate([done]).drained


def test_journal_appends_whole_json_lines_with_who_and_what(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUDO_USER", "alice")
    journal = Journal(tmp_path / "state" / "journal.jsonl")
    before = {"weight": 3}
    journal.append(Entry("edit_dest", f"{WEB}>{RS}", "ipvsadm -e -t 192.0.2.10:80 -r 198.51.100.11:80 -w 0",
                         before, {"weight": 0}, "ok"), at=1_790_000_000.0)  # fmt: skip
    missing = "real server 198.51.100.11:80 does not exist in service tcp:192.0.2.10:80."
    journal.append(Entry("delete_dest", f"{WEB}>{RS}", "ipvsadm -d ...", {"weight": 0}, None, missing))
    lines = journal.path.read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["sudo_user"] == "alice" and first["user"]
    assert (first["action"], first["before"], first["after"], first["result"]) == (
        "edit_dest", before, {"weight": 0}, "ok")  # fmt: skip
    assert first["time"] == 1_790_000_000.0
    assert [e["action"] for e in journal.entries()] == ["edit_dest", "delete_dest"]
    assert os.stat(journal.path).st_mode & 0o777 == 0o600


def test_a_damaged_line_is_skipped_and_a_missing_journal_is_empty(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    assert list(journal.entries()) == []
    journal.path.write_text('{"action": "zero"}\n{"action": "trunc\n')
    assert [e["action"] for e in journal.entries()] == ["zero"]


def test_default_path_follows_xdg_state_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_path() == tmp_path / "lvs-top" / "journal.jsonl"
