"""The sync daemon form (`Y`) at 80x24 on the simulated director: what runs is shown, stopping is
confirmed again and undone with `u`, starting a backup is the command the form shows."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Select, Static

from lvs_tui.model.records import SyncDaemon
from lvs_tui.ops.journal import Journal, outcomes
from lvs_tui.sim import SimulatedDirector
from lvs_tui.ui.confirm import ConfirmScreen
from lvs_tui.ui.syncform import SyncDaemonForm
from tests.app.pilot import until
from tests.app.test_app_forms import applicable, said
from tests.app.test_app_ops import app_on

MASTER = SyncDaemon("master", "eth1", 1)  # the demo director's


async def test_the_sync_daemon_is_stopped_confirmed_undone_and_a_backup_started(tmp_path: Path) -> None:
    sim = SimulatedDirector(seed=1)
    app = app_on(sim, tmp_path / "j.jsonl")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.frame.facts.daemons == (MASTER,))
        await pilot.press("Y")
        form = app.screen
        assert isinstance(form, SyncDaemonForm)
        running = str(form.query_one("#sync-running", Static).render())
        assert "Running here: master on eth1, sync id 1" in running
        assert said(form) == "ipvsadm --stop-daemon master"  # what runs is what the form offers to stop
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ConfirmScreen)  # stopping asks again, with what a failover loses
        await pilot.press("y")
        await until(pilot, lambda: app.frame.facts.daemons == ())
        assert sim.daemons() == ()
        await pilot.press("u")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await until(pilot, lambda: app.frame.facts.daemons == (MASTER,))

        await pilot.press("Y")
        starting = app.screen
        assert isinstance(starting, SyncDaemonForm)
        starting.query_one("#action", Select).value = "start"
        starting.query_one("#state", Select).value = "master"
        await pilot.pause(0.1)
        assert not applicable(starting)
        assert "a sync master is already running (on eth1, sync id 1)" in said(starting)
        starting.query_one("#state", Select).value = "backup"
        starting.query_one("#interface", Input).value = "eth2"
        starting.query_one("#syncid", Input).value = "256"
        await pilot.pause(0.1)
        assert not applicable(starting) and "sync id must be a whole number from 0 to 255" in said(starting)
        starting.query_one("#syncid", Input).value = "7"
        await pilot.pause(0.1)
        assert said(starting) == "ipvsadm --start-daemon backup --mcast-interface eth2 --syncid 7"
        await pilot.press("ctrl+s")  # starting: the form, showing its command, is the confirmation
        await until(pilot, lambda: SyncDaemon("backup", "eth2", 7) in (app.frame.facts.daemons or ()))
    journal = Journal(tmp_path / "j.jsonl")
    assert [(entry["action"], entry["target"]) for entry in outcomes(journal.entries())] == [
        ("stop_daemon", "sync master"), ("undo", "sync master"), ("start_daemon", "sync backup")]


async def test_a_read_only_session_opens_no_sync_daemon_form(tmp_path: Path) -> None:
    sim = SimulatedDirector(seed=1)
    app = app_on(sim, tmp_path / "j.jsonl", read_only="--read-only")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.frame.snapshot is not None)
        await pilot.press("Y")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, SyncDaemonForm) and sim.daemons() == (MASTER,)
