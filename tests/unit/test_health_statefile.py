"""The state file written so a crash leaves it whole (fsync of the file, then rename, then fsync of
the directory), and read so that nothing in it crashes its reader: any bytes give a view or a
StateError naming the field, and the dashboard's feed turns that into a sentence."""

from __future__ import annotations

import contextlib
import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lvs_tui.health.feed import StateFileFeed
from lvs_tui.health.state import Health
from lvs_tui.health.statefile import StateError, read_state, write_state
from lvs_tui.health.status import HealthEvent, HealthView, ServerStatus
from lvs_tui.ipvs.backend import DestConfig
from lvs_tui.model.records import DestKey, ServiceKey

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
A = DestKey("198.51.100.11", 8080)
VIEW = HealthView({(WEB, A): ServerStatus(Health.UNHEALTHY, 5.0, "HTTP 503, expected 200", True)},
                  (HealthEvent(4.0, WEB, "warning", "198.51.100.11:8080 unhealthy"),), ("held",),
                  "lvs-top health (pid 1)", True, 6.0)
MEMORY = {WEB: {A: DestConfig(A.address, A.port, weight=7)}}
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.function_scoped_fixture])


def sound(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "sound.json"
    write_state(path, VIEW, MEMORY, pid=None)
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_the_file_is_synced_before_the_rename_and_the_directory_after(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    steps: list[str] = []
    fsync, replace = os.fsync, os.replace

    def synced(fd: int) -> None:
        steps.append("fsync directory" if os.path.isdir(f"/proc/self/fd/{fd}") else "fsync file")
        fsync(fd)

    def renamed(source: Any, target: Any) -> None:
        steps.append("rename")
        replace(source, target)

    monkeypatch.setattr(os, "fsync", synced)
    monkeypatch.setattr(os, "replace", renamed)
    path = tmp_path / "run" / "health.json"
    write_state(path, VIEW, MEMORY, pid=1)
    assert steps == ["fsync file", "rename", "fsync directory"]
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in path.parent.iterdir()] == ["health.json"]
    assert read_state(path)[1] == MEMORY


@pytest.mark.parametrize(("change", "said"), [
    (lambda d: d["servers"][0].update(since=1e300), "servers[0].since must be a number from 0 to 1e+10"),
    (lambda d: d["servers"][0].update(since="x"), "servers[0].since must be a number"),
    (lambda d: d.update(updated=float("nan")), "updated must be a number from 0 to 1e+10, not nan"),
    (lambda d: d.update(pid=2**70), "pid must be a whole number from 1 to 4194304"),
    (lambda d: d.update(pid=-1), "pid must be a whole number from 1"),
    (lambda d: d.update(pid=True), "pid must be a whole number"),
    (lambda d: d.update(source=5), "source must be a text"),
    (lambda d: d.update(held="ab"), "held must be a list"),
    (lambda d: d["servers"][0].update(state="evil"), "servers[0].state must be one of"),
    (lambda d: d["servers"][0].update(detail=["x"]), "servers[0].detail must be a text"),
    (lambda d: d["servers"][0].update(taken_out=1), "servers[0].taken_out must be true or false"),
    (lambda d: d["servers"][0].update(dest="[fe80::1%lo]:80"), "without a scope"),
    (lambda d: d["servers"][0].pop("dest"), "servers[0].dest is missing"),
    (lambda d: d["events"][0].update(level="[bold]"), "events[0].level must be one of"),
    (lambda d: d["events"].append(5), "events[1] must be an object"),
    (lambda d: d.update(taken_out={"tcp:192.0.2.10:80": ["-a -t 192.0.2.99:80 -r 198.51.100.1:80"]}),
     "holds a line of another service"),
    (lambda d: d.update(taken_out={"fwm:0": []}), "is not a service"),
    (lambda d: d.update(version=2), "not an lvs-top health state file of version 1"),
])
def test_what_is_not_as_written_is_damage_naming_the_field(tmp_path: Path, change: Any, said: str) -> None:
    data = sound(tmp_path)
    change(data)
    path = tmp_path / "health.json"
    path.write_text(json.dumps(data))
    with pytest.raises(StateError, match="is damaged") as caught:
        read_state(path)
    assert said in caught.value.reason and caught.value.damaged


def test_a_truncated_file_and_an_unreadable_one(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    write_state(path, VIEW, MEMORY, pid=None)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(StateError, match=r"is damaged: not JSON, perhaps cut short: "):
        read_state(path)
    with pytest.raises(StateError, match="cannot be read") as caught:
        read_state(tmp_path)  # a directory
    assert not caught.value.damaged


def mutations() -> st.SearchStrategy[Any]:
    leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10),
                       st.sampled_from([1e300, -1.0, 2**63, "[link=https://evil.example]x[/link]", "\x1b[2J",
                                        "fwm:0", "tcp:[fe80::1%lo]:80", [], {}]))
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)), max_leaves=6)


def paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, item in items:
        found += paths(item, (*path, key))
    return found


@FAST
@given(st.data())
def test_any_change_to_a_sound_file_gives_a_view_or_a_state_error(tmp_path: Path,
                                                                  data: st.DataObject) -> None:
    document = copy.deepcopy(SOUND)
    where = data.draw(st.sampled_from(paths(document)[1:]))
    parent = document
    for key in where[:-1]:
        parent = parent[key]
    if data.draw(st.booleans()):
        parent[where[-1]] = data.draw(mutations())
    else:
        del parent[where[-1]]
    path = tmp_path / "health.json"
    path.write_text(json.dumps(document))
    try:
        view, _, pid = read_state(path)
    except StateError as error:
        assert "\n" not in str(error)
        return
    for status in view.servers.values():  # what the dashboard does with it works
        assert status.since is None or 0 <= status.since <= 1e10
    assert pid is None or 1 <= pid <= 4194304


@FAST
@given(st.binary(max_size=300))
def test_any_bytes_give_a_view_or_a_state_error(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "health.json"
    path.write_bytes(raw)
    with contextlib.suppress(StateError):
        read_state(path)


def test_the_dashboards_feed_says_the_damage_in_a_sentence(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    write_state(path, VIEW, MEMORY, pid=None)
    data = json.loads(path.read_text())
    data["servers"][0]["since"] = 1e300
    path.write_text(json.dumps(data))
    view = StateFileFeed(path).view()
    assert view is not None and not view.servers and view.problem is not None
    assert view.problem.startswith("the checker's state file is damaged: servers[0].since must be")
    assert view.problem.endswith(f"({path})")


SOUND: dict[str, Any] = {
    "version": 1, "pid": None, "source": "lvs-top health (pid 1)", "updated": 6.0,
    "servers": [{"service": "tcp:192.0.2.10:80", "dest": "198.51.100.11:8080", "state": "unhealthy",
                 "since": 5.0, "detail": "HTTP 503", "taken_out": True}],
    "events": [{"at": 4.0, "service": "tcp:192.0.2.10:80", "level": "warning", "text": "unhealthy"}],
    "held": ["held"],
    "taken_out": {"tcp:192.0.2.10:80": ["-a -t 192.0.2.10:80 -r 198.51.100.11:8080 -m -w 7"]},
}
