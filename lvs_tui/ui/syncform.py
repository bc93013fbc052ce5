"""The sync daemon form (`Y`): start the IPVS connection-sync daemon as a master or a backup, or
stop the one running, as ipvsadm --start-daemon and --stop-daemon do. The form shows the command
as it is typed; stopping asks again, with what a failover would then lose."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input, Select, Static

from lvs_tui.ipvs.errors import InvalidArgument
from lvs_tui.model.printable import printable
from lvs_tui.model.records import SyncDaemon
from lvs_tui.ops import changes
from lvs_tui.ops.changes import Plan
from lvs_tui.ui.forms import FormScreen, labelled, whole


class SyncDaemonForm(FormScreen):
    TITLE_TEXT = "IPVS sync daemon: start or stop"

    def __init__(self, running: tuple[SyncDaemon, ...] | None) -> None:
        self.running = running  # None: not read yet
        super().__init__()

    def fields(self) -> ComposeResult:
        running = self.running or ()
        said = "; ".join(f"{d.state} on {d.mcast_ifn}, sync id {d.syncid}" for d in running)
        known = "not read yet" if self.running is None else said or "none"
        yield Static(Text(f"Running here: {printable(known)}"), id="sync-running")
        first = running[0] if running else None
        action: Select[object] = Select([("start", "start"), ("stop", "stop")],
                                        value="stop" if first else "start", allow_blank=False, id="action")
        state: Select[object] = Select([("master", "master"), ("backup", "backup")], allow_blank=False,
                                       value=first.state if first else "master", id="state")
        yield labelled("Action", action)
        yield labelled("State", state)
        yield labelled("Interface", Input(first.mcast_ifn if first else "", placeholder="eth1",
                                          id="interface"), "interface-row")
        yield labelled("Sync id", Input(str(first.syncid) if first else "", placeholder="0 to 255 (0: any)",
                                        id="syncid"), "syncid-row")

    def arrange_fields(self) -> None:
        starting = self.choice("#action") == "start"
        self.show("#interface-row", starting)
        self.show("#syncid-row", starting)

    def build(self) -> Plan:
        state = str(self.choice("#state"))
        running = self.running or ()
        if self.choice("#action") == "stop":
            found = next((daemon for daemon in running if daemon.state == state), None)
            if found is None:
                raise InvalidArgument(f"no sync {state} is running here.")
            return changes.plan_stop_daemon(found)
        interface = self.value("#interface").strip()
        if not interface:
            raise InvalidArgument("enter the interface the sync messages go through (e.g. eth1).")
        syncid = whole("sync id", self.value("#syncid"), default=0, high=255)
        return changes.plan_start_daemon(SyncDaemon(state, interface, syncid), running)
