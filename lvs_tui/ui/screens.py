"""Screens over the dashboard: `?` help and the detail view of one service or real server."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Label, Sparkline, Static

from lvs_tui.doctor.findings import Finding, Severity
from lvs_tui.health.status import HealthView
from lvs_tui.live.frame import DashboardFrame
from lvs_tui.model.export import dest_json, service_json
from lvs_tui.model.format import bits, human
from lvs_tui.model.history import Metric
from lvs_tui.model.pairview import DirectorsView
from lvs_tui.model.printable import printable
from lvs_tui.model.rates import Rates
from lvs_tui.model.records import DestKey, ServiceKey

EVENTS_SHOWN = 12
COUNTERS = ("conns", "inpkts", "outpkts", "inbytes", "outbytes")
PLOT_TITLES = {
    Metric.CPS: "new connections/s",
    Metric.PPS: "packets/s (in+out)",
    Metric.BPS: "bits/s (in+out)",
}
RATE_ROWS: tuple[tuple[str, str, Callable[[float], str]], ...] = (
    ("new conns/s", "cps", human),
    ("packets/s in", "inpps", human),
    ("packets/s out", "outpps", human),
    ("bits/s in", "inbps", bits),
    ("bits/s out", "outbps", bits),
)


Section = tuple[str, list[tuple[str, str]]]  # title, (key, what it does)


class HelpScreen(ModalScreen[None]):
    """Every key, from the one declaration of the bindings, in titled sections: side by side where
    they fit, one under the other where they do not; it scrolls when taller than the screen."""

    DEFAULT_CSS = "#help-keys, #help-mouse { width: auto; }"
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]
    FRAME = 9  # the box's border and padding, a scrollbar, and a column to spare
    SHARE = 0.98  # of the screen's width the box may take
    GAP = 3
    DOES_AT_LEAST = 30  # narrower than this, the columns go one under the other

    def __init__(self, columns: list[list[Section]]) -> None:
        super().__init__()
        self._columns = columns

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(id="help-keys")
            yield Label("Mouse: click a row to select it, a header to sort,\ndouble-click for "
                        "detail. Esc, q or ? closes this help.", id="help-mouse")

    def on_mount(self) -> None:
        self._lay_out()

    def on_resize(self, event: events.Resize) -> None:
        self._lay_out()

    def _lay_out(self) -> None:
        layout = self._layout(self.app.size.width)
        console = self.app.console
        room = int(self.app.size.width * self.SHARE)
        width = Measurement.get(console, console.options.update_width(room), layout).maximum
        self.query_one("#help-keys", Static).update(layout)
        box = self.query_one("#help", VerticalScroll)
        # As wide as its keys (a width of `auto` does not measure a table), up to SHARE of the screen.
        box.styles.max_width = room
        box.styles.width = width + self.FRAME

    def _layout(self, width: int) -> Table:
        room = int(width * self.SHARE) - self.FRAME
        key_width = max((len(key) for sections in self._columns for _, keys in sections for key, _ in keys),
                        default=0)
        count = len(self._columns)
        per_column = (room - self.GAP * (count - 1)) // count
        side_by_side = per_column - key_width - 1 >= self.DOES_AT_LEAST
        longest = max((len(what) for sections in self._columns for _, keys in sections for _, what in keys),
                      default=0)
        does = min(longest, (per_column if side_by_side else room) - key_width - 1)
        cells = []
        for sections in self._columns:
            column = Table.grid()
            for title, keys in sections:
                table = Table.grid(padding=(0, 1, 0, 0))
                table.title, table.title_style, table.title_justify = title, "bold italic", "left"
                table.add_column("Key", style="bold cyan", no_wrap=True, width=key_width)
                table.add_column("Does", width=does)
                for key, what in keys:
                    table.add_row(key, what)
                column.add_row(table)
            cells.append(column)
        layout = Table.grid(padding=(0, self.GAP, 0, 0))
        if side_by_side:
            for _ in cells:
                layout.add_column()
            layout.add_row(*cells)
        else:
            layout.add_column()
            for cell in cells:
                layout.add_row(cell)
        return layout


class DetailScreen(Screen[None]):
    """All fields of one service or real server, and its rates over the last minutes; it scrolls
    (up/down, pgup/pgdn, home/end) down to the counters and the doctor's findings."""

    BINDINGS = [Binding("escape,q,enter", "app.pop_screen", "Back")]

    def __init__(self, frame: Callable[[], DashboardFrame], service: ServiceKey,
                 dest: DestKey | None) -> None:
        super().__init__()
        self._frame = frame  # the frame on screen now
        self._service = service
        self._dest = dest

    def compose(self) -> ComposeResult:
        title = self._service.id if self._dest is None else f"{self._dest.id} in {self._service.id}"
        with VerticalScroll(id="detail"):
            yield Label(Text(title, style="bold"), id="detail-title")
            for metric in Metric:
                yield Label(id=f"label-{metric.value}", classes="plot-label")
                yield Sparkline(self._series(metric), id=f"plot-{metric.value}", classes="plot")
            yield Static(id="detail-fields")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_detail()
        self.query_one("#detail", VerticalScroll).focus()  # its keys scroll at once
        self.set_interval(1.0, self.refresh_detail)

    def _series(self, metric: Metric) -> list[float]:
        frame = self._frame()
        if self._dest is None:
            return frame.service_history.series(self._service, metric)
        return frame.dest_history.series((self._service, self._dest), metric)

    def refresh_detail(self) -> None:
        for metric in Metric:
            series = self._series(metric)
            self.query_one(f"#plot-{metric.value}", Sparkline).data = series
            unit = bits if metric is Metric.BPS else human
            text = PLOT_TITLES[metric]
            if series:
                text += (
                    f": now {unit(series[-1])}, peak {unit(max(series))} over the last {len(series)} polls"
                )
            self.query_one(f"#label-{metric.value}", Label).update(Text(text))
        self.query_one("#detail-fields", Static).update(self._fields())

    def _fields(self) -> Table:
        frame = self._frame()
        snapshot = frame.snapshot
        service = None if snapshot is None else snapshot.service(self._service)
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column()
        if service is None:
            table.add_row("gone", "this service is no longer in the table")
            return table
        if self._dest is None:
            fields = service_json(service)
            stats, client = service.stats, frame.service_rates.get(service.key)
        else:
            dest = service.dest(self._dest)
            if dest is None:
                table.add_row("gone", "this real server is no longer in the service")
                return table
            fields = dest_json(dest)
            stats, client = dest.stats, frame.dest_rates.get((service.key, dest.key))
        for name, value in fields.items():
            if name not in ("stats", "dests", "client_rates"):
                table.add_row(name, _text("-" if value is None else str(value)))
        table.add_row("", "")
        table.add_row("rate", "kernel (8 s average) | measured by lvs-top")
        kernel = Rates.from_kernel(stats)
        for label, field, unit in RATE_ROWS:
            mine = "-" if client is None else unit(getattr(client, field))
            table.add_row(label, f"{unit(getattr(kernel, field))} | {mine}")
        table.add_row("", "")
        for name in COUNTERS:
            table.add_row(name, str(getattr(stats, name)))
        if frame.health is not None:
            self._health_rows(table, frame.health)
        findings = [] if frame.doctor is None else frame.doctor.of(self._service)
        if findings:
            self._doctor_rows(table, findings)
        if frame.directors is not None:
            self._drift_rows(table, frame.directors)
        return table

    def _drift_rows(self, table: Table, view: DirectorsView) -> None:
        """Which director holds the service's VIP, and what the others have otherwise for this row."""
        table.add_row("", "")
        holders = view.holders(self._service) if self._dest is None else None
        if holders is not None:
            where = " and ".join(holders) or "no director"
            style = "bold red" if len(holders) != 1 else ""
            table.add_row("VIP", _text(f"{self._service.address} is on {where}", style))
        found = view.differences_of(self._service, self._dest)
        for name, difference in found:
            words = difference.sentence(view.shown_name, name)
            table.add_row(Text("drift", style="bold magenta"), _text(words))
        row = self._service if self._dest is None else (self._service, self._dest)
        if row in view.marked and not found:
            table.add_row(Text("drift", style="bold magenta"), "some of its real servers differ on another "
                          "director (marked ≠ in the lower pane)")
        elif row not in view.marked:
            others = [state.name for state in view.directors if state.drift is not None]
            table.add_row("drift", _text(f"the same on {', '.join(others)}" if others else
                                         "the other directors' tables are not read yet"))

    @staticmethod
    def _doctor_rows(table: Table, findings: list[Finding]) -> None:
        """What the doctor found around this service (and on the director), cause and fix."""
        table.add_row("", "")
        table.add_row("doctor", f"{len(findings)} finding{'s' * (len(findings) != 1)} around this service")
        for finding in findings:
            style = {Severity.ERROR: "bold red", Severity.WARNING: "yellow"}.get(finding.severity, "")
            what = _text(f"{finding.subject}: {finding.cause}")
            if finding.fix:  # on a line of its own (printable() would show a newline as \x0a)
                what = Text("\n").join([what, _text(f"fix: {finding.fix}")])
            table.add_row(Text(finding.severity.label, style=style), what)

    def _health_rows(self, table: Table, view: HealthView) -> None:
        """The checker's word on this server (state, last result), and the service's timeline."""
        table.add_row("", "")
        if self._dest is not None:
            status = view.of(self._service, self._dest)
            if status is None:
                table.add_row("health", "not checked (not in the checker's config)")
            else:
                since = "" if status.since is None else time.strftime(" since %H:%M:%S",
                                                                      time.localtime(status.since))
                table.add_row("health", f"{status.state.value}{since}" + ("" if view.running else
                                                                          " (the checker is not running)"))
                table.add_row("last check", _text(status.detail))
                if status.taken_out:
                    table.add_row("", "taken out by the checker, which brings it back once healthy")
        events = view.events_of(self._service)[-EVENTS_SHOWN:]
        table.add_row("health events", "none yet" if not events else "")
        for event in events:
            style = {"error": "red", "warning": "yellow"}.get(event.level, "")
            table.add_row(time.strftime("%H:%M:%S", time.localtime(event.at)), _text(event.text, style))


def _text(words: str, style: str = "") -> Text:
    """A table cell of words from outside (the kernel, a state file): a Rich table would read a
    plain string as markup (`tcp:[fd00::1]:80` as `tcp::80`), and control characters would reach
    the terminal."""
    return Text(printable(words), style=style)
