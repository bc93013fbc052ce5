"""lvs_tui.ops.privileges: CAP_NET_ADMIN read from a fake /proc/self/status."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvs_tui.ops.privileges import CAP_NET_ADMIN, has_net_admin

OTHER_LINES = "Name:\tlvs-top\nUid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\n"


def status(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "status"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("effective", "expected"),
    [
        ("000001ffffffffff", True),  # root: every capability
        (f"{1 << CAP_NET_ADMIN:016x}", True),  # only CAP_NET_ADMIN
        (f"{(1 << CAP_NET_ADMIN) - 1:016x}", False),  # every capability below it
        (f"{1 << (CAP_NET_ADMIN + 1):016x}", False),  # CAP_NET_RAW, its neighbour
        ("0000000000000000", False),  # an ordinary user
    ],
)
def test_the_effective_set_decides(tmp_path: Path, effective: str, expected: bool) -> None:
    text = f"{OTHER_LINES}CapPrm:\t000001ffffffffff\nCapEff:\t{effective}\nCapBnd:\t000001ffffffffff\n"
    assert has_net_admin(status(tmp_path, text)) is expected


@pytest.mark.parametrize("text", ["", OTHER_LINES, f"{OTHER_LINES}CapEff:\tzzzz\n", "CapEff:\n"])
def test_an_unreadable_set_counts_as_no(tmp_path: Path, text: str) -> None:
    assert has_net_admin(status(tmp_path, text)) is False


def test_a_missing_status_file_counts_as_no(tmp_path: Path) -> None:
    assert has_net_admin(tmp_path / "no-such-file") is False
