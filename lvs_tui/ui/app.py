"""The dashboard: `lvs-top` as a Textual app. Build it with `lvs_tui.ui.factory.make_app`.

The app is small on purpose: it starts the live session (the poller side), asks it for a poll on
every tick, and takes each frame the session publishes. A frame reaches the screen in one place,
`take_frame`: the app swaps its one reference inside one batch update. Frames published faster
than the screen takes them collapse into the newest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

from textual import events
from textual.app import App, SystemCommand
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer

from lvs_tui.live.frame import DashboardFrame
from lvs_tui.live.session import Applied, DashboardSession
from lvs_tui.resources import stylesheet
from lvs_tui.ui import keys
from lvs_tui.ui.dashboard import DashboardScreen
from lvs_tui.ui.preferences import Preferences, PreferenceStore, screenshot_directory
from lvs_tui.ui.rows import RowRenderer

INTERVALS = (0.5, 1.0, 2.0, 5.0, 10.0)
# Terminal rows under which dialogs scroll their body and keep their buttons in sight (the
# stylesheet's `App.-short` rules).
SHORT_BELOW = 40


class FrameReady(Message):
    """The session published a frame (the app takes the newest one, whichever that is)."""


class PlanApplied(Message):
    def __init__(self, applied: Applied) -> None:
        super().__init__()
        self.applied = applied


class LvsTopApp(App[None]):
    """The live dashboard over one backend (kernel or simulated director)."""

    TITLE = "lvs-top"
    CSS_PATH = str(stylesheet())

    def __init__(self, session: DashboardSession, description: str, *, interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time,
                 auto_poll: bool = True, preferences: Preferences | None = None,
                 store: PreferenceStore | None = None) -> None:
        super().__init__()
        self.preferences = preferences or Preferences()  # what the session starts with
        self.store = store  # where changes of them are saved; None: nowhere
        self.session = session
        self.description = description
        self.interval = interval
        self.clock = clock
        self.wall = wall  # for how long a health state has held
        self.auto_poll = auto_poll  # off: polls happen only on request_poll() (screenshots, tests)
        self.paused = False
        self.frame = DashboardFrame()  # the frame on screen
        self._published = self.frame  # the newest frame from the session (poller thread writes it)
        self._timer: Timer | None = None
        self.dashboard = DashboardScreen(self)

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.height < SHORT_BELOW, "-short")

    def get_default_screen(self) -> DashboardScreen:
        return self.dashboard

    def on_mount(self) -> None:
        theme = self.preferences.theme
        if theme and theme in self.available_themes:
            self.theme = theme
        self.session.start(self._from_poller_frame, self._from_poller_applied)
        self._restart_timer()
        if self.store is not None and self.store.problem:
            self.notify(self.store.problem, title="Preferences", severity="warning", timeout=15, markup=False)

    # --- preferences: saved when they change ------------------------------------------------------

    def watch_theme(self, theme: str) -> None:
        self.preferences_changed()

    def preferences_changed(self) -> None:
        """Save what is shown now (sort, interval, units, theme, hidden columns) if it changed."""
        if self.store is None or not self.dashboard.ready:
            return
        screen = self.dashboard
        shown = screen.table_display
        now = Preferences(screen.view.sort, screen.dest_sort, self.interval, shown.exact, shown.counters,
                          shown.metric, self.theme, shown.hidden)
        problem = self.store.save(now)
        if problem is not None:
            self.notify(problem, title="Preferences", severity="warning", markup=False)

    def on_unmount(self) -> None:
        self.session.stop()

    # --- from the poller thread: one reference, then a message ------------------------------------

    def _from_poller_frame(self, frame: DashboardFrame) -> None:
        self._published = frame
        self.post_message(FrameReady())

    def _from_poller_applied(self, applied: Applied) -> None:
        self.post_message(PlanApplied(applied))

    def on_frame_ready(self, _: FrameReady) -> None:
        self.take_frame()

    def on_plan_applied(self, message: PlanApplied) -> None:
        self.dashboard.operator.applied(message.applied)

    def take_frame(self) -> None:
        """The one place a frame reaches the screen."""
        frame = self._published
        if self.paused or frame is self.frame or not self.dashboard.ready:
            return
        self.frame = frame
        with self.batch_update():
            self.dashboard.show(frame)

    # --- polling ----------------------------------------------------------------------------------

    def request_poll(self) -> None:
        """Poll now (the frame arrives through the usual path)."""
        self.session.request_poll()

    def _restart_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_interval(self.interval, self._tick)

    def _tick(self) -> None:
        if self.auto_poll:
            self.session.request_poll()  # while paused too: drains are followed, removals made
        if self.dashboard.ready:
            self.dashboard.render_status()

    def toggle_pause(self) -> None:
        """Freeze the screen, or take the newest frame again."""
        self.paused = not self.paused
        if not self.paused:
            self.take_frame()

    def step_interval(self, step: int) -> None:
        """Poll less often (step > 0) or more often, along INTERVALS."""
        position = min(range(len(INTERVALS)), key=lambda i: abs(INTERVALS[i] - self.interval))
        self.set_interval_seconds(INTERVALS[max(0, min(len(INTERVALS) - 1, position + step))])

    def set_interval_seconds(self, seconds: float) -> None:
        """Poll every `seconds` from now on, starting with a poll now: a shorter interval does not
        wait for the old timer."""
        self.interval = seconds
        self._restart_timer()
        if self.auto_poll:
            self.session.request_poll()
        self.preferences_changed()

    async def action_quit(self) -> None:
        """ctrl+q as q: removals waiting for drains are named before they are given up."""
        if self.dashboard.ready:
            self.dashboard.operator.quit()
        else:
            self.exit()

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """The palette's screenshot, saved where it can be (~/Downloads is missing on most
        directors) and said where, in a toast."""
        try:
            directory = Path(path) if path else screenshot_directory()
            saved = self.save_screenshot(filename, str(directory), time_format)
        except OSError as error:
            self.notify(f"The screenshot could not be saved: {error}.", title="Screenshot", severity="error",
                        markup=False)
            return None
        self.notify(f"Saved in {saved}", title="Screenshot", markup=False)
        return saved

    # --- the palette: the same actions as the keys ---------------------------------------------------

    @classmethod
    def key_table(cls) -> list[tuple[str, str]]:
        return keys.key_table()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        hidden = self.dashboard.table_display.hidden
        for title in RowRenderer.hideable():
            verb = "Show" if title in hidden else "Hide"
            yield SystemCommand(f"{verb} column: {title}", f"{verb} the {title} column (kept for next time)",
                                lambda title=title: self.dashboard.set_hidden(title, title not in hidden))
        for binding in keys.bindings():
            if binding.action in ("quit", "clear_filter"):
                continue
            if self.session.read_only and keys.is_change(binding):
                continue
            yield SystemCommand(
                binding.description,
                f"{binding.tooltip or binding.description} ({binding.key_display or binding.key})",
                lambda action=binding.action: self.dashboard.run_action(action),
            )
