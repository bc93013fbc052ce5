"""Columns and cell rendering of the two tables, from the dashboard's state (formatting only)."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace

from rich.text import Text

from lvs_tui.doctor.findings import Severity
from lvs_tui.health.state import Health
from lvs_tui.health.status import ServerStatus
from lvs_tui.live.frame import DashboardFrame
from lvs_tui.model.distribution import DestState, Share, Verdict
from lvs_tui.model.format import FORWARD_MODES, bits, duration, human, service_label, service_options
from lvs_tui.model.history import Metric
from lvs_tui.model.rates import Rates
from lvs_tui.model.records import Dest, DestKey, Forward, Service, ServiceKey, Stats
from lvs_tui.ops.drain import DrainStatus, eta_text
from lvs_tui.ui.grid import Cell, Column

SPARK = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 12
DRAIN_BAR = 3

# `drop`: the order in which a column leaves a narrow terminal (1 first, 0 never; docs/dashboard.md).
# What stays on any width: what a row is (its address with the port), its weight, its active
# connections and its state.
SERVICE_COLUMNS_RATES = [
    Column("service", "Service", 26, right=False, keep_end=True),
    Column("scheduler", "Scheduler", 16, right=False, drop=6),
    Column("servers", "Srv", 5, drop=7),
    Column("", "Spread", 6, right=False),
    Column("active", "Active", 7),
    Column("inactive", "InAct", 7, drop=4),
    Column("cps", "CPS", 6, drop=5),
    Column("pps", "In/OutPPS", 11, drop=1),
    Column("bps", "In/Out bit/s", 13, drop=3),
    Column("", "Trend", SPARK_WIDTH, right=False, drop=2),
]
SERVICE_COLUMNS_COUNTERS = [
    *SERVICE_COLUMNS_RATES[:6],
    Column("conns", "Conns", 9, drop=5),
    Column("", "InPkts", 9, drop=1),
    Column("", "OutPkts", 9, drop=1),
    Column("", "InBytes", 9, drop=3),
    Column("", "OutBytes", 9, drop=2),
]
DEST_COLUMNS_RATES = [  # ids: the sort columns of the real servers (model.dashboard.DEST_SORTS)
    Column("dest", "Real server", 22, right=False, keep_end=True),
    Column("", "Fwd", 8, right=False, drop=6),
    Column("weight", "Weight", 6),
    Column("", "U/L thr", 9, drop=1),
    Column("active", "Active", 7),
    Column("inactive", "InAct", 7, drop=5),
    Column("persistent", "Pers", 5, drop=2),
    Column("cps", "CPS", 6, drop=7),
    Column("bps", "In/Out bit/s", 13, drop=4),
    Column("", "Share exp→got", 13, drop=8),
    Column("", "State", 14, right=False),
]
DEST_COLUMNS_COUNTERS = [
    *DEST_COLUMNS_RATES[:7],
    Column("conns", "Conns", 9, drop=4),
    Column("", "InBytes", 9, drop=3),
    Column("", "OutBytes", 9, drop=3),
    *DEST_COLUMNS_RATES[9:],
]

DRIFT_BADGE = ("≠ ", "bold magenta")  # the row differs on another director of the session
DOCTOR_BADGES = {Severity.ERROR: ("✖ ", "bold red"), Severity.WARNING: ("⚠ ", "yellow")}
HEALTH_COLUMN = Column("", "Health", 18, right=False, drop=9)
HEALTH_LOOK = {
    Health.HEALTHY: ("✔", "green"),
    Health.UNHEALTHY: ("✖", "bold red"),
    Health.CHECKING: ("…", "dim"),
    Health.DISABLED: ("‖", "yellow"),
}

# Below COMPACT_BELOW columns (see the dashboard) the tables narrow these columns; the grid then
# drops columns by their `drop` order until the rest fit.
COMPACT_WIDTHS = {"Service": 22, "Scheduler": 10, "Real server": 21, "Fwd": 7, "Trend": 8, "Active": 6,
                  "InAct": 6, "State": 12, "Health": 11}  # fmt: skip


def compact(columns: list[Column]) -> list[Column]:
    return [replace(c, width=COMPACT_WIDTHS.get(c.label, c.width)) for c in columns]


# With `x` (exact numbers) a count of bytes runs to 15 digits and more: these columns widen so no
# number is cut (the tables drop columns, or scroll sideways, instead).
EXACT_WIDTHS = {"Active": 10, "InAct": 10, "Pers": 8, "CPS": 10, "In/OutPPS": 21, "In/Out bit/s": 27,
                "Conns": 14, "InPkts": 14, "OutPkts": 14, "InBytes": 17, "OutBytes": 17}  # fmt: skip


def exact(columns: list[Column]) -> list[Column]:
    return [replace(c, width=max(c.width, EXACT_WIDTHS.get(c.label, 0))) for c in columns]


def pick(cells: Sequence[Cell], full: list[Column], shown: list[Column]) -> list[Cell]:
    """The cells of `full` that `shown` keeps (the columns the operator did not hide), by label."""
    by_label = {column.label: cell for column, cell in zip(full, cells, strict=False)}
    return [by_label.get(column.label, "") for column in shown]


STATE_STYLES = {
    DestState.OK: "green",
    DestState.QUIESCENT: "yellow",
    DestState.OVERLOADED: "bold red",
    DestState.RESET: "magenta",
    DestState.SKEWED: "bold yellow",
    DestState.SETTLING: "dim",
}
VERDICT_STYLES = {Verdict.OK: "green", Verdict.SKEWED: "bold yellow", Verdict.WAIT: "dim", Verdict.NA: "dim"}


def sparkline(values: Sequence[float], width: int = SPARK_WIDTH) -> Text:
    recent = list(values)[-width:]
    if not recent:
        return Text("")
    top = max(recent)
    if top <= 0:
        return Text(SPARK[0] * len(recent), style="dim")
    return Text("".join(SPARK[min(7, int(v / top * 7.999))] for v in recent), style="cyan")


def pair(left: float, right: float, exact: bool) -> str:
    return f"{human(left, exact)}/{human(right, exact)}"


def bit_pair(left: float, right: float, exact: bool) -> str:
    return f"{bits(left, exact)}/{bits(right, exact)}"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def drain_cell(status: DrainStatus, ending: str | None, compact: bool) -> Text:
    """A drain in the State column: `▓▓░ 52% 1m10s` (the ETA), then `drained`; with a removal to
    follow, `→rm 52% 1m10s` then `drained→rm`."""
    if status.drained:
        return Text("drained" + ("→rm" if ending else ""), style="bold green")
    eta = eta_text(status, short=True)
    percent = f"{status.progress * 100:.0f}%"
    if ending:  # the removal that follows matters more than the bar
        return Text(f"{'rm' if compact else '→rm'} {percent} {eta}", style="bold yellow")
    if compact:
        return Text(f"dr {percent} {eta}", style="yellow")
    filled = round(status.progress * DRAIN_BAR)
    return Text(f"{'▓' * filled}{'░' * (DRAIN_BAR - filled)} {percent} {eta}", style="yellow")


@dataclass(frozen=True, slots=True)
class Display:
    """How the tables show numbers, chosen with keys."""

    exact: bool = False  # x: exact numbers instead of K/M/G
    counters: bool = False  # t: counters instead of rates
    metric: Metric = Metric.CPS  # m: what the trend follows
    compact: bool = False  # a narrow terminal: narrower columns, shorter cells
    hidden: frozenset[str] = frozenset()  # column titles the operator hid (the address never is)


class RowRenderer:
    """Formats the rows of one frame on demand; the grid asks only for the rows on screen, and a row
    is formatted once per frame and display (cached until either changes)."""

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self.wall = wall  # for how long a health state has held
        self.frame = DashboardFrame()
        self.display = Display()
        self._rows: dict[Hashable, Sequence[Cell]] = {}

    def show(self, frame: DashboardFrame, display: Display) -> None:
        if frame is not self.frame or display != self.display:
            self.frame, self.display = frame, display
            self._rows = {}

    def _full_service_columns(self) -> list[Column]:
        return SERVICE_COLUMNS_COUNTERS if self.display.counters else SERVICE_COLUMNS_RATES

    def _full_dest_columns(self) -> list[Column]:
        columns = DEST_COLUMNS_COUNTERS if self.display.counters else DEST_COLUMNS_RATES
        return columns if self.frame.health is None else [*columns, HEALTH_COLUMN]

    def service_columns(self) -> list[Column]:
        return self._shown(self._full_service_columns())

    def dest_columns(self) -> list[Column]:
        return self._shown(self._full_dest_columns())

    def _shown(self, full: list[Column]) -> list[Column]:
        display = self.display
        shown = compact(full) if display.compact else full
        if display.hidden:
            shown = [shown[0], *(column for column in shown[1:] if column.label not in display.hidden)]
        return exact(shown) if display.exact else shown

    def _picked(self, cells: Sequence[Cell], full: list[Column], shown: list[Column]) -> Sequence[Cell]:
        return pick(cells, full, shown) if self.display.hidden else cells

    @staticmethod
    def hideable() -> list[str]:
        """The titles of the columns that can be hidden: all but the addresses."""
        every = [*SERVICE_COLUMNS_RATES, *SERVICE_COLUMNS_COUNTERS, *DEST_COLUMNS_RATES,
                 *DEST_COLUMNS_COUNTERS, HEALTH_COLUMN]
        return sorted({column.label for column in every} - {"Service", "Real server"})

    def service_row(self, key: Hashable) -> Sequence[Cell]:
        row = self._rows.get(key)
        if row is None:
            cells = self._service_cells(key)
            row = self._rows[key] = self._picked(cells, self._full_service_columns(), self.service_columns())
        return row

    def dest_row(self, service: Service, dest: Dest, share: Share | None) -> Sequence[Cell]:
        cache_key = (service.key, dest.key)
        row = self._rows.get(cache_key)
        if row is None:
            cells = self._dest_cells(service, dest, share)
            row = self._rows[cache_key] = self._picked(cells, self._full_dest_columns(), self.dest_columns())
        return row

    def _service_cells(self, key: Hashable) -> Sequence[Cell]:
        assert isinstance(key, ServiceKey)
        frame, display = self.frame, self.display
        snapshot = frame.snapshot
        service = None if snapshot is None else snapshot.service(key)
        if service is None:
            return [key.id]
        exact = display.exact
        serving = sum(1 for d in service.dests if d.weight > 0)
        active = sum(d.active_conns for d in service.dests)
        inactive = sum(d.inactive_conns for d in service.dests)
        label = Text(service_label(service), style="bold")
        badge = DOCTOR_BADGES.get(frame.doctor.severity(key)) if frame.doctor is not None else None
        if badge is not None:  # the doctor found something wrong around this service: see its detail
            label = Text.assemble(badge, label)
        if frame.directors is not None and key in frame.directors.marked:  # differs on another director
            label = Text.assemble(DRIFT_BADGE, label)
        head: list[Cell] = [
            label,
            service_options(service),
            Text(f"{serving}/{len(service.dests)}", style="" if serving else "bold red"),
            spread_cell(frame, key),
            human(active, exact),
            human(inactive, exact),
        ]
        if display.counters:
            return head + counter_cells(service.stats, exact, with_packets=True)
        rates = frame.service_rates.get(key)
        if rates is None:
            reset = key in frame.resets
            return [*head, Text("reset" if reset else "…", style="magenta" if reset else "dim")]
        return [
            *head,
            human(rates.cps, exact),
            pair(rates.inpps, rates.outpps, exact),
            bit_pair(rates.inbps, rates.outbps, exact),
            sparkline(frame.service_history.series(key, display.metric),
                      8 if display.compact else SPARK_WIDTH),
        ]

    def dest_shares(self, service: Service) -> dict[DestKey, Share]:
        spread = self.frame.distribution.get(service.key)
        return {} if spread is None else {share.dest: share for share in spread.shares}

    def _dest_cells(self, service: Service, dest: Dest, share: Share | None) -> Sequence[Cell]:
        frame, display = self.frame, self.display
        exact = display.exact
        forward = FORWARD_MODES[dest.forward]
        if dest.forward is Forward.TUNNEL and dest.tunnel is not None:
            forward += f"/{dest.tunnel.type.value}"
        weight = Text(str(dest.weight), style="bold yellow" if dest.weight == 0 else "")
        address: Cell = dest.key.id
        if frame.directors is not None and (service.key, dest.key) in frame.directors.marked:
            address = Text.assemble(DRIFT_BADGE, address)
        head: list[Cell] = [
            address,
            forward,
            weight,
            f"{dest.upper_threshold}/{dest.lower_threshold}",
            human(dest.active_conns, exact),
            human(dest.inactive_conns, exact),
            human(dest.persistent_conns, exact),
        ]
        state = share.state if share is not None else DestState.OK
        drain = frame.drains.status(service.key, dest.key)
        tail: list[Cell] = [
            Text(f"{percent(share.expected if share else None)}→{percent(share.got if share else None)}"),
            Text(state.value, style=STATE_STYLES[state]) if drain is None else
            drain_cell(drain, frame.drains.ending(service.key, dest.key), display.compact),
        ]
        view = frame.health
        if view is not None:
            status = view.of(service.key, dest.key)
            tail.append(health_cell(status, view.running, self.wall(), display.compact))
        if display.counters:
            stats = dest.stats
            return [*head, human(stats.conns, exact), human(stats.inbytes, exact),
                    human(stats.outbytes, exact), *tail]  # fmt: skip
        rates = frame.dest_rates.get((service.key, dest.key)) or Rates()
        return [*head, human(rates.cps, exact), bit_pair(rates.inbps, rates.outbps, exact), *tail]


def spread_cell(frame: DashboardFrame, key: ServiceKey) -> Text:
    """The service's distribution verdict; blank where it is not judged (a big table, unwatched)."""
    spread = frame.distribution.get(key)
    if spread is None:
        return Text("")
    return Text(spread.verdict.value, style=VERDICT_STYLES[spread.verdict])


def health_cell(status: ServerStatus | None, running: bool, now: float, compact: bool) -> Text:
    """`✖ unhealthy 2m05s`: the state, and how long it has been so; `-` when not checked."""
    if status is None:
        return Text("-", style="dim")
    mark, style = HEALTH_LOOK[status.state]
    text = Text(f"{mark} {status.state.value}", style=style if running else "dim")
    if status.since is not None and not compact:
        text.append(f" {duration(now - status.since)}", style="dim")
    return text


def counter_cells(stats: Stats, exact: bool, with_packets: bool) -> list[Cell]:
    cells: list[Cell] = [human(stats.conns, exact)]
    if with_packets:
        cells += [human(stats.inpkts, exact), human(stats.outpkts, exact)]
    return [*cells, human(stats.inbytes, exact), human(stats.outbytes, exact)]
