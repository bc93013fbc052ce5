"""The operator's preferences: what the dashboard shows and how, kept between sessions.

`$XDG_CONFIG_HOME/lvs-top/preferences.toml` (default `~/.config/lvs-top/preferences.toml`) holds
the sort of both panes, the poll interval, the units, the trend, the theme and the hidden
columns. It is read at start and written whenever one of them changes on screen, atomically (a
new file renamed over the old). A file that cannot be read or means nothing valid is named in one
sentence, ignored, and left as it is: this session then saves nothing over it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lvs_tui.model.dashboard import DEST_SORTS, KERNEL_ORDER, SERVICE_SORTS, SortKey, first_sort
from lvs_tui.model.history import Metric
from lvs_tui.model.printable import printable

BY_SERVICE = SortKey("service")
INTERVAL_RANGE = (0.1, 3600.0)  # seconds between polls that a preference may ask for
HEADER = "# lvs-top's preferences: written by lvs-top whenever they change on screen.\n"


@dataclass(frozen=True, slots=True)
class Preferences:
    sort: SortKey = BY_SERVICE
    dest_sort: SortKey = KERNEL_ORDER  # the real servers as the kernel lists them
    interval: float = 1.0
    exact: bool = False  # exact numbers instead of K/M/G
    counters: bool = False  # counters instead of rates
    trend: Metric = Metric.CPS
    theme: str = ""  # "": Textual's default
    hidden_columns: frozenset[str] = frozenset()  # column titles, as shown in the headers


def default_path() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "lvs-top" / "preferences.toml"


def parse_sort(text: str, columns: list[str]) -> SortKey:
    """`cps` (numbers start descending, names ascending), `cps:asc` or `cps:desc`; ValueError names
    the choices."""
    column, _, order = text.strip().partition(":")
    if column not in columns:
        raise ValueError(f"{column!r} is not a sort column ({', '.join(c for c in columns if c)})")
    if order not in ("", "asc", "desc"):
        raise ValueError(f"{order!r} is not a sort order (asc or desc)")
    return first_sort(column) if not order else SortKey(column, order == "desc")


def sort_text(sort: SortKey) -> str:
    return f"{sort.column}:{'desc' if sort.reverse else 'asc'}"


class PreferenceStore:
    """Reads the preferences once and writes them when they change."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self.problem: str | None = None  # why the file was ignored (one sentence), if it was
        self._saved: Preferences | None = None

    def load(self) -> Preferences:
        """The saved preferences, or the defaults (then `problem` says why, unless there was no file)."""
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
            preferences = _from_toml(data)
        except FileNotFoundError:
            preferences = Preferences()
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError, TypeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            self.problem = (f"The preferences in {printable(str(self.path))} were ignored and will not be "
                            f"written over ({printable(reason)}); fix or remove that file.")
            return Preferences()
        self._saved = preferences
        return preferences

    def save(self, preferences: Preferences) -> str | None:
        """Write `preferences` if they changed since read or written; None, or why it failed."""
        if self.problem is not None or preferences == self._saved:
            return None
        try:
            _write(self.path, _to_toml(preferences))
        except OSError as error:
            where = printable(str(self.path))
            return f"The preferences could not be saved in {where}: {error.strerror or error}."
        self._saved = preferences
        return None


def _from_toml(data: dict[str, object]) -> Preferences:
    """Preferences from a parsed file; ValueError names the first bad value. Keys it does not know
    are left alone (a newer lvs-top may have written them)."""
    values: dict[str, Any] = {}
    if "sort" in data:
        values["sort"] = _sort(data, "sort", list(SERVICE_SORTS))
    if "dest_sort" in data:
        values["dest_sort"] = _sort(data, "dest_sort", ["kernel", *DEST_SORTS])
    if "interval" in data:
        values["interval"] = _interval(data["interval"])
    for name in ("exact", "counters"):
        if name in data:
            if not isinstance(data[name], bool):
                raise ValueError(f"{name} must be true or false")
            values[name] = data[name]
    if "trend" in data:
        trend = data["trend"]
        if trend not in {metric.value for metric in Metric}:
            raise ValueError(f"trend must be one of {', '.join(metric.value for metric in Metric)}")
        values["trend"] = Metric(str(trend))
    if "theme" in data:
        if not isinstance(data["theme"], str):
            raise ValueError("theme must be a theme's name")
        values["theme"] = data["theme"]
    if "hidden_columns" in data:
        hidden = data["hidden_columns"]
        if not isinstance(hidden, list) or not all(isinstance(title, str) for title in hidden):
            raise ValueError("hidden_columns must be a list of column titles")
        values["hidden_columns"] = frozenset(hidden)
    return replace(Preferences(), **values)


def _interval(value: object) -> float:
    low, high = INTERVAL_RANGE
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) \
            and low <= value <= high:
        return float(value)
    raise ValueError(f"interval must be a number of seconds from {low:g} to {high:g}")


def _sort(data: dict[str, object], name: str, columns: list[str]) -> SortKey:
    text = data[name]
    if not isinstance(text, str):
        raise ValueError(f"{name} must be a column's name")
    sort = parse_sort(text, columns)
    return KERNEL_ORDER if sort.column == "kernel" else sort


def _to_toml(preferences: Preferences) -> str:
    # json.dumps writes a TOML basic string too: the same escapes, in double quotes.
    dest = "kernel" if preferences.dest_sort == KERNEL_ORDER else sort_text(preferences.dest_sort)
    hidden = ", ".join(json.dumps(title) for title in sorted(preferences.hidden_columns))
    return (HEADER
            + f"sort = {json.dumps(sort_text(preferences.sort))}\n"
            + f"dest_sort = {json.dumps(dest)}\n"
            + f"interval = {preferences.interval!r}\n"
            + f"exact = {str(preferences.exact).lower()}\n"
            + f"counters = {str(preferences.counters).lower()}\n"
            + f"trend = {json.dumps(preferences.trend.value)}\n"
            + f"theme = {json.dumps(preferences.theme)}\n"
            + f"hidden_columns = [{hidden}]\n")


def _write(path: Path, text: str) -> None:
    """A new file renamed over the old: a reader sees the old preferences or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(prefix=".preferences-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def screenshot_directory() -> Path:
    """Where a screenshot goes: ~/Downloads where there is one, else the current directory when it
    can be written, else `$XDG_STATE_HOME/lvs-top` (created)."""
    downloads = Path.home() / "Downloads"
    if downloads.is_dir() and os.access(downloads, os.W_OK):
        return downloads
    if os.access(".", os.W_OK):
        return Path.cwd()
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "lvs-top"
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    return state
