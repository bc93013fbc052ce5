"""Batch mode's text table: one word per column on every row, at any width, and honest units."""

from __future__ import annotations

import dataclasses
import json

import pytest

from lvs_tui.cli import main
from lvs_tui.cli.batch import COLUMNS, render_text
from lvs_tui.model.records import Snapshot
from lvs_tui.sim.director import SimulatedDirector

pytestmark = pytest.mark.unit

LABELS = [label or "->" for label, _ in COLUMNS]
HUGE = 2**64 - 1  # the widest value a 64-bit counter can hold


def rows(text: str) -> list[list[str]]:
    """The table rows (real servers and service totals), split on white space."""
    return [line.split() for line in text.splitlines() if line.startswith(("  -> ", "  =  "))]


def huge(snapshot: Snapshot) -> Snapshot:
    """The demo's table with every counter of its first real servers at the 64-bit maximum."""
    service = snapshot.services[0]
    dests = tuple(dataclasses.replace(dest, stats=dest.stats._replace(
        conns=HUGE, inpkts=HUGE, outpkts=HUGE, inbytes=HUGE, outbytes=HUGE)) for dest in service.dests)
    return dataclasses.replace(snapshot, services=(dataclasses.replace(service, dests=dests),
                                                   *snapshot.services[1:]))


def test_exact_columns_never_glue_and_read_back_as_the_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--demo", "--batch", "--exact"]) == 0
    table = rows(capsys.readouterr().out)
    assert table[0] == LABELS
    assert all(len(row) == len(COLUMNS) for row in table)
    main(["--demo", "--batch", "--json"])
    doc = json.loads(capsys.readouterr().out)
    expected = [
        [str(dest["stats"][name]) for name in ("conns", "inpkts", "outpkts", "inbytes", "outbytes")]
        for service in doc["services"] for dest in service["dests"]
    ]
    conns = LABELS.index("Conns")
    assert [row[conns:conns + 5] for row in table if row[0] == "->" and row[1] != "RemoteAddress:Port"] \
        == expected


@pytest.mark.parametrize("exact", [True, False])
def test_the_widest_counters_still_leave_a_space(exact: bool) -> None:
    snapshot = huge(SimulatedDirector(seed=1, clock=lambda: 0.0, wall_clock=lambda: 0.0).snapshot())
    table = rows(render_text(snapshot, None, "demo", exact))
    assert all(len(row) == len(COLUMNS) for row in table)
    first = table[2]  # the header, the first service's totals, then its first real server
    assert first[0] == "->"
    if exact:
        assert first[LABELS.index("InBytes")] == first[LABELS.index("OutBytes")] == str(HUGE)


def test_rates_are_labelled_bits_and_counters_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--demo", "--batch"]) == 0
    out = capsys.readouterr().out
    header = rows(out)[0]
    assert "InBit/s" in header and "OutBit/s" in header and "InBytes" in header
    assert "InBPS" not in out and "OutBPS" not in out  # ipvsadm's InBPS is bytes per second
    main(["--demo", "--batch", "--json"])
    stats = json.loads(capsys.readouterr().out)["services"][0]["stats"]
    in_bits = rows(out)[1][LABELS.index("InBit/s")]
    assert in_bits.endswith("b")
    value = float(in_bits[:-2]) * {"K": 1e3, "M": 1e6, "G": 1e9}[in_bits[-2]]
    assert value == pytest.approx(stats["inbps"] * 8, rel=0.06)  # the kernel's bytes/s, times 8
