"""The dashboard headless against the real kernel with real traffic: the numbers in its tables
equal ipvsadm's for the same table."""

from __future__ import annotations

import asyncio
import time

import lab

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
    from lvs_tui.ipvs.kernel import KernelBackend
    from lvs_tui.ui.app import LvsTopApp
    from lvs_tui.ui.grid import Grid

    app = LvsTopApp(KernelBackend, "kernel", interval=3600.0)
    async with app.run_test(size=(200, 30)) as pilot:
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


def test_dashboard_tables_equal_ipvsadm(topology: lab.Lab) -> None:
    lab.ipvsadm_lines(RULES)
    assert topology.traffic(12) == {"rs1": 2, "rs2": 4, "rs3": 6}
    time.sleep(2.5)  # counters land on the next 2-second estimator tick
    service_row, dest_rows = asyncio.run(dashboard_rows())

    stats = lab.listing("--stats").services["tcp:10.10.0.1:80"]
    plain = lab.listing().services["tcp:10.10.0.1:80"]
    # Service row: Service(2 words) Scheduler Srv Active InAct Conns InPkts OutPkts InBytes OutBytes
    assert service_row[:4] == ["TCP", "10.10.0.1:80", "wrr", "3/3"]
    active = sum(d.int("ActiveConn") for d in plain.dests.values())
    inactive = sum(d.int("InActConn") for d in plain.dests.values())
    assert [int(w) for w in service_row[4:6]] == [active, inactive]
    columns = ["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"]
    assert [int(w) for w in service_row[6:11]] == [stats.int(c) for c in columns]
    assert stats.int("Conns") == 12

    thresholds = lab.listing("--thresholds").services["tcp:10.10.0.1:80"]
    assert set(dest_rows) == set(plain.dests)
    for dest_id, words in dest_rows.items():
        # Real server, Fwd, Weight, U/L thr, Active, InAct, Pers, Conns, InBytes, OutBytes, Share, State
        listed, counted = plain.dests[dest_id], stats.dests[dest_id]
        limits = thresholds.dests[dest_id]
        assert words[1] == "NAT" and int(words[2]) == listed.int("Weight")
        assert words[3] == f"{limits.int('Uthreshold')}/{limits.int('Lthreshold')}"
        assert [int(w) for w in words[4:6]] == [listed.int("ActiveConn"), listed.int("InActConn")]
        assert [int(w) for w in words[7:10]] == [counted.int(c) for c in ("Conns", "InBytes", "OutBytes")]
