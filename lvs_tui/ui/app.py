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
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input, Static

from lvs_tui.hostload import HostLoad, HostSampler
from lvs_tui.ipvs.backend import Backend
from lvs_tui.model.dashboard import SERVICE_SORTS, Dashboard, Metric, SortKey
from lvs_tui.model.format import bits, human
from lvs_tui.model.records import Dest, DestKey, Service, ServiceKey
from lvs_tui.ops import changes
from lvs_tui.ops.changes import Plan
from lvs_tui.ops.setup import OpsSetup
from lvs_tui.poller import Poller, PollResult
from lvs_tui.resources import stylesheet
from lvs_tui.ui.confirm import Confirmation
from lvs_tui.ui.conns import ConnectionsScreen
from lvs_tui.ui.forms import DestForm, ServiceForm
from lvs_tui.ui.grid import Cell, Grid
from lvs_tui.ui.operator import Operator
from lvs_tui.ui.rows import RowRenderer
from lvs_tui.ui.screens import DetailScreen, HelpScreen, drains_text

INTERVALS = (0.5, 1.0, 2.0, 5.0, 10.0)
W = TypeVar("W", bound=Widget)
SORT_ORDER = list(SERVICE_SORTS)
COMPACT_BELOW = 110  # terminal columns under which the tables drop their least vital columns


class LvsTopApp(App[None]):
    """The live dashboard over one backend (kernel or simulated director)."""

    TITLE = "lvs-top"
    CSS_PATH = str(stylesheet())
    # Every key of the app, declared once: the footer, `?` help, the command palette and the
    # README's key table all read this list.
    BINDINGS = [
        Binding("q", "quit", "Quit", tooltip="Quit lvs-top", id="quit"),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="Show every key", id="help"),
        Binding("slash", "filter", "Filter", key_display="/",
                tooltip="Filter services: substring or regex over address, port, scheduler", id="filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, tooltip="Clear the filter",
                id="clear_filter"),
        Binding("s", "sort_next", "Sort", tooltip="Sort services by the next column", id="sort_next"),
        Binding("S", "sort_previous", "Sort back", show=False, tooltip="Sort services by the previous column",
                id="sort_previous"),
        Binding("r", "sort_reverse", "Reverse", show=False, tooltip="Reverse the sort order",
                id="sort_reverse"),
        Binding("p", "pause", "Pause", tooltip="Pause or resume: freeze the screen", id="pause"),
        Binding("plus,equals_sign", "interval(1)", "Slower", key_display="+", show=False,
                tooltip="Poll less often (0.5, 1, 2, 5, 10 s)", id="slower"),
        Binding("minus", "interval(-1)", "Faster", key_display="-", show=False, tooltip="Poll more often",
                id="faster"),
        Binding("t", "toggle_counters", "Counters/rates", show=False,
                tooltip="Show counters instead of rates, or back", id="toggle_counters"),
        Binding("x", "toggle_exact", "Exact numbers", show=False,
                tooltip="Exact numbers instead of K/M/G units, or back", id="toggle_exact"),
        Binding("m", "next_metric", "Trend metric", show=False,
                tooltip="Trend column follows the next rate: conn/s, packets/s, bits/s", id="next_metric"),
        Binding("tab", "switch_pane", "Switch pane", show=False,
                tooltip="Move between the services and the real servers", id="switch_pane"),
        Binding("enter", "detail", "Detail", tooltip="Detail of the selected service or real server",
                id="detail"),
        # Changes: each shows its ipvsadm command in a confirmation before it runs.
        Binding("d", "drain", "Drain", tooltip="Drain the selected real server: weight 0, follow it empty",
                id="drain"),
        Binding("D", "drain_host", "Drain host", show=False,
                tooltip="Drain the selected real server's host in every service", id="drain_host"),
        Binding("b", "bring_back", "Bring back", show=False,
                tooltip="Bring a drained real server back at the weight it had before", id="bring_back"),
        Binding("c", "connections", "Who's on it", tooltip="Who is still on the selected real server",
                id="connections"),
        Binding("right_square_bracket", "weight(1)", "Weight +1", key_display="]", show=False,
                tooltip="Weight of the selected real server +1", id="weight_up"),
        Binding("left_square_bracket", "weight(-1)", "Weight -1", key_display="[", show=False,
                tooltip="Weight of the selected real server -1", id="weight_down"),
        Binding("right_curly_bracket", "weight(10)", "Weight +10", key_display="}", show=False,
                tooltip="Weight of the selected real server +10", id="weight_up_10"),
        Binding("left_curly_bracket", "weight(-10)", "Weight -10", key_display="{", show=False,
                tooltip="Weight of the selected real server -10", id="weight_down_10"),
        Binding("a", "add_service", "Add", show=False, tooltip="Add a virtual service", id="add_service"),
        Binding("A", "add_dest", "Add server", show=False,
                tooltip="Add a real server to the selected service", id="add_dest"),
        Binding("e", "edit", "Edit", tooltip="Edit the selected service or real server", id="edit"),
        Binding("delete", "remove", "Remove", show=False,
                tooltip="Remove the selected real server, or the service (by the focused pane)", id="remove"),
        Binding("z", "zero", "Zero", show=False, tooltip="Zero the counters of the selected service",
                id="zero"),
        Binding("Z", "zero_all", "Zero all", show=False, tooltip="Zero the counters of every service",
                id="zero_all"),
        Binding("u", "undo", "Undo", tooltip="Undo the last change made in this session", id="undo"),
    ]
    WRITE_ACTIONS = frozenset({"drain", "drain_host", "bring_back", "weight", "add_service", "add_dest",
                               "edit", "remove", "zero", "zero_all", "undo"})

    def __init__(
        self,
        open_backend: Callable[[], Backend],
        description: str,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        host_sampler: HostSampler | None = None,
        setup: OpsSetup | None = None,
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
        self.rows = RowRenderer(self.dashboard, self.operator.board)
        self._host = host_sampler
        self._host_load: HostLoad | None = None
        self._last_good: float | None = None
        self._last_error: str | None = None
        self._selected: ServiceKey | None = None
        self._dest_service: Service | None = None
        self._shares: dict[DestKey, object] = {}
        self._timer_handle: object | None = None

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
        self.operator.start()
        self._restart_timer()
        self._poller.request()
        self._render_chrome()

    def on_unmount(self) -> None:
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

    # --- the one place a poll reaches the screen ---------------------------------------------------

    def _from_poller_thread(self, result: PollResult) -> None:
        # Rates, histories and order are computed here, off the UI thread, so keys stay responsive
        # on large tables; the screen is touched only in _apply, on the UI thread.
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
        app_keys = {b.key_display or b.key: b for b in _bindings(self.BINDINGS)}
        watch, change, move = [], [], []
        for row in self.key_table():
            binding = app_keys.get(row[0])
            if binding is None:
                move.append(row)
            elif binding.action.split("(")[0] in self.WRITE_ACTIONS:
                change.append(row)
            else:
                watch.append(row)
        title = "Change (each one confirmed first)" if not self.operator.read_only else \
            f"Change: off, read-only ({self.operator.read_only})"
        self.push_screen(HelpScreen([[("Watch", watch)], [(title, change), ("", []), ("Move", move)]]))

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
        self.push_screen(DetailScreen(self.dashboard, service.key, None if dest is None else dest.key))

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
            service, dest = selected
            self.operator.propose(lambda: changes.plan_drain([service], dest.address, dest.port,
                                                             self.operator.setup.sysctls()))

    def action_drain_host(self) -> None:
        snapshot = self.dashboard.snapshot
        if (selected := self._dest()) is not None and snapshot is not None:
            address = selected[1].address
            self.operator.propose(lambda: changes.plan_drain(snapshot.services, address, None,
                                                             self.operator.setup.sysctls()))

    def action_bring_back(self) -> None:
        if (selected := self._dest()) is not None:
            self.operator.propose(lambda: self.operator.bring_back(*selected))

    def action_weight(self, step: int) -> None:
        if (selected := self._dest()) is not None:
            service, dest = selected
            weight = max(0, min(changes.MAX_WEIGHT, dest.weight + step))
            self.operator.propose(lambda: changes.plan_weight(service, dest, weight,
                                                              self.operator.setup.sysctls()))

    def action_add_service(self) -> None:
        self.push_screen(ServiceForm(self.operator.schedulers), self._form_done)

    def action_add_dest(self) -> None:
        if (service := self._service()) is not None:
            self.push_screen(DestForm(service, self.operator.setup.sysctls), self._form_done)

    def action_edit(self) -> None:
        if self._dests_focused():
            if (selected := self._dest()) is not None:
                self.push_screen(DestForm(selected[0], self.operator.setup.sysctls, selected[1]),
                                 self._form_done)
        elif (service := self._service()) is not None:
            self.push_screen(ServiceForm(self.operator.schedulers, service), self._form_done)

    def _form_done(self, plan: Plan | None) -> None:
        # The form showed the commands as they were typed: only what is destructive asks again.
        if plan is not None:
            if plan.destructive:
                self.operator.confirm(plan)
            else:
                self.operator.apply(plan, Confirmation())

    def action_remove(self) -> None:
        if self._dests_focused():
            if (selected := self._dest()) is not None:
                service, dest = selected
                self.operator.propose(lambda: changes.plan_remove_dest(service, dest,
                                                                       self.operator.setup.sysctls()))
        elif (chosen := self._service()) is not None:
            self.operator.propose(lambda: changes.plan_remove_service(chosen))

    def action_zero(self) -> None:
        snapshot = self.dashboard.snapshot
        if (service := self._service()) is not None and snapshot is not None:
            self.operator.propose(lambda: changes.plan_zero(service.key, snapshot))

    def action_zero_all(self) -> None:
        if (snapshot := self.dashboard.snapshot) is not None:
            self.operator.propose(lambda: changes.plan_zero(None, snapshot))

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
        """(key, what it does) for every binding of the app and of the tables."""
        rows = [(b.key_display or b.key, b.tooltip or b.description) for b in _bindings(cls.BINDINGS)]
        rows += [(b.key.replace(",", " / "), b.tooltip or b.description) for b in _bindings(Grid.BINDINGS)]
        rows.append(("ctrl+p", "Command palette: every action by name, and themes"))
        return rows


    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in _bindings(self.BINDINGS):
            if binding.action in ("quit", "clear_filter"):
                continue
            if self.operator.read_only and binding.action.split("(")[0] in self.WRITE_ACTIONS:
                continue
            yield SystemCommand(
                binding.description,
                f"{binding.tooltip or binding.description} ({binding.key_display or binding.key})",
                lambda action=binding.action: self.run_action(action),
            )


def _bindings(declared: Iterable[object]) -> list[Binding]:
    """The Binding objects of a BINDINGS list (this app declares only Binding objects)."""
    return [binding for binding in declared if isinstance(binding, Binding)]


def key_table_markdown() -> str:
    """The README's key table, generated from the bindings (tests check the README carries it)."""
    lines = ["| key | does |", "|---|---|"]
    lines += [f"| `{key}` | {does} |" for key, does in LvsTopApp.key_table()]
    return "\n".join(lines) + "\n"
