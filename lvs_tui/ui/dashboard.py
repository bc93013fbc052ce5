"""The dashboard screen: the director strip, the services and real servers tables, the status line,
and every key of the dashboard (declared once, in keys.py; the sort keys in sortkeys.py and the
change keys in changekeys.py are mixed in).

It shows the app's current frame and nothing else: `show(frame)` is called with each new one, and
the keys change only what is shown (order, filter, units) or hand a plan to the operator.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import replace
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from lvs_tui.live.frame import DashboardFrame, ViewSettings
from lvs_tui.model.dashboard import (
    SortKey,
    compile_filter,
    first_sort,
    ordered_dests,
)
from lvs_tui.model.distribution import Share
from lvs_tui.model.history import Metric
from lvs_tui.model.printable import printable
from lvs_tui.model.records import Dest, DestKey, Service, ServiceKey
from lvs_tui.ui import keys
from lvs_tui.ui.changekeys import ChangeKeys
from lvs_tui.ui.chrome import director_strip, drains_text, status_line
from lvs_tui.ui.conns import ConnectionsScreen
from lvs_tui.ui.grid import Cell, Grid
from lvs_tui.ui.operator import Operator
from lvs_tui.ui.rows import Display, RowRenderer
from lvs_tui.ui.screens import DetailScreen, HelpScreen
from lvs_tui.ui.sortkeys import SortKeys

if TYPE_CHECKING:
    from lvs_tui.ui.app import LvsTopApp

# Terminal columns under which the tables narrow their columns and shorten their cells; at any width
# each table then drops columns in their `drop` order until the rest fit (ui/rows.py).
COMPACT_BELOW = 110
NOTE_SECONDS = 6.0  # how long the status line says why a key did nothing
# Every part a frame is drawn into: a frame is shown only while all of them are there.
PARTS = ("#director-strip", "#drains", "#services", "#dests-title", "#dests", "#status-line")


class DashboardScreen(SortKeys, ChangeKeys, Screen[None]):
    BINDINGS = keys.BINDINGS

    def __init__(self, app: LvsTopApp) -> None:
        super().__init__()
        self.top_app = app  # the app, typed (Screen.app is any App)
        chosen = app.preferences
        self.view = ViewSettings(chosen.sort)
        app.session.set_view(self.view)
        self.table_display = Display(chosen.exact, chosen.counters, chosen.trend,
                                     hidden=chosen.hidden_columns)
        self.rows = RowRenderer(app.wall)
        self.operator = Operator(self, app.session)
        self._service: Service | None = None  # the selected service, as in the frame on screen
        self._shares: dict[DestKey, Share] = {}
        self._order: tuple[int, SortKey, str, tuple[ServiceKey, ...]] | None = None
        self._health_shown = False
        self._mounted = False
        self.dest_sort = chosen.dest_sort
        self._note: tuple[str, float] | None = None  # words for the status line, until when

    @property
    def frame(self) -> DashboardFrame:
        return self.top_app.frame

    def compose(self) -> ComposeResult:
        yield Static(id="director-strip")
        yield Static(id="drains")
        with Vertical(id="panes"):
            yield Grid(self.rows.service_columns(), self.rows.service_row, id="services")
            yield Static(id="dests-title")
            yield Grid(self.rows.dest_columns(), self._dest_row, id="dests")
        yield Input(placeholder="filter: text or regex over the rows as shown (TCP 192, FWM 7, wrr, a real "
                                "server's address)", id="filter")
        yield Static(id="status-line")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one("#drains", Static).display = False
        self.services.focus()
        self._mounted = True
        self.show(self.frame)
        self.top_app.take_frame()  # one published before the screen was ready

    def on_unmount(self) -> None:
        self._mounted = False

    @property
    def ready(self) -> bool:
        """Mounted and its widgets there: frames may be shown. At exit Textual removes the widgets
        before the screen is unmounted, and a frame or a cursor move handled then finds nothing."""
        if not self._mounted or not self.is_attached:  # not attached: the app is exiting
            return False
        try:
            for name in PARTS:
                self.query_one(name)
        except NoMatches:
            return False
        return True

    @property
    def service_shown(self) -> Service | None:
        """The service whose real servers the lower pane shows."""
        return self._service

    @property
    def services(self) -> Grid:
        return self.query_one("#services", Grid)

    @property
    def dests(self) -> Grid:
        return self.query_one("#dests", Grid)

    # --- a frame on screen --------------------------------------------------------------------------

    def show(self, frame: DashboardFrame) -> None:
        """Put `frame` on screen (the app calls this inside a batch update)."""
        self.rows.show(frame, self.table_display)
        if (frame.health is not None) != self._health_shown:  # a checker came or went
            self._health_shown = frame.health is not None
            self._set_columns()
        self._refresh_services()
        self.render_chrome()
        self.operator.director_warnings()

    def ordered(self) -> tuple[ServiceKey, ...]:
        """The services to show, in order: the frame's own order, or recomputed once per frame when
        the sort or filter changed since it was built."""
        frame, view = self.frame, self.view
        cached = self._order
        if cached is None or cached[:3] != (frame.number, view.sort, view.filter):
            cached = (frame.number, view.sort, view.filter, frame.order_for(view.sort, view.filter))
            self._order = cached
        return cached[3]

    def _refresh_services(self) -> None:
        services = self.services
        services.set_rows(list(self.ordered()))
        services.set_sorted(self.view.sort.column, self.view.sort.reverse)
        self._refresh_dests(services.cursor_key)

    def _refresh_dests(self, key: Hashable | None) -> None:
        snapshot = self.frame.snapshot
        service = None
        if isinstance(key, ServiceKey) and snapshot is not None:
            service = snapshot.service(key)
            self._set_view(self.view.watching(key))
        self._service = service
        self._shares = {} if service is None else self.rows.dest_shares(service)
        self.dests.set_rows([] if service is None else self._dest_order(service))
        self.dests.set_sorted(self.dest_sort.column, self.dest_sort.reverse)
        self._render_title()

    def _render_title(self) -> None:
        """The line between the panes: whose real servers (or that the filter matches nothing), and
        where the cursor is in a table longer than its pane (`service 12 of 300`)."""
        service = self._service
        words = "Real servers" if service is None else f"Real servers of {service.key.id}"
        if service is None and self.view.filter and self.frame.snapshot is not None:  # said where rows were
            words = f"No service matches /{printable(self.view.filter)}/ (Esc clears the filter)"
        title = Text(words, style="bold")
        where = [f"{name} {grid.cursor_row + 1} of {grid.row_count}"
                 for name, grid in (("service", self.services), ("server", self.dests)) if grid.long]
        line = self.query_one("#dests-title", Static)
        if where:
            position = Text(" · ".join(where), style="bold")
            room = line.content_region.width - position.cell_len - 2
            title.truncate(max(0, room), overflow="ellipsis")
            title = Text.assemble(title, " " * max(2, room + 2 - title.cell_len), position)
        # Fixed-size lines (see the stylesheet): no layout pass, so only this line is repainted.
        line.update(title, layout=False)

    def _dest_order(self, service: Service) -> list[Hashable]:
        rates = self.frame.dest_rates
        own = {dest.key: rates[(service.key, dest.key)] for dest in service.dests
               if (service.key, dest.key) in rates}
        return list(ordered_dests(service, own, self.dest_sort))

    def _dest_row(self, key: Hashable) -> list[Cell]:
        service = self._service
        if service is None or not isinstance(key, DestKey):
            return []
        dest = service.dest(key)
        if dest is None:
            return [key.id]
        return list(self.rows.dest_row(service, dest, self._shares.get(key)))

    def _set_view(self, view: ViewSettings) -> None:
        if view != self.view:
            self.view = view
            self.top_app.session.set_view(view)

    def _set_display(self, display: Display) -> None:
        self.table_display = display
        self.rows.show(self.frame, display)
        self.top_app.preferences_changed()

    def set_hidden(self, title: str, hidden: bool) -> None:
        """Hide a column of the tables, or show it again (by its title)."""
        shown = self.table_display
        self._set_display(replace(shown, hidden=shown.hidden | {title} if hidden else shown.hidden - {title}))
        self._set_columns()

    def _set_columns(self) -> None:
        self.services.set_columns(self.rows.service_columns())
        self.dests.set_columns(self.rows.dest_columns())

    def render_chrome(self) -> None:
        frame = self.frame
        strip = self.query_one("#director-strip", Static)
        several = frame.directors is not None
        if strip.has_class("-directors") != several:  # one line more: a layout pass, once
            strip.set_class(several, "-directors")
        strip.update(director_strip(frame, self.table_display.exact, self.top_app.clock()), layout=False)
        line = self.query_one("#drains", Static)
        line.display = bool(frame.drains.hosts)
        if frame.drains.hosts:
            line.update(drains_text(list(frame.drains.hosts)), layout=False)
        self.render_status()

    def note(self, words: str, seconds: float = NOTE_SECONDS) -> None:
        """Say something at the head of the status line for a few seconds (why a key did nothing)."""
        self._note = (words, self.top_app.clock() + seconds)
        self.render_status()

    def render_status(self) -> None:
        app = self.top_app
        text, failed = status_line(self.frame, app.description, app.interval, app.clock(), app.paused,
                                   self.view, self.table_display, self.operator.read_only)
        if self._note is not None and app.clock() < self._note[1]:
            text = Text.assemble((self._note[0], "bold reverse yellow"), " ", text)
        status = self.query_one("#status-line", Static)
        status.set_class(failed, "error")
        status.update(text, layout=False)

    # --- events ----------------------------------------------------------------------------------

    @on(Grid.Highlighted, "#services")
    def _service_highlighted(self, event: Grid.Highlighted) -> None:
        if self.ready:  # a cursor move still queued when the app closes finds no screen
            self._refresh_dests(event.key)

    @on(Grid.Highlighted, "#dests")
    def _dest_highlighted(self, event: Grid.Highlighted) -> None:
        if self.ready:
            self._render_title()

    @on(Grid.Selected)
    def _row_selected(self, event: Grid.Selected) -> None:
        self.action_detail()

    @on(Grid.HeaderClicked, "#services")
    def _header_clicked(self, event: Grid.HeaderClicked) -> None:
        sort = self.view.sort
        self.set_service_sort(SortKey(sort.column, not sort.reverse) if sort.column == event.column
                              else first_sort(event.column))

    @on(Grid.HeaderClicked, "#dests")
    def _dest_header_clicked(self, event: Grid.HeaderClicked) -> None:
        sort = self.dest_sort
        self.set_dest_sort(SortKey(sort.column, not sort.reverse) if sort.column == event.column
                           else first_sort(event.column))

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        view = self.view
        self._set_view(ViewSettings(view.sort, event.value, view.watched))
        self._refresh_services()
        self.render_status()
        # Said on the field too, where the eye is while typing (the status line may be cut).
        error = compile_filter(event.value).error
        nothing = bool(event.value) and self.services.row_count == 0 and self.frame.snapshot is not None
        event.input.border_subtitle = error or ("no service matches" if nothing else "")

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#filter", Input).display = False
        self.services.focus()

    def on_resize(self, event: events.Resize) -> None:
        compact = event.size.width < COMPACT_BELOW
        if compact != self.table_display.compact:
            shown = self.table_display
            self._set_display(replace(shown, compact=compact))
            self._set_columns()
        self.call_after_refresh(self._title_after_layout)

    def _title_after_layout(self) -> None:
        if self.ready:  # the panes have their new sizes now: which tables are long has changed
            self._render_title()

    # --- keys: what is shown ------------------------------------------------------------------------

    def action_quit(self) -> None:
        self.operator.quit()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(keys.help_columns(self.operator.read_only)))

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.display = True
        field.focus()

    def action_clear_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.value = ""
        field.display = False
        view = self.view
        self._set_view(ViewSettings(view.sort, "", view.watched))
        self._refresh_services()
        self.services.focus()
        self.render_status()

    def action_pause(self) -> None:
        self.top_app.toggle_pause()
        self.render_status()

    def action_interval(self, step: int) -> None:
        self.top_app.step_interval(step)
        self.render_status()

    def action_toggle_counters(self) -> None:
        display = self.table_display
        self._set_display(replace(display, counters=not display.counters))
        self._set_columns()
        self.render_status()

    def action_toggle_exact(self) -> None:
        display = self.table_display
        self._set_display(replace(display, exact=not display.exact))
        self._set_columns()  # exact numbers need wider columns
        self.render_chrome()

    def action_next_metric(self) -> None:
        display, metrics = self.table_display, list(Metric)
        metric = metrics[(metrics.index(display.metric) + 1) % len(metrics)]
        self._set_display(replace(display, metric=metric))
        self.services.refresh()
        self.render_status()

    def action_switch_pane(self) -> None:
        # At once, not later as Widget.focus() does: a key typed right after Tab acts on the new pane.
        self.set_focus(self.dests if self.services.has_focus else self.services)

    def action_next_director(self) -> None:
        name = self.top_app.session.switch_director()
        if name is None:
            self.note("One director in this session: lvs-top --director A --director B shows a pair.")
        else:
            self.note(f"Showing director {printable(name)}.")

    def action_detail(self) -> None:
        service = self._service
        if service is None:
            return
        dest = self._focused_dest()
        self.app.push_screen(DetailScreen(lambda: self.top_app.frame, service.key,
                                          None if dest is None else dest.key))

    def action_connections(self) -> None:
        read = self.operator.setup.connections
        if read is None:
            self.operator.say("This director has no connection table to read.", severity="warning")
        elif (selected := self.selected_dest()) is not None:
            dest = selected[1]
            title = f"{dest.key} (all services)"
            self.app.push_screen(ConnectionsScreen(read, dest.address, dest.port, title))

    # --- keys: changes, from the selection to the operator --------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in keys.WRITE_ACTIONS:
            if self.app.screen is not self:
                return False  # a confirmation or form is open: one change at a time
            if self.operator.read_only:
                return None  # dimmed in the footer; on_key says why when one is pressed
        return True

    def on_key(self, event: events.Key) -> None:
        """A change key in a read-only session is dimmed and runs nothing: say why."""
        if self.operator.read_only and event.key in keys.change_keys():
            self.operator.refused()

    def selected_service(self) -> Service | None:
        if self._service is None:
            self.operator.say("Select a service first.", severity="warning")
        return self._service

    def _focused_dest(self) -> Dest | None:
        key = self.dests.cursor_key if self.dests.has_focus else None
        service = self._service
        return service.dest(key) if service is not None and isinstance(key, DestKey) else None

    def selected_dest(self) -> tuple[Service, Dest] | None:
        dest, service = self._focused_dest(), self._service
        if service is None or dest is None:
            self.operator.say("Select a real server first: Tab moves to the real servers.",
                              severity="warning")
            return None
        return service, dest

    def dests_focused(self) -> bool:
        return self.dests.has_focus

    def cursor_service(self) -> Hashable | None:
        return self.services.cursor_key

    def refresh_order(self) -> None:
        """The services again in the view's order, and the real servers in theirs."""
        self._refresh_services()
        self.render_status()
