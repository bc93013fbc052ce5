"""The drain records: one file per director that every lvs-top reads and writes; what the drain
commands put in it and take out; a damaged or unwritable file is said, never a crash."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lvs_tui.ipvs.backend import DestConfig, ServiceConfig
from lvs_tui.model.records import DestKey, ServiceKey
from lvs_tui.ops import drainrecords
from lvs_tui.ops.drainrecords import DrainRecord, DrainRecords, RecordsError
from lvs_tui.sim.director import SimulatedDirector
from tests.unit.maintenance_runs import HOST, QUICK, TLS, WEB, Clock, director, records_path, run, weight_of

A = ServiceKey.inet("tcp", "192.0.2.10", 80)
SERVER = DestKey("198.51.100.11", 8080)


def record(dest: DestKey = SERVER, weight: int = 5, origin: str = "drain", **kwargs: object) -> DrainRecord:
    return DrainRecord(A, dest, weight, 1_700_000_000.0, origin, 4242, **kwargs)  # type: ignore[arg-type]


def test_records_written_by_one_instance_are_read_whole_by_another(tmp_path: Path) -> None:
    path = tmp_path / "drains.json"
    ending = record(remove_when_drained=True, deadline=1_700_000_600.0, wait_inactive=True, initial=12)
    DrainRecords(path).add([ending, record(DestKey("2001:db8::11", 80), origin="health")])
    found = DrainRecords(path).read()
    assert found[(A, SERVER)] == ending
    assert found[(A, DestKey("2001:db8::11", 80))].by_hand is False
    assert oct(path.stat().st_mode & 0o777) == "0o644"  # read by other users' read-only dashboards


def test_a_second_drain_of_a_server_keeps_the_first_weight_and_start_and_takes_the_new_owner(
    tmp_path: Path,
) -> None:
    records = DrainRecords(tmp_path / "drains.json")
    records.add([record(weight=7, origin="health", initial=3)])
    records.add([DrainRecord(A, SERVER, 0, 1_800_000_000.0, "rollout", 99)])
    kept = records.read()[(A, SERVER)]
    assert (kept.previous_weight, kept.started, kept.initial) == (7, 1_700_000_000.0, 3)
    assert (kept.origin, kept.pid, kept.by_hand) == ("rollout", 99, True)


def test_concurrent_writers_lose_no_record(tmp_path: Path) -> None:
    path = tmp_path / "drains.json"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_add_many, args=(path, first)) for first in (1, 1001, 2001)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    assert len(DrainRecords(path).read()) == 3 * 40


def _add_many(path: Path, first: int) -> None:
    records = DrainRecords(path)
    for port in range(first, first + 40):
        records.add([record(DestKey("198.51.100.11", port))])


def test_a_damaged_file_is_refused_by_a_reader_and_moved_aside_by_the_next_writer(tmp_path: Path) -> None:
    path = tmp_path / "drains.json"
    path.write_text('{"version": 1, "drains": [{"service": "tcp:192.0.2.10:80"')  # cut short
    records = DrainRecords(path)
    with pytest.raises(RecordsError, match=r"drains.json are damaged \(.*"):
        records.read()
    records.add([record()])
    assert list(records.read()) == [(A, SERVER)]
    aside = [item.name for item in tmp_path.iterdir() if ".damaged-" in item.name]
    assert len(aside) == 1 and aside[0] in records.notes[0] and "journal" in records.notes[0]


def test_a_file_that_cannot_be_written_raises_a_sentence_and_leaves_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "drains.json"
    DrainRecords(path).add([record()])

    def full(*_: object, **__: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(drainrecords, "write_atomically", full)
    with pytest.raises(RecordsError, match=r"cannot be written \(No space left on device"):
        DrainRecords(path).add([record(DestKey("198.51.100.12", 8080))])
    assert list(DrainRecords(path).read()) == [(A, SERVER)]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode)
       | st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
                      lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.sampled_from(["version", "drains", "service", "dest", "origin",
                                                         "previous_weight", "started", "pid", "deadline",
                                                         "initial"]), inner, max_size=6),
                      max_leaves=20).map(lambda value: json.dumps(value).encode()))
def test_any_bytes_give_records_or_one_records_error(raw: bytes) -> None:
    try:
        found = drainrecords._parse(raw, Path("drains.json"))
    except RecordsError as error:
        assert "drains.json" in str(error) and "\n" not in str(error)
    else:
        assert all(isinstance(item, DrainRecord) for item in found.values())


# --- what the commands write and take out -----------------------------------------------------------

def test_drain_records_each_server_with_its_weight_and_undrain_takes_it_from_there(tmp_path: Path) -> None:
    clock = Clock()
    sim = director(clock)
    journal = tmp_path / "journal.jsonl"
    assert run("drain", sim, clock, journal, HOST, "--yes") == 0
    found = DrainRecords(records_path(journal)).read()
    assert {(pair, item.previous_weight, item.origin) for pair, item in found.items()} == {
        ((WEB, DestKey(HOST, 8080)), 3, "drain"), ((TLS, DestKey(HOST, 443)), 100, "drain")}
    journal.unlink()  # rotated away: the records still know
    assert run("undrain", sim, clock, journal, HOST, "--yes") == 0
    assert weight_of(sim, WEB, HOST, 8080) == 3 and weight_of(sim, TLS, HOST, 443) == 100
    assert DrainRecords(records_path(journal)).read() == {}  # back in rotation: the records end


def test_a_drain_waited_for_and_removed_leaves_no_record_and_a_timeout_leaves_them(tmp_path: Path) -> None:
    clock = Clock()
    sim = director(clock)
    journal = tmp_path / "journal.jsonl"
    assert run("drain", sim, clock, journal, QUICK, "--service", WEB.id, "--wait", "--remove",
               "--timeout", "600", "--yes") == 0
    assert weight_of(sim, WEB, QUICK, 8080) is None
    assert DrainRecords(records_path(journal)).read() == {}
    assert run("drain", sim, clock, journal, f"{HOST}:443", "--wait", "--timeout", "5", "--yes") == 1
    kept = DrainRecords(records_path(journal)).read()
    assert list(kept) == [(TLS, DestKey(HOST, 443))]
    assert kept[(TLS, DestKey(HOST, 443))].previous_weight == 100


def test_weight_ends_a_record_and_read_only_writes_none(tmp_path: Path) -> None:
    clock = Clock()
    sim = director(clock)
    journal = tmp_path / "journal.jsonl"
    assert run("drain", sim, clock, journal, HOST, "--read-only") == 0
    assert not records_path(journal).exists()
    assert run("drain", sim, clock, journal, f"{HOST}:8080", "--yes") == 0
    assert list(DrainRecords(records_path(journal)).read()) == [(WEB, DestKey(HOST, 8080))]
    assert run("weight", sim, clock, journal, f"{HOST}:8080", "4", "--yes") == 0
    assert DrainRecords(records_path(journal)).read() == {}


def test_a_server_already_drained_by_the_checker_becomes_the_operators_when_drain_names_it(
    tmp_path: Path,
) -> None:
    clock = Clock()
    sim = director(clock)
    journal = tmp_path / "journal.jsonl"
    records = DrainRecords(records_path(journal))
    dest = DestKey(HOST, 8080)
    records.add([DrainRecord(WEB, dest, 3, 1_700_000_000.0, "health", 1)])
    assert run("weight", sim, clock, journal, f"{HOST}:8080", "0", "--service", WEB.id, "--yes") == 0
    assert run("drain", sim, clock, journal, f"{HOST}:8080", "--yes") == 0
    taken = records.read()[(WEB, dest)]
    assert (taken.origin, taken.previous_weight, taken.by_hand) == ("drain", 3, True)


def test_prune_drops_ended_drains_but_keeps_one_recorded_after_the_read(tmp_path: Path) -> None:
    """A dashboard's prune runs on its last poll: a drain recorded since then is not over."""
    sim = SimulatedDirector(seed=1, services=0)
    sim.add_service(ServiceConfig(A, "wrr"))
    sim.add_dest(A, DestConfig(SERVER.address, SERVER.port, weight=5))
    read = sim.snapshot()  # weight 5
    records = DrainRecords(tmp_path / "drains.json")
    old, new = DestKey("198.51.100.12", 8080), SERVER
    records.add([DrainRecord(A, old, 5, read.time - 10, "drain", 1),  # its server is gone: over
                 DrainRecord(A, new, 5, read.time + 1, "drain", 1)])  # set weight 0 after the read
    dropped = records.prune(read)
    assert [record.dest for record in dropped] == [old]
    assert list(records.read()) == [(A, new)]
