"""The dashboard headless against the real kernel with real traffic: the numbers in its tables
equal ipvsadm's for the same table."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.widgets import Static

from lvs_tui.ui.grid import Grid
from tests.kernel.lab import dashboard
from tests.kernel.lab.commands import estimator_tick, ipvs_unloaded, ipvsadm_lines, listing
from tests.kernel.lab.topology import NatLab

RULES = [
    "-A -t 10.10.0.1:80 -s wrr",
    "-a -t 10.10.0.1:80 -r 10.20.1.2:80 -m -w 1",
    "-a -t 10.10.0.1:80 -r 10.20.2.2:80 -m -w 2",
    "-a -t 10.10.0.1:80 -r 10.20.3.2:80 -m -w 3 -x 500 -y 100",
]


def row_words(grid: object, row: int) -> list[str]:
    """What the grid shows on screen line `row` (0 = header), split into words."""
    return grid.render_line(row).text.split()  # type: ignore[attr-defined, no-any-return]


async def dashboard_rows() -> tuple[list[str], dict[str, list[str]]]:
    app = dashboard.app(changes=False)
    async with dashboard.driven(app, (200, 30)) as pilot:
        services = app.query_one("#services", Grid)
        for _ in range(600):
            if services.row_count:
                break
            await asyncio.sleep(0.1)
        await pilot.press("x", "t")  # exact numbers, counters instead of rates
        await pilot.pause()
        dests = app.query_one("#dests", Grid)
        service_row = row_words(services, 1)
        dest_rows = {words[0]: words for words in (row_words(dests, i + 1) for i in range(dests.row_count))}
    return service_row, dest_rows


def test_dashboard_tables_equal_ipvsadm(topology: NatLab) -> None:
    ipvsadm_lines(RULES)
    assert topology.requests(12) == {"rs1": 2, "rs2": 4, "rs3": 6}
    estimator_tick()  # counters land on the next 2-second estimator tick
    service_row, dest_rows = asyncio.run(dashboard_rows())

    stats = listing("--stats").services["tcp:10.10.0.1:80"]
    plain = listing().services["tcp:10.10.0.1:80"]
    # Service row: Service(2 words) Scheduler Srv Spread Active InAct Conns InPkts OutPkts InBytes OutBytes
    assert service_row[:4] == ["TCP", "10.10.0.1:80", "wrr", "3/3"]
    assert service_row[4] == "…"  # the distribution verdict: no new connection since it started
    active = sum(d.int("ActiveConn") for d in plain.dests.values())
    inactive = sum(d.int("InActConn") for d in plain.dests.values())
    assert [int(w) for w in service_row[5:7]] == [active, inactive]
    columns = ["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"]
    assert [int(w) for w in service_row[7:12]] == [stats.int(c) for c in columns]
    assert stats.int("Conns") == 12

    thresholds = listing("--thresholds").services["tcp:10.10.0.1:80"]
    assert set(dest_rows) == set(plain.dests)
    for dest_id, words in dest_rows.items():
        # Real server, Fwd, Weight, U/L thr, Active, InAct, Pers, Conns, InBytes, OutBytes, Share, State
        listed, counted = plain.dests[dest_id], stats.dests[dest_id]
        limits = thresholds.dests[dest_id]
        assert words[1] == "NAT" and int(words[2]) == listed.int("Weight")
        assert words[3] == f"{limits.int('Uthreshold')}/{limits.int('Lthreshold')}"
        assert [int(w) for w in words[4:6]] == [listed.int("ActiveConn"), listed.int("InActConn")]
        assert [int(w) for w in words[7:10]] == [counted.int(c) for c in ("Conns", "InBytes", "OutBytes")]


def cells(grid: Grid, row: int) -> dict[str, str]:
    """What the grid shows on screen line `row` (0 = header), cut by its columns on screen."""
    text, left, found = grid.render_line(row).text, 0, {}
    for column in grid.columns:
        found[column.label] = text[left:left + column.width].strip()
        left += column.width + 1
    return found


async def small_dashboard() -> tuple[list[str], bool, dict[str, str], dict[str, dict[str, str]], str]:
    """The dashboard at 80x24: the real servers' column titles and whether they fit without
    scrolling sideways, the service's row, each real server's row (by its address), the status
    line (all read while the app runs: its widgets are gone after)."""
    app = dashboard.app(changes=False)
    async with dashboard.driven(app, (80, 24)) as pilot:
        services, dests = app.query_one("#services", Grid), app.query_one("#dests", Grid)
        for _ in range(600):
            if services.row_count and dests.row_count == 3:
                break
            await asyncio.sleep(0.1)
        await pilot.pause()
        rows = [cells(dests, i + 1) for i in range(dests.row_count)]
        status = str(app.query_one("#status-line", Static).render())
        labels = [column.label for column in dests.columns]
        fits = dests.virtual_size.width <= dests.scrollable_content_region.width
        return labels, fits, cells(services, 1), {row["Real server"]: row for row in rows}, status


def test_dashboard_at_80x24_keeps_address_weight_active_and_state(topology: NatLab) -> None:
    ipvsadm_lines([*RULES[:3], "-a -t 10.10.0.1:80 -r 10.20.3.2:80 -m -w 0"])  # rs3 out of rotation
    topology.requests(12)
    estimator_tick()
    labels, fits, service, rows, status = asyncio.run(small_dashboard())

    assert labels[0] == "Real server" and {"Weight", "Active", "State"} <= set(labels)
    assert fits  # no sideways scrolling
    assert service["Service"].split() == ["TCP", "10.10.0.1:80"]
    plain = listing().services["tcp:10.10.0.1:80"]
    assert set(rows) == set(plain.dests)  # each address with its port, whole
    for dest_id, row in rows.items():
        listed = plain.dests[dest_id]
        assert int(row["Weight"]) == listed.int("Weight")
        assert int(row["Active"]) == listed.int("ActiveConn")
        assert row["State"]
    assert rows["10.20.3.2:80"]["State"] == "quiescent"
    assert status.startswith("read-only ")


async def survive_unload() -> tuple[str, int, str, list[str]]:
    app = dashboard.app(changes=False)
    async with dashboard.driven(app, (160, 30)) as pilot:
        services = app.query_one("#services", Grid)
        status = app.query_one("#status-line", Static)

        async def poll_until(done: Callable[[], bool]) -> None:
            for _ in range(300):
                app.request_poll()
                await asyncio.sleep(0.2)
                await pilot.pause()
                if done():
                    return

        async def quiet() -> None:
            """Until no poll is in flight: one still due would read the table emptied below."""
            number = -1
            while number != app.frame.number:
                number = app.frame.number
                await asyncio.sleep(1.5)
                await pilot.pause()

        await poll_until(lambda: services.row_count == 1)
        await quiet()
        assert services.row_count == 1
        with ipvs_unloaded():
            await poll_until(lambda: "modprobe ip_vs" in str(status.render()))
            failed = str(status.render())
            rows_while_failed = services.row_count
        ipvsadm_lines(["-A -u 10.10.0.1:53 -s rr"])
        await poll_until(lambda: "modprobe" not in str(status.render()) and services.row_count == 1)
        recovered = str(status.render())
        shown = [row_words(services, 1)[1]]
    return failed, rows_while_failed, recovered, shown


def test_the_dashboard_survives_ip_vs_unloaded_under_it_and_recovers() -> None:
    ipvsadm_lines(["-A -t 10.10.0.1:80 -s rr"])
    failed, rows_while_failed, recovered, shown = asyncio.run(survive_unload())
    assert "IPVS is not available" in failed  # one sentence, with what to do
    assert rows_while_failed == 1  # the last good figures stay on screen
    assert "not available" not in recovered
    assert shown == ["10.10.0.1:53"]  # the new table, read after ip_vs came back
