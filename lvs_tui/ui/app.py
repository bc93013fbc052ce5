"""The dashboard: `lvs-top` as a Textual app.

Data flow: a timer asks the poller for a poll; the poller thread posts each result; `_apply` puts it
on screen in one place, inside one batch update. Widgets render from the dashboard's state and
never call the backend.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

from rich.text import Text
from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input, Static

from lvs_tui.doctor.watch import EVERY as DOCTOR_EVERY
from lvs_tui.doctor.watch import DoctorWatch
from lvs_tui.health.feed import HealthFeed
from lvs_tui.health.status import HealthView
from lvs_tui.hostload import HostLoad, HostSampler
from lvs_tui.ipvs.backend import Backend
from lvs_tui.model.dashboard import SERVICE_SORTS, Dashboard, Metric, SortKey
from lvs_tui.model.format import bits, human
from lvs_tui.model.records import Dest, DestKey, Service, ServiceKey
from lvs_tui.ops.poller import Poller, PollResult, SubmitJob
from lvs_tui.ops.setup import OpsSetup
from lvs_tui.resources import stylesheet
from lvs_tui.ui import keys
from lvs_tui.ui.conns import ConnectionsScreen
from lvs_tui.ui.forms import DestForm, ServiceForm
from lvs_tui.ui.grid import Cell, Grid
from lvs_tui.ui.operator import Operator
from lvs_tui.ui.rows import RowRenderer
from lvs_tui.ui.screens import DetailScreen, HelpScreen, drains_text
from lvs_tui.ui.summaries import doctor_summary, health_summary

INTERVALS = (0.5, 1.0, 2.0, 5.0, 10.0)
DOCTOR_FIRST = 5.0  # seconds after start: the NAT symptom needs two tables some seconds apart
W = TypeVar("W", bound=Widget)
SORT_ORDER = list(SERVICE_SORTS)
COMPACT_BELOW = 110  # terminal columns under which the tables drop their least vital columns


class LvsTopApp(App[None]):
    """The live dashboard over one backend (kernel or simulated director)."""

    TITLE = "lvs-top"
    CSS_PATH = str(stylesheet())
    # Every key, declared once in keys.py: the footer, `?` help, the palette and the README read it.
    BINDINGS = keys.BINDINGS
    WRITE_ACTIONS = keys.WRITE_ACTIONS

    def __init__(
        self,
        open_backend: Callable[[], Backend],
        description: str,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        host_sampler: HostSampler | None = None,
        setup: OpsSetup | None = None,
        health: Callable[[SubmitJob], HealthFeed] | None = None,
        doctor: DoctorWatch | None = None,
    ) -> None:
        super().__init__()
        self.dashboard = Dashboard()
        self.description = description
        self.interval = interval
        self.paused = False
        self.auto_poll = True  # off: polls happen only on request_poll() (screenshots, tests)
        self._clock = clock
        self._poller = Poller(open_backend, self._from_poller_thread, clock)
        # Without a setup (tests, benchmarks) nothing may be written, the home journal included.
        setup = setup or OpsSetup(read_only="no journal configured")
        self.operator = Operator(self, self._poller, setup, lambda: self.dashboard.snapshot,
                                 self._render_chrome, clock)
        # The checker acts through the poller too: one thread owns the backend.
        self._health = None if health is None else health(self._poller.submit)
        self.health_view: HealthView | None = None  # taken with each poll, like the snapshot
        if self._health is not None:
            self.operator.on_manual = self._health.stand_aside
        self.doctor = doctor
        self.rows = RowRenderer(self.dashboard, self.operator.board, lambda: self.health_view,
                                doctor=None if doctor is None else doctor.severity)
        self._host = host_sampler
        self._host_load: HostLoad | None = None
        self._last_good: float | None = None
        self._last_error: str | None = None
        self._selected: ServiceKey | None = None
        self._dest_service: Service | None = None
        self._shares: dict[DestKey, object] = {}
        self._timer_handle: object | None = None
        self._health_shown = False

    # --- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="director-strip")
        yield Static(id="drains")
        with Vertical(id="panes"):
            yield Grid(self.rows.service_columns(), self.rows.service_row, id="services")
            yield Static(id="dests-title")
            yield Grid(self.rows.dest_columns(), self._dest_row, id="dests")
        yield Input(placeholder="filter: substring or regex over address, port, scheduler", id="filter")
        yield Static(id="status-line")
        yield Footer()

    def _main(self, selector: str, kind: type[W]) -> W:
        """A widget of the main screen, even while help or a detail view is on top."""
        return self.screen_stack[0].query_one(selector, kind)

    def on_mount(self) -> None:
        self._main("#filter", Input).display = False
        self._main("#drains", Static).display = False
        self._main("#services", Grid).focus()
        self._poller.start()
        if self._health is not None:
            self._health.start()
        self.operator.start()
        if self.doctor is not None:
            self.set_timer(DOCTOR_FIRST, self._examine)  # a first look once two polls are in
            self.set_interval(DOCTOR_EVERY, self._examine)
        self._restart_timer()
        self._poller.request()
        self._render_chrome()

    def on_unmount(self) -> None:
        if self._health is not None:
            self._health.stop()
        self._poller.stop()

    def _restart_timer(self) -> None:
        if self._timer_handle is not None:
            self._timer_handle.stop()  # type: ignore[attr-defined]
        self._timer_handle = self.set_interval(self.interval, self._tick)

    def request_poll(self) -> None:
        """Poll now (the result arrives through the usual path)."""
        self._poller.request()

    def _tick(self) -> None:
        if not self.paused and self.auto_poll:
            self._poller.request()
        self._render_status()

    def _examine(self) -> None:
        doctor, snapshot = self.doctor, self.dashboard.snapshot
        if doctor is None or snapshot is None:
            return

        def work() -> None:
            doctor.examine(snapshot)
            with contextlib.suppress(RuntimeError):  # the app is closing
                self.call_from_thread(self._doctor_done)

        self.run_worker(work, thread=True, group="doctor", exclusive=True)

    def _doctor_done(self) -> None:
        if self.screen_stack:
            self._main("#services", Grid).refresh()
            self._render_status()

    # --- the one place a poll reaches the screen ---------------------------------------------------

    def _from_poller_thread(self, result: PollResult) -> None:
        # Rates, histories and order are computed here, off the UI thread, so keys stay responsive
        # on large tables; the screen is touched only in _apply, on the UI thread.
        if self._health is not None:
            self.health_view = self._health.view()
        if result.snapshot is not None:
            # Drains are followed even while paused: a removal confirmed for "once drained" is due.
            self.operator.follow(result.snapshot, result.started)
            if not self.paused:
                self.dashboard.apply(result.snapshot)
        with contextlib.suppress(RuntimeError):  # the app is shutting down
            self.call_from_thread(self._apply, result)

    def _apply(self, result: PollResult) -> None:
        if self.paused or not self.screen_stack:  # paused, or the app is closing
            return
        if self._host is not None:
            self._host_load = self._host.sample()
        with self.batch_update():
            if (self.health_view is not None) != self._health_shown:  # a checker came or went
                self._health_shown = self.health_view is not None
                self._set_columns()
            if result.snapshot is None:
                self._last_error = result.error
            else:
                self._last_error = None
                self._last_good = result.started
                self._refresh_services()
            self._render_chrome()

    def _refresh_services(self) -> None:
        services = self._main("#services", Grid)
        services.set_rows(list(self.dashboard.services()))
        services.set_sorted(self.dashboard.sort.column, self.dashboard.sort.reverse)
        self._refresh_dests(services.cursor_key)

    def _refresh_dests(self, key: Hashable | None) -> None:
        snapshot = self.dashboard.snapshot
        service = None
        if isinstance(key, ServiceKey) and snapshot is not None:
            service = snapshot.service(key)
            self.dashboard.watch(key)
        self._selected = key if isinstance(key, ServiceKey) else None
        self._dest_service = service
        self._shares = {} if service is None else dict(self.rows.dest_shares(service))
        dests = self._main("#dests", Grid)
        dests.set_rows([] if service is None else [dest.key for dest in service.dests])
        title = "Real servers" if service is None else f"Real servers of {service.key.id}"
        # Fixed-size lines (see the stylesheet): no layout pass, so only this line is repainted.
        self._main("#dests-title", Static).update(Text(title, style="bold"), layout=False)

    def _dest_row(self, key: Hashable) -> list[Cell]:
        service = self._dest_service
        if service is None or not isinstance(key, DestKey):
            return []
        dest = service.dest(key)
        if dest is None:
            return [key.id]
        share = self._shares.get(key)
        return list(self.rows.dest_row(service, dest, share))  # type: ignore[arg-type]

    # --- chrome: director strip and status line --------------------------------------------------

    def _render_chrome(self) -> None:
        if not self.screen_stack:  # called from another thread's result while the app closes
            return
        self._render_strip()
        self._render_drains()
        self._render_status()

    def _render_drains(self) -> None:
        hosts = self.operator.board.hosts()
        line = self._main("#drains", Static)
        line.display = bool(hosts)
        if hosts:
            line.update(drains_text(hosts), layout=False)

    def _render_strip(self) -> None:
        snapshot = self.dashboard.snapshot
        totals = self.dashboard.totals()
        exact = self.rows.exact
        table = Text(no_wrap=True, overflow="ellipsis")
        if snapshot is not None:
            table.append(f"IPVS {snapshot.info.version}", style="bold")
            table.append(f" · conn table {snapshot.info.conn_table_size} · ")
        table.append(f"{totals.services} services · {totals.dests} real servers · conns ")
        table.append(f"{human(totals.active, exact)} active {human(totals.inactive, exact)} inactive")
        rates = totals.rates
        traffic = Text(no_wrap=True, overflow="ellipsis")
        traffic.append(f"{human(rates.cps, exact)} conn/s · {human(rates.inpps, exact)}/"
                       f"{human(rates.outpps, exact)} pkt/s · {bits(rates.inbps, exact)}/"
                       f"{bits(rates.outbps, exact)}")
        load = self._host_load
        if load is not None:
            traffic.append(f"  │ director cpu {load.cpu_percent:.0f}% (softirq {load.softirq_percent:.0f}%)"
                           f" mem {load.memory_percent:.0f}%")
            for nic in load.interfaces[:2]:
                traffic.append(f" {nic.name} ↓{bits(nic.rx_bps)} ↑{bits(nic.tx_bps)}")
        self._main("#director-strip", Static).update(Text("\n").join([table, traffic]), layout=False)

    def _render_status(self) -> None:
        parts = Text()
        if self.paused:
            parts.append(" PAUSED ", style="bold reverse yellow")
            parts.append(" ")
        age = "never" if self._last_good is None else f"{self._clock() - self._last_good:.1f}s ago"
        parts.append(f"{self.description} · every {self.interval:g}s · last good poll {age}")
        if self.health_view is not None:  # early in the line: what fails matters more than the sort
            parts.append_text(health_summary(self.health_view))
        if self.doctor is not None:
            parts.append_text(doctor_summary(self.doctor))
        if self.dashboard.filter:
            parts.append(f" · filter /{self.dashboard.filter}/", style="cyan")
        sort = self.dashboard.sort
        parts.append(f" · sort {sort.column}{' ▼' if sort.reverse else ''}")
        parts.append(f" · {'counters' if self.rows.counters else 'rates'}, trend {self.rows.metric.value}")
        if self.operator.read_only:
            parts.append(f" · read-only ({self.operator.read_only})", style="bold")
        elif self.operator.owner_warnings:
            parts.append(" · ⚠ table managed by another tool", style="yellow")
        if self.operator.sysctl_warnings:
            parts.append(" · ⚠ run_estimation=0: the kernel's own rates read 0", style="yellow")

        status = self._main("#status-line", Static)
        if self._last_error:
            parts = Text(f"✖ {self._last_error}  ({parts.plain})")
            status.add_class("error")
        else:
            status.remove_class("error")
        status.update(parts, layout=False)

    # --- events --------------------------------------------------------------------------------

    @on(Grid.Highlighted, "#services")
    def _service_highlighted(self, event: Grid.Highlighted) -> None:
        if self.screen_stack:  # a cursor move still queued when the app closes finds no screen
            self._refresh_dests(event.key)

    @on(Grid.Selected)
    def _row_selected(self, event: Grid.Selected) -> None:
        self.action_detail()

    @on(Grid.HeaderClicked, "#services")
    def _header_clicked(self, event: Grid.HeaderClicked) -> None:
        sort = self.dashboard.sort
        reverse = not sort.reverse if sort.column == event.column else False
        self._set_sort(SortKey(event.column, reverse))

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.dashboard.set_filter(event.value)
        self._refresh_services()
        self._render_status()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self._main("#filter", Input).display = False
        self._main("#services", Grid).focus()

    # --- actions (keys and command palette) ----------------------------------------------------------

    def action_help(self) -> None:
        self.push_screen(HelpScreen(keys.help_columns(self.operator.read_only)))

    def action_filter(self) -> None:
        field = self._main("#filter", Input)
        field.display = True
        field.focus()

    def action_clear_filter(self) -> None:
        field = self._main("#filter", Input)
        field.value = ""
        field.display = False
        self.dashboard.set_filter("")
        self._refresh_services()
        self._main("#services", Grid).focus()
        self._render_status()

    def _set_sort(self, sort: SortKey) -> None:
        self.dashboard.set_sort(sort)
        self._refresh_services()
        self._render_status()

    def action_sort_next(self) -> None:
        self._step_sort(1)

    def action_sort_previous(self) -> None:
        self._step_sort(-1)

    def _step_sort(self, step: int) -> None:
        sort = self.dashboard.sort
        column = SORT_ORDER[(SORT_ORDER.index(sort.column) + step) % len(SORT_ORDER)]
        self._set_sort(SortKey(column, sort.reverse))

    def action_sort_reverse(self) -> None:
        sort = self.dashboard.sort
        self._set_sort(SortKey(sort.column, not sort.reverse))

    def action_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused:
            self._poller.request()
        self._render_status()

    def action_interval(self, step: int) -> None:
        position = min(range(len(INTERVALS)), key=lambda i: abs(INTERVALS[i] - self.interval))
        self.interval = INTERVALS[max(0, min(len(INTERVALS) - 1, position + step))]
        self._restart_timer()
        self._render_status()

    def action_toggle_counters(self) -> None:
        self.rows.counters = not self.rows.counters
        self._set_columns()
        self._render_status()

    def _set_columns(self) -> None:
        self._main("#services", Grid).set_columns(self.rows.service_columns())
        self._main("#dests", Grid).set_columns(self.rows.dest_columns())

    def on_resize(self, event: events.Resize) -> None:
        compact = event.size.width < COMPACT_BELOW
        if compact != self.rows.compact:
            self.rows.compact = compact
            self._set_columns()

    def action_toggle_exact(self) -> None:
        self.rows.exact = not self.rows.exact
        self.refresh(layout=False)
        self._main("#services", Grid).refresh()
        self._main("#dests", Grid).refresh()
        self._render_strip()

    def action_next_metric(self) -> None:
        metrics = list(Metric)
        self.rows.metric = metrics[(metrics.index(self.rows.metric) + 1) % len(metrics)]
        self._main("#services", Grid).refresh()
        self._render_status()

    def action_switch_pane(self) -> None:
        services, dests = self._main("#services", Grid), self._main("#dests", Grid)
        (dests if services.has_focus else services).focus()

    def action_detail(self) -> None:
        service = self._dest_service
        if service is None:
            return
        dests = self._main("#dests", Grid)
        dest_key = dests.cursor_key if dests.has_focus else None
        dest = service.dest(dest_key) if isinstance(dest_key, DestKey) else None
        doctor = self.doctor
        self.push_screen(DetailScreen(self.dashboard, service.key, None if dest is None else dest.key,
                                      lambda: self.health_view,
                                      (lambda key: []) if doctor is None else doctor.of))

    # --- changes: from the selection to a plan; the operator confirms and applies it ----------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.WRITE_ACTIONS:
            if self.screen_stack and self.screen is not self.screen_stack[0]:
                return False  # only from the dashboard itself, on what it shows
            if self.operator.read_only:
                return None  # dimmed: shown, never run
        return True

    def _service(self) -> Service | None:
        if self._dest_service is None:
            self.notify("Select a service first.", severity="warning")
        return self._dest_service

    def _dest(self) -> tuple[Service, Dest] | None:
        service = self._dest_service
        dests = self._main("#dests", Grid)
        key = dests.cursor_key if dests.has_focus else None
        dest = service.dest(key) if service is not None and isinstance(key, DestKey) else None
        if service is None or dest is None:
            self.notify("Select a real server first: Tab moves to the real servers.", severity="warning")
            return None
        return service, dest

    def _dests_focused(self) -> bool:
        return self._main("#dests", Grid).has_focus

    def action_drain(self) -> None:
        if (selected := self._dest()) is not None:
            self.operator.drain(*selected)

    def action_drain_host(self) -> None:
        if (selected := self._dest()) is not None and (snapshot := self.dashboard.snapshot) is not None:
            self.operator.drain_host(snapshot, selected[1].address)

    def action_bring_back(self) -> None:
        if (selected := self._dest()) is not None:
            self.operator.bring_back(*selected)

    def action_weight(self, step: int) -> None:
        if (selected := self._dest()) is not None:
            self.operator.step_weight(*selected, step)

    def action_add_service(self) -> None:
        self.operator.open_form(ServiceForm(self.operator.schedulers))

    def action_add_dest(self) -> None:
        if (service := self._service()) is not None:
            self.operator.open_form(DestForm(service, self.operator.setup.sysctls))

    def action_edit(self) -> None:
        if self._dests_focused():
            if (selected := self._dest()) is not None:
                self.operator.open_form(DestForm(selected[0], self.operator.setup.sysctls, selected[1]))
        elif (service := self._service()) is not None:
            self.operator.open_form(ServiceForm(self.operator.schedulers, service))

    def action_remove(self) -> None:
        if self._dests_focused():
            if (selected := self._dest()) is not None:
                self.operator.remove_dest(*selected)
        elif (service := self._service()) is not None:
            self.operator.remove_service(service)

    def action_zero(self) -> None:
        if (service := self._service()) is not None and (snapshot := self.dashboard.snapshot) is not None:
            self.operator.zero(service.key, snapshot)

    def action_zero_all(self) -> None:
        if (snapshot := self.dashboard.snapshot) is not None:
            self.operator.zero(None, snapshot)

    def action_undo(self) -> None:
        self.operator.undo()

    def action_connections(self) -> None:
        read = self.operator.setup.connections
        if read is None:
            self.notify("This director has no connection table to read.", severity="warning")
        elif (selected := self._dest()) is not None:
            dest = selected[1]
            self.push_screen(ConnectionsScreen(read, dest.address, dest.port, f"{dest.key} (all services)"))

    # --- one declaration of the keys, read by help, palette and README -------------------------------

    @classmethod
    def key_table(cls) -> list[tuple[str, str]]:
        return keys.key_table()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in keys.bindings():
            if binding.action in ("quit", "clear_filter"):
                continue
            if self.operator.read_only and binding.action.split("(")[0] in self.WRITE_ACTIONS:
                continue
            yield SystemCommand(
                binding.description,
                f"{binding.tooltip or binding.description} ({binding.key_display or binding.key})",
                lambda action=binding.action: self.run_action(action),
            )
