"""The pure parts of a rollout: batches, the command's argument list, the capacity a drain would
leave, and the progress file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lvs_tui.model.records import ServiceKey
from lvs_tui.ops.rollout import (
    Progress,
    StateError,
    batches,
    below_floor,
    capacities,
    clear_progress,
    command_argv,
    command_env,
    load_progress,
    save_progress,
)
from lvs_tui.sim import SimulatedDirector

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)  # weights 3, 2, 1 and 0 in the demo table
TLS = ServiceKey.inet("tcp", "192.0.2.10", 443)  # weights 100, 100, 50


def test_batches_keep_the_order_and_take_max_out_at_a_time() -> None:
    assert batches(["a", "b", "c"], 1) == [["a"], ["b"], ["c"]]
    assert batches(["a", "b", "c", "d", "e"], 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert batches(["a"], 5) == [["a"]]
    with pytest.raises(ValueError):
        batches(["a"], 0)


def test_the_command_is_split_as_a_shell_would_and_host_replaced_in_each_word_after() -> None:
    assert command_argv("deploy --host {host} 'two words' x\\ y", "198.51.100.11") == \
        ["deploy", "--host", "198.51.100.11", "two words", "x y"]
    assert command_argv("ssh root@{host} 'systemctl restart app'", "2001:db8::11") == \
        ["ssh", "root@2001:db8::11", "systemctl restart app"]
    # Shell syntax is just text in a word: nothing is piped, substituted or chained.
    assert command_argv("echo $(id) ; rm -rf / | cat {host}{host}", "h") == \
        ["echo", "$(id)", ";", "rm", "-rf", "/", "|", "cat", "hh"]
    with pytest.raises(ValueError, match="cannot be split"):
        command_argv("deploy 'unclosed", "h")
    with pytest.raises(ValueError, match="empty"):
        command_argv("   ", "h")


def test_the_environment_adds_the_host() -> None:
    assert command_env("198.51.100.11", {"PATH": "/bin"}) == {"PATH": "/bin", "LVS_TOP_HOST": "198.51.100.11"}


def test_capacity_is_the_weight_left_in_of_the_nominal_total_and_servers_already_out_count_as_out() -> None:
    services = list(SimulatedDirector(seed=1).snapshot().services)
    web = next(service for service in services if service.key == WEB)
    tls = next(service for service in services if service.key == TLS)
    host = [(service, dest) for service in (web, tls) for dest in service.dests
            if dest.address == "198.51.100.11"]
    # 198.51.100.14 is at 0 in WEB and nobody knows its weight: it counts 0, and stays out.
    found = capacities(services, host, {})
    assert [(c.service, c.after, c.total) for c in found] == [(WEB.id, 3, 6), (TLS.id, 150, 250)]
    assert [round(c.percent) for c in found] == [50, 60]
    # Known from the journal: its weight counts in the total, not in what is left.
    known = capacities(services, host, {f"{WEB.id}>198.51.100.14:8080": 4})
    assert (known[0].after, known[0].total) == (3, 10)
    assert below_floor(found, 55) == [found[0]]
    assert below_floor(found, 50) == [] and below_floor(found, 0) == []
    assert found[0].text() == f"{WEB.id}: 50% (3 of 6)"


def test_progress_is_written_whole_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "state" / "rollout.json"
    progress = Progress(["198.51.100.11", "198.51.100.12"], "deploy {host}", ["198.51.100.11"],
                        ["198.51.100.12"], "check", {"tcp:192.0.2.10:80>198.51.100.12:8080": 2},
                        ["198.51.100.12"], True)
    save_progress(path, progress)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert [entry.name for entry in path.parent.iterdir()] == ["rollout.json"]  # no temporary left
    assert json.loads(path.read_text())["failed"] is True
    assert load_progress(path) == progress
    assert progress.left() == [] and Progress(["a", "b", "c"], "x", ["a"], ["b"]).left() == ["c"]
    clear_progress(path)
    assert load_progress(path) is None
    clear_progress(path)  # nothing to clear: fine


@pytest.mark.parametrize("text", ["not json", "[]", '{"version": 2}',
                                  '{"version": 1, "targets": "a", "command": "x"}',
                                  '{"version": 1, "targets": ["a"], "command": "x", "stage": "dance"}',
                                  '{"version": 1, "targets": ["a"], "command": "x", "weights": {"a": -1}}'])
def test_a_file_that_is_not_a_rollouts_progress_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "rollout.json"
    path.write_text(text)
    with pytest.raises(StateError):
        load_progress(path)
