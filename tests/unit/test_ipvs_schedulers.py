"""lvs_tui.ipvs.schedulers: the scheduler modules a kernel has, from a fake /lib/modules and /proc."""

from __future__ import annotations

from pathlib import Path

from lvs_tui.ipvs.schedulers import available_schedulers

RELEASE = "6.8.0-test"


def modules_tree(root: Path, files: list[str], builtin: str = "") -> Path:
    """`root/RELEASE/kernel/net/netfilter/ipvs/<files>`, and modules.builtin if given."""
    ipvs = root / RELEASE / "kernel" / "net" / "netfilter" / "ipvs"
    ipvs.mkdir(parents=True)
    for name in files:
        (ipvs / name).write_bytes(b"")
    if builtin:
        (root / RELEASE / "modules.builtin").write_text(builtin)
    return root


def test_installed_modules_are_schedulers_whatever_their_compression(tmp_path: Path) -> None:
    root = modules_tree(tmp_path / "modules", ["ip_vs_rr.ko", "ip_vs_wlc.ko.zst", "ip_vs_sh.ko.xz",
                                                "ip_vs.ko", "ip_vs_ftp.ko", "ip_vs_pe_sip.ko.gz",
                                                "ip_vs_proto_sctp.ko", "nf_conntrack.ko"])
    found = available_schedulers(root, tmp_path / "no-proc-modules", RELEASE)
    # ip_vs itself, ftp, the sip engine and sctp are modules but not schedulers.
    assert found == ("rr", "sh", "wlc")


def test_built_in_and_loaded_modules_count_too(tmp_path: Path) -> None:
    root = modules_tree(tmp_path / "modules", ["ip_vs_rr.ko"],
                        builtin="kernel/net/netfilter/ipvs/ip_vs.ko\nkernel/net/netfilter/ipvs/ip_vs_lc.ko\n")
    proc = tmp_path / "modules-loaded"
    proc.write_text("ip_vs_wrr 12288 1 - Live 0x0000000000000000\n"
                    "ip_vs_ftp 12288 0 - Live 0x0000000000000000\n"
                    "ip_vs 200704 3 ip_vs_wrr,ip_vs_ftp, Live 0x0000000000000000\n"
                    "nf_nat 61440 2 ip_vs_ftp, Live 0x0000000000000000\n")
    assert available_schedulers(root, proc, RELEASE) == ("lc", "rr", "wrr")


def test_another_release_s_modules_are_not_this_kernel_s(tmp_path: Path) -> None:
    root = modules_tree(tmp_path / "modules", ["ip_vs_rr.ko"])
    assert available_schedulers(root, tmp_path / "no-proc-modules", "5.10.0-other") == ()


def test_nothing_to_read_gives_no_schedulers(tmp_path: Path) -> None:
    assert available_schedulers(tmp_path / "missing", tmp_path / "missing-too", RELEASE) == ()
