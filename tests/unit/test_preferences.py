"""The dashboard's preferences file: read, written atomically when changed, and a damaged one
named in one sentence and left alone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lvs_tui.model.dashboard import KERNEL_ORDER, SortKey
from lvs_tui.model.history import Metric
from lvs_tui.ui.preferences import (
    Preferences,
    PreferenceStore,
    default_path,
    parse_sort,
    screenshot_directory,
)

CHOSEN = Preferences(SortKey("cps", True), SortKey("weight", False), 2.0, True, True, Metric.BPS, "nord",
                     frozenset({"Trend", "In/OutPPS"}))


def test_the_file_lives_in_the_users_config_directory(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_path() == tmp_path / "lvs-top" / "preferences.toml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert default_path() == Path.home() / ".config" / "lvs-top" / "preferences.toml"


def test_what_is_saved_is_read_back(tmp_path: Path) -> None:
    path = tmp_path / "lvs-top" / "preferences.toml"
    store = PreferenceStore(path)
    assert store.load() == Preferences() and store.problem is None  # no file: the defaults, no word
    assert store.save(CHOSEN) is None
    assert PreferenceStore(path).load() == CHOSEN
    assert [name for name in os.listdir(path.parent)] == ["preferences.toml"]  # no temporary file left


def test_only_a_change_is_written(tmp_path: Path) -> None:
    path = tmp_path / "preferences.toml"
    store = PreferenceStore(path)
    store.load()
    store.save(Preferences())
    assert not path.exists()  # the defaults, unchanged: nothing to write
    store.save(CHOSEN)
    written = path.stat().st_mtime_ns
    path.write_text(path.read_text() + "# a note of the operator's\n")
    store.save(CHOSEN)
    assert path.read_text().endswith("# a note of the operator's\n") and path.stat().st_mtime_ns >= written


@pytest.mark.parametrize(("content", "reason"), [
    ("sort = [", "Invalid value (at end of document)"),
    ("interval = 0", "interval must be a number of seconds from 0.1 to 3600"),
    ("interval = nan", "interval must be a number of seconds"),
    ('sort = "bytes"', "'bytes' is not a sort column"),
    ('sort = "cps:up"', "'up' is not a sort order (asc or desc)"),
    ('trend = "load"', "trend must be one of cps, pps, bps"),
    ("exact = 1", "exact must be true or false"),
    ('hidden_columns = "Trend"', "hidden_columns must be a list of column titles"),
    ("theme = 3", "theme must be a theme's name"),
    (b"\xff\xfe", "codec can't decode"),
])
def test_a_damaged_file_is_named_in_one_sentence_ignored_and_left_alone(
        tmp_path: Path, content: str | bytes, reason: str) -> None:
    path = tmp_path / "preferences.toml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    store = PreferenceStore(path)
    assert store.load() == Preferences()
    assert store.problem is not None and reason in store.problem
    assert store.problem.startswith(f"The preferences in {path} were ignored and will not be written over (")
    assert store.problem.endswith("fix or remove that file.") and "\n" not in store.problem
    store.save(CHOSEN)
    assert path.read_bytes() == (content if isinstance(content, bytes) else content.encode())


def test_unknown_keys_are_left_for_a_newer_lvs_top(tmp_path: Path) -> None:
    path = tmp_path / "preferences.toml"
    path.write_text('colour = "green"\nsort = "active"\ndest_sort = "kernel"\n')
    store = PreferenceStore(path)
    assert store.load() == Preferences(sort=SortKey("active", True), dest_sort=KERNEL_ORDER)
    assert store.problem is None


def test_a_file_that_cannot_be_written_is_said(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    store = PreferenceStore(blocked / "preferences.toml")
    store.load()
    blocked.write_text("")  # its folder cannot be made now
    problem = store.save(CHOSEN)
    assert problem is not None and problem.startswith(f"The preferences could not be saved in {blocked}")


def test_sorts_are_named_by_column_and_order() -> None:
    assert parse_sort("cps", ["cps", "service"]) == SortKey("cps", True)
    assert parse_sort("cps:asc", ["cps"]) == SortKey("cps", False)
    assert parse_sort("service:desc", ["service"]) == SortKey("service", True)
    with pytest.raises(ValueError, match="'x' is not a sort column"):
        parse_sort("x", ["cps"])


def test_screenshots_go_where_they_can(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert screenshot_directory() == tmp_path  # no ~/Downloads: the current directory
    (tmp_path / "home" / "Downloads").mkdir(parents=True)
    assert screenshot_directory() == tmp_path / "home" / "Downloads"
