"""How the tables fit a terminal's width: which columns leave first, and how a long address is
shortened (its middle goes, never its port)."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from lvs_tui.ui.grid import Column, fit, fitting
from lvs_tui.ui.rows import (
    DEST_COLUMNS_COUNTERS,
    DEST_COLUMNS_RATES,
    HEALTH_COLUMN,
    SERVICE_COLUMNS_COUNTERS,
    SERVICE_COLUMNS_RATES,
    compact,
)

COLUMNS = [Column("", "name", 10), Column("", "b", 4, drop=2), Column("", "c", 4, drop=1),
           Column("", "d", 4, drop=1), Column("", "state", 6)]  # fmt: skip


def test_every_column_stays_where_all_fit() -> None:
    assert fitting(COLUMNS, 32) == [0, 1, 2, 3, 4]


def test_columns_leave_in_their_drop_order_the_rightmost_first() -> None:
    assert fitting(COLUMNS, 31) == [0, 1, 2, 4]
    assert fitting(COLUMNS, 26) == [0, 1, 4]
    assert fitting(COLUMNS, 21) == [0, 4]


def test_columns_that_never_drop_stay_even_when_they_overflow() -> None:
    assert fitting(COLUMNS, 5) == [0, 4]


def test_at_80_columns_the_real_servers_keep_address_weight_active_and_state() -> None:
    shown = [compact(DEST_COLUMNS_RATES)[i].label for i in fitting(compact(DEST_COLUMNS_RATES), 80)]
    assert {"Real server", "Weight", "Active", "State"} <= set(shown)
    assert shown.index("Real server") == 0


def test_a_long_ipv6_address_keeps_its_port() -> None:
    address = "[2001:db8:1234:5678:9abc:def0:1234:5678]:8080"
    for width in (12, 16, 21, 30):
        cut = fit(Text(address), width, keep_end=True).plain
        assert len(cut) == width and "…" in cut and cut.endswith("]:8080")
        assert cut.startswith("[2001")


def test_a_service_label_keeps_its_style_and_port() -> None:
    cut = fit(Text("TCP  [2001:db8:abcd::80]:443", style="bold"), 21, keep_end=True)
    assert cut.plain.endswith("]:443") and cut.cell_len == 21
    assert all(span.style == "bold" for span in cut.spans) and cut.spans


def test_other_cells_lose_their_end() -> None:
    assert fit(Text("wlc persistent 300"), 10).plain == "wlc persi…"
    assert fit(Text("short"), 10).plain == "short"


def documented_drop_order() -> list[dict[str, int]]:
    """docs/dashboard.md's table of the order columns leave in: for services (rates), services
    (counters) and real servers, each column's rank (0: never)."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "dashboard.md").read_text()
    tables: list[dict[str, int]] = [{}, {}, {}]
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not (cells[0].isdigit() or cells[0] == "never"):
            continue
        rank = 0 if cells[0] == "never" else int(cells[0])
        for table, names in zip(tables, cells[1:], strict=True):
            for name in filter(None, (n.replace("(counters)", "").strip() for n in names.split(","))):
                table[name] = rank
    return tables


def test_the_documented_drop_order_is_the_columns_own() -> None:
    services, counters, dests = documented_drop_order()
    assert services == {c.label: c.drop for c in SERVICE_COLUMNS_RATES}
    assert counters == {c.label: c.drop for c in SERVICE_COLUMNS_COUNTERS}
    every_dest = [*DEST_COLUMNS_RATES, *DEST_COLUMNS_COUNTERS, HEALTH_COLUMN]
    assert dests == {c.label: c.drop for c in every_dest}
