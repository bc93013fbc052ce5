"""Pilot tests of the dashboard's changes on the simulated director: keys, confirmations, forms,
the journal, undo, drains and read-only mode."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Button, Static

from lvs_tui.ipvs.backend import DestConfig
from lvs_tui.ipvs.readonly import ReadOnlyBackend
from lvs_tui.model.connections import Connection
from lvs_tui.model.records import Dest, Service, ServiceKey, Snapshot
from lvs_tui.ops.commands import save_lines
from lvs_tui.ops.journal import Journal, outcomes
from lvs_tui.ops.owners import Owner
from lvs_tui.ops.setup import OpsSetup
from lvs_tui.ops.sysctl import KERNEL_DEFAULTS, Sysctls
from lvs_tui.sim import SimulatedDirector
from lvs_tui.ui import keys
from lvs_tui.ui.app import LvsTopApp
from lvs_tui.ui.confirm import ConfirmScreen
from lvs_tui.ui.conns import ConnectionsScreen
from lvs_tui.ui.factory import AppSettings, make_app
from lvs_tui.ui.forms import DestForm, ServiceForm
from lvs_tui.ui.grid import Grid
from tests.app.pilot import SLOW, until

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)  # the demo's first service: wrr, four real servers


def app_on(director: SimulatedDirector, journal: Path, read_only: str | None = None,
             owners: tuple[Owner, ...] = ()) -> LvsTopApp:
    setup = OpsSetup(read_only, Journal(journal), lambda: Sysctls(dict(KERNEL_DEFAULTS)), None,
                     lambda: owners)
    backend = (lambda: ReadOnlyBackend(director, read_only)) if read_only else (lambda: director)
    return make_app(AppSettings(backend, "demo", SLOW, setup))


def service(app: LvsTopApp, key: ServiceKey = WEB) -> Service:
    snapshot = app.frame.snapshot
    assert snapshot is not None
    found = snapshot.service(key)
    assert found is not None
    return found


def first_dest(app: LvsTopApp) -> Dest:
    return service(app).dests[0]


def journal_entries(path: Path) -> list[dict[str, object]]:
    """What became of each change (the intents written before them left out)."""
    return list(outcomes(Journal(path).entries()))


async def ready(pilot: Pilot[None], app: LvsTopApp) -> None:
    """First poll in, the real servers pane focused on the first real server of WEB."""
    await until(pilot, lambda: app.query_one("#dests", Grid).row_count > 0)
    await pilot.press("tab")


async def test_drain_asks_first_then_sets_weight_zero_and_tracks_it(tmp_path: Path) -> None:
    director = SimulatedDirector(seed=3)
    app = app_on(director, tmp_path / "j.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        dest = first_dest(app)
        assert dest.weight > 0
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        body = str(app.screen.query_one("#confirm-body Static", Static).render())
        assert f"ipvsadm -e -t 192.0.2.10:80 -r {dest.key} -m -w 0" in body
        assert app.screen.focused is app.screen.query_one("#cancel", Button)  # destructive: No first
        await pilot.press("y")
        await until(pilot, lambda: first_dest(app).weight == 0)
        assert app.frame.drains.status(WEB, dest.key) is not None
        cells = app.dashboard.rows.dest_row(service(app), first_dest(app), None)
        assert "%" in str(cells[-1]) or "drained" in str(cells[-1])
        [entry] = journal_entries(tmp_path / "j.jsonl")
        assert entry["action"] == "edit_dest" and entry["result"] == "ok"
        assert entry["before"]["weight"] == dest.weight and entry["after"]["weight"] == 0  # type: ignore[index]


async def test_cancelled_confirmation_changes_nothing(tmp_path: Path) -> None:
    director = SimulatedDirector(seed=3)
    app = app_on(director, tmp_path / "j.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        weight = first_dest(app).weight
        for cancel in ("n", "escape"):
            await pilot.press("delete")
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("enter")  # Enter on the focused "Cancel" of a destructive plan
            assert not isinstance(app.screen, ConfirmScreen)
            await pilot.press("d", cancel)
        app.request_poll()
        await pilot.pause(0.3)
        assert first_dest(app).weight == weight
        assert len(service(app).dests) == 4
        assert not (tmp_path / "j.jsonl").exists()


async def test_undo_puts_back_a_removed_server_with_its_settings(tmp_path: Path) -> None:
    director = SimulatedDirector(seed=3)
    app = app_on(director, tmp_path / "j.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        before = save_lines(app.frame.snapshot)  # type: ignore[arg-type]
        await pilot.press("delete", "y")
        await until(pilot, lambda: len(service(app).dests) == 3)
        await pilot.press("u")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await until(pilot, lambda: len(service(app).dests) == 4)
        assert save_lines(app.frame.snapshot) == before  # type: ignore[arg-type]
        actions = [entry["action"] for entry in journal_entries(tmp_path / "j.jsonl")]
        assert actions == ["delete_dest", "undo"]
        await pilot.press("u")  # the stack is empty now: nothing is asked, nothing changes
        assert not isinstance(app.screen, ConfirmScreen)


async def test_weight_steps_and_bring_back(tmp_path: Path) -> None:
    director = SimulatedDirector(seed=3)
    app = app_on(director, tmp_path / "j.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        weight = first_dest(app).weight
        await pilot.press("right_curly_bracket", "enter")  # +10: harmless, Enter applies
        await until(pilot, lambda: first_dest(app).weight == weight + 10)
        await pilot.press("left_square_bracket", "enter")
        await until(pilot, lambda: first_dest(app).weight == weight + 9)
        await pilot.press("d", "y")
        await until(pilot, lambda: first_dest(app).weight == 0)
        await pilot.press("b")
        assert f"-w {weight + 9}" in str(app.screen.query_one("#confirm-body Static", Static).render())
        await pilot.press("enter")
        await until(pilot, lambda: first_dest(app).weight == weight + 9)
        assert app.frame.drains.status(WEB, first_dest(app).key) is None  # the drain ended


async def test_drain_host_covers_every_service_of_that_address(tmp_path: Path) -> None:
    director = SimulatedDirector(seed=3)
    other = ServiceKey.inet("tcp", "192.0.2.10", 443)
    app = app_on(director, tmp_path / "j.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        address = first_dest(app).address
        in_other = [d for d in service(app, other).dests if d.address == address]
        assert in_other, "the demo puts this host behind two services"
        await pilot.press("D")
        body = str(app.screen.query_one("#confirm-body Static", Static).render())
        assert "192.0.2.10:80" in body and "192.0.2.10:443" in body
        await pilot.press("y")
        await until(pilot, lambda: all(d.weight == 0 for s in app.frame.snapshot.services  # type: ignore[union-attr]
                                       for d in s.dests if d.address == address))
        [(host, servers, _)] = list(app.frame.drains.hosts)
        assert host == address and servers >= 2
        assert "draining " + address in str(app.query_one("#drains", Static).render())


async def test_drained_server_is_removed_only_once_drained(tmp_path: Path) -> None:
    director = SimulatedDirector(seed=3)
    director.add_dest(WEB, DestConfig("198.51.100.99", 8080, weight=1))  # no traffic yet: empty
    app = app_on(director, tmp_path / "j.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        while first_dest(app).address != "198.51.100.99":
            await pilot.press("down")
        await pilot.press("d")
        await pilot.click("#remove-when-drained")
        await pilot.press("y")
        await until(pilot, lambda: all(d.address != "198.51.100.99" for d in service(app).dests))
        actions = [entry["action"] for entry in journal_entries(tmp_path / "j.jsonl")]
        assert actions == ["edit_dest", "auto_remove"]


async def test_add_service_form_validates_as_you_type(tmp_path: Path) -> None:
    director = SimulatedDirector(seed=3)
    app = app_on(director, tmp_path / "j.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.frame.snapshot is not None)
        await pilot.press("a")
        form = app.screen
        assert isinstance(form, ServiceForm)
        await pilot.press(*"192.0.2.300", "tab", "8", "0")
        assert form.query_one("#apply", Button).disabled
        said = str(form.query_one("#form-result", Static).render())
        assert "must be an IPv4 or IPv6 address, not '192.0.2.300'" in said
        form.query_one("#address").value = "192.0.2.99"  # type: ignore[attr-defined]
        await pilot.pause(0.1)
        assert not form.query_one("#apply", Button).disabled
        assert "ipvsadm -A -t 192.0.2.99:80 -s wlc" in str(form.query_one("#form-result", Static).render())
        await pilot.press("ctrl+s")  # adding is harmless: no second confirmation
        await until(pilot, lambda: app.frame.snapshot.service(  # type: ignore[union-attr]
            ServiceKey.inet("tcp", "192.0.2.99", 80)) is not None)


async def test_edit_form_offers_only_the_schedulers_flags_and_confirms_a_scheduler_change(
        tmp_path: Path) -> None:
    director = SimulatedDirector(seed=3)
    app = app_on(director, tmp_path / "j.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.frame.snapshot is not None and app.frame.facts.schedulers != ())
        await pilot.press("e")
        form = app.screen
        assert isinstance(form, ServiceForm)
        boxes = [box for box in form.query(".sched-flag") if box.display]
        assert boxes == []  # wrr reads no scheduler flags
        form.query_one("#scheduler").value = "sh"  # type: ignore[attr-defined]
        await pilot.pause(0.1)
        labels = sorted(str(box.label) for box in form.query(".sched-flag") if box.display)  # type: ignore[attr-defined]
        assert labels == ["sh-fallback", "sh-port"]
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ConfirmScreen)  # a scheduler change is confirmed again
        await pilot.press("y")
        await until(pilot, lambda: service(app).scheduler == "sh")
        await until(pilot, lambda: app.screen is app.dashboard)  # the form closes once it is applied


async def test_dest_form_refuses_a_bad_weight(tmp_path: Path) -> None:
    director = SimulatedDirector(seed=3)
    app = app_on(director, tmp_path / "j.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("e")
        form = app.screen
        assert isinstance(form, DestForm)
        form.query_one("#weight").value = "-3"  # type: ignore[attr-defined]
        await pilot.pause(0.1)
        assert form.query_one("#apply", Button).disabled
        said = str(form.query_one("#form-result", Static).render())
        assert "weight must be a whole number from 0 to 2147483647" in said


async def test_read_only_every_change_key_changes_nothing(tmp_path: Path) -> None:
    director = SimulatedDirector(seed=3)
    journal = tmp_path / "j.jsonl"
    app = app_on(director, journal, read_only="--read-only")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        before: Snapshot | None = app.frame.snapshot
        assert before is not None
        change_keys = [b.key for b in keys.bindings() if keys.is_change(b)]
        for key in change_keys:
            for pane in ("services", "dests"):
                app.query_one(f"#{pane}", Grid).focus()
                await pilot.press(key.split(",")[0], "y")
                assert app.screen is app.dashboard, f"{key} opened a screen in read-only mode"
        app.request_poll()
        await pilot.pause(0.3)
        assert save_lines(app.frame.snapshot) == save_lines(before)  # type: ignore[arg-type]
        assert not journal.exists()
        assert "read-only" in str(app.query_one("#status-line", Static).render())


async def test_an_owner_of_the_table_is_named_before_a_change(tmp_path: Path) -> None:
    director = SimulatedDirector(seed=3)
    owner = Owner("keepalived", 412, "/etc/keepalived/keepalived.conf")
    app = app_on(director, tmp_path / "j.jsonl", owners=(owner,))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await until(pilot, lambda: app.frame.facts.owner_warnings != ())
        await pilot.press("d")
        body = str(app.screen.query_one("#confirm-body Static", Static).render())
        assert "keepalived (pid 412, configured in /etc/keepalived/keepalived.conf)" in body
        await pilot.press("n")
        assert "managed by another tool" in str(app.query_one("#status-line", Static).render())


async def test_kernel_rate_estimation_off_is_said_on_screen(tmp_path: Path) -> None:
    director = SimulatedDirector(seed=3)
    setup = OpsSetup(None, Journal(tmp_path / "j.jsonl"), lambda: Sysctls({"run_estimation": 0}), None,
                     lambda: ())
    app = make_app(AppSettings(lambda: director, "demo", SLOW, setup))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.frame.facts.sysctl_warnings != ())
        assert "run_estimation=0" in str(app.query_one("#status-line", Static).render())


async def test_who_is_still_on_it_groups_the_servers_entries_by_client(tmp_path: Path) -> None:
    asked: list[tuple[str, int | None]] = []

    def entries(address: str, port: int | None) -> list[Connection]:
        asked.append((address, port))
        conn = Connection("tcp", "192.0.2.200", 40000, "192.0.2.10", 80, address, port or 0, "ESTABLISHED",
                          800, False)
        return [conn, conn._replace(client_port=40001, state="TIME_WAIT", expires=90),
                conn._replace(client="192.0.2.201", client_port=0, state="NONE", is_template=True)]

    director = SimulatedDirector(seed=3)
    setup = OpsSetup(None, Journal(tmp_path / "j.jsonl"), lambda: Sysctls({}), entries, lambda: ())
    app = make_app(AppSettings(lambda: director, "demo", SLOW, setup))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        dest = first_dest(app)
        await pilot.press("c")
        assert isinstance(app.screen, ConnectionsScreen)
        summary = app.screen.query_one("#conns-summary", Static)
        await until(pilot, lambda: "clients" in str(summary.render()))
        assert str(summary.render()).startswith("2 clients · 2 connections · 1 persistence templates")
        shown = app.export_screenshot().replace("&#160;", " ")
        assert "192.0.2.200" in shown and "ESTABLISHED 1 TIME_WAIT 1" in shown
        assert asked[0] == (dest.address, dest.port)
        await pilot.press("escape")
        assert app.screen is app.dashboard  # type: ignore[comparison-overlap]  # escape closed it
