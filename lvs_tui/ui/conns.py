""""Who is still on it?": the live connections of one real server (or host), grouped by client.

The connection table is read from /proc/net/ip_vs_conn (not on netlink) by a streaming reader in
a worker thread, so a table of millions of entries never blocks the keyboard; the next read starts
`REREAD_SECONDS` after the previous one ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.model.connections import ClientGroup, Connection, by_client
from lvs_tui.model.printable import printable

REREAD_SECONDS = 2.0
SHOWN_CLIENTS = 500  # the busiest clients; the total still counts all of them

ReadConnections = Callable[[str, int | None], Iterable[Connection]]  # one real server's entries


def groups_table(groups: list[ClientGroup]) -> Table:
    table = Table(show_header=True, header_style="bold", expand=False, box=None, pad_edge=False)
    for name, justify in (("client", "left"), ("conns", "right"), ("by state", "left"),
                          ("templates", "right"), ("last goes in", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for group in groups[:SHOWN_CLIENTS]:
        states = " ".join(f"{state} {count}" for state, count in group.states.items())
        table.add_row(Text(group.client), str(group.connections), Text(printable(states)),
                      str(group.templates), f"{group.longest_expiry} s")
    return table


class ConnectionsScreen(Screen[None]):
    BINDINGS = [Binding("escape,q,c", "app.pop_screen", "Back", tooltip="Back to the dashboard")]

    def __init__(self, read: ReadConnections, address: str, port: int | None, title: str) -> None:
        super().__init__()
        self._read = read
        self._address = address
        self._port = port
        self._title = title

    def compose(self) -> ComposeResult:
        yield Static(Text(f"Who is still on {self._title}", style="bold"), id="conns-title")
        yield Static("reading the connection table…", id="conns-summary")
        with VerticalScroll(id="conns-body"):
            yield Static(id="conns-table")
        yield Footer()

    def on_mount(self) -> None:
        self._refresh_loop()

    @work(thread=True, exclusive=True, group="conns")
    def _refresh_loop(self) -> None:
        worker = get_current_worker()  # cancelled when the screen is closed
        while not worker.is_cancelled:
            started = time.monotonic()
            try:
                groups = by_client(self._read(self._address, self._port))
                error = None
            except IpvsError as failure:
                groups, error = [], str(failure)
            seconds = time.monotonic() - started
            if worker.is_cancelled:
                return
            self.app.call_from_thread(self._show, groups, error, seconds)
            deadline = time.monotonic() + REREAD_SECONDS
            while time.monotonic() < deadline and not worker.is_cancelled:
                time.sleep(0.1)

    def _show(self, groups: list[ClientGroup], error: str | None, seconds: float) -> None:
        if not self.is_attached:
            return
        summary = self.query_one("#conns-summary", Static)
        if error is not None:
            summary.update(Text(f"✖ {error}", style="red"))
            return
        conns = sum(group.connections for group in groups)
        templates = sum(group.templates for group in groups)
        line = (f"{len(groups)} clients · {conns} connections · {templates} persistence templates "
                f"· read in {seconds * 1000:.0f} ms, every {REREAD_SECONDS:g} s")
        if not groups:
            line = f"No connection and no template left · read in {seconds * 1000:.0f} ms"
        elif len(groups) > SHOWN_CLIENTS:
            line += f" · the {SHOWN_CLIENTS} busiest clients shown"
        summary.update(Text(line))
        self.query_one("#conns-table", Static).update(groups_table(groups))
