"""The dashboard's lines around the tables, from one frame (formatting only): the director strip,
the drains line and the status line."""

from __future__ import annotations

from rich.text import Text

from lvs_tui.doctor.watch import DoctorReport
from lvs_tui.health.state import Health
from lvs_tui.health.status import HealthView
from lvs_tui.live.frame import DashboardFrame, ViewSettings
from lvs_tui.model.dashboard import compile_filter
from lvs_tui.model.format import bits, human
from lvs_tui.model.pairview import DirectorsView
from lvs_tui.model.printable import printable
from lvs_tui.model.records import SyncDaemon
from lvs_tui.ops.drain import DrainStatus, eta_text
from lvs_tui.ui.rows import Display


def director_strip(frame: DashboardFrame, exact: bool, now: float) -> Text:
    """Two lines: the table's size and connections; the traffic and the director's own load. With
    several directors a third line leads: each director (see `directors_line`)."""
    snapshot, totals = frame.snapshot, frame.totals
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
    load = frame.host
    if load is not None:
        traffic.append(f"  │ director cpu {load.cpu_percent:.0f}% (softirq {load.softirq_percent:.0f}%)"
                       f" mem {load.memory_percent:.0f}%")
        for nic in load.interfaces[:2]:
            traffic.append(f" {nic.name} ↓{bits(nic.rx_bps)} ↑{bits(nic.tx_bps)}")
    lines = [table, traffic]
    if frame.directors is not None:
        lines.insert(0, directors_line(frame.directors, now))
    return Text("\n").join(lines)


def directors_line(view: DirectorsView, now: float) -> Text:
    """`▶lb1 ✔ 0.3s master 5 VIP 3/3 │ lb2 ✔ 0.8s backup 5 VIP 0/3 ≠2 │ n: next`: the one shown in
    reverse; each one's last good poll, its sync daemons, how many VIPs of the table shown it holds,
    how many things differ from the table shown (or `same`); then a VIP on two directors or on none,
    and what would lose connections at a failover. Names come from the command line, the rest from
    the kernels: printable."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for index, state in enumerate(view.directors):
        if index:
            text.append(" │ ")
        shown = index == view.shown
        text.append(f"{'▶' if shown else ' '}{printable(state.name)}",
                    style="bold reverse" if shown else "bold")
        if state.error is not None:
            text.append(" ✖ unreachable" if state.polled_at is None else " ✖ failing", style="bold red")
        else:
            text.append(" ✔", style="green")
        if state.polled_at is not None:
            text.append(f" {now - state.polled_at:.1f}s")
        text.append(f" {printable(sync_role(state.daemons))}", style="dim" if not state.daemons else "")
        if state.holds is not None and view.vips:
            text.append(f" VIP {state.holds}/{len(view.vips)}", style="bold" if state.holds else "dim")
        if state.drift is not None:
            text.append(f" ≠{len(state.drift)}" if state.drift else " same",
                        style="bold magenta" if state.drift else "green")
    elsewhere = view.only_elsewhere()
    if elsewhere:
        text.append(f" · {len(elsewhere)} service{'s' * (len(elsewhere) != 1)} not here",
                    style="bold magenta")
    if view.vip_problems:
        text.append(f" · ⚠ {printable(view.vip_problems[0])}", style="bold yellow")
    if view.sync:
        text.append(f" · ⚠ {printable(view.sync[0])}", style="yellow")
    text.append(" │ n: next", style="dim")
    return text


def sync_role(daemons: tuple[SyncDaemon, ...] | None) -> str:
    """`master 5`, `master 5 + backup 5`, `no sync`; `sync ?` until read."""
    if daemons is None:
        return "sync ?"
    return " + ".join(f"{daemon.state} {daemon.syncid}" for daemon in daemons) or "no sync"


def drains_text(hosts: list[tuple[str, int, DrainStatus]]) -> Text:
    """The drains line: each drained host, its progress and ETA first (what a narrow terminal must
    keep), then what is left and over how many services."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for index, (address, servers, status) in enumerate(hosts):
        if index:
            text.append("  │  ")
        counts = status.counts
        text.append(f"draining {address}", style="bold")
        if status.drained:
            text.append(": ")
            text.append("drained", style="bold green")
        else:
            text.append(f": {status.progress * 100:.0f}%", style="bold")
            text.append(f" {eta_text(status)}")
            text.append(f" · {counts.active} active {counts.inactive} inactive {counts.persistent} "
                        "persistent left")
        text.append(f" · {servers} service{'s' if servers != 1 else ''}")
    return text


def status_line(frame: DashboardFrame, description: str, interval: float, now: float, paused: bool,
                view: ViewSettings, display: Display, read_only: str | None) -> tuple[Text, bool]:
    """The status line, and whether it reports a failing poll. What an operator must not miss comes
    first (paused, read-only, the age of the figures, health, the doctor): a narrow terminal cuts
    the end of the line."""
    parts = Text(no_wrap=True, overflow="ellipsis")
    if paused:
        parts.append(" PAUSED ", style="bold reverse yellow")
        parts.append(" ")
    if read_only:  # the mark first, the reason last: it is long ("no journal configured")
        parts.append("read-only", style="bold reverse")
        parts.append(" ")
    age = "never" if frame.polled_at is None else f"{now - frame.polled_at:.1f}s ago"
    if frame.directors is not None:  # the director shown, of several
        description = f"director {frame.directors.shown_name}"
    parts.append(f"{printable(description)} · every {interval:g}s · last good poll {age}")
    snapshot = frame.snapshot
    if snapshot is not None and snapshot.dests_read_at:  # a large table, read in tiers
        parts.append(f" · other real servers' counters ≤{snapshot.counters_age():.0f}s old")
    if frame.health is not None:  # early in the line: what fails matters more than the sort
        parts.append_text(health_summary(frame.health))
    if frame.doctor is not None:
        parts.append_text(doctor_summary(frame.doctor))
    if view.filter:
        parts.append(f" · filter /{printable(view.filter)}/", style="cyan")
        error = compile_filter(view.filter).error
        if error:
            parts.append(f" {error}", style="bold yellow")
    parts.append(f" · sort {view.sort.column}{' ▼' if view.sort.reverse else ''}")
    parts.append(f" · {'counters' if display.counters else 'rates'}, trend {display.metric.value}")
    facts = frame.facts
    if read_only:
        parts.append(f" · read-only: {printable(read_only)}", style="bold")
    elif facts.owner_warnings:
        parts.append(" · ⚠ table managed by another tool", style="yellow")
    if facts.sysctl_warnings:
        parts.append(" · ⚠ run_estimation=0: the kernel's own rates read 0", style="yellow")
    if frame.error:
        return Text(f"✖ {printable(frame.error)}  ({parts.plain})", no_wrap=True, overflow="ellipsis"), True
    return parts, False


def health_summary(view: HealthView) -> Text:
    """` · health ✔5 ✖1 (lvs-top health (pid 812))`, and loudly what min_healthy holds. What the
    view says comes from a state file anyone may have written: Text (never markup), printable."""
    if view.problem is not None:
        return Text(f" · health: {printable(view.problem)}", style="bold red")
    if not view.running:
        return Text(f" · health: {printable(view.source) or 'the checker'} is not running", style="bold red")
    counts = view.counts()
    text = Text(" · health ")
    text.append(f"✔{counts[Health.HEALTHY]}", style="green")
    if counts[Health.UNHEALTHY]:
        text.append(f" ✖{counts[Health.UNHEALTHY]}", style="bold red")
    if counts[Health.CHECKING]:
        text.append(f" …{counts[Health.CHECKING]}", style="dim")
    if counts[Health.DISABLED]:
        text.append(f" ‖{counts[Health.DISABLED]}", style="yellow")
    text.append(f" ({printable(view.source)})", style="dim")
    if view.held:
        text.append(f" ⚠ min_healthy keeps {len(view.held)} failing server"
                    f"{'s' if len(view.held) > 1 else ''} in rotation", style="bold reverse red")
    return text


def doctor_summary(report: DoctorReport) -> Text:
    """` · doctor ✖1 ⚠2 (enter on a service: why)`; nothing while all is well."""
    text = Text()
    errors, warnings = report.counts()
    if errors or warnings:
        text.append(f" · doctor ✖{errors} ⚠{warnings} (enter on a service: why)",
                    style="bold red" if errors else "yellow")
    if report.error:
        text.append(f" · {report.error}", style="yellow")
    return text
