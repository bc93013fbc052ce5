"""The dashboard's change keys against the real kernel, driven headless through Pilot.

(a) A maintenance sequence done with keys leaves the kernel exactly as the equivalent ipvsadm
commands, written out by hand here, leave it; replaying the journal's commands does too.
(b) In a read-only session every change key, in both panes, confirmed with `y`, leaves
`ipvsadm -Sn` byte-for-byte unchanged and writes no journal.
"""

from __future__ import annotations

import asyncio
import functools
import shlex
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from lvs_tui.ui.grid import Grid
from lvs_tui.ui.keys import bindings, is_change
from tests.kernel.lab import dashboard
from tests.kernel.lab.commands import clear, ipvsadm, ipvsadm_lines, listing, save
from tests.kernel.lab.journal import settled

RULES = [
    "-A -t 10.10.0.1:80 -s wrr",
    "-a -t 10.10.0.1:80 -r 10.20.1.2:80 -m -w 3",
    "-a -t 10.10.0.1:80 -r 10.20.2.2:80 -m -w 2 -x 500 -y 100",
    "-a -t 10.10.0.1:80 -r 10.20.3.2:80 -m -w 1",
    "-A -t 10.10.0.1:443 -s wlc -p 120",
    "-a -t 10.10.0.1:443 -r 10.20.1.2:443 -m -w 5",
    "-a -t 10.10.0.1:443 -r 10.20.2.2:443 -m -w 5",
]
# What an operator would type for the same maintenance, in the same order.
BY_HAND = [
    ["-e", "-t", "10.10.0.1:80", "-r", "10.20.1.2:80", "-m", "-w", "0"],  # d on rs1 in :80
    ["-e", "-t", "10.10.0.1:443", "-r", "10.20.1.2:443", "-m", "-w", "0"],  # D: rs1 in :443 too
    ["-e", "-t", "10.10.0.1:80", "-r", "10.20.2.2:80", "-m", "-w", "12", "-x", "500", "-y", "100"],  # }
    ["-e", "-t", "10.10.0.1:80", "-r", "10.20.2.2:80", "-m", "-w", "22", "-x", "500", "-y", "100"],  # }
    ["-d", "-t", "10.10.0.1:80", "-r", "10.20.3.2:80"],  # delete on rs3
    ["-E", "-t", "10.10.0.1:80", "-s", "rr"],  # e, scheduler rr
    ["-e", "-t", "10.10.0.1:443", "-r", "10.20.1.2:443", "-m", "-w", "5"],  # b on rs1 in :443
]


def kernel_state() -> tuple[list[str], dict[str, Any]]:
    """`ipvsadm -Sn` and the thresholds it leaves out."""
    listed = listing("--thresholds")
    thresholds = {sid: {did: (d.int("Uthreshold"), d.int("Lthreshold")) for did, d in s.dests.items()}
                  for sid, s in listed.services.items()}
    return save(), thresholds


def run_app(steps: Callable[[Any, Any], Awaitable[None]], journal: Path, read_only: bool = False) -> None:
    args = ["--journal", str(journal)] + (["--read-only"] if read_only else [])

    async def drive() -> None:
        app = dashboard.app(*args)
        async with dashboard.driven(app, (140, 40)) as pilot:
            await until(pilot, lambda: app.query_one("#dests", Grid).row_count > 0)
            await steps(app, pilot)

    asyncio.run(drive())


async def until(pilot: Any, condition: Callable[[], bool], timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await pilot.pause(0.1)


async def shown(app: Any, pilot: Any, selector: str) -> Any:
    """The widget `selector` on the screen on top, once it is mounted: a key that opens a form
    returns before the form's fields exist when the machine is slow (an emulated VM)."""
    await until(pilot, lambda: bool(app.screen.query(selector)) and app.screen.query_one(selector).is_mounted)
    return app.screen.query_one(selector)


def dest_weight(app: Any, service: str, dest: str) -> int | None:
    snapshot = app.frame.snapshot
    for svc in snapshot.services:
        if svc.key.id == service:
            for d in svc.dests:
                if d.key.id == dest:
                    return int(d.weight)
    return None


def weight_is(app: Any, service: str, dest: str, weight: int) -> bool:
    return dest_weight(app, service, dest) == weight


async def select(app: Any, pilot: Any, service: str, dest: str | None) -> None:
    """Put the cursor on `service` (and its real server `dest`, focusing that pane)."""
    from lvs_tui.model.records import DestKey

    services = app.query_one("#services", Grid)
    services.move_to(next(s.key for s in app.frame.snapshot.services if s.key.id == service))
    # The real servers pane follows the services cursor through a message: wait for it.
    await until(pilot, lambda: (shown := app.dashboard.service_shown) is not None and shown.key.id == service)
    if dest is None:
        services.focus()
        return
    dests = app.query_one("#dests", Grid)
    address, port = dest.rsplit(":", 1)
    dests.move_to(DestKey(address, int(port)))
    dests.focus()
    await until(pilot, lambda: dests.cursor_key == DestKey(address, int(port)) and dests.has_focus)


async def maintenance(app: Any, pilot: Any) -> None:
    await select(app, pilot, "tcp:10.10.0.1:80", "10.20.1.2:80")
    await pilot.press("d", "y")
    await until(pilot, lambda: dest_weight(app, "tcp:10.10.0.1:80", "10.20.1.2:80") == 0)
    await pilot.press("D", "y")  # the same host in :443 (already 0 in :80: listed as skipped)
    await until(pilot, lambda: dest_weight(app, "tcp:10.10.0.1:443", "10.20.1.2:443") == 0)
    await select(app, pilot, "tcp:10.10.0.1:80", "10.20.2.2:80")
    for _ in range(2):
        weight = dest_weight(app, "tcp:10.10.0.1:80", "10.20.2.2:80")
        assert weight is not None
        await pilot.press("right_curly_bracket", "enter")
        await until(pilot, functools.partial(weight_is, app, "tcp:10.10.0.1:80", "10.20.2.2:80", weight + 10))
    await select(app, pilot, "tcp:10.10.0.1:80", "10.20.3.2:80")
    await pilot.press("delete", "y")
    await until(pilot, lambda: dest_weight(app, "tcp:10.10.0.1:80", "10.20.3.2:80") is None)
    await select(app, pilot, "tcp:10.10.0.1:80", None)
    await pilot.press("e")
    (await shown(app, pilot, "#scheduler")).value = "rr"
    await pilot.pause(0.2)
    await pilot.press("ctrl+s", "y")  # a scheduler change is confirmed once more
    await until(pilot, lambda: next(s.scheduler for s in app.frame.snapshot.services
                                    if s.key.id == "tcp:10.10.0.1:80") == "rr")
    await select(app, pilot, "tcp:10.10.0.1:443", "10.20.1.2:443")
    await pilot.press("b", "enter")
    await until(pilot, lambda: dest_weight(app, "tcp:10.10.0.1:443", "10.20.1.2:443") == 5)


def test_keys_leave_the_kernel_as_the_equivalent_ipvsadm_commands(tmp_path: Path) -> None:
    ipvsadm_lines(RULES)
    journal = tmp_path / "journal.jsonl"
    run_app(maintenance, journal)
    by_keys = kernel_state()

    clear()
    ipvsadm_lines(RULES)
    for args in BY_HAND:
        ipvsadm(*args)
    assert kernel_state() == by_keys

    entries = settled(journal)
    assert [e["result"] for e in entries] == ["ok"] * len(BY_HAND)
    clear()
    ipvsadm_lines(RULES)
    for entry in entries:  # the journal is a replayable record of what was done
        subprocess.run(shlex.split(entry["command"]), check=True, capture_output=True)
    assert kernel_state() == by_keys


async def press_every_change_key(app: Any, pilot: Any) -> None:
    keys = [b.key.split(",")[0] for b in bindings() if is_change(b)]
    assert len(keys) >= 14
    # Every key in both panes; a pane is focused once for all its keys (each focus change repaints
    # both grids, a second of work under emulation), again only if a key took the focus away.
    for pane in ("#services", "#dests"):
        grid = app.query_one(pane, Grid)
        for key in keys:
            if not grid.has_focus:
                grid.focus()
            await pilot.press(key, "y")  # a form or a confirmation would fail the assertion below
            assert app.screen is app.dashboard, f"{key} opened a screen in a read-only session"
    app.request_poll()
    await pilot.pause(1.0)


def test_read_only_session_sends_nothing_whatever_is_pressed(tmp_path: Path) -> None:
    ipvsadm_lines(RULES)
    before = ipvsadm("-Sn").stdout
    journal = tmp_path / "journal.jsonl"
    run_app(press_every_change_key, journal, read_only=True)
    assert ipvsadm("-Sn").stdout == before
    assert not journal.exists()
